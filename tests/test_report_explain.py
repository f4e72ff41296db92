"""The monthly page explains: what changed since the previous month (a change planted in one
project and one component is named first, with its hand-worked amount), anomalies (a planted
spike day is found, a flat month lists none), and the charts chosen by the data (no one-bar
chart, labelled log ticks, captions that match, short ids, grouped top requests, cache
savings only where the card discounts cache, aggregate rows out of per-request sections).
"""

from __future__ import annotations

import html
import re
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from goldens import check, produces
from report_data import build_store
from test_report_coverage import AFTER_THE_MONTH, NOV, stopped_rows

from costkit.pricing.book import load_price_book
from costkit.report.figures import build_figures, log_ticks, quantile_figure
from costkit.report.html import render_page
from costkit.report.monthly import build_monthly_report
from costkit.report.tables import request_shapes, short_id
from costkit.store.connection import open_store

SEP, OCT = date(2026, 9, 1), date(2026, 10, 1)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CHEAP_CACHE = """
[[card]]
model = "deepseek-v3-2"
[card.rates]
input = 0.57
cached_input = 0.07
output = 1.71
web_search = 0.015
"""


def usage(rid: str, ts: datetime, project: str, input_tokens: int = 1000,
          output_tokens: int = 100, search_calls: int = 0, cached: int = 0,
          key: str = "k1", endpoint: str = "responses") -> dict:
    return {"request_id": rid, "ts": ts, "provider": "deepseek", "endpoint": endpoint,
            "model": "deepseek-v3-2", "input_tokens": input_tokens,
            "cached_input_tokens": cached, "cache_write_tokens": 0,
            "output_tokens": output_tokens, "reasoning_tokens": 0, "search_calls": search_calls,
            "project": project, "api_key_id": key, "user": None, "tags": None,
            "source_format": "chat.completion", "source_file": "usage.jsonl",
            "source_line": 1, "ingest_id": 1}


def planted_rows() -> list[dict]:
    """September and October alike, day by day, except search-bot's requests: one web search
    each in September, three in October. A project only in September (legacy) and one only in
    October (fresh) spend far less than the planted change."""
    rows = []
    for day in range(30):
        for month, searches in ((SEP, 1), (OCT, 3)):
            ts = datetime(month.year, month.month, 1, 12, tzinfo=UTC) + timedelta(days=day)
            tag = f"{month:%m}-{day:02d}"
            rows.append(usage(f"sb-{tag}", ts, "search-bot", search_calls=searches,
                              key="key-search"))
            rows.append(usage(f"su-{tag}", ts, "support", input_tokens=2000,
                              output_tokens=200, key="key-support", cached=500))
            rows.append(usage(f"do-{tag}", ts, "docs", input_tokens=3000, key="key-docs"))
    rows.append(usage("legacy", datetime(2026, 9, 5, tzinfo=UTC), "legacy", key="key-old"))
    rows.append(usage("fresh", datetime(2026, 10, 5, tzinfo=UTC), "fresh", key="key-new"))
    # a request on 1 November: October's data reaches its end, so the month is complete
    rows.append(usage("nov", datetime(2026, 11, 1, 1, tzinfo=UTC), "docs", key="key-docs"))
    return rows


def report_of(store: Path, month: date = OCT, now: datetime = NOW, book=None):
    con = open_store(store, read_only=True)
    try:
        return build_monthly_report(con, month, book=book or load_price_book([]), now=now)
    finally:
        con.close()


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return report_of(build_store(tmp_path_factory.mktemp("planted") / "p.duckdb",
                                 planted_rows(), rejects=False))


@pytest.fixture(scope="module")
def planted_page(planted):
    return render_page(planted)


def section(page: str, sid: str) -> str:
    start = re.search(f'<section[^>]*id="{sid}"', page).start()
    return page[start:page.index("</section>", start)]


