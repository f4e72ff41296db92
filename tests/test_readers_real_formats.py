"""Every sample in the shared real-formats folder (files written by others: SDK fixtures,
recorded responses, spec examples; see its SOURCES.md) that costkit claims to read,
ingested on its own, against counts worked out by hand from the file. The arithmetic is in
the comments: input includes cached and cache-write tokens, output excludes reasoning.
Skipped where the folder is not there (a checkout without ../shared/data)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from readers_support import BOOK, invariant, query, real_formats

from costkit.core.errors import InputError
from costkit.ingest.run import ingest

SHARED = real_formats()
pytestmark = pytest.mark.skipif(SHARED is None, reason="no shared/data/real-formats here")

# file -> (read, inserted, rejected, lines skipped, items skipped,
#          (input, cached, cache write, output, reasoning, searches, billed, requests) or None)
CLAIMED = {
    # input 7 + cache writes 8,423 + cache reads 17,840; output 324
    "anthropic_message_cache_claude_clean.envelope.jsonl":
        (1, 1, 0, 0, 0, (26270, 17840, 8423, 324, None, 0, None, 1)),
    # input 11,306, no cache; output 163; server_tool_use.web_search_requests 1
    "anthropic_message_web_search_sdk.envelope.jsonl":
        (1, 1, 0, 0, 0, (11306, 0, 0, 163, None, 1, None, 1)),
    # the same message pretty-printed, without an envelope: a message has no time
    "anthropic_message_web_search_sdk.json": (1, 0, 1, 0, 0, None),
    # 9 events: message_start (input 11) and message_delta (output 6, not 1 + 6) are one
    # request, which has no time; 9 `event:` lines and the 8 other data lines skipped
    "anthropic_messages_stream_sdk.sse": (1, 0, 1, 9 + 8, 0, None),
    # prompt 2,012 with 1,920 cached; completion 23, reasoning 0
    "azure_openai_chat_completion_cached.jsonl":
        (1, 1, 0, 0, 0, (2012, 1920, 0, 23, 0, 0, None, 1)),
    # the filter chunk and [DONE] skipped; the 5 chunks of one id never sent usage
    "azure_openai_chat_stream_quarkus.sse": (1, 0, 1, 2, 0, None),
    # inputs 100+25+10, 200+50+20, 300+0+40; cached 10+20+40; writes 25+50; out 50+75+125
    "claude_code_session_ccusage_fixture.jsonl":
        (3, 3, 0, 0, 0, (135 + 270 + 340, 70, 75, 250, None, 0, None, 3)),
    # 5 assistant messages (25+45+78+25+45 in, 120+85+95+35+110 out); 6 user lines and
    # a summary skipped
    "claude_code_session_claude_code_log.jsonl":
        (5, 5, 0, 7, 0, (218, 0, 0, 445, None, 0, None, 5)),
    # 8 message ids over 24 assistant lines, none with a time; init, user and result
    # lines (23) skipped
    "claude_code_stream_json_claude_clean.jsonl": (8, 0, 8, 23, 0, None),
    # last_token_usage 1000/250/125/75 and 2500/500/300/200; total = in + out + reasoning,
    # so output is without reasoning; the turn_context line skipped
    "codex_cli_session_ccusage_fixture.jsonl":
        (2, 2, 0, 1, 0, (3500, 750, 0, 425, 275, 0, None, 2)),
    # prompts 12+6+169+15; cache hits 128; completions 28 + (92-81) + 54 + (61-38);
    # reasoning 81 + 38 (the others do not split it)
    "deepseek_chat_completions.jsonl":
        (4, 4, 0, 0, 0, (202, 128, 0, 28 + 11 + 54 + 23, 119, 0, None, 4)),
    # 30 chunks of one id, usage on the last: 12 / 28; [DONE] skipped
    "deepseek_chat_stream_caos_app.sse": (1, 1, 0, 1, 0, (12, 0, 0, 28, None, 0, None, 1)),
    # 2 of 5 observations are generations: 85+55 in, 29+15 out
    "langfuse_trace_export_openai_agents.json":
        (2, 2, 0, 0, 3, (140, 0, 0, 44, 0, 0, None, 2)),
    # a row without startTime (the docs abbreviate it)
    "litellm_spendlogs_row_docs.json": (1, 0, 1, 0, 0, None),
    # gpt-4o-mini: 37 / 9, 1 request, $0.00001095; the day's other 10 requests: rejected
    "litellm_user_daily_activity_docs.json":
        (2, 1, 1, 0, 0, (37, 0, 0, 9, None, 0, Decimal("0.00001095"), 1)),
    # two bodies: 20 / 10 and 22 / 10
    "openai_batch_output_litellm_test.jsonl":
        (2, 2, 0, 0, 0, (42, 0, 0, 20, 0, 0, None, 2)),
    "openai_chat_completion_contrib_cassette.jsonl":
        (1, 1, 0, 0, 0, (12, 0, 0, 5, 0, 0, None, 1)),
    "openai_chat_completion_spec.jsonl": (1, 1, 0, 0, 0, (19, 0, 0, 10, 0, 0, None, 1)),
    "openai_chat_completion_spec.pretty.json": (1, 1, 0, 0, 0, (19, 0, 0, 10, 0, 0, None, 1)),
    "openai_chat_stream_include_usage.sse": (1, 1, 0, 1, 0, (9, 0, 0, 2, 0, 0, None, 1)),
    "openai_chat_stream_tools_include_usage.sse":
        (1, 1, 0, 1, 0, (149, 0, 0, 60, 0, 0, None, 1)),
    # no include_usage: the stream never sent usage
    "openai_chat_stream_spec_no_usage.sse": (1, 0, 1, 0, 0, None),
    # a billed amount, no tokens
    "openai_org_costs_spec.json": (1, 0, 1, 0, 0, None),
    # a bucket not grouped by model: its 1,000 / 500 tokens of 5 requests cannot be priced
    "openai_org_usage_completions_spec.json": (1, 0, 1, 0, 0, None),
    # 22 / 6 and 44 / 288 of which 9 reasoning
    "openai_responses_contrib_cassettes.jsonl":
        (2, 2, 0, 0, 0, (66, 0, 0, 6 + 279, 9, 0, None, 2)),
    "openai_responses_python_sdk_test.jsonl": (1, 1, 0, 0, 0, (14, 0, 0, 50, 0, 0, None, 1)),
    # output 1,035 of which 832 reasoning
    "openai_responses_reasoning_spec.jsonl":
        (1, 1, 0, 0, 0, (81, 0, 0, 203, 832, 0, None, 1)),
    # created, in_progress, completed: one response (37 / 11); 9 `event:` lines and 6
    # delta / item events skipped
    "openai_responses_stream_spec.sse": (1, 1, 0, 9 + 6, 0, (37, 0, 0, 11, 0, 0, None, 1)),
    # one completed web_search_call
    "openai_responses_web_search_spec.jsonl": (1, 1, 0, 0, 0, (328, 0, 0, 356, 0, 1, None, 1)),
    "openai_responses_web_search_spec.pretty.json":
        (1, 1, 0, 0, 0, (328, 0, 0, 356, 0, 1, None, 1)),
    # native 10 (3 cached) / 25 of which 5 reasoning; $0.0015; 5 search results: unknown
    "openrouter_generation_docs.json":
        (1, 1, 0, 0, 0, (10, 3, 0, 20, 5, None, Decimal("0.0015"), 1)),
    # three spans: 12 / 5, 22 / 6, 44 / 288 (reasoning not split)
    "otel_openai_v2_spans.intnumber.otlp.json":
        (3, 3, 0, 0, 0, (78, 0, 0, 299, None, 0, None, 3)),
    "otel_openai_v2_spans.otlp.json": (3, 3, 0, 0, 0, (78, 0, 0, 299, None, 0, None, 3)),
    "otel_openai_v2_spans.otlp.jsonl": (3, 3, 0, 0, 0, (78, 0, 0, 299, None, 0, None, 3)),
    # completion 0 beside reasoning 60 (total 81 = 21 + 0 + 60)
    "probe_gateway_reasoning_outside_completion.jsonl":
        (1, 1, 0, 0, 0, (21, 0, 0, 0, 60, 0, None, 1)),
}

# Not read by ingest: FOCUS exports are the audit's (a CSV ingest without a mapping stops
# with a one-line error); a Claude Code OTLP log record is no span export (rejected).
NOT_CLAIMED = {
    "focus_1_0_sample_finops.csv": "error",
    "litellm_focus_export_from_tests.csv": "error",
    "otel_logs_claude_code_api_request.json": "rejected",
}

SUMS = ("sum(input_tokens), sum(cached_input_tokens), sum(cache_write_tokens), "
        "sum(output_tokens), sum(reasoning_tokens), sum(search_calls), sum(billed_cost), "
        "sum(request_count)")


def test_every_sample_is_accounted_for():
    names = {p.name for p in SHARED.iterdir() if p.is_file() and p.name != "SOURCES.md"}
    assert names == set(CLAIMED) | set(NOT_CLAIMED)


@pytest.mark.parametrize("name", sorted(CLAIMED))
def test_sample(name, tmp_path):
    read, inserted, rejected, skipped, skipped_records, sums = CLAIMED[name]
    db = tmp_path / "store.duckdb"
    s = ingest([SHARED / name], db=db, prices=BOOK)
    invariant(s)
    assert (s.read, s.inserted, s.duplicates, s.conflicts, s.rejected, s.skipped,
            s.skipped_records) == (read, inserted, 0, 0, rejected, skipped, skipped_records)
    stored = query(db, f"SELECT {SUMS} FROM usage")[0]
    if sums is None:
        assert stored == (None,) * 8
    else:
        assert stored == sums
    assert query(db, "SELECT count(*) FROM rejects")[0][0] == rejected


@pytest.mark.parametrize("name", sorted(NOT_CLAIMED))
def test_samples_not_claimed_are_never_read_silently(name, tmp_path):
    db = tmp_path / "store.duckdb"
    if NOT_CLAIMED[name] == "error":
        with pytest.raises(InputError, match="no column for"):
            ingest([SHARED / name], db=db, prices=BOOK)
        return
    s = ingest([SHARED / name], db=db, prices=BOOK)
    assert (s.inserted, s.rejected) == (0, s.read) and s.read >= 1
