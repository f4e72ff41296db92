"""OpenTelemetry GenAI spans from an OTLP JSON export, as canonical usage rows.

Layouts: one export (`{"resourceSpans": [...]}`) per file, pretty-printed or not, or a
JSONL of export requests, one per line, as the collector's file exporter writes them.
Spans are `resourceSpans[].scopeSpans[].spans[]`; attributes are key/value lists whose
values are `stringValue`, `intValue` (a JSON string in OTLP JSON), `doubleValue`, ...

Per span (attributes of the GenAI semantic conventions):
- tokens: `gen_ai.usage.input_tokens` (includes cached), `gen_ai.usage.output_tokens`
  (includes reasoning), `gen_ai.usage.cache_read.input_tokens`,
  `gen_ai.usage.cache_creation.input_tokens`, `gen_ai.usage.reasoning.output_tokens`; the
  deprecated `gen_ai.usage.prompt_tokens` / `completion_tokens` when the new ones are
  absent, and the older `gen_ai.usage.cache_read_input_tokens` /
  `cache_creation_input_tokens` spellings.
- request id: `gen_ai.response.id`, else a stable hash of the span's traceId and spanId.
- model: `gen_ai.response.model`, else `gen_ai.request.model`. provider:
  `gen_ai.provider.name` (else the deprecated `gen_ai.system`). endpoint: operation `chat`
  is `chat.completions` (`messages` for provider anthropic); other operations keep their
  name (`embeddings`, `generate_content`, ...). A `chat` span whose response id is a
  Responses id (`resp_...`) is `responses`: OpenAI's instrumentation names both `chat`.
- time: the span's `endTimeUnixNano` (its start when the end is missing).
- project: `--project` when given, else the resource's `service.name`. user: `user.id` or
  `enduser.id`. status: `error` when the span's status is ERROR or it has `error.type`,
  `ok` when OK, else NULL.

Skipped, not rejected (counted in the ingest summary's `skipped`): spans without any
gen_ai.usage attribute (HTTP, database, tool and workflow spans), and spans whose usage is
an aggregate of GenAI usage spans below them in the same trace (an `invoke_agent` span that
sums its `chat` spans): counting both would bill the requests twice. Export lines of other
signals (`resourceLogs`, `resourceMetrics`) are skipped too. Rejected: a usage span with a
bad or missing count, time or model; a document that is no OTLP export.
"""

from __future__ import annotations

import json
import re

import duckdb

from costkit.core.sql import quote
from costkit.readers.base import given, json_text
from costkit.readers.documents import (
    EARLIEST_S,
    LATEST_S,
    count_bad,
    count_of,
    load_documents,
    peek,
    raw_text,
    stage_select,
    tags_sql,
    text_or_null,
)
from costkit.readers.lines import Source
from costkit.readers.records import COUNT_RULE

NAME = "otel"

ATTRIBUTES = [{"key": "VARCHAR", "value": {
    "stringValue": "VARCHAR", "intValue": "VARCHAR", "doubleValue": "VARCHAR",
    "boolValue": "VARCHAR"}}]
EXPORT = {"resourceSpans": [{
    "resource": {"attributes": ATTRIBUTES},
    "scopeSpans": [{"scope": {"name": "VARCHAR"}, "spans": ["JSON"]}],
}]}
SPAN = {
    "traceId": "VARCHAR",
    "spanId": "VARCHAR",
    "parentSpanId": "VARCHAR",
    "startTimeUnixNano": "VARCHAR",
    "endTimeUnixNano": "VARCHAR",
    "attributes": ATTRIBUTES,
    "status": {"code": "VARCHAR"},
}

