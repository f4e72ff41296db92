"""OpenAI organization Usage API pages (GET /v1/organization/usage/completions, and
/usage/embeddings), as saved by a script that pages through them: aggregate rows, one per
bucket and group.

Layouts: one page (`{"object": "page", "data": [buckets], "has_more", "next_page"}`),
pretty-printed or not; a JSONL of pages (one per line); a JSON array of pages; a bucket
(`{"object": "bucket", "start_time", "end_time", "results": [...]}`) on its own. A result
is named `data[i].results[j]` in reject reasons; in a one-document file its `line` is its
1-based position among the document's results.

A result is an aggregate, not a request:
- `request_count` is `num_model_requests` (a group with no requests that bucket is stored
  with 0: it costs nothing, and says so).
- request id: `openai-usage:` + the bucket's start-end + the group keys (project_id,
  api_key_id, user_id, model, batch, service_tier), so the same bucket fetched again (an
  overlapping page, the same file twice) is a duplicate, and a bucket fetched again with
  other numbers (it was still open) a conflict, never a second row. Fetch one bucket
  width (1m, 1h, 1d) per period: a day of hourly buckets and the same day's daily bucket
  are different rows.
- tokens: `input_tokens` includes `input_cached_tokens` and `input_cache_write_tokens`
  (the uncached rest is `input_uncached_tokens`: when all are given they must add up);
  `output_tokens` includes reasoning, which the API does not split (reasoning NULL: billed
  as output). Audio and image tokens are inside these totals.
- time: the bucket's `start_time` (unix seconds).
- model: the result's `model`. A result without one (the page was not grouped by model)
  cannot be priced and is rejected with that reason: fetch with `group_by=model`.
- who: `project_id` is the project (else --project), `api_key_id` the key id, `user_id`
  the user; `batch: true` becomes the tag `batch=true`, `service_tier` the tag
  `service_tier`.

Costs API pages (`organization.costs.result`) are billed amounts without tokens: each
result is rejected with a reason that says so (the audit is where billed amounts go), so a
costs page given to ingest is visible, never taken for usage.
"""

from __future__ import annotations

import re

import duckdb

from costkit.core.secrets import mask_secrets
from costkit.core.sql import quote
from costkit.readers.base import given, json_text
from costkit.readers.documents import (
    count_bad,
    count_of,
    count_reason,
    judge,
    load_documents,
    peek,
    raw_text,
    stage_select,
    tags_sql,
    text_or_null,
    time_of,
)
from costkit.readers.lines import Source
from costkit.readers.records import TIME_RULE

NAME = "openai-usage"

COMPLETIONS = "organization.usage.completions.result"
EMBEDDINGS = "organization.usage.embeddings.result"
COSTS = "organization.costs.result"

# (label, field, required)
COUNTS = (
    ("input_tokens", "input_tokens", True),
    ("output_tokens", "output_tokens", False),
    ("input_cached_tokens", "input_cached_tokens", False),
    ("input_cache_write_tokens", "input_cache_write_tokens", False),
    ("input_uncached_tokens", "input_uncached_tokens", False),
    ("num_model_requests", "num_model_requests", True),
)
GROUP_KEYS = ("project_id", "api_key_id", "user_id", "model", "batch", "service_tier")

# `"object": "organization.usage.` / `.costs.` or `"object": "bucket"` as JSON, not inside
# a string (where its quotes are escaped).
RECOGNISE = re.compile(
    rb'(?<!\\)"object"\s*:\s*"(organization\.(usage|costs)\.[a-z_.]+|bucket)"')


def recognises(source: Source) -> bool:
    """A file whose first 64 KB hold an organization usage (or costs) result or bucket."""
    return RECOGNISE.search(peek(source)) is not None


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    project: str | None = None,
    tags: dict[str, str] | None = None,
    **_: object,
) -> str:
    """SELECT of staging rows (records.STAGE_COLUMNS and request_count) for every result of
    every bucket in `source`."""
    return _sql(load_documents(con, source, "openai_usage"), project, tags)


