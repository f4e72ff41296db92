"""Two fixes found on real captures: Azure OpenAI's first stream chunk (only the prompt's
content filtering: empty id and object) is skipped and counted, not rejected; OTel spans of
Responses calls (OpenAI's instrumentation names them `chat`) are stored under the
Responses endpoint."""

from __future__ import annotations

import pytest
from conftest import FIXTURES
from readers_support import BOOK, invariant, query, real_formats

from costkit.ingest.rejects import list_rejects
from costkit.ingest.run import ingest

AZURE = FIXTURES / "logs" / "azure-stream" / "filter-first.sse"
SPANS = FIXTURES / "logs" / "otel" / "responses-and-chat.json"


@pytest.fixture
def db(tmp_path):
    return tmp_path / "store.duckdb"


def test_azure_filter_chunk_is_skipped_and_counted(db):
    s = ingest([AZURE], db=db, prices=BOOK)
    invariant(s)
    # 5 chunks and [DONE]: the filter chunk and [DONE] skipped, 4 chunks one request
    assert (s.read, s.inserted, s.rejected, s.skipped) == (1, 1, 0, 2)
    assert query(db, "SELECT request_id, model, input_tokens, cached_input_tokens, "
                     "output_tokens, source_line FROM usage") == \
        [("chatcmpl-CRa1b2c3d4e5f6g7h8i9j0k1l2m3", "gpt-4o-2024-11-20", 2012, 1920, 4, 3)]


def test_azure_sample_without_usage_is_one_reject_not_two(db):
    shared = real_formats()
    if shared is None:
        pytest.skip("no shared samples here")
    s = ingest([shared / "azure_openai_chat_stream_quarkus.sse"], db=db, prices=BOOK)
    assert (s.read, s.rejected, s.skipped) == (1, 1, 2)
    assert list_rejects(db)[0]["reason"].startswith("stream ended without a usage chunk")


def test_a_chunk_with_an_id_is_still_a_chunk(tmp_path, db):
    """Only the empty-id filter chunk is skipped: a chunk that has an id and filter results
    stays part of its stream."""
    text = AZURE.read_text().replace('"id":"","model":"","object":""',
                                     '"id":"chatcmpl-x","model":"gpt-4o","object":'
                                     '"chat.completion.chunk"')
    path = tmp_path / "s.sse"
    path.write_text(text)
    s = ingest([path], db=db, prices=BOOK)
    assert (s.read, s.rejected, s.skipped) == (2, 1, 1)  # chatcmpl-x never sent usage


def test_otel_responses_spans_are_stored_under_responses(db):
    s = ingest([SPANS], db=db, prices=BOOK)
    assert (s.inserted, s.rejected) == (2, 0)
    assert query(db, "SELECT left(request_id, 5), endpoint, input_tokens, cached_input_tokens "
                     "FROM usage ORDER BY 1") == \
        [("chatc", "chat.completions", 300, 0), ("resp_", "responses", 640, 512)]


def completion(rid: str, prompt: int, completion_: int, reasoning: int, total: int) -> dict:
    return {"id": rid, "object": "chat.completion", "created": 1791158400,
            "model": "deepseek-v3-2",
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion_,
                      "total_tokens": total,
                      "completion_tokens_details": {"reasoning_tokens": reasoning}}}


def test_reasoning_beside_completion_when_the_total_says_so(tmp_path, db):
    """A gateway that counts reasoning beside completion_tokens (completion 0, reasoning 60,
    total 81 = 21 + 0 + 60) is read so, instead of rejecting reasoning > completion."""
    from readers_support import write_lines

    path = write_lines(tmp_path / "c.jsonl", [
        completion("beside", 21, 0, 60, 81),
        completion("inside", 21, 80, 60, 101),     # 101 = 21 + 80: reasoning inside
        completion("neither", 21, 10, 60, 31),     # 31 = 21 + 10 and 60 > 10: a reject
    ])
    s = ingest([path], db=db, prices=BOOK)
    assert (s.inserted, s.rejected) == (2, 1)
    assert query(db, "SELECT request_id, output_tokens, reasoning_tokens FROM usage "
                     "ORDER BY 1") == [("beside", 0, 60), ("inside", 20, 60)]
    assert list_rejects(db)[0]["reason"] == \
        "usage.completion_tokens_details.reasoning_tokens (60) > usage.completion_tokens (10)"
