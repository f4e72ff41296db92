"""Langfuse exports: a downloaded trace (`{"trace": {...}, "observations": [...]}`), a page
of the observations API (`{"data": [...], "meta": {...}}`), a JSON array or a JSONL of
observations.

An observation with a `model` and usage is a request (a GENERATION, or an EMBEDDING); the
others (AGENT, SPAN, TOOL, EVENT, ... and generations without usage) are skipped and
counted, as OTel spans without usage are.
- request id: the observation's `id`; time: `startTime`; model: `model`; status `error`
  for level ERROR.
- tokens: `usageDetails`, a map of usage keys. Langfuse prices each key on its own, so its
  SDKs write disjoint buckets: `input` WITHOUT the cached tokens, cache reads
  (`input_cached_tokens`, `cache_read_input_tokens`, `prompt_details.cache_read`, any key
  naming cache reads) and writes (`cache_creation_input_tokens`, `cache_write...`) beside
  it, `output` without `output_reasoning_tokens`. Other input keys (audio, image) are more
  input, other output keys more output. When `total` says otherwise (total = input +
  output, the details being inside them, as some instrumentations write), they are read
  as inside. Older exports without usageDetails: `usage` {input, output, total}.
- cost: `costDetails` are Langfuse's own estimates from its price table, not a charge:
  not read. `providedCostDetails.total` (a cost the application reported, e.g. from the
  provider's response) is `billed_cost`.
"""

from __future__ import annotations

import re

import duckdb

from costkit.core.sql import quote
from costkit.readers.base import given, json_text
from costkit.readers.documents import (
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
from costkit.readers.records import COUNT_RULE, TIME_RULE

NAME = "langfuse"
RECOGNISE = re.compile(rb'(?<!\\)"(usageDetails|parentObservationId)"\s*:')
MAP = quote('"MAP(VARCHAR, VARCHAR)"')

# A usage key's bucket, by its name (`{k}`: the key in lower case; tested in this order).
BUCKETS = (
    ("total", "{k} IN ('total', 'total_tokens')"),
    ("read", "regexp_matches({k}, 'cache_read|cached|cache_hit')"),
    ("write", "regexp_matches({k}, 'cache_creation|cache_write')"),
    ("reasoning", "contains({k}, 'reasoning')"),
    ("input", "{k} IN ('input', 'prompt', 'input_tokens', 'prompt_tokens')"),
    ("output", "{k} IN ('output', 'completion', 'output_tokens', 'completion_tokens')"),
    ("more_input", "(starts_with({k}, 'input') OR starts_with({k}, 'prompt'))"),
    ("more_output", "(starts_with({k}, 'output') OR starts_with({k}, 'completion'))"),
)


def recognises(source: Source) -> bool:
    """A file whose first 64 KB hold a Langfuse observation (`usageDetails` or
    `parentObservationId`)."""
    return mentions(peek(source), RECOGNISE, b'"usageDetails"', b'"parentObservationId"')


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    project: str | None = None,
    tags: dict[str, str] | None = None,
    **_: object,
) -> str:
    """SELECT of staging rows: a record per observation with a model and usage, a skip per
    other observation."""
    items = items_sql(load_documents(con, source, "langfuse"), ("observations", "data"),
                      numbers=("total",))
    return _sql(items, project, tags)


def _o(field: str) -> str:
    return f"json_extract_string(item, {quote('$.' + field)})"


def _bucket(name: str) -> str:
    """TRUE when usage entry `e` falls in bucket `name`."""
    case = " ".join(f"WHEN {cond.format(k='lower(e.key)')} THEN {quote(b)}"
                    for b, cond in BUCKETS)
    return f"(CASE {case} ELSE 'other' END) = {quote(name)}"


def _sum(name: str) -> str:
    return (f"list_sum(list_transform(list_filter(entries, lambda e: {_bucket(name)}), "
            "lambda e: TRY_CAST(TRY_CAST(e.value AS DOUBLE) AS BIGINT)))")


