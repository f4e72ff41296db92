"""OpenRouter generation stats (`costkit.readers.openrouter`: native counts, total_cost as
billed cost, search results never $0) and Langfuse exports (`costkit.readers.langfuse`:
usageDetails buckets, disjoint or nested as `total` shows, non-usage observations
skipped). Expected numbers are read off the fixtures by hand."""

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

from costkit.ingest.run import ingest
from costkit.readers import document_reader, langfuse, openrouter
from costkit.readers.lines import Source

GENERATIONS = FIXTURES / "logs" / "openrouter" / "generations.jsonl"
TRACE = FIXTURES / "logs" / "langfuse" / "trace.json"
OBSERVATIONS = FIXTURES / "logs" / "langfuse" / "observations.jsonl"


@pytest.fixture
def db(tmp_path):
    return tmp_path / "store.duckdb"


# --- OpenRouter ---------------------------------------------------------------------------

def test_generations_native_counts_and_total_cost():
    rows = good(stage(openrouter.select_sql, GENERATIONS))
    cached = rows["gen-1791187200-AbCdEfGhIjKlMnOpQrSt"]
    # native counts (12,000 / 900), not the normalised 11,890 / 905
    assert (cached["model"], cached["provider"], cached["endpoint"], cached["input_tokens"],
            cached["cached_input_tokens"], cached["output_tokens"], cached["reasoning_tokens"],
            cached["search_calls"], cached["user"]) == \
        ("deepseek/deepseek-chat-v3.1", "DeepSeek", "chat.completions", 12000, 8000, 900, 0, 0,
         "customer-42")
    assert (cached["billed_cost"], cached["billed_currency"]) == (Decimal("0.0021234"), "USD")
    assert cached["ts"] == datetime(2026, 10, 5, 8, 0, 0, 512000, tzinfo=UTC)
    byok = rows["gen-1791187500-BcDeFgHiJkLmNoPqRsTu"]
    # completion 1,200 includes 400 reasoning; BYOK: total_cost is OpenRouter's fee
    assert (byok["output_tokens"], byok["reasoning_tokens"], byok["billed_cost"],
            json.loads(byok["tags"])) == (800, 400, Decimal("0.00135"), {"byok": "true"})
    searched = rows["gen-1791187800-CdEfGhIjKlMnOpQrStUv"]
    assert (searched["search_calls"], searched["status"]) == (None, "cancelled")


def test_generations_ingest(db):
    s = ingest([GENERATIONS], db=db, prices=BOOK)
    invariant(s)
    assert (s.read, s.inserted, s.search_unknown) == (3, 3, 1)
    assert query(db, "SELECT sum(billed_cost) FROM usage") == \
        [(Decimal("0.0021234") + Decimal("0.00135") + Decimal("0.0201"),)]


def test_generation_layouts(tmp_path):
    one = json.loads(GENERATIONS.read_text().splitlines()[0])
    pretty = tmp_path / "one.json"
    pretty.write_text(json.dumps(one, indent=2))
    assert list(good(stage(openrouter.select_sql, pretty))) == \
        ["gen-1791187200-AbCdEfGhIjKlMnOpQrSt"]
    arrayed = tmp_path / "many.json"
    arrayed.write_text(json.dumps([one["data"], {**one["data"], "id": "gen-2"}]))
    assert sorted(good(stage(openrouter.select_sql, arrayed))) == \
        ["gen-1791187200-AbCdEfGhIjKlMnOpQrSt", "gen-2"]


def test_generation_rejections(tmp_path):
    data = json.loads(GENERATIONS.read_text().splitlines()[0])["data"]
    path = write_lines(tmp_path / "bad.jsonl", [
        {"data": {**data, "id": "a", "native_tokens_prompt": None}},
        {"data": {**data, "id": "b", "native_tokens_completion": -4}},
        {"data": {**data, "id": "c", "native_tokens_cached": 12001}},
        {"data": {**data, "id": "d", "native_tokens_reasoning": 901}},
        {"data": {**data, "id": "e", "total_cost": "free"}},
        {"data": {**data, "id": "f", "created_at": "last week"}},
        {"data": {**data, "id": "g", "model": " "}},
    ])
    assert reasons(stage(openrouter.select_sql, path)) == [
        "missing usage: no native_tokens_prompt",
        "native_tokens_completion is -4; token counts must be whole numbers >= 0",
        "native_tokens_cached (12001) > native_tokens_prompt (12000)",
        "native_tokens_reasoning (901) > native_tokens_completion (900)",
        "total_cost is free; expected a number of USD",
        "unparseable time: created_at is last week; expected unix seconds or ISO 8601, "
        "within 2000..2099",
        "missing model",
    ]


