"""Anthropic-style `/v1/messages` responses (`type: message`).

usage: input_tokens EXCLUDES cache reads and writes (the SDK: total input =
input_tokens + cache_creation_input_tokens + cache_read_input_tokens); output_tokens
includes thinking (output_tokens_details.thinking_tokens when present);
server_tool_use.web_search_requests counts searches. A message carries no time, so it is
accepted only inside an envelope that gives one.
"""

from __future__ import annotations

from costkit.readers.base import COUNT, Count, RecordFormat, count_value

STRUCTURE = {
    "id": "VARCHAR",
    "type": "VARCHAR",
    "model": "VARCHAR",
    "usage": {
        "input_tokens": COUNT,
        "output_tokens": COUNT,
        "cache_creation_input_tokens": COUNT,
        "cache_read_input_tokens": COUNT,
        "server_tool_use": {"web_search_requests": COUNT},
        "output_tokens_details": {"thinking_tokens": COUNT},
    },
}

INPUT = "r.usage.input_tokens"
OUTPUT = "r.usage.output_tokens"
CACHE_WRITE = "r.usage.cache_creation_input_tokens"
CACHE_READ = "r.usage.cache_read_input_tokens"
SEARCHES = "r.usage.server_tool_use.web_search_requests"
THINKING = "r.usage.output_tokens_details.thinking_tokens"

_read = f"coalesce({count_value(CACHE_READ)}, 0)"
_write = f"coalesce({count_value(CACHE_WRITE)}, 0)"
_thinking = count_value(THINKING)

FORMAT = RecordFormat(
    name="messages",
    endpoint="messages",
    structure=STRUCTURE,
    match="r.type = 'message'",
    counts=(
        Count("usage.input_tokens", INPUT, required=True),
        Count("usage.output_tokens", OUTPUT, required=True),
        Count("usage.cache_creation_input_tokens", CACHE_WRITE),
        Count("usage.cache_read_input_tokens", CACHE_READ),
        Count("usage.server_tool_use.web_search_requests", SEARCHES),
        Count("usage.output_tokens_details.thinking_tokens", THINKING),
    ),
    columns={
        "request_id": "r.id",
        "model": "r.model",
        "input_tokens": f"{count_value(INPUT)} + {_read} + {_write}",
        "cached_input_tokens": _read,
        "cache_write_tokens": _write,
        "output_tokens": f"{count_value(OUTPUT)} - coalesce({_thinking}, 0)",
        "reasoning_tokens": _thinking,
        "search_calls": count_value(SEARCHES),
    },
    time=None,
    no_time_reason="a message carries no time: log it inside an envelope with a timestamp",
    labels={
        "input_tokens": "usage.input_tokens + cache_creation_input_tokens + "
                        "cache_read_input_tokens",
        "cached_input_tokens": "usage.cache_read_input_tokens",
        "cache_write_tokens": "usage.cache_creation_input_tokens",
        "output_tokens": "usage.output_tokens",
        "reasoning_tokens": "usage.output_tokens_details.thinking_tokens",
    },
)
