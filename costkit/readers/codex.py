"""Codex CLI session logs: the rollout JSONL files Codex writes under
`~/.codex/sessions/YYYY/MM/DD/` (or `$CODEX_HOME/sessions`), the files ccusage reads.

Each line is `{"timestamp", "type", "payload"}`. `session_meta` names the session (`id`,
`cwd`); `turn_context` gives the model of the turns after it (`model`, `cwd`); an
`event_msg` whose payload is `token_count` reports usage: `info.last_token_usage` (the
last turn's) and `info.total_token_usage` (the session's so far). One token_count with
usage is one request:
- tokens: the last turn's usage; when an event has only the cumulative total, the
  difference from the previous event's total. An event whose total did not move since the
  previous one (Codex repeats the count with rate-limit updates) reports nothing new and is
  skipped; one with `info: null` too.
- `input_tokens` includes `cached_input_tokens` (and `cache_write_input_tokens`, when a
  version writes it). `output_tokens` includes `reasoning_output_tokens`, as the Responses
  API counts them and `total_tokens` = input + output shows; a log whose `total_tokens` is
  input + output + reasoning wrote output without it, and is read so.
- model: the event's `info.model`, else the last `turn_context` model before it.
- request id: `codex:` + the session id (from `session_meta`, else the file name's uuid) +
  the event's time + the session's cumulative total: the same session read again (it grew)
  adds only its new events.
- project: the session's working folder (`cwd`); --project for a session without one.
Lines of other types are skipped (counted); a line that is not JSON, or not a session line,
is rejected.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import duckdb

from costkit.core.sql import quote
from costkit.readers.base import json_text
from costkit.readers.documents import (
    count_bad,
    count_of,
    count_reason,
    judge,
    load_lines,
    peek,
    raw_text,
    stage_select,
    tags_sql,
    text_or_null,
    time_of,
)
from costkit.readers.lines import Source
from costkit.readers.records import TIME_RULE

NAME = "codex"
LINE_TYPES = ("session_meta", "turn_context", "event_msg", "response_item", "compacted")
FIELDS = ("input_tokens", "cached_input_tokens", "cache_write_input_tokens", "output_tokens",
          "reasoning_output_tokens", "total_tokens")
RECOGNISE = re.compile(
    rb'(?<!\\)"type"\s*:\s*"(' + "|".join(LINE_TYPES).encode() + rb')"\s*,\s*"payload"\s*:')
UUID = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


def recognises(source: Source) -> bool:
    """A file whose first 64 KB hold a Codex session line (`"type": "turn_context",
    "payload": ...` and the like)."""
    return RECOGNISE.search(peek(source)) is not None


def default_folders(environ: dict[str, str] | None = None,
                    home: Path | None = None) -> list[Path]:
    """Where Codex keeps session logs: $CODEX_HOME/sessions, else ~/.codex/sessions; only
    when it exists."""
    env = os.environ if environ is None else environ
    root = Path(env["CODEX_HOME"]).expanduser() if env.get("CODEX_HOME") else \
        (home or Path.home()) / ".codex"
    folder = root / "sessions"
    return [folder] if folder.is_dir() else []


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    project: str | None = None,
    tags: dict[str, str] | None = None,
    **_: object,
) -> str:
    """SELECT of staging rows: a record per token_count event that reports usage, a skip
    per other session line."""
    table = f"costkit_codex_{source.file_id}"
    load_lines(con, source, table)
    found = re.search(UUID, Path(source.name).name)
    return _sql(table, found.group(0) if found else None, project, tags)


def _p(path: str) -> str:
    return f"json_extract_string(j, {quote('$.payload.' + path)})"


def _sql(table: str, file_session: str | None, project: str | None,
         tags: dict[str, str] | None) -> str:
    last = {f: _p(f"info.last_token_usage.{f}") for f in FIELDS}
    total = {f: _p(f"info.total_token_usage.{f}") for f in FIELDS}
    # per field: the last turn's, else the total's growth since the previous event
    used = {f: (f"(CASE WHEN has_last THEN {count_of(f'l_{f}')} "
                f"ELSE {count_of(f't_{f}')} - coalesce({count_of(f'p_{f}')}, 0) END)")
            for f in FIELDS}
    shown = {f: f"(CASE WHEN has_last THEN l_{f} ELSE t_{f} END)" for f in FIELDS}
    source_of = "(CASE WHEN has_last THEN 'last_token_usage' ELSE 'total_token_usage' END)"
    inp, cached, write, out, reasoning, total_n = (
        used["input_tokens"], f"coalesce({used['cached_input_tokens']}, 0)",
        f"coalesce({used['cache_write_input_tokens']}, 0)", used["output_tokens"],
        f"coalesce({used['reasoning_output_tokens']}, 0)", used["total_tokens"])
    # output without reasoning, as the total shows it: then it is not taken out again
    apart = (f"({total_n} IS NOT NULL AND {reasoning} > 0 AND "
             f"{total_n} = {inp} + {out} + {reasoning})")
    visible = f"(CASE WHEN {apart} THEN {out} ELSE {out} - {reasoning} END)"
    structural, line_reason = judge([
        ("bad_utf8", "'not UTF-8 text'"),
        ("j IS NULL", "'not JSON'"),
        ("json_type(j) <> 'OBJECT'", "'JSON, but not an object'"),
        ("NOT known", "'not a Codex session line (type and payload)'"),
    ])
    problems: list[tuple[str, str]] = []
    for f in ("input_tokens", "output_tokens"):
        problems.append((f"{shown[f]} IS NULL",
                         f"'missing usage: no info.' || {source_of} || '.{f}'"))
    for f in FIELDS:
        problems.append((count_bad(shown[f]),
                         f"'info.' || {source_of} || '.' || {count_reason(f, shown[f])}"))
    problems += [
        (f"NOT has_last AND {inp} < 0",
         "'total_token_usage went down since the previous token_count (another session "
         "in the same file?)'"),
        (f"{cached} + {write} > {inp}",
         f"'cached_input_tokens + cache_write_input_tokens (' || ({cached} + {write}) || "
         f"') > input_tokens (' || {inp} || ')'"),
        (f"{visible} < 0",
         f"'reasoning_output_tokens (' || {reasoning} || ') > output_tokens (' || {out} "
         "|| '), which includes it'"),
        ("ts IS NULL", "'unparseable time: timestamp is ' || coalesce(" +
         json_text("json_extract_string(j, '$.timestamp')") + f", 'missing') || "
         f"{quote('; ' + TIME_RULE)}"),
        ("nullif(trim(model), '') IS NULL",
         "'missing model: no info.model and no turn_context with a model before it'"),
    ]
    usage_problem, usage_reason = judge(problems)
    bad = f"({structural} OR (is_usage AND {usage_problem}))"
    session = f"coalesce(session, {text_or_null(file_session)}, '')"
    values = {
        "file_id": "file_id",
        "line": "line",
        "kind": f"CASE WHEN {structural} OR is_usage THEN 'record' ELSE 'skip' END",
        # skipped session lines are counted as lines (format NULL), as SSE control lines
        "format": f"CASE WHEN {structural} OR is_usage THEN {quote(NAME)} END",
        "request_id": f"CASE WHEN is_usage THEN 'codex:' || {session} || ':' || "
                      f"coalesce(json_extract_string(j, '$.timestamp'), '') || ':' || "
                      f"coalesce(t_total_tokens, l_total_tokens, '') END",
        "ts": "ts",
        "provider": "'openai'",
        "endpoint": "'responses'",
        "model": "model",
        "input_tokens": inp,
        "cached_input_tokens": cached,
        "cache_write_tokens": write,
        "output_tokens": visible,
        "reasoning_tokens": used["reasoning_output_tokens"],
        "search_calls": "0",
        "project": f"coalesce(cwd, {text_or_null(project)})",
        "tags": tags_sql(tags),
        "reason": f"CASE WHEN {structural} THEN {line_reason} "
                  f"WHEN is_usage AND {usage_problem} THEN {usage_reason} END",
        "raw": f"CASE WHEN {bad} THEN {raw_text('text')} END",
    }
    columns = ", ".join([f"{sql} AS l_{f}" for f, sql in last.items()]
                        + [f"{sql} AS t_{f}" for f, sql in total.items()])
    previous = ", ".join(f"lag(t_{f}) OVER counts AS p_{f}" for f in FIELDS)
    line_types = ", ".join(quote(t) for t in LINE_TYPES)
    return f"""
