"""Anthropic Messages API streaming captures: the server-sent events of `stream: true`
requests (`event: message_start` / `data: {...}` lines, as an SDK or proxy records them),
or the same events one JSON object per line, bare or inside an envelope that adds a
`timestamp` (and `project`, `user`, `api_key_id`, `tags`).

Each `message_start` begins a request: its `message` has the id, the model and the usage
at the start (input counts, output 1 or so). `message_delta` events carry usage too, and
it is cumulative (the SDK replaces, never adds): the request's counts are the last delta's,
where a field the delta lacks keeps the start's value (newer streams repeat the input and
cache counts in the delta, older ones only `output_tokens`). Content, ping and stop events
carry no usage and are skipped.

Tokens as the Messages API counts them: input = `input_tokens` +
`cache_creation_input_tokens` + `cache_read_input_tokens`; `output_tokens` includes
thinking (not split); `server_tool_use.web_search_requests` counts searches.

Rejected: a stream that never sent a `message_delta` (interrupted: its output is unknown,
never $0), an `error` event in a stream (status error, the reason says so), and a stream
with no time: an event stream carries none, so it needs an envelope `timestamp`.
"""

from __future__ import annotations

import re

import duckdb

from costkit.core.secrets import mask_secrets
from costkit.core.sql import quote
from costkit.readers.base import json_text
from costkit.readers.documents import (
    count_bad,
    count_of,
    judge,
    load_lines,
    mentions,
    peek,
    raw_text,
    stage_select,
    tags_sql,
    text_or_null,
    time_of,
)
from costkit.readers.lines import Source
from costkit.readers.records import SSE_CONTROL, TIME_RULE

NAME = "messages-stream"
EVENTS = ("message_start", "message_delta", "message_stop", "content_block_start",
          "content_block_delta", "content_block_stop", "ping", "error")
COUNTS = ("input_tokens", "output_tokens", "cache_creation_input_tokens",
          "cache_read_input_tokens", "server_tool_use.web_search_requests")
RECOGNISE = re.compile(rb'(?<!\\)"type"\s*:\s*"message_start"')


def recognises(source: Source) -> bool:
    """A file whose first 64 KB hold a `message_start` event."""
    return mentions(peek(source), RECOGNISE, b'"message_start"')


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    project: str | None = None,
    tags: dict[str, str] | None = None,
    **_: object,
) -> str:
    """SELECT of staging rows: a record per message_start (with its last message_delta),
    a skip per other event or control line."""
    table = f"costkit_messages_stream_{source.file_id}"
    load_lines(con, source, table)
    return _sql(table, project, tags)


