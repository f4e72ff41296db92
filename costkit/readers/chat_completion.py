"""OpenAI chat completion objects (`object: chat.completion`): the seed gateway and DeepSeek.

usage: prompt_tokens (includes cached), completion_tokens (includes reasoning, unless
total_tokens = prompt + completion + reasoning shows a gateway counted it beside),
prompt_tokens_details.{cached_tokens, cache_write_tokens},
completion_tokens_details.reasoning_tokens, and DeepSeek's own prompt_cache_hit_tokens /
prompt_cache_miss_tokens (hit + miss = prompt). Time: `created` (unix seconds).
"""

from __future__ import annotations

from costkit.readers.base import COUNT, Count, RecordFormat, count_value

STRUCTURE = {
    "id": "VARCHAR",
    "object": "VARCHAR",
    "created": "DOUBLE",
    "model": "VARCHAR",
    "usage": {
        "prompt_tokens": COUNT,
        "completion_tokens": COUNT,
        "total_tokens": COUNT,
        "prompt_tokens_details": {"cached_tokens": COUNT, "cache_write_tokens": COUNT},
        "completion_tokens_details": {"reasoning_tokens": COUNT},
        "prompt_cache_hit_tokens": COUNT,
        "prompt_cache_miss_tokens": COUNT,
        # web-search calls, as gateways write them on chat completions: Anthropic's
        # server_tool_use (also on OpenAI-compatible gateways serving Claude), Perplexity's
        # num_search_queries
        "server_tool_use": {"web_search_requests": COUNT},
        "num_search_queries": COUNT,
    },
}

PROMPT = "r.usage.prompt_tokens"
COMPLETION = "r.usage.completion_tokens"
CACHED = "r.usage.prompt_tokens_details.cached_tokens"
CACHE_WRITE = "r.usage.prompt_tokens_details.cache_write_tokens"
REASONING = "r.usage.completion_tokens_details.reasoning_tokens"
TOTAL = "r.usage.total_tokens"
HIT = "r.usage.prompt_cache_hit_tokens"
MISS = "r.usage.prompt_cache_miss_tokens"
SEARCH_REQUESTS = "r.usage.server_tool_use.web_search_requests"
SEARCH_QUERIES = "r.usage.num_search_queries"

COUNTS = (
    Count("usage.prompt_tokens", PROMPT, required=True),
    Count("usage.completion_tokens", COMPLETION, required=True),
    Count("usage.prompt_tokens_details.cached_tokens", CACHED),
    Count("usage.prompt_tokens_details.cache_write_tokens", CACHE_WRITE),
    Count("usage.completion_tokens_details.reasoning_tokens", REASONING),
    Count("usage.prompt_cache_hit_tokens", HIT),
    Count("usage.prompt_cache_miss_tokens", MISS),
    Count("usage.server_tool_use.web_search_requests", SEARCH_REQUESTS),
    Count("usage.num_search_queries", SEARCH_QUERIES),
)

_reasoning = count_value(REASONING)
_outside = (f"coalesce({_reasoning} > 0 AND {count_value(TOTAL)} = {count_value(PROMPT)} + "
            f"{count_value(COMPLETION)} + {_reasoning}, FALSE)")
COLUMNS = {
    "request_id": "r.id",
    "model": "r.model",
    "input_tokens": count_value(PROMPT),
    # DeepSeek reports its cache hits at the top level; OpenAI in prompt_tokens_details.
    "cached_input_tokens": f"coalesce({count_value(CACHED)}, {count_value(HIT)}, 0)",
    "cache_write_tokens": f"coalesce({count_value(CACHE_WRITE)}, 0)",
    # completion_tokens includes reasoning; the store keeps the visible answer only. Without
    # a details object the split is unknown: reasoning NULL, output holds both (bills alike).
    # Some gateways count reasoning beside completion_tokens (completion 0, reasoning 60,
    # total = prompt + completion + reasoning): then the total says so and nothing is taken
    # out. total_tokens only chooses the reading; it is not a count of its own.
    "output_tokens": f"(CASE WHEN {_outside} THEN {count_value(COMPLETION)} "
                     f"ELSE {count_value(COMPLETION)} - coalesce({_reasoning}, 0) END)",
    "reasoning_tokens": _reasoning,
    # NULL when the response has no count: the envelope's count, or its request, decides
    "search_calls": f"coalesce({count_value(SEARCH_REQUESTS)}, {count_value(SEARCH_QUERIES)})",
}

CHECKS = (
    (f"{HIT} IS NOT NULL AND {MISS} IS NOT NULL AND "
     f"{count_value(HIT)} + {count_value(MISS)} <> {count_value(PROMPT)}",
     f"'usage.prompt_cache_hit_tokens + prompt_cache_miss_tokens (' || "
     f"({count_value(HIT)} + {count_value(MISS)}) || ') <> usage.prompt_tokens (' || "
     f"{count_value(PROMPT)} || ')'"),
)

LABELS = {
    "input_tokens": "usage.prompt_tokens",
    "cached_input_tokens": "usage.prompt_tokens_details.cached_tokens "
                           "(or prompt_cache_hit_tokens)",
    "cache_write_tokens": "usage.prompt_tokens_details.cache_write_tokens",
    "output_tokens": "usage.completion_tokens",
    "reasoning_tokens": "usage.completion_tokens_details.reasoning_tokens",
}

FORMAT = RecordFormat(
    name="chat",
    endpoint="chat.completions",
    structure=STRUCTURE,
    # Some gateways log the object without its `object` field: usage shaped like a chat
    # completion's is enough.
    match=f"r.object = 'chat.completion' OR (r.object IS NULL AND "
          f"({PROMPT} IS NOT NULL OR {COMPLETION} IS NOT NULL))",
    counts=COUNTS,
    columns=COLUMNS,
    time=("r.created", "created"),
    checks=CHECKS,
    labels=LABELS,
)