def _sql(items: str, project: str | None, tags: dict[str, str] | None) -> str:
    b = {name: f"coalesce(u_{name}, 0)" for name, _ in BUCKETS}
    parts = [b[k] for k in ("input", "read", "write", "more_input", "output", "reasoning",
                            "more_output")]
    disjoint = f"(u_total IS NULL OR u_total = {' + '.join(parts)})"
    input_tokens = (f"(CASE WHEN {disjoint} THEN {b['input']} + {b['read']} + {b['write']} + "
                    f"{b['more_input']} ELSE {b['input']} END)")
    output_tokens = (f"(CASE WHEN {disjoint} THEN {b['output']} + {b['more_output']} "
                     f"ELSE {b['output']} - {b['reasoning']} END)")
    cost = _o("providedCostDetails.total")
    bad_entry = ("list_filter(entries, lambda e: NOT coalesce(TRY_CAST(e.value AS DOUBLE) >= 0 "
                 "AND TRY_CAST(e.value AS DOUBLE) = trunc(TRY_CAST(e.value AS DOUBLE)) "
                 "AND TRY_CAST(e.value AS DOUBLE) < 9e15, FALSE))[1]")
    problems: list[tuple[str, str]] = [
        ("problem IS NOT NULL", "problem"),
        ("item_type <> 'OBJECT'", "'not an observation (JSON ' || lower(item_type) || ')'"),
        (f"{bad_entry} IS NOT NULL",
         f"'usageDetails.' || {bad_entry}.key || ' is ' || left({bad_entry}.value, 80) || "
         f"{quote('; ' + COUNT_RULE)}"),
        ("u_input IS NULL AND u_output IS NULL",
         quote("missing usage: usageDetails has no input or output")),
        (f"NOT {disjoint} AND {b['read']} + {b['write']} > {b['input']}",
         f"'cache reads + writes (' || ({b['read']} + {b['write']}) || ') > usageDetails "
         f"input (' || {b['input']} || '), which total says includes them'"),
        (f"NOT {disjoint} AND {b['reasoning']} > {b['output']}",
         f"'reasoning (' || {b['reasoning']} || ') > usageDetails output (' || {b['output']} "
         "|| '), which total says includes it'"),
        (f"{cost} IS NOT NULL AND {money_of(cost)} IS NULL",
         f"'providedCostDetails.total is ' || {json_text(cost)} || '; expected a number'"),
        (f"{cost} IS NOT NULL AND {money_bad_places(cost)}",
         f"'providedCostDetails.total ' || {cost} || ' has more than 12 decimal places'"),
        (f"{_o('startTime')} IS NULL", quote("no time: startTime is missing")),
        ("ts IS NULL", f"'unparseable time: startTime is ' || {json_text(_o('startTime'))} || "
                       f"{quote('; ' + TIME_RULE)}"),
    ]
    any_problem, first_problem = judge(problems)
    is_request = (f"(problem IS NOT NULL OR item_type <> 'OBJECT' OR "
                  f"({given(_o('model'))} IS NOT NULL AND len(entries) > 0))")
    values = {
        "file_id": "file_id",
        "line": "line",
        "kind": f"CASE WHEN {is_request} THEN 'record' ELSE 'skip' END",
        "format": quote(NAME),
        "request_id": f"CASE WHEN {is_request} THEN coalesce({given(_o('id'))}, "
                      "'sha256:' || left(sha256(json(item)), 32)) END",
        "ts": "ts",
        "endpoint": f"CASE WHEN {_o('type')} = 'EMBEDDING' THEN 'embeddings' END",
        "model": _o("model"),
        "input_tokens": input_tokens,
        "cached_input_tokens": b["read"],
        "cache_write_tokens": b["write"],
        "output_tokens": output_tokens,
        "reasoning_tokens": "u_reasoning",
        "search_calls": "0",
        "project": text_or_null(project),
        "tags": tags_sql(tags),
        "status": f"CASE WHEN {_o('level')} = 'ERROR' THEN 'error' END",
        "billed_cost": money_of(cost),
        "billed_currency": f"CASE WHEN {cost} IS NOT NULL THEN 'USD' END",
        "reason": f"CASE WHEN {is_request} AND {any_problem} THEN item_at || {first_problem} END",
        "raw": f"CASE WHEN {is_request} AND {any_problem} THEN {raw_text('raw')} END",
    }
    sums = ",\n        ".join(f"{_sum(name)} AS u_{name}" for name, _ in BUCKETS)
    usage = ("CASE WHEN json_type(item, '$.usageDetails') = 'OBJECT' "
             "AND json_extract(item, '$.usageDetails')::VARCHAR <> '{}' "
             "THEN json_extract(item, '$.usageDetails') "
             "WHEN json_type(item, '$.usage') = 'OBJECT' "
             "THEN json_object('input', json_extract(item, '$.usage.input'), "
             "'output', json_extract(item, '$.usage.output'), "
             "'total', json_extract(item, '$.usage.total')) END")
    return f"""
WITH observations AS (
    SELECT *, coalesce(map_entries(json_transform({usage}, {MAP})), []) AS entries
    FROM ({items})
),
summed AS (
    SELECT * REPLACE (list_filter(entries, lambda e: e.value IS NOT NULL) AS entries),
        {sums}
    FROM observations
)
SELECT {stage_select(values)}
FROM (SELECT *, {time_of(_o('startTime'))} AS ts FROM summed)
"""