def _text(field: str) -> str:
    return f"json_extract_string(r, {quote('$.' + field)})"


def _sql(docs: str, project: str | None, tags: dict[str, str] | None) -> str:
    count = {field: count_of(_text(field)) for _, field, _ in COUNTS}
    cached = f"coalesce({count['input_cached_tokens']}, 0)"
    write = f"coalesce({count['input_cache_write_tokens']}, 0)"
    obj = _text("object")
    is_usage = (f"coalesce({obj}, {quote(COMPLETIONS)}) "
                f"IN ({quote(COMPLETIONS)}, {quote(EMBEDDINGS)})")
    embeddings = f"({obj} = {quote(EMBEDDINGS)})"
    start, end = "json_extract_string(b, '$.start_time')", "json_extract_string(b, '$.end_time')"
    keys = " || ':' || ".join(f"coalesce({_text(k)}, '')" for k in GROUP_KEYS)
    request_id = (f"'openai-usage:' || coalesce({start}, '') || '-' || coalesce({end}, '') "
                  f"|| ':' || {keys}")
    batch = f"(CASE WHEN {_text('batch')} = 'true' THEN json_object('batch', 'true') END)"
    tier = (f"(CASE WHEN {given(_text('service_tier'))} IS NOT NULL "
            f"THEN json_object('service_tier', {_text('service_tier')}) END)")
    own_tags = f"json_merge_patch(coalesce({batch}, '{{}}'::JSON), coalesce({tier}, '{{}}'::JSON))"
    cli_tags = tags_sql(tags)
    tags_value = (f"(CASE WHEN {batch} IS NULL AND {tier} IS NULL THEN {cli_tags} ELSE "
                  f"json_merge_patch(coalesce({cli_tags}, '{{}}'::JSON), {own_tags}) END)")

    problems: list[tuple[str, str]] = [
        ("r_type <> 'OBJECT'", "'not a usage result object (JSON ' || lower(r_type) || ')'"),
        (f"{obj} = {quote(COSTS)}",
         quote("an OpenAI Costs API result: a billed amount without token counts is not "
               "usage (costkit reads /organization/usage/completions pages)")),
        (f"NOT {is_usage}",
         f"'not a completions or embeddings usage result (object ' || {json_text(obj)} || "
         "'); costkit reads /organization/usage/completions and /usage/embeddings pages'"),
    ]
    for label, field, required in COUNTS:
        if required:
            problems.append((f"{_text(field)} IS NULL", quote(f"missing usage: no {label}")))
        elif field == "output_tokens":
            problems.append((f"{_text(field)} IS NULL AND NOT {embeddings}",
                             quote(f"missing usage: no {label}")))
    for label, field, _ in COUNTS:
        problems.append((count_bad(_text(field)), count_reason(label, _text(field))))
    problems += [
        (f"{cached} + {write} > {count['input_tokens']}",
         f"'input_cached_tokens + input_cache_write_tokens (' || ({cached} + {write}) || "
         f"') > input_tokens (' || {count['input_tokens']} || ')'"),
        (f"{count['input_uncached_tokens']} IS NOT NULL AND "
         f"{cached} + {write} + {count['input_uncached_tokens']} <> {count['input_tokens']}",
         f"'input_cached_tokens + input_cache_write_tokens + input_uncached_tokens (' || "
         f"({cached} + {write} + {count['input_uncached_tokens']}) || ') <> input_tokens (' "
         f"|| {count['input_tokens']} || ')'"),
        (f"{start} IS NULL", "'no time: the bucket has no start_time'"),
        ("ts IS NULL", f"'unparseable time: start_time is ' || {json_text(start)} || "
                       f"{quote('; ' + TIME_RULE)}"),
        (f"{given(_text('model'))} IS NULL",
         quote("no model: the page was not grouped by model, so its tokens cannot be "
               "priced; fetch it with group_by=model")),
    ]
    any_problem, first_problem = judge(problems)
    where = ("(CASE WHEN paged THEN 'data[' || (bi - 1) || '].' ELSE '' END) || "
             "'results[' || (ri - 1) || ']: '")
    values = {
        "file_id": "file_id",
        "line": "CASE WHEN whole THEN pos ELSE line END",
        "kind": "'record'",
        "format": quote(NAME),
        "request_id": request_id,
        "ts": "ts",
        "provider": "'openai'",
        "endpoint": f"CASE WHEN {embeddings} THEN 'embeddings' END",
        "model": _text("model"),
        "input_tokens": count["input_tokens"],
        "cached_input_tokens": cached,
        "cache_write_tokens": write,
        "output_tokens": f"coalesce({count['output_tokens']}, 0)",
        "reasoning_tokens": "NULL",
        "search_calls": "0",
        "project": f"coalesce({given(_text('project_id'))}, {text_or_null(project)})",
        "api_key_id": mask_secrets(given(_text("api_key_id")), key=True),
        "user": given(_text("user_id")),
        "tags": tags_value,
        "request_count": count["num_model_requests"],
        "reason": f"CASE WHEN {any_problem} THEN {where} || {first_problem} END",
        "raw": f"CASE WHEN {any_problem} THEN {raw_text('r')} END",
    }
    bucket_reject = {
        "file_id": "file_id", "line": "line", "kind": "'record'", "format": quote(NAME),
        "reason": "(CASE WHEN paged THEN 'data[' || (bi - 1) || ']: ' ELSE '' END) || "
                  + quote("not an OpenAI usage page (data[] of buckets) nor a bucket "
                          "(results[])"),
        "raw": raw_text("b"),
    }
    doc_reject = {
        "file_id": "file_id", "line": "line", "kind": "'record'", "format": quote(NAME),
        "reason": "problem", "raw": raw_text("doc"),
    }
    return f"""
WITH docs AS ({docs}),
parsed AS (
    SELECT *, CASE WHEN NOT bad_utf8 THEN TRY_CAST(doc AS JSON) END AS j FROM docs
),
tops AS (
    -- a document, or each item of a document that is an array
    SELECT file_id, line, whole, doc, j AS p FROM parsed WHERE json_type(j) = 'OBJECT'
    UNION ALL
    SELECT file_id, line, whole, doc, unnest(json_extract(j, '$[*]')) AS p
    FROM parsed WHERE json_type(j) = 'ARRAY'
),
buckets AS (
    SELECT file_id, line, whole, paged, unnest(bs) AS b, generate_subscripts(bs, 1) AS bi
    FROM (SELECT *, json_type(p, '$.data') = 'ARRAY' AS paged,
                 CASE WHEN json_type(p, '$.data') = 'ARRAY' THEN json_extract(p, '$.data[*]')
                      ELSE [p] END AS bs
          FROM tops)
),
results AS (
    SELECT file_id, line, whole, paged, b, bi, unnest(rs) AS r, generate_subscripts(rs, 1) AS ri
    FROM (SELECT *, json_extract(b, '$.results[*]') AS rs FROM buckets
          WHERE json_type(b, '$.results') = 'ARRAY')
),
timed AS (
    SELECT *, json_type(r) AS r_type,
           {time_of("json_extract_string(b, '$.start_time')")} AS ts,
           row_number() OVER (PARTITION BY file_id, line ORDER BY bi, ri) AS pos
    FROM results
)
SELECT {stage_select(values)}
FROM timed
UNION ALL
SELECT {stage_select(bucket_reject)}
FROM buckets WHERE json_type(b, '$.results') IS DISTINCT FROM 'ARRAY'
UNION ALL
SELECT {stage_select(doc_reject)}
FROM (
    SELECT *, CASE
        WHEN bad_utf8 THEN 'not UTF-8 text'
        WHEN j IS NULL THEN 'not JSON'
        ELSE 'JSON, but not an object' END AS problem
    FROM parsed
    WHERE j IS NULL OR json_type(j) NOT IN ('OBJECT', 'ARRAY')
)
"""