def text_of(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


def lines_of(fragment: str) -> str:
    """A section as text a reviewer can read: a line per paragraph, item and table row,
    cells split by " | "."""
    marked = re.sub(r"</(p|li|tr|h2|h3)>", "\n", fragment.replace("\n", " "))
    marked = re.sub(r"<t[dh]\b[^>]*>", " | ", marked)
    lines = (text_of(line) for line in marked.split("\n"))
    return "\n".join(line for line in lines if line) + "\n"


# --- what changed ----------------------------------------------------------------------------

def test_the_planted_change_is_named_first_with_its_hand_worked_amount(planted, planted_page):
    # search-bot: 30 requests x 2 more searches = 60 calls x $0.015 = $0.90, nothing else.
    first = planted.variance.by["project"][0]
    assert (first.key, first.change, first.quantity) == ("search-bot", Decimal("0.9"), 60)
    assert first.driver.name == "web_search" and first.driver_change == Decimal("0.9")
    assert planted.variance.by["component"][0].key == "Web search"
    # support and docs are the same in both months: no change at all
    same = {c.key: c.change for c in planted.variance.by["project"]}
    assert same["support"] == 0 and same["docs"] == 0
    # the section's first line names it, with the amount and the quantity
    largest = text_of(section(planted_page, "what-changed"))
    assert "By project: search-bot +$0.90: web search +$0.90, 60 more calls" in largest
    assert largest.index("search-bot +$0.90") < largest.index("By API key")


def test_total_change_matches_the_headline_and_new_and_gone_are_said(planted, planted_page):
    # fresh (Oct only) and legacy (Sep only): 1,000 in x $0.57/M + 100 out x $1.71/M
    # = $0.00057 + $0.000171 = $0.000741 each, so they cancel: the total moves by $0.90.
    v = planted.variance
    assert v.change == planted.headline.change == Decimal("0.9")
    status = {c.key: (c.status, c.change) for c in v.by["project"]}
    assert status["fresh"] == ("new", Decimal("0.000741"))
    assert status["legacy"] == ("gone", Decimal("-0.000741"))
    text = text_of(section(planted_page, "what-changed"))
    assert "New this month (no usage before): project fresh; API key key-new." in text
    assert "Gone (usage before, none this month): project legacy; API key key-old." in text


def test_a_partial_month_compares_the_same_days_as_the_headline(tmp_path):
    # November's data stops on the 24th: days 1-24 of both months. October 1-24: 1M input a
    # day; November: 1M input + 100k output a day, so output alone moves:
    # 24 x 100,000 x $1.71/M = $4.104, 2,400,000 more tokens.
    report = report_of(build_store(tmp_path / "s.duckdb", stopped_rows(), rejects=False),
                       NOV, AFTER_THE_MONTH)
    v = report.variance
    assert v.compared_days == report.headline.compared_days == 24
    assert (v.since, v.until) == (date(2026, 10, 1), date(2026, 10, 25))
    assert v.before == report.headline.previous_total == Decimal("13.68")   # 24 x $0.57
    p = v.by["project"][0]
    assert (p.change, p.driver.name, p.quantity) == (Decimal("4.104"), "output", 2_400_000)
    assert "the same days" in text_of(section(render_page(report), "what-changed"))


def test_a_running_month_compares_the_days_so_far(tmp_path):
    # on 20 October at 18:00 the store holds 1-20 October: compared with 1-20 September,
    # search-bot's change is 20 requests x 2 more searches x $0.015 = $0.60
    rows = [r for r in planted_rows() if r["ts"] < datetime(2026, 10, 20, 18, tzinfo=UTC)]
    report = report_of(build_store(tmp_path / "r.duckdb", rows, rejects=False),
                       now=datetime(2026, 10, 20, 18, tzinfo=UTC))
    v = report.variance
    assert report.headline.change_basis == "projected"
    assert (v.compared_days, v.until) == (20, date(2026, 9, 21))
    first = v.by["project"][0]
    assert (first.key, first.change, first.quantity) == ("search-bot", Decimal("0.6"), 40)


def test_no_previous_month_says_there_is_nothing_to_compare(tmp_path):
    rows = [r for r in planted_rows() if r["ts"] >= datetime(2026, 10, 1, tzinfo=UTC)]
    report = report_of(build_store(tmp_path / "o.duckdb", rows, rejects=False))
    assert report.variance is None
    assert "No usage in September 2026: nothing to compare with." in text_of(
        section(render_page(report), "what-changed"))


# --- anomalies -----------------------------------------------------------------------------

def steady_rows(spike: bool) -> list[dict]:
    """Aug 1 - Nov 1: two projects with a steady daily volume (a little weekly wobble), and,
    with `spike`, a batch job of 200 requests in one day on 15 October."""
    rows, day = [], datetime(2026, 8, 1, 12, tzinfo=UTC)
    while day < datetime(2026, 11, 1, 12, tzinfo=UTC):
        for project in ("steady", "batch"):
            for i in range(10 + day.weekday() % 3):
                rows.append(usage(f"{project}-{day:%m%d}-{i}", day, project,
                                  input_tokens=10_000, output_tokens=0))
        day += timedelta(days=1)
    if spike:
        for i in range(200):
            rows.append(usage(f"spike-{i}", datetime(2026, 10, 15, 3, tzinfo=UTC), "batch",
                              input_tokens=10_000, output_tokens=0))
    rows.append(usage("nov", datetime(2026, 11, 1, 13, tzinfo=UTC), "steady"))
    return rows


def test_a_planted_spike_day_is_listed_with_what_drove_it(tmp_path):
    report = report_of(build_store(tmp_path / "a.duckdb", steady_rows(True), rejects=False))
    [first, *_] = report.anomalies
    assert (first.day, first.dim, first.key) == (date(2026, 10, 15), "project", "batch")
    # 15 Oct is a Thursday (weekday 3: 10 + 0 requests): batch spent 210 requests x 10,000
    # input tokens x $0.57/M = $1.197, against about 10 x $0.0057 = $0.057 expected.
    assert first.actual == Decimal("1.197")
    assert Decimal("0.04") < first.expected < Decimal("0.08")
    assert first.actual > first.upper and first.multiple > 10
    assert first.component.name == "input"
    page = text_of(section(render_page(report), "anomalies"))
    assert "Thu 2026-10-15 project batch $1.20" in page


def test_a_flat_month_lists_no_anomaly_and_says_so(tmp_path):
    report = report_of(build_store(tmp_path / "f.duckdb", steady_rows(False), rejects=False))
    assert report.anomalies == []
    assert "None: no day this month spent far above what was expected of it." in text_of(
        section(render_page(report), "anomalies"))


# --- charts chosen by the data -------------------------------------------------------------

def test_one_model_is_a_sentence_not_a_one_bar_chart(planted, planted_page):
    figures = build_figures(planted)
    assert "by-model" not in figures and "by-project" in figures
    assert 'id="by-model-single"' in planted_page
    assert 'id="fig-by-model"' not in planted_page
    assert "One model: deepseek-v3-2" in text_of(planted_page)


@pytest.mark.parametrize(("keys", "caption"), [
    (11, "11 API keys."),   # ten and one more: the eleventh is drawn, not folded
    (13, "13 API keys. The top 10, the other 3 summed as “other”."),
])
def test_captions_say_other_only_when_rows_were_folded(tmp_path, keys, caption):
    rows = [usage(f"r{i}", datetime(2026, 10, 2, tzinfo=UTC), "p", key=f"key-{i:02d}",
                  input_tokens=1000 * (i + 1)) for i in range(keys)]
    rows.append(usage("nov", datetime(2026, 11, 1, 1, tzinfo=UTC), "p"))
    page = render_page(report_of(build_store(tmp_path / "k.duckdb", rows, rejects=False)))
    groups = text_of(section(page, "groups"))
    assert f"By API key {caption}" in groups


def test_log_ticks_are_labelled_one_two_five_per_decade():
    # from $0.0012 to $0.057: 0.002, 0.005, 0.01, 0.02, 0.05
    assert log_ticks(0.0012, 0.057) == [0.002, 0.005, 0.01, 0.02, 0.05]
    assert log_ticks(0.5, 12.0) == [0.5, 1.0, 2.0, 5.0, 10.0]


def test_the_cost_percentile_axis_has_readable_ticks(planted, tmp_path):
    # planted requests cost from $0.000741 (1,000 in, 100 out) to $0.045741 (search-bot:
    # + 3 x $0.015): over a decade, so a log axis ticked at 0.001, 0.002, 0.005, 0.01, 0.02
    axis = quantile_figure(planted).layout.yaxis
    assert axis.type == "log"
    assert list(axis.tickvals) == [0.001, 0.002, 0.005, 0.01, 0.02]
    assert list(axis.ticktext) == ["$0.001", "$0.002", "$0.005", "$0.01", "$0.02"]
    # support and docs alone cost $0.001482 and $0.001881 a request: under ten times,
    # where a log axis would have one tick or none: a linear axis
    rows = [r for r in planted_rows() if r["project"] in ("support", "docs")]
    narrow = report_of(build_store(tmp_path / "n.duckdb", rows, rejects=False))
    assert quantile_figure(narrow).layout.yaxis.type != "log"


def test_request_ids_are_short_with_the_full_id_on_hover_and_copy(planted_page):
    # 8 first characters, an ellipsis, the last 4
    assert short_id("resp_81ac679dc56685d1dcd7e519") == "resp_81a\u2026e519"
    assert short_id("sb-10-00") == "sb-10-00"
    assert '<code title="sb-10-00">sb-10-00</code>' in planted_page
    assert 'data-copy="sb-10-00"' in planted_page
    long_id = "resp_" + "0123456789abcdef" * 2
    assert short_id(long_id) == "resp_012\u2026cdef"


def test_top_requests_of_one_shape_are_one_row_with_a_count(planted, planted_page):
    shapes = request_shapes(planted.top_requests)
    # the 20 most expensive: support's 30 identical requests (2,000 in, 500 cached, 200 out)
    # cost $0.002...; search-bot's cost 1,000 x 0.57/M + 100 x 1.71/M + 3 x $0.015 = $0.045741
    assert planted.top_requests.height == 20
    assert [len(rows) for _, rows in shapes] == [20]
    assert "and 19 more of this shape" in text_of(section(planted_page, "top-requests"))


def test_no_cache_figure_when_the_card_bills_cache_at_the_full_rate(planted, planted_page):
    assert planted.cache_savings == []
    assert "Cache hits" not in planted_page and "Cache savings" not in planted_page


def test_cache_savings_in_dollars_where_the_card_discounts_cache(tmp_path):
    cards = tmp_path / "cards.toml"
    cards.write_text(CHEAP_CACHE)
    report = report_of(build_store(tmp_path / "c.duckdb", planted_rows(), rejects=False),
                       book=load_price_book([cards]))
    [saving] = report.cache_savings
    # support: 30 requests x 500 cached tokens = 15,000 x ($0.57 - $0.07)/M = $0.0075
    assert (saving.cached_tokens, saving.saved) == (15_000, Decimal("0.0075"))
    headline = text_of(section(render_page(report), "headline"))
    assert "Cache savings $0.0075" in headline


def test_aggregate_rows_are_left_out_of_per_request_sections_and_counted(tmp_path):
    store = build_store(tmp_path / "g.duckdb", planted_rows(), rejects=False)
    con = open_store(store)
    con.execute("INSERT INTO usage SELECT * REPLACE ('bucket' AS request_id, 40 AS "
                "request_count, 400000 AS input_tokens) FROM usage WHERE request_id = 'fresh'")
    con.close()
    report = report_of(store)
    assert (report.aggregate_rows, report.aggregate_requests) == (1, 40)
    assert "bucket" not in report.top_requests["request_id"].to_list()
    # ... but in the totals: 400,000 x $0.57/M + 100 x $1.71/M = $0.228171 more
    assert report.headline.requests == 30 * 3 + 1 + 40
    page = render_page(report)
    for sid in ("top-requests", "distribution"):
        assert "Left out: 1 usage row that each stand for many requests (40 requests" in \
            text_of(section(page, sid))


# --- goldens ---------------------------------------------------------------------------------

@produces("report_explain_planted.txt")
def explain_goldens(cli) -> dict:
    """The two explaining sections of the planted store's October page, as text."""
    with tempfile.TemporaryDirectory() as tmp:
        store = build_store(Path(tmp) / "p.duckdb", planted_rows(), rejects=False)
        page = render_page(report_of(store))
    text = "\n".join(lines_of(section(page, sid)) for sid in ("what-changed", "anomalies"))
    return {"report_explain_planted.txt": SimpleNamespace(exit_code=0, stdout=text,
                                                          stderr="")}


def test_explaining_sections_golden(planted_page):
    text = "\n".join(lines_of(section(planted_page, sid))
                     for sid in ("what-changed", "anomalies"))
    check("report_explain_planted.txt", text)