WITH parsed AS (
    SELECT file_id, line, text, bad_utf8,
           CASE WHEN NOT bad_utf8 THEN TRY_CAST(text AS JSON) END AS j
    FROM {table}
    WHERE NOT regexp_full_match(text, '[ \\t\\r\\n]*')
),
typed AS (
    SELECT *, coalesce(json_type(j) = 'OBJECT' AND json_extract_string(j, '$.type')
                       IN ({line_types}) AND json_type(j, '$.payload') = 'OBJECT', FALSE)
              AS known,
           coalesce(json_extract_string(j, '$.type') = 'event_msg' AND
                    {_p('type')} = 'token_count' AND json_type(j, '$.payload.info') = 'OBJECT',
                    FALSE) AS counted,
           {columns}
    FROM parsed
),
walked AS (
    -- the session, model and folder in effect at each line; the previous count's totals
    SELECT *,
        first_value(CASE WHEN json_extract_string(j, '$.type') = 'session_meta'
                         THEN {_p('id')} END IGNORE NULLS) OVER whole AS session,
        coalesce({_p('info.model')},
                 last_value(CASE WHEN json_extract_string(j, '$.type') = 'turn_context'
                                 THEN {_p('model')} END IGNORE NULLS) OVER upto) AS model,
        last_value({_p('cwd')} IGNORE NULLS) OVER upto AS cwd,
        {time_of("json_extract_string(j, '$.timestamp')")} AS ts
    FROM typed
    WINDOW whole AS (PARTITION BY file_id ORDER BY line ROWS BETWEEN UNBOUNDED PRECEDING
                     AND UNBOUNDED FOLLOWING),
           upto AS (PARTITION BY file_id ORDER BY line ROWS UNBOUNDED PRECEDING)
),
counts AS (
    SELECT *, {previous} FROM walked WHERE counted
    WINDOW counts AS (PARTITION BY file_id ORDER BY line)
),
marked AS (
    SELECT *, coalesce(l_input_tokens IS NOT NULL OR l_output_tokens IS NOT NULL, FALSE)
              AS has_last,
           -- nothing new: the cumulative total is the previous event's
           NOT coalesce(t_total_tokens IS NOT NULL AND t_total_tokens = p_total_tokens
                        AND t_input_tokens IS NOT DISTINCT FROM p_input_tokens
                        AND t_output_tokens IS NOT DISTINCT FROM p_output_tokens, FALSE)
              AS is_usage
    FROM counts
    UNION ALL BY NAME
    SELECT *, FALSE AS has_last, FALSE AS is_usage FROM walked WHERE NOT counted
)
SELECT {stage_select(values)}
FROM marked
"""
