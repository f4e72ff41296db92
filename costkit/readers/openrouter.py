"""OpenRouter generation stats (GET /api/v1/generation?id=...): what OpenRouter recorded and
charged for one generation, saved as the response (`{"data": {...}}`), one per line, a
JSON array of them, or pretty-printed.

Per generation:
- request id: `id` (gen-...); time: `created_at`; model: `model` (OpenRouter's slug);
  provider: `provider_name`; user: `external_user`.
- tokens are the NATIVE counts, what the upstream provider billed
  (`native_tokens_prompt`, `_completion`, `_cached`, `_reasoning`), not OpenRouter's
  normalised `tokens_prompt` / `tokens_completion`: the prompt includes the cached tokens,
  the completion includes the reasoning.
- billed: `total_cost` (USD, what OpenRouter charged, from the digits as written) is
  `billed_cost`; with bring-your-own-key (`is_byok`) that is OpenRouter's fee only, and the
  row is tagged `byok=true`.
- searches: OpenRouter counts search RESULTS (`num_search_results`), not calls; a
  generation that has some stores its search calls as unknown (NULL: "search not
  reported"), never 0.
- status: `cancelled` for a cancelled generation.
- endpoint: `api_type` completions is chat.completions; others keep their name.
"""

from __future__ import annotations

import re

import duckdb

from costkit.core.sql import quote
from costkit.readers.base import given, json_text
from costkit.readers.documents import (
    count_bad,
    count_of,
    count_reason,
    items_sql,
    judge,
    load_documents,
    mentions,
    money_bad_places,
    money_of,
    peek,
    raw_text,
    stage_select,
    tags_sql,
    text_or_null,
    time_of,
)
from costkit.readers.lines import Source
from costkit.readers.records import TIME_RULE

NAME = "openrouter"
COUNTS = ("native_tokens_prompt", "native_tokens_completion", "native_tokens_cached",
          "native_tokens_reasoning", "num_search_results")
REQUIRED = ("native_tokens_prompt", "native_tokens_completion")
RECOGNISE = re.compile(rb'(?<!\\)"native_tokens_prompt"\s*:')


def recognises(source: Source) -> bool:
    """A file whose first 64 KB hold a generation's `native_tokens_prompt`."""
    return mentions(peek(source), RECOGNISE, b'"native_tokens_prompt"')


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    project: str | None = None,
    tags: dict[str, str] | None = None,
    **_: object,
) -> str:
    """SELECT of staging rows (with billed_cost) for every generation in `source`."""
    items = items_sql(load_documents(con, source, "openrouter"), ("data",),
                      numbers=("total_cost",))
    return _sql(items, project, tags)


def _g(field: str) -> str:
    return f"json_extract_string(g, {quote('$.' + field)})"


def _sql(items: str, project: str | None, tags: dict[str, str] | None) -> str:
    n = {c: count_of(_g(c)) for c in COUNTS}
    cached = f"coalesce({n['native_tokens_cached']}, 0)"
    reasoning = n["native_tokens_reasoning"]
    cost = _g("total_cost")
    byok = f"coalesce({_g('is_byok')} = 'true', FALSE)"
    cli_tags = tags_sql(tags)
    problems: list[tuple[str, str]] = [
        ("problem IS NOT NULL", "problem"),
        ("json_type(g) IS DISTINCT FROM 'OBJECT'", "'not a generation (JSON ' || "
                                                   "lower(coalesce(json_type(g), 'null')) || ')'"),
    ]
    problems += [(f"{_g(c)} IS NULL", quote(f"missing usage: no {c}")) for c in REQUIRED]
    problems += [(count_bad(_g(c)), count_reason(c, _g(c))) for c in COUNTS]
    problems += [
        (f"{cached} > {n['native_tokens_prompt']}",
         f"'native_tokens_cached (' || {cached} || ') > native_tokens_prompt (' || "
         f"{n['native_tokens_prompt']} || ')'"),
        (f"{reasoning} > {n['native_tokens_completion']}",
         f"'native_tokens_reasoning (' || {reasoning} || ') > native_tokens_completion (' || "
         f"{n['native_tokens_completion']} || ')'"),
        (f"{cost} IS NOT NULL AND {money_of(cost)} IS NULL",
         f"'total_cost is ' || {json_text(cost)} || '; expected a number of USD'"),
        (f"{cost} IS NOT NULL AND {money_bad_places(cost)}",
         f"'total_cost ' || {cost} || ' has more than 12 decimal places'"),
        (f"{_g('created_at')} IS NULL", quote("no time: created_at is missing")),
        ("ts IS NULL", f"'unparseable time: created_at is ' || {json_text(_g('created_at'))} "
                       f"|| {quote('; ' + TIME_RULE)}"),
        (f"{given(_g('model'))} IS NULL", quote("missing model")),
    ]
    any_problem, first_problem = judge(problems)
    values = {
        "file_id": "file_id",
        "line": "line",
        "kind": "'record'",
        "format": quote(NAME),
        "request_id": f"coalesce({given(_g('id'))}, 'sha256:' || left(sha256(json(g)), 32))",
        "ts": "ts",
        "provider": given(_g("provider_name")),
        "endpoint": (f"CASE WHEN {_g('api_type')} = 'completions' THEN 'chat.completions' "
                     f"ELSE {given(_g('api_type'))} END"),
        "model": _g("model"),
        "input_tokens": n["native_tokens_prompt"],
        "cached_input_tokens": cached,
        "cache_write_tokens": "0",
        "output_tokens": f"{n['native_tokens_completion']} - coalesce({reasoning}, 0)",
        "reasoning_tokens": reasoning,
        "search_calls": f"CASE WHEN coalesce({n['num_search_results']}, 0) > 0 THEN NULL "
                        "ELSE 0 END",
        "project": text_or_null(project),
        "user": given(_g("external_user")),
        "tags": (f"CASE WHEN {byok} THEN json_merge_patch(coalesce({cli_tags}, '{{}}'::JSON), "
                 f"""'{{"byok": "true"}}'::JSON) ELSE {cli_tags} END"""),
        "status": f"CASE WHEN {_g('cancelled')} = 'true' THEN 'cancelled' END",
        "billed_cost": money_of(cost),
        "billed_currency": f"CASE WHEN {cost} IS NOT NULL THEN 'USD' END",
        "reason": f"CASE WHEN {any_problem} THEN item_at || {first_problem} END",
        "raw": f"CASE WHEN {any_problem} THEN {raw_text('raw')} END",
    }
    return f"""
SELECT {stage_select(values)}
FROM (SELECT *, {time_of(_g('created_at'))} AS ts
      FROM (SELECT *, CASE WHEN json_type(item, '$.data') = 'OBJECT'
                           THEN json_extract(item, '$.data') ELSE item END AS g
            FROM ({items})))
"""
