"""`expected` learned from the usage store: medians of past requests of the model."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from costkit.core.errors import NoStoreError
from costkit.estimator.history import HistorySource, learn
from costkit.store.connection import open_store

COLUMNS = "model VARCHAR, output_tokens BIGINT, reasoning_tokens BIGINT, search_calls BIGINT, " \
          "ts TIMESTAMPTZ, endpoint VARCHAR"


def usage_db(path, rows):
    con = duckdb.connect(str(path))
    con.execute(f"CREATE TABLE usage ({COLUMNS})")
    con.executemany(
        "INSERT INTO usage VALUES (?, ?, ?, ?, TIMESTAMPTZ '2026-03-01 00:00:00+00', ?)", rows
    )
    return con


def test_medians_of_output_reasoning_and_search(tmp_path):
    rows = [
        ("deepseek-v3-2", 100, 0, 0, "chat.completions"),
        ("deepseek-v3-2", 201, 1000, 0, "chat.completions"),
        ("deepseek-v3-2", 300, 3000, 2, "responses"),
        ("deepseek-v3-2", 400, 0, 4, "messages"),
        ("other-model", 99999, 99999, 9, "chat.completions"),
    ]
    con = usage_db(tmp_path / "h.duckdb", rows)
    past = learn(con, ["deepseek-v3-2"])
    assert past is not None
    assert past.requests == 4
    assert past.output_tokens == 251  # median of 100, 201, 300, 400 = 250.5, rounded up
    # reasoning and searches: medians over the requests that reasoned / searched
    assert past.reasoning_tokens == 2000 and past.reasoning_requests == 2
    assert past.search_calls == 3 and past.search_requests == 2
    assert past.output_includes_reasoning is False


def test_aliases_are_read_together_and_failed_requests_left_out(tmp_path):
    rows = [
        ("deepseek-v3-2", 10, 0, 0, "chat.completions"),
        ("DeepSeek-V3.2", 30, 0, 0, "chat.completions"),
        ("deepseek-v3-2", 0, 0, 0, "chat.completions"),  # failed: produced nothing
        ("deepseek-v3-2", 0, None, 0, "chat.completions"),
    ]
    con = usage_db(tmp_path / "h.duckdb", rows)
    past = learn(con, ["deepseek-v3-2", "DeepSeek-V3.2"])
    assert (past.requests, past.output_tokens) == (2, 20)
    assert past.reasoning_tokens is None and past.search_calls is None


def test_rows_without_a_reasoning_split(tmp_path):
    rows = [("m", 500, None, 0, "chat.completions"), ("m", 700, None, 0, "chat.completions")]
    con = usage_db(tmp_path / "h.duckdb", rows)
    past = learn(con, ["m"])
    assert past.output_includes_reasoning is True
    assert past.output_tokens == 600 and past.requests == 2
    # once some rows split reasoning out, only those give the visible output
    con.execute("INSERT INTO usage VALUES ('m', 40, 10, 0, now(), 'chat.completions')")
    past = learn(con, ["m"])
    assert (past.output_includes_reasoning, past.output_tokens, past.requests) == (False, 40, 1)


def test_no_table_or_no_rows_means_no_history(tmp_path):
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    assert learn(con, ["deepseek-v3-2"]) is None
    con.execute(f"CREATE TABLE usage ({COLUMNS})")
    assert learn(con, ["deepseek-v3-2"]) is None
    assert learn(con, []) is None


def test_history_source_reads_the_real_store(tmp_path):
    path = tmp_path / "store.duckdb"
    con = open_store(path)
    con.execute("""
        INSERT INTO usage (request_id, ts, model, input_tokens, output_tokens, reasoning_tokens,
                           search_calls, source_format, endpoint)
        VALUES ('a', now(), 'deepseek-v3-2', 10, 120, 800, 0, 'test', 'chat.completions'),
               ('b', now(), 'deepseek-v3-2', 10, 180, 1200, 1, 'test', 'chat.completions'),
               ('c', now(), 'deepseek-v3-2', 10, 150, 1000, 0, 'test', 'chat.completions')
    """)
    con.close()
    with HistorySource(path) as source:
        past = source.for_model(["deepseek-v3-2"])
        assert (past.requests, past.output_tokens, past.reasoning_tokens, past.search_calls) == (
            3, 150, 1000, 1)
        assert source.for_model(["deepseek-v3-2"]) is past  # cached for the run
        assert source.for_model(["unknown"]) is None
    with HistorySource(path, enabled=False) as source:
        assert source.for_model(["deepseek-v3-2"]) is None


def test_missing_default_store_is_no_history_and_creates_nothing(tmp_path, monkeypatch):
    path = tmp_path / "nowhere" / "store.duckdb"
    monkeypatch.setenv("COSTKIT_DB", str(path))
    with HistorySource() as source:
        assert source.for_model(["deepseek-v3-2"]) is None
        assert source.problem is None
    assert not path.parent.exists()


def test_a_named_store_that_is_missing_is_an_error_before_any_request(tmp_path):
    path = tmp_path / "nowhere" / "store.duckdb"
    with pytest.raises(NoStoreError, match=f"^no store at {re.escape(str(path))}; "):
        with HistorySource(path):
            pass
    with HistorySource(path, enabled=False) as source:  # --no-history never looks
        assert source.for_model(["deepseek-v3-2"]) is None
    assert not path.parent.exists()


@pytest.mark.parametrize("values, median", [([1], 1), ([1, 2], 2), ([1, 2, 4], 2), ([3, 4], 4)])
def test_median_rounds_half_up(tmp_path, values, median):
    con = usage_db(tmp_path / "h.duckdb", [("m", v, 0, 0, "x") for v in values])
    assert learn(con, ["m"]).output_tokens == median


# --- aggregate rows (issue 15): a usage bucket is many requests, not one ------------------

def test_aggregate_rows_are_left_out_of_the_medians_and_counted(tmp_path):
    path = tmp_path / "store.duckdb"
    con = open_store(path)
    con.execute("""
        INSERT INTO usage (request_id, ts, model, input_tokens, output_tokens, reasoning_tokens,
                           search_calls, source_format, endpoint, request_count)
        VALUES ('a', now(), 'deepseek-v3-2', 10, 100, NULL, 0, 'test', 'chat.completions', 1),
               ('b', now(), 'deepseek-v3-2', 10, 300, NULL, 0, 'test', 'chat.completions', 1),
               ('bucket1', now(), 'deepseek-v3-2', 10, 9000, NULL, 0, 'test', 'chat.completions',
                40),
               ('bucket2', now(), 'deepseek-v3-2', 10, 20000, NULL, 2, 'test',
                'chat.completions', 10)
    """)
    past = learn(con, ["deepseek-v3-2"])
    # The two requests only: median of 100 and 300 is 200 (with the buckets as requests it
    # would be the median of 100, 300, 9000, 20000 = 4650), and no request searched (the 2
    # calls are the second bucket's).
    assert (past.requests, past.output_tokens, past.search_calls) == (2, 200, None)
    assert (past.aggregate_rows, past.aggregate_requests) == (2, 50)
    assert past.learned_from() == (
        "learned from 2 requests in the store (skipped 2 aggregate rows of 50 requests: a "
        "bucket's tokens are a sum, not one request's)")
    con.execute("DELETE FROM usage WHERE request_count = 1")
    assert learn(con, ["deepseek-v3-2"]) is None  # buckets alone: the defaults apply


def test_estimate_says_it_skipped_the_usage_buckets(cli, tmp_path):
    db = str(tmp_path / "usage.duckdb")
    fixtures = Path(__file__).parent / "fixtures"
    for log in (fixtures / "estimate" / "history" / "usage.jsonl",
                fixtures / "logs" / "openai-usage" / "completions-by-model.json"):
        assert cli("ingest", str(log), "--db", db).exit_code == 0
    result = cli("estimate", "Write a haiku about the ocean.", "--db", db, "--format", "json")
    data = json.loads(result.stdout)
    # the 7 requests of tests/test_estimate_cli.py::test_expected_learned_after_ingesting_
    # fixture_logs; the page's deepseek-v3-2 buckets are 40 and 10 requests (its bucket of 0
    # requests produced nothing and is not counted, like a failed request)
    assert data["history_requests"] == 7
    assert data["expected"]["output_tokens"] == 400
    assert any(a.startswith("expected: learned from 7 requests in the store (skipped 2 "
                            "aggregate rows of 50 requests") for a in data["assumptions"])
