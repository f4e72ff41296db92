"""The LiteLLM proxy readers: spend logs (`costkit.readers.litellm_spend`: JSON array, v2
page, CSV export; `spend` as billed cost; the usage object's cache and reasoning split) and
daily activity (`costkit.readers.litellm_daily`: a row per day and model with its request
count, what no model accounts for rejected). Expected numbers are read off the fixtures by
hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from conftest import FIXTURES
from readers_support import (
    BOOK,
    good,
    invariant,
    query,
    real_formats,
    reasons,
    stage,
    write_lines,
)

from costkit.ingest.rejects import list_rejects
from costkit.ingest.run import ingest
from costkit.pricing.book import PriceBook
from costkit.pricing.cards import builtin_cards
from costkit.readers import document_reader, litellm_daily, litellm_spend
from costkit.readers.lines import Source

LITELLM = FIXTURES / "logs" / "litellm"
SPEND = LITELLM / "spend-logs.json"
PAGE = LITELLM / "spend-logs-v2.jsonl"
EXPORT = LITELLM / "spend-logs-export.csv"
DAILY = LITELLM / "daily-activity.json"
FIRST = "chatcmpl-9f2a7c1e-0b1d-4a55-9a0e-3c2f1d0e9b11"


@pytest.fixture
def db(tmp_path):
    return tmp_path / "store.duckdb"


def row(**fields) -> dict:
    base = {"request_id": "r1", "call_type": "acompletion", "api_key": "hashed-1",
            "spend": 0.001, "total_tokens": 150, "prompt_tokens": 100,
            "completion_tokens": 50, "startTime": "2026-10-05T10:00:00Z",
            "endTime": "2026-10-05T10:00:01Z", "model": "deepseek-v3-2",
            "model_group": "deepseek", "user": "u1", "metadata": {}, "cache_hit": "False",
            "request_tags": [], "team_id": None, "end_user": None, "status": "success"}
    base.update(fields)
    return base


# --- spend logs ----------------------------------------------------------------------------

def test_spend_log_rows_normalised():
    rows = stage(litellm_spend.select_sql, SPEND)
    assert reasons(rows) == []
    assert [r["kind"] for r in rows] == ["record", "record", "record", "skip", "record"]
    by_id = good(rows)
    openai = by_id[FIRST]
    assert openai["ts"] == datetime(2026, 10, 5, 9, 30, 0, 123000, tzinfo=UTC)
    assert (openai["model"], openai["endpoint"], openai["provider"]) == \
        ("gpt-4o-mini-2024-07-18", "chat.completions", "openai")
    # prompt_tokens 1600 includes the 1,024 cached; completion 240 has no reasoning
    assert (openai["input_tokens"], openai["cached_input_tokens"], openai["cache_write_tokens"],
            openai["output_tokens"], openai["reasoning_tokens"]) == (1600, 1024, 0, 240, 0)
    assert (openai["billed_cost"], openai["billed_currency"]) == (Decimal("0.00012345"), "USD")
    # the team alias is the project, the end user (the request's `user`) the user
    assert (openai["project"], openai["user"], openai["status"]) == \
        ("growth", "customer-42", "success")
    assert json.loads(openai["tags"]) == {"team": "growth", "nightly": "true"}
    hashed_key = "88dc28d0f030c55ed4ab77ed8faf098196cb1c05df778539800c9f1243fe6b4b"
    assert openai["api_key_id"] != hashed_key and openai["api_key_id"].startswith("…6b4b")
    claude = by_id["msg_01XbQm2uJ8rZ4kT7w1v9Yp3a"]
    # prompt_tokens 6230 = 30 uncached + 5,000 cache reads + 1,200 cache writes
    assert (claude["endpoint"], claude["input_tokens"], claude["cached_input_tokens"],
            claude["cache_write_tokens"], claude["output_tokens"],
            claude["reasoning_tokens"]) == ("messages", 6230, 5000, 1200, 400, None)
    assert (claude["project"], claude["user"], claude["tags"]) == \
        ("team-research", "u-internal-9", None)
    reasoning = by_id["litellm-req-3c1d"]  # metadata written as JSON text
    assert (reasoning["input_tokens"], reasoning["output_tokens"],
            reasoning["reasoning_tokens"], reasoning["billed_cost"]) == \
        (1000, 400, 1100, Decimal("0.00315"))
    assert reasoning["ts"] == datetime(2026, 10, 6, 8, 15, tzinfo=UTC)
    failed = by_id["litellm-req-failed-02"]
    assert (failed["status"], failed["input_tokens"], failed["billed_cost"]) == \
        ("failure", 0, Decimal(0))


def test_a_cache_hit_is_skipped_not_priced():
    rows = stage(litellm_spend.select_sql, SPEND)
    hit = next(r for r in rows if r["kind"] == "skip")
    assert hit["line"] == 4 and hit["reason"] is None


def test_v2_page_and_csv_export():
    page = good(stage(litellm_spend.select_sql, PAGE))
    assert set(page) == {FIRST, "litellm-req-4e2f"}
    assert (page["litellm-req-4e2f"]["output_tokens"],
            page["litellm-req-4e2f"]["reasoning_tokens"],
            page["litellm-req-4e2f"]["project"]) == (50, 150, "team-growth-1")
    rows = stage(litellm_spend.select_sql, EXPORT)
    assert [r["line"] for r in rows] == [2, 3]
    exported = good(rows)
    csv_row = exported["litellm-req-5a01"]
    assert (csv_row["input_tokens"], csv_row["cached_input_tokens"], csv_row["output_tokens"],
            csv_row["reasoning_tokens"], csv_row["billed_cost"], csv_row["ts"]) == \
        (1500, 500, 350, 250, Decimal("0.001881"), datetime(2026, 10, 8, 7, 0, tzinfo=UTC))
    assert json.loads(exported[FIRST]["tags"]) == {"team": "growth", "nightly": "true"}


def test_spend_is_read_from_its_digits(tmp_path):
    path = tmp_path / "one.json"
    path.write_text('[{"request_id": "r9", "spend": 0.100000000001, "prompt_tokens": 1, '
                    '"completion_tokens": 1, "startTime": "2026-10-05T10:00:00Z", '
                    '"model": "deepseek-v3-2"}]')
    assert good(stage(litellm_spend.select_sql, path))["r9"]["billed_cost"] == \
        Decimal("0.100000000001")


def test_the_directory_ingests(db):
    # the seed card alone (no catalog), so these models are unpriced and the warning's
    # count can be checked: requests (a daily row's request_count), not rows
    s = ingest([LITELLM], db=db, prices=PriceBook(builtin_cards()))
    invariant(s)
    # daily: 3 rows + 1 day's remainder; CSV: 2 (one is the array's first row); v2 page: 2
    # (one is the first row again); array: 5, the cache hit skipped
    assert (s.read, s.inserted, s.duplicates, s.rejected, s.skipped_records) == \
        (4 + 2 + 2 + 4, 9, 2, 1, 1)
    assert query(db, "SELECT sum(billed_cost) FROM usage WHERE source_format = "
                     "'litellm-spend'") == [(Decimal("0.01522185"),)]
    assert query(db, "SELECT sum(billed_cost), sum(request_count) FROM usage WHERE "
                     "source_format = 'litellm-daily'") == [(Decimal("0.0482"), 37)]
    assert query(db, "SELECT source_file LIKE '%.csv', source_line FROM usage WHERE "
                     "request_id = ?", [FIRST]) == [(True, 3)]
    assert s.unpriced == {"claude-sonnet-4-20250514": 10 + 2, "gpt-4o-mini-2024-07-18": 1}


def test_spend_rejection_reasons(tmp_path):
    path = write_lines(tmp_path / "bad.jsonl", [
        row(request_id="a", prompt_tokens=-1),
        row(request_id="b", completion_tokens=None),
        row(request_id="c", metadata={"usage_object": {"cache_read_input_tokens": 90,
                                                       "cache_creation_input_tokens": 20}}),
        row(request_id="d", metadata={"usage_object": {
            "completion_tokens_details": {"reasoning_tokens": 51}}}),
        row(request_id="e", spend="lots"),
        row(request_id="f", spend="0.0000000000001"),
        row(request_id="g", startTime=None, endTime=None),
        row(request_id="h", startTime="yesterday"),
        row(request_id="i", model="", model_group=None),
        "not json",
    ])
    assert reasons(stage(litellm_spend.select_sql, path)) == [
        "prompt_tokens is -1; token counts must be whole numbers >= 0",
        "missing usage: no completion_tokens",
        "cache reads + cache writes (110) > prompt_tokens (100)",
        "completion_tokens_details.reasoning_tokens (51) > completion_tokens (50)",
        "spend is lots; expected a number of USD",
        "spend 0.0000000000001 has more than 12 decimal places",
        "no time: startTime and endTime are missing",
        "unparseable time: startTime is yesterday; expected unix seconds or ISO 8601, "
        "within 2000..2099",
        "missing model (model, model_group)",
        "not JSON",
    ]


def test_a_malformed_csv_row_is_a_reject_with_its_line(tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("request_id,spend,prompt_tokens,completion_tokens,startTime,model\n"
                    "r1,0.001,100,50,2026-10-05T10:00:00Z,deepseek-v3-2\n"
                    "r2,0.001,100\n"
                    "r3,0.002,200,60,2026-10-05T11:00:00Z,deepseek-v3-2\n")
    rows = stage(litellm_spend.select_sql, path)
    assert sorted(good(rows)) == ["r1", "r3"]
    assert [r["line"] for r in rows] == [2, 3, 4]
    bad = next(r for r in rows if r["reason"])
    assert bad["line"] == 3 and bad["reason"].startswith("not a CSV row of the header's 6 fields")


def test_spend_logs_recognised_by_content_and_header(tmp_path):
    for path in (SPEND, PAGE, EXPORT):
        assert document_reader(Source(0, path, str(path))) == "litellm-spend"
    other = tmp_path / "usage.csv"
    other.write_text("timestamp,model,input_tokens,output_tokens\n")
    assert document_reader(Source(0, other, str(other))) == "csv"


# --- daily activity ------------------------------------------------------------------------

def test_daily_activity_rows_per_day_and_model():
    rows = stage(litellm_daily.select_sql, DAILY)
    by_id = good(rows)
    assert set(by_id) == {"litellm-daily:2026-10-05:deepseek-v3-2",
                          "litellm-daily:2026-10-05:claude-sonnet-4-20250514",
                          "litellm-daily:2026-10-06:deepseek-v3-2"}
    claude = by_id["litellm-daily:2026-10-05:claude-sonnet-4-20250514"]
    assert claude["ts"] == datetime(2026, 10, 5, tzinfo=UTC)
    assert (claude["input_tokens"], claude["cached_input_tokens"], claude["cache_write_tokens"],
            claude["output_tokens"], claude["reasoning_tokens"], claude["request_count"],
            claude["billed_cost"]) == (26000, 18000, 4000, 2700, None, 10, Decimal("0.0197"))
    # 2026-10-06: metrics 9 requests, 14,000 / 1,900 tokens, $0.009; its one model 7, 10,000 /
    # 1,500, $0.007: the rest is rejected with the difference
    assert reasons(rows) == [
        "results[1]: metrics of 2026-10-06 exceed its breakdown.models by 2 api_requests, "
        "4000 prompt_tokens, 400 completion_tokens and $0.002 spend: usage with no model, "
        "which cannot be priced (the breakdown covers only part of the day)"]


def test_daily_activity_older_flat_breakdown(tmp_path):
    doc = {"results": [{"date": "2026-10-07", "metrics": {
        "spend": 0.5, "prompt_tokens": 100, "completion_tokens": 10, "api_requests": 2},
        "breakdown": {"models": {"deepseek-v3-2": {
            "spend": 0.5, "prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110,
            "api_requests": 2}}}}]}
    path = tmp_path / "flat.json"
    path.write_text(json.dumps(doc, indent=2))
    rows = stage(litellm_daily.select_sql, path)
    assert reasons(rows) == []
    only = good(rows)["litellm-daily:2026-10-07:deepseek-v3-2"]
    assert (only["input_tokens"], only["output_tokens"], only["request_count"]) == (100, 10, 2)


def test_daily_activity_rejection_reasons(tmp_path):
    doc = {"results": [
        {"date": "2026-10-07", "metrics": {"api_requests": 1, "prompt_tokens": 5,
                                           "completion_tokens": 1, "spend": 0.1},
         "breakdown": {"models": {"m1": {"metrics": {"api_requests": 1, "prompt_tokens": -5,
                                                     "completion_tokens": 1, "spend": 0.1}}}}},
        {"date": "someday", "breakdown": {"models": {"m2": {"api_requests": 1,
                                                            "prompt_tokens": 5,
                                                            "completion_tokens": 1}}}},
        {"note": "not a day"},
    ]}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc))
    assert reasons(stage(litellm_daily.select_sql, path)) == [
        'results[0]: breakdown.models["m1"]: prompt_tokens is -5; token counts must be whole '
        "numbers >= 0",
        'results[1]: breakdown.models["m2"]: unparseable date: someday; expected YYYY-MM-DD',
        "results[2]: not a day of activity (no metrics, no breakdown)",
    ]


def test_the_documented_daily_activity_example(db):
    """LiteLLM's docs example (its `{ ... }` placeholders removed): one model's breakdown of
    a day of 11 requests."""
    shared = real_formats()
    if shared is None:
        pytest.skip("no shared samples here")
    sample = shared / "litellm_user_daily_activity_docs.json"
    s = ingest([sample], db=db, prices=BOOK)
    assert (s.inserted, s.rejected) == (1, 1)
    assert query(db, "SELECT input_tokens, output_tokens, request_count, billed_cost FROM "
                     "usage") == [(37, 9, 1, Decimal("0.00001095"))]
    assert "by 10 api_requests, 74 prompt_tokens, 1702 completion_tokens and $0.01769625" \
        in list_rejects(db)[0]["reason"]


def test_cli_ingest_json_summary(cli, db):
    result = cli("ingest", str(DAILY), str(SPEND), "--db", str(db), "--format", "json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["inserted"], summary["rejected"],
            summary["skipped_records"]) == (8, 7, 1, 1)
    # the catalog prices both models now: nothing is unpriced
    assert "unpriced" not in result.stderr
