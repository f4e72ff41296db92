"""`expected` learned from the usage store: medians of past requests of the model."""

from __future__ import annotations

import re

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