# Canonical count -> attribute names, the first present wins (current, then older names).
COUNTS = {
    "input": ("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens"),
    "output": ("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens"),
    "cache_read": ("gen_ai.usage.cache_read.input_tokens",
                   "gen_ai.usage.cache_read_input_tokens"),
    "cache_creation": ("gen_ai.usage.cache_creation.input_tokens",
                       "gen_ai.usage.cache_creation_input_tokens"),
    "reasoning": ("gen_ai.usage.reasoning.output_tokens",),
}
USAGE_ATTRIBUTES = tuple(name for names in COUNTS.values() for name in names)
NO_OUTPUT_OPERATIONS = ("embeddings",)  # spans whose output count may be absent
TIME_RULE_NS = "expected nanoseconds since the unix epoch, within 2000..2099"


# `"resourceSpans": [` as JSON, not inside a string (where its quotes are escaped).
RECOGNISE = re.compile(rb'(?<!\\)"resourceSpans"\s*:\s*\[')


def recognises(source: Source) -> bool:
    """A file whose first 64 KB hold an OTLP span export."""
    return RECOGNISE.search(peek(source)) is not None


def _attr(attrs: str, key: str) -> str:
    """The text of attribute `key` in list `attrs` (the first one when repeated)."""
    value = f"list_filter({attrs}, lambda a: a.key = {quote(key)})[1].value"
    return (f"coalesce({value}.intValue, {value}.doubleValue, {value}.stringValue, "
            f"{value}.boolValue)")


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    project: str | None = None,
    tags: dict[str, str] | None = None,
    **_: object,
) -> str:
    """SELECT of staging rows (records.STAGE_COLUMNS) for every span in `source`: a record
    per GenAI usage span, a 'skip' row per other span."""
    docs = load_documents(con, source, NAME)
    return _sql(docs, project, tags)


