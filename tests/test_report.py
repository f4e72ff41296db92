"""The monthly report's content and page: figures against independent pricing, escaping,
self-containment, the rejects' attribution, formats for people."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
import pytest
from report_data import EVIL, PRICE_CHANGE, SCRIPT_BREAK, build_store, expected_cost, make_rows

from costkit.core.errors import InputError
from costkit.core.format import exact, money, pct, plot_text, signed_pct
from costkit.core.usage import Usage
from costkit.pricing.book import load_price_book
from costkit.pricing.cost import price
from costkit.report.html import render_page
from costkit.report.markup import script_json
from costkit.report.monthly import (
    build_monthly_report,
    last_full_month,
    latest_full_month_in_store,
    parse_month,
    write_monthly_report,
)
from costkit.report.rollups import top_with_other
from costkit.spend import breakdown
from costkit.store.connection import open_store

OCT = date(2026, 10, 1)
OCT_START = datetime(2026, 10, 1, tzinfo=UTC)
NOV_START = datetime(2026, 11, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


# Built once per module: the tests only read the store, the report and the page.
@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("report") / "report.duckdb")


@pytest.fixture(scope="module")
def book():
    return load_price_book([])


@pytest.fixture(scope="module")
def report(store, book):
    con = open_store(store, read_only=True)
    try:
        yield build_monthly_report(con, OCT, book=book, now=NOW, source=str(store))
    finally:
        con.close()


@pytest.fixture(scope="module")
def page(report):
    return render_page(report)


# --- figures against independent, request-by-request pricing -------------------------------

def test_headline_total_equals_request_by_request_pricing(report, book):
    want = expected_cost(make_rows(), book, OCT_START, NOV_START)
    hl = report.headline
    assert hl.total == want["total"]
    assert hl.requests == want["priced"] + want["unpriced"]
    assert hl.priced_requests == want["priced"]
    assert want["unpriced"] > 0 and not hl.complete
    assert hl.unpriced_models == ("mystery-model",)
    assert hl.search_cost == want["components"]["web_search"]
    reasoning, output = want["components"]["reasoning"], want["components"]["output"]
    assert hl.reasoning_share == reasoning / (reasoning + output)
    assert hl.cost_per_1k == want["total"] / want["priced"] * 1000


def test_change_against_previous_month(report, book):
    sept = expected_cost(make_rows(), book, datetime(2026, 9, 1, tzinfo=UTC), OCT_START)
    oct_ = expected_cost(make_rows(), book, OCT_START, NOV_START)
    hl = report.headline
    assert hl.previous_total == sept["total"]
    assert hl.change == oct_["total"] - sept["total"]
    assert hl.change_pct == (oct_["total"] - sept["total"]) / sept["total"] * 100


def test_cache_hit_share_counts_all_october_input(report):
    rows = [r for r in make_rows() if OCT_START <= r["ts"] < NOV_START]
    cached = sum(r["cached_input_tokens"] for r in rows)
    total = sum(r["input_tokens"] for r in rows)
    assert report.headline.cache_hit_share == Decimal(cached) / total


def test_days_and_groups_add_up_to_the_headline(report):
    total = report.headline.total
    assert report.daily.height == 31
    assert report.daily["day"].to_list()[0] == "2026-10-01"
    assert report.daily["day"].to_list()[-1] == "2026-10-31"
    assert sum(report.daily["total_cost"].drop_nulls().to_list(), Decimal(0)) == total
    assert int(report.daily["requests"].sum()) == report.headline.requests
    for dim, frame in report.groups.items():
        assert sum(frame["total_cost"].drop_nulls().to_list(), Decimal(0)) == total, dim
        assert int(frame["requests"].sum()) == report.headline.requests, dim
        assert int(frame["keys"].sum()) >= frame.height


def test_api_keys_are_top_ten_plus_other(report):
    keys = report.groups["api_key"]
    assert keys.height == 11
    assert keys["api_key"][-1] == "other (5 API keys)"
    assert keys["keys"][-1] == 5
    costs = keys["total_cost"].to_list()[:10]
    assert costs == sorted(costs, reverse=True)


def test_month_row_matches_the_cli_breakdown(report, store, book):
    con = open_store(store, read_only=True)
    try:
        with pytest.warns(breakdown.UnpricedUsageWarning):
            cli = breakdown.spend(con, ["month"], since=OCT, until=date(2026, 11, 1), book=book)
    finally:
        con.close()
    assert cli.height == 1
    row = cli.row(0, named=True)
    for column in breakdown.REQUEST_COLUMNS:
        assert report.month_row[column] == row[column], column


def test_top_requests_are_the_most_expensive(report, book):
    priced = []
    for r in make_rows():
        if OCT_START <= r["ts"] < NOV_START and r["model"] == "deepseek-v3-2":
            card = book.card_for(r["model"], at=r["ts"])
            usage = Usage(r["input_tokens"], r["cached_input_tokens"], r["cache_write_tokens"],
                          r["output_tokens"], r["reasoning_tokens"], r["search_calls"])
            priced.append((price(usage, card).total, r["request_id"]))
    priced.sort(reverse=True)
    top = report.top_requests
    assert top["request_id"].to_list() == [rid for _, rid in priced[:20]]
    assert top["total_cost"].to_list() == [cost for cost, _ in priced[:20]]


def test_concentration_and_quantiles_come_from_priced_requests(report, book):
    want = expected_cost(make_rows(), book, OCT_START, NOV_START)
    top1 = report.concentration[Decimal("0.01")]
    assert top1["requests"] == want["priced"]
    assert top1["total_cost"] == want["total"]
    assert top1["top_requests"] == -(-want["priced"] // 100)
    q = dict(report.quantiles.iter_rows())
    assert q[1.0] == report.top_requests["total_cost"][0]


def test_rejects_attributed_by_record_time_else_by_covering_ingest(report):
    rejects = report.rejects
    assert rejects.by_time == 1      # the envelope stamped 2026-10-20
    assert rejects.by_ingest == 1    # "not JSON" from ingest 1, which loaded October usage
    assert rejects.total == 2
    assert set(rejects.by_reason["reason"].to_list()) == {"prompt_tokens is -3", "not JSON"}
    assert "garbage" not in rejects.samples["raw"].to_list()   # ingest 9 loaded nothing


def test_september_gets_the_stream_reject_by_its_created_time(store, book):
    con = open_store(store, read_only=True)
    try:
        sept = build_monthly_report(con, date(2026, 9, 1), book=book, now=NOW)
    finally:
        con.close()
    assert sept.rejects.by_time == 1
    assert sept.rejects.by_reason.filter(pl.col("by_time") == 1)["reason"].to_list() == [
        "stream ended before its usage chunk"]


def test_time_zone_moves_the_late_request_into_october(store, book):
    con = open_store(store, read_only=True)
    try:
        utc = build_monthly_report(con, OCT, tz="UTC", book=book, now=NOW)
        ny = build_monthly_report(con, OCT, tz="America/New_York", book=book, now=NOW)
    finally:
        con.close()
    late = [r for r in make_rows() if r["request_id"] == "req-late"][0]
    # 2026-11-01T02:00Z is 2026-10-31 22:00 in New York.
    assert ny.headline.requests - utc.headline.requests == _count_shift(late)
    assert ny.start == datetime(2026, 10, 1, 4, tzinfo=UTC)
    assert ny.end == datetime(2026, 11, 1, 4, tzinfo=UTC)


def _count_shift(late: dict) -> int:
    """Requests in [Oct 1 04:00Z, Nov 1 04:00Z) minus those in [Oct 1, Nov 1) UTC."""
    rows = make_rows()
    ny = sum(datetime(2026, 10, 1, 4, tzinfo=UTC) <= r["ts"] < datetime(2026, 11, 1, 4, tzinfo=UTC)
             for r in rows)
    utc = sum(OCT_START <= r["ts"] < NOV_START for r in rows)
    assert late["ts"] < datetime(2026, 11, 1, 4, tzinfo=UTC)
    return ny - utc


def test_a_price_change_mid_month_lists_both_cards_and_prices_each_side(tmp_path, store):
    cards = tmp_path / "cards.toml"
    cards.write_text(PRICE_CHANGE)
    book = load_price_book([cards])
    con = open_store(store, read_only=True)
    try:
        report = build_monthly_report(con, OCT, book=book, now=NOW)
    finally:
        con.close()
    assert [c.effective_from for c in report.cards] == [
        None, datetime(2026, 10, 15, tzinfo=UTC)]
    assert report.headline.total == expected_cost(make_rows(), book, OCT_START, NOV_START)["total"]
    assert report.headline.total < expected_cost(make_rows(), load_price_book([]), OCT_START,
                                                 NOV_START)["total"]


def test_an_empty_month_is_an_error_naming_what_the_store_holds(store, book):
    con = open_store(store, read_only=True)
    try:
        with pytest.raises(InputError, match=r"no usage in 2026-03 \(UTC\); the store holds "
                                             r"usage from 2026-09-01 to 2026-11-01"):
            build_monthly_report(con, date(2026, 3, 1), book=book, now=NOW)
    finally:
        con.close()


def test_an_empty_store_says_to_ingest_first(tmp_path, book):
    con = open_store(tmp_path / "empty.duckdb")
    try:
        with pytest.raises(InputError, match="the store is empty; ingest logs first"):
            build_monthly_report(con, OCT, book=book, now=NOW)
        assert latest_full_month_in_store(con) is None
    finally:
        con.close()


def test_month_over_or_not(store, book):
    con = open_store(store, read_only=True)
    try:
        done = build_monthly_report(con, OCT, book=book, now=NOW)
        running = build_monthly_report(con, OCT, book=book,
                                       now=datetime(2026, 10, 20, tzinfo=UTC))
    finally:
        con.close()
    assert done.over and not running.over
    # The fixture's newest request is 2026-11-01 02:00 UTC.
    assert "The month is not over: usage up to 2026-11-01 02:00." in render_page(running)
    assert ("The month is complete. The store&#x27;s usage runs to 2026-11-01 02:00."
            in render_page(done))


def test_latest_full_month_in_store(store):
    con = open_store(store, read_only=True)
    try:
        # Usage runs to 2026-11-01 02:00 UTC: October is the latest month it reaches past.
        assert latest_full_month_in_store(con) == OCT
        # In Los Angeles the newest request is still October: September is the latest full.
        assert latest_full_month_in_store(con, "America/Los_Angeles") == date(2026, 9, 1)
    finally:
        con.close()


def test_last_full_month_is_the_previous_calendar_month():
    assert last_full_month("UTC", datetime(2026, 11, 25, tzinfo=UTC)) == OCT
    assert last_full_month("UTC", datetime(2027, 1, 1, 0, 30, tzinfo=UTC)) == date(2026, 12, 1)
    # 00:30 UTC on Jan 1 is still Dec 31 in New York.
    assert last_full_month("America/New_York",
                           datetime(2027, 1, 1, 0, 30, tzinfo=UTC)) == date(2026, 11, 1)


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "10/2026", "", "2026-00", "abcd-ef"])
def test_bad_months_are_rejected(text):
    with pytest.raises(InputError, match="write it as YYYY-MM"):
        parse_month(text)


def test_parse_month():
    assert parse_month("2026-10") == OCT
    assert parse_month(" 2027-01 ") == date(2027, 1, 1)


def test_unknown_time_zone(store, book):
    con = open_store(store, read_only=True)
    try:
        with pytest.raises(InputError, match="unknown time zone 'Mars/Base'"):
            build_monthly_report(con, OCT, tz="Mars/Base", book=book, now=NOW)
    finally:
        con.close()


# --- the page ------------------------------------------------------------------------------

def test_page_escapes_every_user_string(page):
    body = page.split("<body>", 1)[1]
    # No raw tag from the data anywhere outside plotly.js (which lives in <head>).
    assert EVIL not in body
    assert "<img" not in body
    assert SCRIPT_BREAK not in body
    assert "</script><script>alert" not in page
    # ...and the names are there, as text.
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "&lt;/script&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in body


def test_figure_json_blocks_cannot_break_out_and_keep_the_names(page):
    blocks = re.findall(r'<script type="application/json" id="([^"]+)">(.*?)</script>', page,
                        flags=re.S)
    assert {name for name, _ in blocks} == {
        "fig-daily-data", "fig-by-project-data", "fig-by-model-data", "fig-by-api-key-data",
        "fig-by-endpoint-data", "fig-cost-quantiles-data", "fig-concentration-data"}
    texts = []
    for _, text in blocks:
        assert "<" not in text and ">" not in text
        figure = json.loads(text)
        assert figure["data"], "every chart has traces"
        texts.append(json.dumps(figure))
    joined = "".join(texts)
    # In the figures the names are escaped for plotly's label markup...
    assert "&lt;img src=x onerror=alert(1)&gt;" in joined
    # ...so the raw tag never reaches plotly.
    assert "<img" not in joined


def test_page_is_self_contained(page):
    assert page.count("<script>") == 3          # status, plotly.js (once), render
    head, body = page.split("<body>", 1)
    csp = html.unescape(re.search(
        r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', head).group(1))
    assert "default-src 'none'" in csp
    assert "connect-src" not in csp        # falls back to default-src 'none': no fetches
    assert "'unsafe-inline'" not in csp.split("style-src")[0]   # scripts only by hash
    assert csp.count("'sha256-") == 3
    assert not re.search(r"<(link|iframe|img|object|embed)\b", body)
    assert not re.search(r"<[^>]*\bsrc\s*=", body)     # no tag loads anything
    assert "cdn.plot.ly" not in page.split("<script>", 3)[-1]
    assert page.count("Plotly.newPlot") == 1   # one render script draws every chart


def test_plotly_js_is_embedded_once(page):
    import plotly.offline

    bundle = plotly.offline.get_plotlyjs()
    assert page.count(bundle[:200]) == 1


def test_page_figures_show_rounded_and_exact_money(report, page):
    total = report.headline.total
    assert money(total) in page
    assert f'title="exact: {exact(total)}"' in page


def test_write_monthly_report_default_path_and_out_dir(store, book, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    con = open_store(store, read_only=True)
    try:
        path, _ = write_monthly_report(con, OCT, book=book, now=NOW)
        assert path == tmp_path.joinpath("reports", "costkit-2026-10.html").relative_to(tmp_path)
        assert (tmp_path / path).read_text().startswith("<!DOCTYPE html>")
        other, _ = write_monthly_report(con, OCT, book=book, now=NOW,
                                        out_dir=tmp_path / "finance")
        assert other == tmp_path / "finance" / "costkit-2026-10.html"
        assert other.exists()
        assert not list((tmp_path / "finance").glob("*.part"))
    finally:
        con.close()


def test_all_priced_month_has_no_unpriced_notice(tmp_path, book):
    rows = [r for r in make_rows() if r["model"] != "mystery-model"]
    path = build_store(tmp_path / "priced.duckdb", rows, rejects=False)
    con = open_store(path, read_only=True)
    try:
        report = build_monthly_report(con, OCT, book=book, now=NOW)
    finally:
        con.close()
    assert report.headline.complete
    assert report.headline.total == report.month_row["total_cost"]
    page = render_page(report)
    assert "Unpriced usage:" not in page
    assert "All usage of the month was priced." in page
    assert "No rejected records for this month." in page


# --- shaping and formats -------------------------------------------------------------------

def test_top_with_other_keeps_small_frames_and_folds_the_rest():
    frame = pl.DataFrame({
        "k": ["a", "b", "c", "d"],
        **{c: [1, 1, 1, 1] for c in breakdown.REQUEST_COLUMNS},
        "unpriced_requests": [0, 0, 1, 0],
        **{c: [Decimal("1.5"), Decimal("1"), None, Decimal("0.25")]
           for c in breakdown.COST_COLUMNS},
        "currency": ["USD"] * 4,
    }, schema_overrides={c: pl.Decimal(38, 12) for c in breakdown.COST_COLUMNS})
    assert top_with_other(frame, "k", 3, "keys").height == 4      # folding one row hides nothing
    folded = top_with_other(frame, "k", 2, "keys")
    assert folded["k"].to_list() == ["a", "b", "other (2 keys)"]
    assert folded["total_cost"][-1] == Decimal("0.25")             # the priced part
    assert folded["unpriced_requests"][-1] == 1
    assert folded["requests"][-1] == 2
    assert folded["keys"].to_list() == [1, 1, 2]


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("1234.5678"), "$1,234.57"),
    (Decimal("0.0012345"), "$0.0012"),
    (Decimal("0.5"), "$0.50"),
    (Decimal("0"), "$0.00"),
    (Decimal("-12.345"), "-$12.34"),
    (None, "unpriced"),
])
def test_money(value, text):
    assert money(value) == text


def test_money_other_currency_and_exact():
    assert money(Decimal("10"), "EUR") == "10.00 EUR"
    assert exact(Decimal("1234.567891234500")) == "$1,234.5678912345"
    assert exact(Decimal("2.000000000000")) == "$2.00"
    assert exact(Decimal("0.1")) == "$0.10"


def test_percentages():
    assert pct(Decimal("0.4321")) == "43.2%"
    assert pct(None) == "n/a"
    assert signed_pct(Decimal("12.34")) == "+12.3%"
    assert signed_pct(Decimal("-4")) == "-4.0%"


def test_plot_text_escapes_markup_after_cutting():
    assert plot_text(EVIL) == "&lt;img src=x onerror=alert(1)&gt;"
    assert plot_text("a & b") == "a &amp; b"
    assert plot_text(None) == "(none)"
    cut = plot_text("<" * 50, limit=10)
    assert cut == "&lt;" * 9 + "\u2026"


def test_script_json_escapes_closing_tags():
    text = json.dumps({"name": SCRIPT_BREAK + "<!-- & \u2028"})
    safe = script_json(text)
    assert "<" not in safe and ">" not in safe and "&" not in safe and "\u2028" not in safe
    assert json.loads(safe) == json.loads(text)


# --- a month that is not over: the forecast's projection -------------------------------------

def test_a_running_month_projects_its_remaining_days(store, book):
    from costkit.forecast.history import load_history
    from costkit.forecast.horizon import parse_horizon
    from costkit.forecast.projection import forecast_spend

    now = datetime(2026, 10, 20, 15, tzinfo=UTC)
    con = open_store(store, read_only=True)
    try:
        report = build_monthly_report(con, OCT, book=book, now=now)
        expected = forecast_spend(load_history(con, date(2026, 10, 20), "UTC", book).total,
                                  parse_horizon("eom", date(2026, 10, 20)))
    finally:
        con.close()
    days = report.projection["day"].to_list()
    assert days == [f"2026-10-{d}" for d in range(20, 32)]
    assert report.forecast.projected_total == expected.periods[0].projected_total
    # Today's bar holds what it spent; its projection is only the rest of the day.
    today = report.daily.filter(pl.col("day") == "2026-10-20")["total_cost"][0]
    first = report.projection.row(0, named=True)
    assert first["expected"] == max(first["day_expected"] - today, Decimal(0))
    assert report.projection["expected"][1] == report.projection["day_expected"][1]
    hl = report.headline
    assert hl.change_basis == "projected"
    assert hl.change == report.forecast.projected_total - hl.previous_total
    page = render_page(report)
    assert "Projected month total" in page
    daily = json.loads(re.search(
        r'<script type="application/json" id="fig-daily-data">(.*?)</script>', page).group(1))
    assert [t["name"] for t in daily["data"]][-1] == "Projected"


def test_a_running_month_without_enough_history_says_why(store, book):
    con = open_store(store, read_only=True)
    try:
        report = build_monthly_report(con, date(2026, 9, 1), book=book,
                                      now=datetime(2026, 9, 2, 12, tzinfo=UTC))
    finally:
        con.close()
    assert report.projection is None and report.forecast is None
    assert report.notes and report.notes[0].startswith("no projection of the rest of the month")
    # Without a projection, the two days so far are compared with August's first two,
    # which have no usage.
    hl = report.headline
    assert hl.change is None and hl.change_basis == "same days" and hl.compared_days == 2
    page = render_page(report)
    assert "no usage in 1\u20132 August 2026" in page
    assert "The month is not over; the remaining days are not drawn: no projection" in page
    assert "Projected month total" not in page


def test_a_finished_month_has_no_projection(report):
    assert report.over and report.projection is None and report.forecast is None
    assert report.headline.change_basis == "month"


def test_concentration_bands_split_requests_and_spend(report):
    from costkit.report.figures import concentration_bands

    bands = concentration_bands(report)
    assert [b["label"] for b in bands] == ["Top 1%", "Other 99%"]
    top = report.concentration[Decimal("0.01")]
    assert bands[0]["requests"] == top["top_requests"]
    assert bands[0]["cost"] == top["top_cost"]
    assert sum(b["requests"] for b in bands) == top["requests"]
    assert sum(b["cost"] for b in bands) == top["total_cost"] == report.headline.total
    assert sum(b["spend_share"] for b in bands) == 1
