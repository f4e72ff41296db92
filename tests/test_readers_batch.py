"""OpenAI Batch API output files (`costkit.readers.batch`, unwrapped in
`costkit.readers.records`): each line's body read as its own format, tagged batch=true;
failed requests skipped and counted. Expected numbers are read off the fixture by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from conftest import FIXTURES
from readers_support import BOOK, invariant, query, real_formats, write_lines

from costkit.ingest.rejects import list_rejects
from costkit.ingest.run import ingest

OUTPUT = FIXTURES / "logs" / "batch" / "output.jsonl"


@pytest.fixture
def db(tmp_path):
    return tmp_path / "store.duckdb"


def test_batch_output_lines(db):
    s = ingest([OUTPUT], db=db, prices=BOOK)
    invariant(s)
    # 5 lines: a chat completion and a Responses body are requests; a 400 and an expired
    # request are skipped; a body without usage is rejected
    assert (s.read, s.inserted, s.rejected, s.skipped) == (3, 2, 1, 2)
    rows = query(db, "SELECT request_id, source_format, ts, model, input_tokens, "
                     "cached_input_tokens, output_tokens, reasoning_tokens, endpoint, tags "
                     "FROM usage ORDER BY ts")
    assert rows == [
        ("chatcmpl-CQx1a2b3c4d5e6f7g8h9i0j1k2l3", "batch/chat",
         datetime(2026, 10, 5, 8, 0, tzinfo=UTC), "gpt-4o-mini-2024-07-18", 1850, 1536, 6, 0,
         "chat.completions", '{"batch":"true"}'),
        # output_tokens 394 includes 384 reasoning
        ("resp_68f1a0c3a0b88190c3d4e5f607182930", "batch/responses",
         datetime(2026, 10, 5, 8, 1, tzinfo=UTC), "o4-mini-2025-04-16", 1900, 0, 10, 384,
         "responses", '{"batch":"true"}'),
    ]
    (reject,) = list_rejects(db)
    assert (reject["line"], reject["format"], reject["reason"]) == \
        (5, "batch/chat", "missing usage: no usage.prompt_tokens / usage.completion_tokens")


def test_cli_tags_merge_with_the_batch_tag(db):
    ingest([OUTPUT], db=db, prices=BOOK, tags={"team": "support"})
    assert [json.loads(t) for (t,) in query(db, "SELECT DISTINCT tags FROM usage")] == \
        [{"batch": "true", "team": "support"}]


def test_a_batch_line_without_a_body_id_takes_the_line_id(tmp_path, db):
    line = json.loads(OUTPUT.read_text().splitlines()[0])
    del line["response"]["body"]["id"]
    ingest([write_lines(tmp_path / "o.jsonl", [line])], db=db, prices=BOOK)
    assert query(db, "SELECT request_id FROM usage") == \
        [("batch_req_68f1a0c2e4b08190a1b2c3d4e5f60718",)]


def test_an_envelope_is_still_an_envelope(tmp_path, db):
    """`response` alone does not make a batch line: a line needs its custom_id."""
    body = json.loads(OUTPUT.read_text().splitlines()[0])["response"]["body"]
    ingest([write_lines(tmp_path / "e.jsonl", [{"project": "p", "response": body}])], db=db,
           prices=BOOK)
    assert query(db, "SELECT source_format, project, tags FROM usage") == \
        [("envelope/chat", "p", None)]


def test_the_litellm_batch_sample(db):
    shared = real_formats()
    if shared is None:
        pytest.skip("no shared samples here")
    s = ingest([shared / "openai_batch_output_litellm_test.jsonl"], db=db, prices=BOOK)
    assert (s.inserted, s.rejected) == (2, 0)
    assert query(db, "SELECT sum(input_tokens), sum(output_tokens) FROM usage") == [(42, 20)]


def test_rejects_of_batch_lines_are_listed_under_their_format(db):
    ingest([OUTPUT], db=db, prices=BOOK)
    assert [r["format"] for r in list_rejects(db, input_format="chat")] == ["batch/chat"]
