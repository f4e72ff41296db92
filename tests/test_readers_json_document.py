"""Pretty-printed JSON (`costkit.readers.json_document`): a file that is one JSON document,
or a JSON array of records, is read as records (each through the same per-record detection
as a JSONL), not as one reject per line. Expected numbers are read off the fixtures by
hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from conftest import FIXTURES
from readers_support import BOOK, invariant, query, real_formats, write_lines

from costkit.ingest.rejects import list_rejects
from costkit.ingest.run import ingest
from costkit.readers import document_reader
from costkit.readers.lines import Source

JSON = FIXTURES / "logs" / "json"
PRETTY = JSON / "chat-completion.pretty.json"
ARRAY = JSON / "records.json"


@pytest.fixture
def db(tmp_path):
    return tmp_path / "store.duckdb"


def reader_of(path) -> str | None:
    return document_reader(Source(0, path, str(path)))


def test_a_pretty_printed_response_is_one_record(db):
    s = ingest([PRETTY], db=db, prices=BOOK)
    invariant(s)
    assert (s.read, s.inserted, s.rejected) == (1, 1, 0)
    # prompt 1,200 with 1,024 cache hits; completion 300 of which 120 reasoning
    assert query(db, "SELECT request_id, ts, input_tokens, cached_input_tokens, output_tokens, "
                     "reasoning_tokens, source_format, source_line FROM usage") == [
        ("5e7f9a1c-3b2d-4e6f-8a0b-1c2d3e4f5a6b", datetime(2026, 10, 5, tzinfo=UTC), 1200, 1024,
         180, 120, "chat", 1)]


def test_an_array_of_records_each_detected(db):
    s = ingest([ARRAY], db=db, prices=BOOK, project="cli")
    invariant(s)
    # 6 elements: a chat completion, an enveloped message, two chunks of one stream, a
    # completion with a negative count, a string
    assert (s.read, s.inserted, s.rejected) == (5, 3, 2)
    assert query(db, "SELECT request_id, source_format, source_line, input_tokens, "
                     "cached_input_tokens, output_tokens, project FROM usage ORDER BY ts") == [
        ("chatcmpl-arr-1", "chat", 1, 500, 0, 50, "cli"),
        ("msg_arr_2", "envelope/messages", 2, 100, 90, 20, "docs-bot"),
        ("chatcmpl-arr-stream", "chat-stream", 3, 40, 0, 8, "cli"),
    ]
    assert [(r["line"], r["reason"]) for r in sorted(list_rejects(db),
                                                      key=lambda r: r["line"])] == [
        (5, "usage.prompt_tokens is -1; token counts must be whole numbers >= 0"),
        (6, "JSON, but not an object"),
    ]


def test_before_pretty_json_was_one_reject_per_line(tmp_path, db):
    """The failure this reader fixes: 31 lines of one response were 31 rejects."""
    s = ingest([PRETTY], db=db, prices=BOOK)
    assert s.rejected == 0
    assert len(PRETTY.read_text().splitlines()) > 20


def test_what_is_recognised(tmp_path):
    assert reader_of(PRETTY) == "json"
    assert reader_of(ARRAY) == "json"
    one_line_array = write_lines(tmp_path / "a.json", ['[{"a": 1}, {"b": 2}]'])
    assert reader_of(one_line_array) == "json"
    jsonl = write_lines(tmp_path / "r.jsonl", [{"a": 1}, {"b": 2}])
    assert reader_of(jsonl) is None
    broken_jsonl = write_lines(tmp_path / "b.jsonl", ['{"a": 1}', "{broken"])
    assert reader_of(broken_jsonl) is None
    sse = write_lines(tmp_path / "c.sse", ['data: {"a": 1}'])
    assert reader_of(sse) is None
    # a pretty page of a source with its own reader goes to that reader
    usage = FIXTURES / "logs" / "openai-usage" / "completions-by-model.json"
    assert reader_of(usage) == "openai-usage"


def test_forced_and_broken(tmp_path, db):
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "id": "x",\n  "object": "chat.completion",\n')
    s = ingest([broken], db=db, prices=BOOK)
    assert (s.read, s.rejected) == (1, 1)
    assert list_rejects(db)[0]["reason"] == "not JSON"
    forced = tmp_path / "one.txt"
    forced.write_text(json.dumps(json.loads(PRETTY.read_text())))
    s = ingest([forced], db=tmp_path / "f.duckdb", prices=BOOK, input_format="json")
    assert (s.read, s.inserted) == (1, 1)


def test_the_spec_examples(db):
    shared = real_formats()
    if shared is None:
        pytest.skip("no shared samples here")
    s = ingest([shared / "openai_chat_completion_spec.pretty.json",
                shared / "openai_responses_web_search_spec.pretty.json"], db=db, prices=BOOK)
    assert (s.read, s.inserted, s.rejected) == (2, 2, 0)
    assert query(db, "SELECT endpoint, input_tokens, output_tokens, search_calls FROM usage "
                     "ORDER BY endpoint") == [("chat.completions", 19, 10, 0),
                                              ("responses", 328, 356, 1)]