def _sql(table: str, project: str | None, tags: dict[str, str] | None) -> str:
    start = {c: f"json_extract_string(first_e, {quote('$.message.usage.' + c)})" for c in COUNTS}
    delta = {c: f"json_extract_string(last_delta, {quote('$.usage.' + c)})" for c in COUNTS}
    given_ = {c: f"coalesce({delta[c]}, {start[c]})" for c in COUNTS}
    label = {c: (f"(CASE WHEN {delta[c]} IS NOT NULL THEN 'message_delta.usage.{c}' "
                 f"ELSE 'message_start.message.usage.{c}' END)") for c in COUNTS}
    n = {c: count_of(given_[c]) for c in COUNTS}
    read = f"coalesce({n['cache_read_input_tokens']}, 0)"
    write = f"coalesce({n['cache_creation_input_tokens']}, 0)"
    problems: list[tuple[str, str]] = [
        ("error_event IS NOT NULL",
         "'the stream sent an error event: ' || " + json_text(
             "coalesce(json_extract_string(error_event, '$.error.type'), error_event::VARCHAR)")),
        ("last_delta IS NULL",
         "'stream ended without a message_delta (interrupted?): its output is unknown; not "
         "counted as $0'"),
    ]
    for c in ("input_tokens", "output_tokens"):
        problems.append((f"{given_[c]} IS NULL", f"'missing usage: no ' || {label[c]}"))
    for c in COUNTS:
        problems.append((count_bad(given_[c]), f"{label[c]} || ' is ' || "
                         f"left({given_[c]}, 80) || "
                         f"{quote('; token counts must be whole numbers >= 0')}"))
    problems += [
        ("time_text IS NULL", quote("no time: an event stream carries none; capture its "
                                    "events inside an envelope with a timestamp")),
        ("ts IS NULL", f"'unparseable time: timestamp is ' || {json_text('time_text')} || "
                       f"{quote('; ' + TIME_RULE)}"),
        ("nullif(trim(json_extract_string(first_e, '$.message.model')), '') IS NULL",
         quote("missing model (message_start.message.model)")),
    ]
    any_problem, first_problem = judge(problems)
    values = {
        "file_id": "file_id",
        "line": "line",
        "kind": "'record'",
        "format": quote(NAME),
        "request_id": "nullif(trim(json_extract_string(first_e, '$.message.id')), '')",
        "ts": "ts",
        "endpoint": "'messages'",
        "model": "json_extract_string(first_e, '$.message.model')",
        "input_tokens": f"{n['input_tokens']} + {read} + {write}",
        "cached_input_tokens": read,
        "cache_write_tokens": write,
        "output_tokens": n["output_tokens"],
        "reasoning_tokens": "NULL",
        "search_calls": f"coalesce({n['server_tool_use.web_search_requests']}, 0)",
        "project": f"coalesce(env_project, {text_or_null(project)})",
        "api_key_id": mask_secrets("env_key", key=True),
        "user": "env_user",
        "tags": (f"CASE WHEN json_type(env_tags) = 'OBJECT' THEN "
                 f"json_merge_patch(coalesce({tags_sql(tags)}, '{{}}'::JSON), env_tags) "
                 f"ELSE {tags_sql(tags)} END"),
        "status": "CASE WHEN error_event IS NOT NULL THEN 'error' END",
        "reason": f"CASE WHEN {any_problem} THEN {first_problem} END",
        "raw": f"CASE WHEN {any_problem} THEN {raw_text('first_text')} END",
    }
    line_reject = {"file_id": "file_id", "line": "line", "kind": "'record'",
                   "format": quote(NAME), "reason": "problem", "raw": raw_text("text")}
    skipped = {"file_id": "file_id", "line": "line", "kind": "'skip'"}
    control = " OR ".join(f"starts_with(text, {quote(p)})" for p in SSE_CONTROL)
    events = ", ".join(quote(e) for e in EVENTS)
    env = "(json_type(j, '$.response') = 'OBJECT')"
    return f"""
WITH bodies AS (
    SELECT file_id, line, text, bad_utf8,
           CASE WHEN starts_with(text, 'data:') THEN substr(text, 6) ELSE text END AS body,
           ({control}) AS is_control
    FROM {table}
    WHERE NOT regexp_full_match(text, '[ \\t\\r\\n]*')
),
parsed AS (
    SELECT *, CASE WHEN NOT bad_utf8 AND NOT is_control THEN TRY_CAST(body AS JSON) END AS j
    FROM bodies
),
events AS (
    SELECT *, CASE WHEN {env} THEN json_extract(j, '$.response') ELSE j END AS e,
           CASE WHEN {env} THEN j END AS envelope
    FROM parsed
),
typed AS (
    SELECT *, json_extract_string(e, '$.type') AS etype,
           sum(CASE WHEN json_extract_string(e, '$.type') = 'message_start' THEN 1 ELSE 0 END)
               OVER (PARTITION BY file_id ORDER BY line ROWS UNBOUNDED PRECEDING) AS k
    FROM events
),
streams AS (
    SELECT file_id, k, min(line) AS line,
           arg_min(e, line) FILTER (etype = 'message_start') AS first_e,
           arg_min(text, line) FILTER (etype = 'message_start') AS first_text,
           arg_max(e, line) FILTER (etype = 'message_delta'
                                    AND json_type(e, '$.usage') = 'OBJECT') AS last_delta,
           arg_min(e, line) FILTER (etype = 'error') AS error_event,
           min(json_extract_string(envelope, '$.timestamp')) AS time_text,
           any_value(json_extract_string(envelope, '$.project')) AS env_project,
           any_value(json_extract_string(envelope, '$.user')) AS env_user,
           any_value(json_extract_string(envelope, '$.api_key_id')) AS env_key,
           any_value(json_extract(envelope, '$.tags')) AS env_tags
    FROM typed WHERE k > 0 AND etype IN ({events})
    GROUP BY file_id, k
)
SELECT {stage_select(values)}
FROM (SELECT *, {time_of('time_text')} AS ts FROM streams)
UNION ALL
SELECT {stage_select(line_reject)}
FROM (SELECT *, CASE
        WHEN bad_utf8 THEN 'not UTF-8 text'
        WHEN j IS NULL AND regexp_full_match(body, '\\s*\\[DONE\\]\\s*') THEN NULL
        WHEN j IS NULL THEN 'not JSON'
        WHEN json_type(e) <> 'OBJECT' THEN 'JSON, but not an object'
        WHEN etype IS NULL OR etype NOT IN ({events}) THEN 'not a Messages stream event '
             || '(message_start, message_delta, content_block_*, message_stop, ping, error)'
        WHEN k = 0 THEN 'a ' || etype || ' event before any message_start'
        END AS problem
      FROM typed WHERE NOT is_control)
WHERE problem IS NOT NULL
UNION ALL
SELECT {stage_select(skipped)}
FROM typed
WHERE is_control OR (j IS NULL AND regexp_full_match(body, '\\s*\\[DONE\\]\\s*'))
   OR (k > 0 AND etype IN ({events}) AND etype <> 'message_start')
"""
