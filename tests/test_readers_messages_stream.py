"""Anthropic Messages streaming captures (`costkit.readers.anthropic_stream`): a request per
message_start, its usage the LAST message_delta's (cumulative, never summed), start values
kept for fields a delta lacks; interrupted and failed streams and streams with no time
rejected. Expected numbers are read off the fixtures by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from conftest import FIXTURES
from readers_support import BOOK, good, invariant, query, reasons, stage, write_lines

from costkit.ingest.rejects import list_rejects
from costkit.ingest.run import ingest
from costkit.readers import anthropic_stream, document_reader
from costkit.readers.lines import Source

STREAMS = FIXTURES / "logs" / "messages-stream"
ENVELOPED = STREAMS / "enveloped.jsonl"
INTERRUPTED = STREAMS / "interrupted.sse"


@pytest.fixture
def db(tmp_path):
    return tmp_path / "store.duckdb"


def start(msg_id: str = "msg_1", **usage) -> dict:
    return {"type": "message_start", "message": {
        "id": msg_id, "type": "message", "role": "assistant", "content": [],
        "model": "claude-sonnet-4-5-20250929", "usage": usage or {"input_tokens": 10,
                                                                  "output_tokens": 1}}}


def delta(**usage) -> dict:
    return {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": usage}


def sse(*events: dict) -> list[str]:
    lines = []
    for e in events:
        lines += [f"event: {e['type']}", "data: " + json.dumps(e), ""]
    return lines


def test_enveloped_events_two_requests():
    rows = stage(anthropic_stream.select_sql, ENVELOPED)
    assert reasons(rows) == []
    by_id = good(rows)
    first = by_id["msg_01S1aaaaaaaaaaaaaaaaaaaa"]
    # older delta: only output_tokens; input and cache writes stay the start's:
    # 12 + 2,048 cache writes; output 350, not 1 + 350
    assert (first["input_tokens"], first["cached_input_tokens"], first["cache_write_tokens"],
            first["output_tokens"], first["search_calls"]) == (2060, 0, 2048, 350, 0)
    assert first["ts"] == datetime(2026, 10, 7, 8, 0, tzinfo=UTC)
    assert (first["line"], first["project"], first["user"], first["endpoint"]) == \
        (1, "research-agent", "analyst-7", "messages")
    second = by_id["msg_01S2bbbbbbbbbbbbbbbbbbbb"]
    # newer deltas repeat input and cache counts: the LAST delta's (9,100 + 2,048 reads),
    # two searches, output 512; never 120 + 512
    assert (second["input_tokens"], second["cached_input_tokens"], second["output_tokens"],
            second["search_calls"], second["line"]) == (9100 + 2048, 2048, 512, 2, 8)


def test_the_directory_ingests(db):
    s = ingest([STREAMS], db=db, prices=BOOK)
    invariant(s)
    # enveloped.jsonl: 14 events, 2 requests, 12 other events skipped; interrupted.sse: 2
    # requests (one never sent a message_delta, one an error), 5 `event:` lines and 3 other
    # events skipped
    assert (s.read, s.inserted, s.rejected, s.skipped) == (4, 2, 2, 12 + 8)
    assert sorted((r["line"], r["reason"]) for r in list_rejects(db)) == [
        (2, "stream ended without a message_delta (interrupted?): its output is unknown; not "
            "counted as $0"),
        (11, "the stream sent an error event: overloaded_error"),
    ]
    assert query(db, "SELECT sum(input_tokens), sum(output_tokens) FROM usage") == \
        [(2060 + 11148, 350 + 512)]


def test_a_raw_capture_has_no_time(tmp_path):
    path = write_lines(tmp_path / "capture.sse", sse(
        start(), {"type": "content_block_start", "index": 0}, delta(output_tokens=6),
        {"type": "message_stop"}))
    rows = stage(anthropic_stream.select_sql, path)
    assert reasons(rows) == ["no time: an event stream carries none; capture its events "
                             "inside an envelope with a timestamp"]
    record = next(r for r in rows if r["kind"] == "record")
    assert (record["input_tokens"], record["output_tokens"]) == (10, 6)


def test_rejections(tmp_path):
    def wrapped(*events):
        return [{"timestamp": "2026-10-07T08:00:00Z", "response": e} for e in events]

    path = write_lines(tmp_path / "bad.jsonl", [
        *wrapped(delta(output_tokens=3)),  # before any start
        *wrapped(start("m1", input_tokens=-2, output_tokens=1), delta(output_tokens=3)),
        *wrapped(start("m2", output_tokens=1), delta(output_tokens=3)),
        *wrapped(start("m3"), delta(output_tokens=3.5)),
        {"timestamp": "2026-10-07T08:00:00Z", "response": {"type": "surprise"}},
        "data: {broken",
    ])
    assert reasons(stage(anthropic_stream.select_sql, path)) == [
        "a message_delta event before any message_start",
        "message_start.message.usage.input_tokens is -2; token counts must be whole "
        "numbers >= 0",
        "missing usage: no message_start.message.usage.input_tokens",
        "message_delta.usage.output_tokens is 3.5; token counts must be whole numbers >= 0",
        "not a Messages stream event (message_start, message_delta, content_block_*, "
        "message_stop, ping, error)",
        "not JSON",
    ]


def test_recognised_by_a_message_start():
    assert document_reader(Source(0, INTERRUPTED, str(INTERRUPTED))) == "messages-stream"
    assert document_reader(Source(0, ENVELOPED, str(ENVELOPED))) == "messages-stream"


def test_the_sdk_capture_from_the_shared_samples(db):
    from readers_support import real_formats

    shared = real_formats()
    if shared is None:
        pytest.skip("no shared samples here")
    s = ingest([shared / "anthropic_messages_stream_sdk.sse"], db=db, prices=BOOK)
    assert (s.read, s.inserted, s.rejected) == (1, 0, 1)
    assert list_rejects(db)[0]["reason"].startswith("no time: an event stream carries none")