def _sql(docs: str, project: str | None, tags: dict[str, str] | None) -> str:
    attr = {name: _attr("s.attributes", name) for name in (
        *USAGE_ATTRIBUTES, "gen_ai.response.id", "gen_ai.request.model",
        "gen_ai.response.model", "gen_ai.provider.name", "gen_ai.system",
        "gen_ai.operation.name", "error.type", "user.id", "enduser.id")}
    extracted = {f"a_{k}": f"coalesce({', '.join(attr[n] for n in names)})"
                 for k, names in COUNTS.items()}
    labels = {k: "(CASE " + " ".join(f"WHEN {attr[n]} IS NOT NULL THEN {quote(n)}"
                                     for n in names) + f" ELSE {quote(names[0])} END)"
              for k, names in COUNTS.items()}
    extracted.update({
        "a_response_id": attr["gen_ai.response.id"],
        "a_model": f"coalesce({attr['gen_ai.response.model']}, {attr['gen_ai.request.model']})",
        "a_provider": f"coalesce({attr['gen_ai.provider.name']}, {attr['gen_ai.system']})",
        "a_operation": attr["gen_ai.operation.name"],
        "a_error": attr["error.type"],
        "a_user": f"coalesce({attr['user.id']}, {attr['enduser.id']})",
        "a_service": _attr("rattrs", "service.name"),
        "is_usage": " OR ".join(f"{attr[n]} IS NOT NULL" for n in USAGE_ATTRIBUTES),
    })
    extracted_sql = ",\n        ".join(f"{sql} AS {name}" for name, sql in extracted.items())

    inp, out = count_of("a_input"), count_of("a_output")
    read, creation = f"coalesce({count_of('a_cache_read')}, 0)", \
        f"coalesce({count_of('a_cache_creation')}, 0)"
    reasoning = count_of("a_reasoning")
    end_ns = "TRY_CAST(nullif(s.endTimeUnixNano, '0') AS BIGINT)"
    start_ns = "TRY_CAST(nullif(s.startTimeUnixNano, '0') AS BIGINT)"
    time_text = "coalesce(nullif(s.endTimeUnixNano, '0'), nullif(s.startTimeUnixNano, '0'))"
    time_label = ("(CASE WHEN nullif(s.endTimeUnixNano, '0') IS NOT NULL "
                  "THEN 'endTimeUnixNano' ELSE 'startTimeUnixNano' END)")
    ns = f"coalesce({end_ns}, {start_ns})"
    ts = (f"(CASE WHEN {ns} >= {EARLIEST_S * 10**9} AND {ns} < {LATEST_S * 10**9} "
          f"THEN make_timestamp({ns} // 1000)::TIMESTAMPTZ END)")
    no_output_ops = ", ".join(quote(op) for op in NO_OUTPUT_OPERATIONS)
    problems: list[tuple[str, str]] = [
        ("a_input IS NULL", f"'missing usage: no ' || {labels['input']}"),
        (f"a_output IS NULL AND coalesce(a_operation, '') NOT IN ({no_output_ops})",
         f"'missing usage: no ' || {labels['output']}"),
    ]
    for key in COUNTS:
        problems.append((count_bad(f"a_{key}"),
                         f"{labels[key]} || ' is ' || (CASE WHEN trim(a_{key}) = '' "
                         f"THEN 'empty' ELSE left(a_{key}, 80) END) || "
                         f"{quote('; ' + COUNT_RULE)}"))
    problems += [
        (f"{read} + {creation} > {inp}",
         f"{labels['cache_read']} || ' + ' || {labels['cache_creation']} || ' (' || "
         f"({read} + {creation}) || ') > ' || {labels['input']} || ' (' || {inp} || ')'"),
        (f"{reasoning} > coalesce({out}, 0)",
         f"{labels['reasoning']} || ' (' || {reasoning} || ') > ' || {labels['output']} || "
         f"' (' || coalesce({out}, 0) || ')'"),
        (f"{time_text} IS NULL", "'no span time (endTimeUnixNano)'"),
        ("ts IS NULL", f"'unparseable time: ' || {time_label} || ' is ' || "
                       f"{json_text(time_text)} || {quote('; ' + TIME_RULE_NS)}"),
        (f"{given('a_model')} IS NULL",
         "'missing model (gen_ai.response.model / gen_ai.request.model)'"),
    ]
    any_problem = " OR ".join(f"coalesce({cond}, FALSE)" for cond, _ in problems)
    first_problem = " ".join(f"WHEN coalesce({cond}, FALSE) THEN {why}" for cond, why in problems)
    where = ("'resourceSpans[' || (ri - 1) || '].scopeSpans[' || (si - 1) || '].spans[' || "
             "(pi - 1) || ']: '")
    error = ("(s.status.code IN ('2', 'STATUS_CODE_ERROR') OR a_error IS NOT NULL)")
    ok = "s.status.code IN ('1', 'STATUS_CODE_OK')"
    hashed = ("'sha256:' || left(sha256(CASE WHEN s.traceId IS NOT NULL OR s.spanId IS NOT NULL "
              "THEN 'otel:' || coalesce(s.traceId, '') || ':' || coalesce(s.spanId, '') "
              "ELSE sp::VARCHAR END), 32)")
    record = "is_usage AND NOT is_aggregate"
    values = {
        "file_id": "file_id",
        "line": "CASE WHEN whole THEN pos ELSE line END",
        "kind": f"CASE WHEN {record} THEN 'record' ELSE 'skip' END",
        "format": quote(NAME),
        "request_id": f"CASE WHEN {record} THEN coalesce({given('a_response_id')}, {hashed}) END",
        "ts": "ts",
        "provider": "a_provider",
        # OpenAI's instrumentation names Responses calls `chat` too: their ids (resp_...)
        # tell them apart
        "endpoint": ("CASE WHEN a_operation = 'chat' THEN (CASE WHEN lower(a_provider) = "
                     "'anthropic' THEN 'messages' WHEN starts_with(a_response_id, 'resp_') "
                     "THEN 'responses' ELSE 'chat.completions' END) "
                     "ELSE a_operation END"),
        "model": "a_model",
        "input_tokens": inp,
        "cached_input_tokens": read,
        "cache_write_tokens": creation,
        "output_tokens": f"coalesce({out}, 0) - coalesce({reasoning}, 0)",
        "reasoning_tokens": reasoning,
        "search_calls": "0",
        "project": f"coalesce({text_or_null(project)}, a_service)",
        "user": "a_user",
        "tags": tags_sql(tags),
        "status": f"CASE WHEN {error} THEN 'error' WHEN {ok} THEN 'ok' END",
        "reason": f"CASE WHEN {record} AND ({any_problem}) THEN {where} || "
                  f"(CASE {first_problem} END) END",
        "raw": f"CASE WHEN {record} AND ({any_problem}) THEN {raw_text('sp')} END",
    }
    doc_row = {
        "file_id": "file_id", "line": "line", "format": quote(NAME),
        "kind": "CASE WHEN problem IS NULL THEN 'skip' ELSE 'record' END",
        "reason": "problem", "raw": f"CASE WHEN problem IS NOT NULL THEN {raw_text('doc')} END",
    }
    return f"""
WITH RECURSIVE docs AS ({docs}),
parsed AS (
    SELECT *, CASE WHEN NOT bad_utf8 THEN TRY_CAST(doc AS JSON) END AS j FROM docs
),
exports AS (
    SELECT file_id, line, whole, json_transform(j, {quote(json.dumps(EXPORT))}) AS x
    FROM parsed
    WHERE json_type(j) = 'OBJECT' AND json_type(j, '$.resourceSpans') = 'ARRAY'
),
resources AS (
    SELECT file_id, line, whole, unnest(x.resourceSpans) AS rs,
           generate_subscripts(x.resourceSpans, 1) AS ri
    FROM exports
),
scopes AS (
    SELECT file_id, line, whole, ri, rs.resource.attributes AS rattrs,
           unnest(rs.scopeSpans) AS ss, generate_subscripts(rs.scopeSpans, 1) AS si
    FROM resources
),
spans AS (
    SELECT file_id, line, whole, ri, si, rattrs, unnest(ss.spans) AS sp,
           generate_subscripts(ss.spans, 1) AS pi
    FROM scopes
),
typed AS (
    SELECT *, json_transform(sp, {quote(json.dumps(SPAN))}) AS s,
           row_number() OVER (PARTITION BY file_id, line ORDER BY ri, si, pi) AS pos
    FROM spans
),
attributed AS (
    SELECT *,
        {extracted_sql}
    FROM typed
),
-- every span above a usage span in its trace (within this file): such a span's own usage
-- is the sum of what is below it
walk(file_id, trace, span) AS (
    SELECT file_id, s.traceId, s.parentSpanId FROM attributed
    WHERE is_usage AND coalesce(s.parentSpanId, '') <> '' AND s.traceId IS NOT NULL
    UNION
    SELECT w.file_id, w.trace, a.s.parentSpanId
    FROM walk w JOIN attributed a
      ON a.file_id = w.file_id AND a.s.traceId = w.trace AND a.s.spanId = w.span
    WHERE coalesce(a.s.parentSpanId, '') <> ''
),
judged AS (
    SELECT a.*, {ts} AS ts,
           EXISTS (SELECT 1 FROM walk w WHERE w.file_id = a.file_id
                   AND w.trace = a.s.traceId AND w.span = a.s.spanId) AS is_aggregate
    FROM attributed a
)
SELECT {stage_select(values)}
FROM judged
UNION ALL
SELECT {stage_select(doc_row)}
FROM (
    SELECT *, CASE
        WHEN bad_utf8 THEN 'not UTF-8 text'
        WHEN j IS NULL THEN 'not JSON'
        WHEN json_type(j) <> 'OBJECT' THEN 'JSON, but not an object'
        WHEN json_exists(j, '$.resourceLogs') OR json_exists(j, '$.resourceMetrics') THEN NULL
        ELSE 'not an OTLP JSON span export (no resourceSpans list)' END AS problem
    FROM parsed
    WHERE j IS NULL OR json_type(j) <> 'OBJECT'
       OR json_type(j, '$.resourceSpans') IS DISTINCT FROM 'ARRAY'
)
"""
