"""A month whose usage stops early is said to, and compared fairly (issue 13).

The store holds one request a day, priced by hand at the built-in DeepSeek V3.2 card
($0.57 per 1M input tokens, $1.71 per 1M output tokens):
- October 1-24: 1M input tokens a day, $0.57 a day; October 25-31: 2M, $1.14 a day.
  October 1-24 = 24 x 0.57 = $13.68; all of October = 13.68 + 7 x 1.14 = $21.66.
- November 1-24: 1M input + 100k output a day, 0.57 + 0.171 = $0.741 a day; the last one
  on November 24 at 18:30 UTC, then nothing (ingestion stopped). November = 24 x 0.741 =
  $17.784.
Against the whole of October, November reads -17.9%; against the same days, +30%:
(17.784 - 13.68) / 13.68 = 4.104 / 13.68 = 0.30.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from report_data import build_store

from costkit.pricing.book import load_price_book
from costkit.report.figures import daily_figure
from costkit.report.html import render_page
from costkit.report.monthly import build_monthly_report
from costkit.store.connection import open_store

NOV = date(2026, 11, 1)
LAST = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)
AFTER_THE_MONTH = datetime(2026, 12, 3, 9, tzinfo=UTC)


def row(rid: str, ts: datetime, input_tokens: int, output_tokens: int = 0) -> dict:
    return {"request_id": rid, "ts": ts, "provider": "deepseek", "endpoint": "chat.completions",
            "model": "deepseek-v3-2", "input_tokens": input_tokens, "cached_input_tokens": 0,
            "cache_write_tokens": 0, "output_tokens": output_tokens, "reasoning_tokens": 0,
            "search_calls": 0, "project": "p", "api_key_id": "k", "user": None, "tags": None,
            "source_format": "chat.completion", "source_file": "usage.jsonl",
            "source_line": 1, "ingest_id": 1}


def stopped_rows() -> list[dict]:
    rows = []
    for day in range(1, 32):
        rows.append(row(f"oct-{day}", datetime(2026, 10, day, 12, tzinfo=UTC),
                        1_000_000 if day <= 24 else 2_000_000))
    for day in range(1, 24):
        rows.append(row(f"nov-{day}", datetime(2026, 11, day, 12, tzinfo=UTC),
                        1_000_000, 100_000))
    rows.append(row("nov-24", LAST, 1_000_000, 100_000))
    return rows


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("stopped") / "s.duckdb", stopped_rows(),
                       rejects=False)


@pytest.fixture(scope="module")
def book():
    return load_price_book([])


def monthly(store, book, month=NOV, now=AFTER_THE_MONTH, tz="UTC"):
    con = open_store(store, read_only=True)
    try:
        return build_monthly_report(con, month, tz=tz, book=book, now=now)
    finally:
        con.close()


def text_of(page: str) -> str:
    body = page.split("<body>", 1)[1]
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


# --- a month that is over, whose data stops on the 24th ----------------------------------------

def test_a_month_whose_data_stops_early_is_compared_with_the_same_days(stopped, book):
    report = monthly(stopped, book)
    hl = report.headline
    assert hl.total == Decimal("17.784")
    assert hl.previous_total == Decimal("13.68")            # October 1-24, not all of October
    assert hl.change == Decimal("4.104")
    assert hl.change_pct == Decimal("30")
    assert hl.change_basis == "same days" and hl.compared_days == 24


def test_the_page_says_where_the_data_ends_and_that_the_month_is_not_complete(stopped, book):
    page = render_page(monthly(stopped, book))
    text = text_of(page)
    assert "The month is complete" not in text
    assert ("The month is not complete: usage up to 2026-11-24 18:30, so its last 6 days "
            "have no data.") in text
    assert "Partial month: the store has usage up to 2026-11-24 18:30 (UTC), 6 days short" in text
    assert "Change vs 1\u201324 October 2026" in text
    assert ("+30.0%: 1\u201324 November 2026 vs $13.68 in 1\u201324 October 2026, "
            "the same days") in text
    assert "-17.9%" not in text                  # the whole-October reading is gone
    # The notice comes before the figures it qualifies.
    assert page.index('id="partial-month"') < page.index('id="headline"')


def test_days_after_the_data_ends_are_no_data_not_zero(stopped, book):
    report = monthly(stopped, book)
    daily = report.daily
    assert daily.height == 30
    assert daily["covered"].to_list() == [True] * 24 + [False] * 6
    assert daily["total_cost"].to_list()[24:] == [None] * 6
    assert daily["total_cost"].to_list()[:24] == [Decimal("0.741")] * 24
    fig = daily_figure(report)
    shapes = fig.layout.shapes
    assert len(shapes) == 1
    # Bars are centred on midnight: the shade runs from half a day before the 25th to
    # half a day after the 30th.
    assert (shapes[0].x0, shapes[0].x1) == ("2026-11-24 12:00", "2026-11-30 12:00")
    hover = [d[0] for d in fig.data[-1].customdata]
    assert hover[24:] == ["no data"] * 6


def test_a_complete_month_says_so_and_compares_whole_months(stopped, book):
    report = monthly(stopped, book, month=date(2026, 10, 1))
    assert report.coverage.complete
    hl = report.headline
    assert hl.change_basis == "month" and hl.compared_days is None
    assert hl.total == Decimal("21.66")
    text = text_of(render_page(report))
    assert "The month is complete. The store's usage runs to 2026-11-24 18:30." in text
    assert "Partial month" not in text
    assert report.daily["covered"].all()


def test_data_end_is_read_in_the_report_time_zone(stopped, book):
    # 18:30 UTC on the 24th is 03:30 on the 25th in Tokyo, so 25 days are covered there;
    # every other request (12:00 UTC = 21:00 JST) stays on its own day. October 1-25 in
    # Tokyo: 24 x 0.57 + 1.14 = 14.82; the change is 17.784 - 14.82 = 2.964, +20%.
    report = monthly(stopped, book, tz="Asia/Tokyo")
    assert report.coverage.covered == 25
    hl = report.headline
    assert hl.compared_days == 25
    assert hl.previous_total == Decimal("14.82")
    assert hl.change == Decimal("2.964") and hl.change_pct == Decimal("20")
    assert "usage up to 2026-11-25 03:30" in text_of(render_page(report))


def test_a_shorter_previous_month_is_compared_whole(tmp_path, book):
    # February 2027 has 28 days at $0.57; March's data stops on the 30th: March 1-30 =
    # 30 x 0.57 = 17.10 against all of February, 28 x 0.57 = 15.96: +1.14, i.e. 2/28 = 7.14%.
    rows = [row(f"d-{i}", datetime(2027, 2, 1, 12, tzinfo=UTC) + timedelta(days=i), 1_000_000)
            for i in range(28 + 30)]
    store = build_store(tmp_path / "feb.duckdb", rows, rejects=False)
    report = monthly(store, book, month=date(2027, 3, 1),
                     now=datetime(2027, 4, 2, tzinfo=UTC))
    hl = report.headline
    assert report.coverage.covered == 30 and not report.coverage.complete
    assert hl.compared_days == 28
    assert hl.previous_total == Decimal("15.96") and hl.change == Decimal("1.14")
    assert hl.change_pct.quantize(Decimal("0.0001")) == Decimal("7.1429")
    assert "Change vs 1\u201328 February 2027" in text_of(render_page(report))


def test_a_previous_month_the_store_begins_inside_is_flagged(tmp_path, book):
    # Usage from 2026-10-20, every day to 2026-12-01 at $0.57: November is complete
    # (30 x 0.57 = 17.10) but October holds only 12 days (6.84): the change says so.
    rows = [row(f"d-{i}", datetime(2026, 10, 20, 12, tzinfo=UTC) + timedelta(days=i), 1_000_000)
            for i in range(43)]
    store = build_store(tmp_path / "late.duckdb", rows, rejects=False)
    report = monthly(store, book)
    hl = report.headline
    assert report.coverage.complete and hl.change_basis == "month"
    assert hl.previous_total == Decimal("6.84") and hl.change == Decimal("10.26")
    assert hl.previous_data_from == date(2026, 10, 20)
    assert ("the store's usage begins 2026-10-20, so that side is short of days"
            in text_of(render_page(report)))


# --- a month that is not over --------------------------------------------------------------

def test_a_running_month_with_stale_data_is_not_projected(stopped, book):
    # On the 29th the newest usage is 4 days 14 hours old, over the 2-day threshold: the
    # forecast would read the missing days as no spend, so the page compares days 1-24.
    report = monthly(stopped, book, now=datetime(2026, 11, 29, 9, tzinfo=UTC))
    assert not report.over and report.coverage.stale
    assert report.projection is None and report.forecast is None
    assert report.notes == ["no projection of the rest of the month: the store's usage ends "
                            "4 days 14 hours before now, and the forecast would read the days "
                            "since as no spend"]
    hl = report.headline
    assert hl.change_basis == "same days" and hl.compared_days == 24
    assert hl.change == Decimal("4.104")
    text = text_of(render_page(report))
    assert "The month is not over: usage up to 2026-11-24 18:30." in text
    assert "Stale data: the store has usage up to 2026-11-24 18:30 (UTC) only" in text


def test_a_running_month_with_fresh_data_is_projected(stopped, book):
    # On the 25th at 09:00 the newest usage is 14.5 hours old: the rest is projected.
    report = monthly(stopped, book, now=datetime(2026, 11, 25, 9, tzinfo=UTC))
    assert not report.coverage.stale
    assert report.forecast is not None
    assert report.headline.change_basis == "projected"
    assert report.projection["day"].to_list()[0] == "2026-11-25"
    # Days projected are drawn as projections; nothing is shaded as missing.
    assert len(daily_figure(report).layout.shapes) == 0
    assert "Stale data" not in text_of(render_page(report))


# --- the command, as a user runs it ----------------------------------------------------------

def write_log(path, rows: list[dict]) -> None:
    lines = []
    for r in rows:
        lines.append(json.dumps({
            "id": f"chatcmpl-{r['request_id']}", "object": "chat.completion",
            "created": int(r["ts"].timestamp()), "model": r["model"], "choices": [],
            "usage": {"prompt_tokens": r["input_tokens"],
                      "completion_tokens": r["output_tokens"],
                      "total_tokens": r["input_tokens"] + r["output_tokens"]}}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_report_monthly_on_a_store_that_stops_early(cli, tmp_path, monkeypatch):
    log, db, out = tmp_path / "usage.jsonl", tmp_path / "s.duckdb", tmp_path / "out"
    write_log(log, stopped_rows())
    assert cli("ingest", str(log), "--db", str(db)).exit_code == 0
    monkeypatch.setenv("COSTKIT_NOW", "2026-12-03T09:00:00Z")
    result = cli("report", "monthly", "--db", str(db), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{out / 'costkit-2026-11.html'}\n"
    assert result.stderr.splitlines()[0] == (
        "costkit: warning: 2026-11 is not complete: usage up to 2026-11-24 18:30 (UTC), "
        "6 days short of its end; the page covers days 1-24 only; the change compares days "
        "1-24 of both months")
    text = text_of((out / "costkit-2026-11.html").read_text())
    assert "+30.0%: 1\u201324 November 2026 vs $13.68 in 1\u201324 October 2026" in text


def test_report_monthly_on_a_running_month_says_where_the_data_ends(cli, tmp_path,
                                                                     monkeypatch):
    log, db = tmp_path / "usage.jsonl", tmp_path / "s.duckdb"
    write_log(log, stopped_rows())
    assert cli("ingest", str(log), "--db", str(db)).exit_code == 0
    monkeypatch.setenv("COSTKIT_NOW", "2026-11-29T09:00:00Z")
    result = cli("report", "monthly", "--month", "2026-11", "--db", str(db), "--out",
                 str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines()[0] == (
        "costkit: warning: 2026-11 is not over: the page shows usage up to 2026-11-24 18:30 "
        "(UTC); the data is stale, so the rest of the month is not projected")