def test_the_documented_generation(db):
    shared = real_formats()
    if shared is None:
        pytest.skip("no shared samples here")
    ingest([shared / "openrouter_generation_docs.json"], db=db, prices=BOOK)
    # native prompt 10 (3 cached), completion 25 with 5 reasoning, $0.0015
    assert query(db, "SELECT input_tokens, cached_input_tokens, output_tokens, "
                     "reasoning_tokens, billed_cost, search_calls FROM usage") == \
        [(10, 3, 20, 5, Decimal("0.0015"), None)]


# --- Langfuse -----------------------------------------------------------------------------

def test_trace_export_observations():
    rows = stage(langfuse.select_sql, TRACE)
    assert reasons(rows) == []
    # six observations: an agent, a tool and a generation without usage are skipped
    assert [r["kind"] for r in rows] == ["skip", "record", "record", "skip", "skip", "record"]
    by_id = good(rows)
    openai = by_id["b1b1b1b1b1b1b1b1"]
    # disjoint buckets (total 2,214 = 200 + 1,800 + 150 + 64): input 200 + 1,800 cached,
    # output 150 + 64 reasoning
    assert (openai["input_tokens"], openai["cached_input_tokens"], openai["output_tokens"],
            openai["reasoning_tokens"], openai["billed_cost"]) == (2000, 1800, 150, 64, None)
    assert openai["ts"] == datetime(2026, 10, 6, 10, 0, 0, 100000, tzinfo=UTC)
    claude = by_id["c2c2c2c2c2c2c2c2"]
    assert (claude["input_tokens"], claude["cached_input_tokens"], claude["cache_write_tokens"],
            claude["output_tokens"], claude["billed_cost"]) == \
        (12 + 5000 + 300, 5000, 300, 80, Decimal("0.0038785"))
    embedding = by_id["f5f5f5f5f5f5f5f5"]
    assert (embedding["endpoint"], embedding["input_tokens"], embedding["output_tokens"]) == \
        ("embeddings", 512, 0)


def test_nested_details_when_total_says_so_and_older_usage():
    by_id = good(stage(langfuse.select_sql, OBSERVATIONS))
    nested = by_id["a9a9a9a9a9a9a9a9"]
    # total 1,300 = input 1,000 + output 300: cached and reasoning are inside them
    assert (nested["input_tokens"], nested["cached_input_tokens"], nested["output_tokens"],
            nested["reasoning_tokens"]) == (1000, 600, 200, 100)
    legacy = by_id["a8a8a8a8a8a8a8a8"]
    assert (legacy["input_tokens"], legacy["output_tokens"]) == (40, 10)


def test_langfuse_directory_ingest(db):
    s = ingest([TRACE.parent], db=db, prices=BOOK)
    invariant(s)
    # observations.jsonl: 3 (one is the trace's classify generation again); trace: 3
    assert (s.read, s.inserted, s.duplicates, s.skipped_records) == (6, 5, 1, 3)


def test_langfuse_rejections(tmp_path):
    base = json.loads(OBSERVATIONS.read_text().splitlines()[0])
    path = write_lines(tmp_path / "bad.jsonl", [
        {**base, "id": "a", "usageDetails": {"input": -1, "output": 2}},
        {**base, "id": "b", "usageDetails": {"total": 5}},
        {**base, "id": "c", "usageDetails": {"input": 10, "input_cached_tokens": 20,
                                             "output": 5, "total": 15}},
        {**base, "id": "d", "startTime": None},
        {**base, "id": "e", "providedCostDetails": {"total": "n/a"}},
    ])
    assert reasons(stage(langfuse.select_sql, path)) == [
        "usageDetails.input is -1; token counts must be whole numbers >= 0",
        "missing usage: usageDetails has no input or output",
        "cache reads + writes (20) > usageDetails input (10), which total says includes them",
        "no time: startTime is missing",
        "providedCostDetails.total is n/a; expected a number",
    ]


def test_the_openai_agents_trace(db):
    shared = real_formats()
    if shared is None:
        pytest.skip("no shared samples here")
    s = ingest([shared / "langfuse_trace_export_openai_agents.json"], db=db, prices=BOOK)
    # 5 observations (each also under trace.observations, read once): 2 generations
    assert (s.inserted, s.rejected, s.skipped_records) == (2, 0, 3)
    assert query(db, "SELECT sum(input_tokens), sum(output_tokens) FROM usage") == \
        [(85 + 55, 29 + 15)]


def test_recognised_by_content():
    for path, name in ((GENERATIONS, "openrouter"), (TRACE, "langfuse"),
                       (OBSERVATIONS, "langfuse")):
        assert document_reader(Source(0, path, str(path))) == name
