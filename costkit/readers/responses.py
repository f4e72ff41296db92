"""OpenAI Responses objects (`object: response`), bare or as the `response` of a streaming
event (`response.completed`, `.incomplete`, `.failed`, `.created`, `.in_progress`).

usage: input_tokens (includes cached), input_tokens_details.{cached_tokens,
cache_write_tokens}, output_tokens (includes reasoning),
output_tokens_details.reasoning_tokens. Time: `created_at` (unix seconds).

Events of one response id in one file are one request: the event whose response carries
usage (normally `response.completed`) gives the counts; a stream whose events never carry
usage is rejected. Events without a `response` object (deltas, output items) are stream
fragments and are skipped.
"""

from __future__ import annotations

from costkit.readers.base import COUNT, Count, RecordFormat, count_value

STRUCTURE = {
    "id": "VARCHAR",
    "object": "VARCHAR",
    "type": "VARCHAR",
    "created_at": "DOUBLE",
    "model": "VARCHAR",
    "status": "VARCHAR",
    "user": "VARCHAR",
    "usage": {
        "input_tokens": COUNT,
        "output_tokens": COUNT,
        "input_tokens_details": {"cached_tokens": COUNT, "cache_write_tokens": COUNT},
        "output_tokens_details": {"reasoning_tokens": COUNT},
    },
    "output": [{"type": "VARCHAR", "status": "VARCHAR", "action": {"type": "VARCHAR"}}],
}

INPUT = "r.usage.input_tokens"
OUTPUT = "r.usage.output_tokens"
CACHED = "r.usage.input_tokens_details.cached_tokens"
CACHE_WRITE = "r.usage.input_tokens_details.cache_write_tokens"
REASONING = "r.usage.output_tokens_details.reasoning_tokens"

_reasoning = count_value(REASONING)

# Usage has no search count, so searches are counted from `output`: web_search_call items
# that completed with a `search` action. Which actions bill is not documented (an item may
# instead open a page or find in a page); a completed search is the safe reading. Items
# from before `action` existed were all searches.
SEARCHES = ("len(list_filter(coalesce(r.output, []), lambda o: o.type = 'web_search_call' "
            "AND o.status = 'completed' AND coalesce(o.action.type, 'search') = 'search'))")

FORMAT = RecordFormat(
    name="responses",
    endpoint="responses",
    structure=STRUCTURE,
    match="r.object = 'response'",
    counts=(
        Count("usage.input_tokens", INPUT, required=True),
        Count("usage.output_tokens", OUTPUT, required=True),
        Count("usage.input_tokens_details.cached_tokens", CACHED),
        Count("usage.input_tokens_details.cache_write_tokens", CACHE_WRITE),
        Count("usage.output_tokens_details.reasoning_tokens", REASONING),
    ),
    columns={
        "request_id": "r.id",
        "model": "r.model",
        "input_tokens": count_value(INPUT),
        "cached_input_tokens": f"coalesce({count_value(CACHED)}, 0)",
        "cache_write_tokens": f"coalesce({count_value(CACHE_WRITE)}, 0)",
        "output_tokens": f"{count_value(OUTPUT)} - coalesce({_reasoning}, 0)",
        "reasoning_tokens": _reasoning,
        "search_calls": SEARCHES,
        "status": "r.status",
        "user": "r.user",
    },
    time=("r.created_at", "created_at"),
    labels={
        "input_tokens": "usage.input_tokens",
        "cached_input_tokens": "usage.input_tokens_details.cached_tokens",
        "cache_write_tokens": "usage.input_tokens_details.cache_write_tokens",
        "output_tokens": "usage.output_tokens",
        "reasoning_tokens": "usage.output_tokens_details.reasoning_tokens",
    },
    # `ev` is the streaming event type when the record came out of one (else NULL).
    stream_key="CASE WHEN ev IS NOT NULL THEN r.id END",
    has_usage="r.usage IS NOT NULL",
    # An event without a `response` object is not unwrapped: r is the event itself.
    fragment="starts_with(r.type, 'response.')",
)
