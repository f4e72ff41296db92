"""The OpenAI organization Usage API reader (`costkit.readers.openai_usage`): buckets of
aggregates as rows with a request count, dedupe by bucket and group keys, Costs pages
refused, each rejection reason. Expected numbers are read off the fixtures by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import FIXTURES
from readers_support import BOOK, good, invariant, query, reasons, stage, write_lines

from costkit.ingest.rejects import list_rejects
from costkit.ingest.run import ingest
from costkit.pricing.sql import register_prices
from costkit.readers import document_reader, openai_usage
from costkit.readers.lines import Source
from costkit.store.connection import open_store
from costkit.store.migrations import MIGRATIONS

USAGE = FIXTURES / "logs" / "openai-usage"
PAGE = USAGE / "completions-by-model.json"
PAGES = USAGE / "pages.jsonl"
COSTS = USAGE / "costs.json"

DAY1, DAY2, DAY3 = 1790812800, 1790899200, 1790985600  # 2026-10-01, -02, -03 00:00 UTC


@pytest.fixture
def db(tmp_path):
    return tmp_path / "store.duckdb"


def rid(start: int, end: int, project: str, key: str, model: str, batch: str = "false",
        tier: str = "") -> str:
    return f"openai-usage:{start}-{end}:{project}:{key}::{model}:{batch}:{tier}"


def result(**fields) -> dict:
    base = {"object": "organization.usage.completions.result", "input_tokens": 1000,
            "input_cached_tokens": 0, "input_cache_write_tokens": 0,
            "input_uncached_tokens": 1000, "output_tokens": 100, "num_model_requests": 2,
            "project_id": "proj_a", "user_id": None, "api_key_id": "key_a",
            "model": "deepseek-v3-2", "batch": False, "service_tier": None}
    base.update(fields)
    return base


def page(*results: dict, start: int = DAY1, end: int = DAY2) -> dict:
    return {"object": "page", "data": [{"object": "bucket", "start_time": start,
                                        "end_time": end, "results": list(results)}],
            "has_more": False, "next_page": None}


# --- the pretty-printed page ---------------------------------------------------------------

def test_page_results_are_aggregate_rows():
    rows = stage(openai_usage.select_sql, PAGE)
    assert [r["line"] for r in rows] == [1, 2, 3, 4]  # one document: result positions
    assert reasons(rows) == []
    by_id = good(rows)
    first = by_id[rid(DAY1, DAY2, "proj_search", "key_7Qp2", "deepseek-v3-2")]
    assert first["ts"] == datetime(2026, 10, 1, tzinfo=UTC)
    assert (first["input_tokens"], first["cached_input_tokens"], first["cache_write_tokens"],
            first["output_tokens"], first["reasoning_tokens"], first["request_count"]) == \
        (120000, 80000, 0, 9000, None, 40)
    assert (first["project"], first["api_key_id"], first["provider"], first["tags"]) == \
        ("proj_search", "key_7Qp2", "openai", None)
    batch = by_id[rid(DAY1, DAY2, "proj_search", "key_7Qp2", "deepseek-v3-2", "true")]
    assert (batch["input_tokens"], batch["cache_write_tokens"], batch["output_tokens"],
            batch["request_count"]) == (50000, 10000, 20000, 10)
    assert json.loads(batch["tags"]) == {"batch": "true"}
    tiered = by_id[rid(DAY2, DAY3, "proj_support", "key_Zx81", "gpt-4o-mini-2024-07-18",
                       tier="default")]
    assert (tiered["input_tokens"], tiered["cached_input_tokens"], tiered["request_count"]) == \
        (3000, 1000, 3)
    assert json.loads(tiered["tags"]) == {"service_tier": "default"}
    empty = by_id[rid(DAY2, DAY3, "proj_support", "key_Zx81", "deepseek-v3-2")]
    assert (empty["input_tokens"], empty["output_tokens"], empty["request_count"]) == (0, 0, 0)


def test_the_directory_ingests_with_dedupe_by_bucket_and_group(db):
    s = ingest([USAGE], db=db, prices=BOOK)
    invariant(s)
    # 4 results on the page, 3 in pages.jsonl (one the page's own day-2 result again, one
    # without a model), 1 costs result
    assert (s.read, s.inserted, s.duplicates, s.rejected) == (8, 5, 1, 2)
    assert query(db, "SELECT sum(request_count), sum(input_tokens), sum(output_tokens) "
                     "FROM usage") == [(40 + 10 + 3 + 0 + 2, 120000 + 50000 + 3000 + 2500,
                                        9000 + 20000 + 700 + 400)]
    assert query(db, "SELECT DISTINCT source_format FROM usage") == [("openai-usage",)]
    reasons_ = sorted(r["reason"] for r in list_rejects(db))
    assert reasons_ == [
        "data[0].results[0]: an OpenAI Costs API result: a billed amount without token counts "
        "is not usage (costkit reads /organization/usage/completions pages)",
        "data[0].results[1]: no model: the page was not grouped by model, so its tokens "
        "cannot be priced; fetch it with group_by=model",
    ]
    again = ingest([USAGE], db=db, prices=BOOK)
    assert (again.inserted, again.duplicates, again.rejected) == (0, 6, 2)


def test_an_aggregate_row_is_priced_on_its_summed_tokens(db):
    ingest([PAGE], db=db, prices=BOOK)
    con = open_store(db, read_only=True)
    try:
        register_prices(con, BOOK)
        cost = con.execute(
            "SELECT (input_tokens - cached_input_tokens - cache_write_tokens) * rate_input "
            "+ cached_input_tokens * rate_cached_input + output_tokens * rate_output "
            "FROM costed_usage WHERE request_count = 40").fetchone()[0]
    finally:
        con.close()
    # 120,000 input tokens (80,000 cached, billed at the same $0.57/1M) and 9,000 output at
    # $1.71/1M: 0.0684 + 0.01539, whatever the 40 requests were
    assert cost == Decimal("0.08379")


def test_a_bucket_fetched_again_with_other_numbers_is_a_conflict(tmp_path, db):
    first = write_lines(tmp_path / "a.jsonl", [page(result(num_model_requests=2))])
    later = write_lines(tmp_path / "b.jsonl", [page(result(num_model_requests=3,
                                                           input_tokens=1500,
                                                           input_uncached_tokens=1500))])
    ingest([first], db=db, prices=BOOK)
    s = ingest([later], db=db, prices=BOOK)
    assert (s.inserted, s.conflicts) == (0, 1)
    assert query(db, "SELECT request_count, input_tokens FROM usage") == [(2, 1000)]
    conflict = list_rejects(db)[0]["reason"]
    assert conflict.startswith("conflict: request_id openai-usage:")
    assert "input_tokens 1500 here, 1000 there" in conflict


def test_other_group_keys_make_other_rows(tmp_path):
    path = write_lines(tmp_path / "p.jsonl", [page(
        result(), result(project_id="proj_b"), result(api_key_id="key_b"), result(user_id="u1"),
        result(batch=True), result(service_tier="flex"))])
    rows = stage(openai_usage.select_sql, path)
    assert len(good(rows)) == 6
    assert good(rows)[f"openai-usage:{DAY1}-{DAY2}:proj_a:key_a:u1:deepseek-v3-2:false:"][
        "user"] == "u1"


def test_project_option_fills_ungrouped_projects_only(tmp_path):
    path = write_lines(tmp_path / "p.jsonl", [page(result(), result(project_id=None))])
    rows = stage(openai_usage.select_sql, path, project="cli")
    assert sorted(r["project"] for r in good(rows).values()) == ["cli", "proj_a"]


def test_embeddings_results_have_no_output(tmp_path):
    embedding = {"object": "organization.usage.embeddings.result", "input_tokens": 16,
                 "num_model_requests": 2, "project_id": None, "user_id": None,
                 "api_key_id": None, "model": "text-embedding-3-small"}
    path = write_lines(tmp_path / "e.jsonl", [page(embedding)])
    row = next(iter(good(stage(openai_usage.select_sql, path)).values()))
    assert (row["endpoint"], row["input_tokens"], row["output_tokens"], row["request_count"]) \
        == ("embeddings", 16, 0, 2)


def test_bare_buckets_and_arrays_of_pages(tmp_path):
    bucket = page(result())["data"][0]
    path = write_lines(tmp_path / "b.jsonl", [bucket])
    assert len(good(stage(openai_usage.select_sql, path))) == 1
    arrayed = tmp_path / "pages.json"
    arrayed.write_text(json.dumps([page(result()), page(result(), start=DAY2, end=DAY3)],
                                  indent=2))
    rows = stage(openai_usage.select_sql, arrayed)
    assert len(good(rows)) == 2 and reasons(rows) == []


def test_rejection_reasons(tmp_path):
    path = write_lines(tmp_path / "bad.jsonl", [page(
        result(input_tokens=-3),
        result(num_model_requests=None),
        result(input_cached_tokens=900, input_cache_write_tokens=200),
        result(input_uncached_tokens=999),
        result(output_tokens="many"),
        result(model=""),
        {"object": "organization.usage.images.result", "images": 2, "num_model_requests": 1},
        "not an object",
    ), {"object": "page", "data": [{"object": "bucket", "start_time": "soon",
                                    "results": [result()]}]},
        {"object": "page", "data": [{"object": "bucket", "start_time": DAY1}]}])
    got = reasons(stage(openai_usage.select_sql, path))
    assert sorted(got) == sorted([
        "data[0].results[0]: input_tokens is -3; token counts must be whole numbers >= 0",
        "data[0].results[1]: missing usage: no num_model_requests",
        "data[0].results[2]: input_cached_tokens + input_cache_write_tokens (1100) > "
        "input_tokens (1000)",
        "data[0].results[3]: input_cached_tokens + input_cache_write_tokens + "
        "input_uncached_tokens (999) <> input_tokens (1000)",
        "data[0].results[4]: output_tokens is many; token counts must be whole numbers >= 0",
        "data[0].results[5]: no model: the page was not grouped by model, so its tokens "
        "cannot be priced; fetch it with group_by=model",
        "data[0].results[6]: not a completions or embeddings usage result (object "
        "organization.usage.images.result); costkit reads /organization/usage/completions "
        "and /usage/embeddings pages",
        "data[0].results[7]: not a usage result object (JSON varchar)",
        "data[0].results[0]: unparseable time: start_time is soon; expected unix seconds or "
        "ISO 8601, within 2000..2099",
        "data[0]: not an OpenAI usage page (data[] of buckets) nor a bucket (results[])",
    ])


def test_costs_pages_are_recognised_and_refused(db):
    rows = stage(openai_usage.select_sql, COSTS)
    assert [r["reason"] for r in rows] == [
        "data[0].results[0]: an OpenAI Costs API result: a billed amount without token counts "
        "is not usage (costkit reads /organization/usage/completions pages)"]
    assert document_reader(Source(0, COSTS, str(COSTS))) == "openai-usage"


def test_recognised_by_content_not_by_a_mention(tmp_path):
    mention = write_lines(tmp_path / "chat.jsonl", [{
        "object": "chat.completion", "id": "c1", "created": DAY1, "model": "deepseek-v3-2",
        "choices": [{"message": {"content": '{"object": "bucket"}'}}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1}}])
    assert document_reader(Source(0, mention, str(mention))) is None
    assert document_reader(Source(0, PAGES, str(PAGES))) == "openai-usage"


def test_a_store_from_before_request_count_counts_each_row_once(tmp_path):
    """Migration 004 on a store written without it: every existing row stands for 1 request."""
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE costkit_migrations (name VARCHAR PRIMARY KEY, "
                "applied_at TIMESTAMPTZ NOT NULL)")
    for name, step in MIGRATIONS:
        if name.startswith("004"):
            break
        step(con)
        con.execute("INSERT INTO costkit_migrations VALUES (?, now())", [name])
    con.execute("INSERT INTO usage (request_id, ts, model, input_tokens, output_tokens, "
                "source_format) VALUES ('r1', now(), 'deepseek-v3-2', 5, 1, 'chat')")
    con.close()
    open_store(path).close()
    assert query(path, "SELECT request_id, request_count FROM usage") == [("r1", 1)]


def test_cli_ingest_forced_format(cli, db, tmp_path):
    copy = tmp_path / "usage-export.txt"
    copy.write_text(PAGE.read_text())
    result = cli("ingest", str(copy), "--input-format", "openai-usage", "--db", str(db),
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["inserted"], summary["rejected"]) == (4, 4, 0)
    assert "unpriced" not in result.stderr  # the catalog prices gpt-4o-mini-2024-07-18


def test_fixtures_are_valid_json():
    json.loads(PAGE.read_text())
    json.loads(COSTS.read_text())
    for line in Path(PAGES).read_text().splitlines():
        json.loads(line)


def test_spend_counts_the_requests_a_bucket_stands_for(db):
    """A bucket is num_model_requests requests, not one row: the breakdown and the report
    table say 40 + 10 + 3 + 0 + 2 = 55 requests (the sums of the fixture's buckets, as the
    test above adds them), not the 5 rows stored."""
    from costkit.spend.breakdown import spend
    from costkit.store.connection import open_store

    ingest([USAGE], db=db, prices=BOOK)
    con = open_store(db, read_only=True)
    try:
        frame = spend(con, [], book=BOOK)
    finally:
        con.close()
    assert frame["requests"].to_list() == [55]
