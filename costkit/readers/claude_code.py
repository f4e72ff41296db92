"""Claude Code session logs: the JSONL files Claude Code writes under
`~/.claude/projects/<folder>/<session>.jsonl` (or `$CLAUDE_CONFIG_DIR/projects`), the files
ccusage reads.

A line with `message.usage` and a session id (`sessionId`) is one assistant message of an
Anthropic Messages API request: `{"type": "assistant", "timestamp", "sessionId",
"requestId", "cwd", "message": {"id", "model", "usage": {...}}}`. Claude Code writes a line
per content block of a message, each with the message's usage as it stood then (the
counts grow: output 11, then 324), so all lines of one message id (and request id) in a
file are one request, counted once with the last line's usage. The same message copied into
a resumed session's file has the same id: a duplicate, not a second request.

Usage is the Messages API's: `input_tokens` excludes cache reads and writes (input =
input_tokens + cache_creation_input_tokens + cache_read_input_tokens); `output_tokens`
includes thinking (not split: reasoning NULL, billed as output);
`server_tool_use.web_search_requests` counts searches. The time is the line's
`timestamp`; the project is the session's working folder (`cwd`), unless an envelope names
one. `costUSD` (Claude Code's own estimate, not a charge) is not read.

Skipped, not rejected: the other lines of a session (user turns, summaries, system lines,
the `result` line of `claude -p --output-format stream-json`, which totals the session) and
messages of the `<synthetic>` model (Claude Code's placeholders for errors: no request).
Assistant messages of a stream-json capture carry no time and are rejected with that reason.

A session file holds nothing else, so it is recognised by file (a session id in its first
lines) and its lines go through the composed SQL with this format added: the files read
line by line elsewhere do not pay for its fields.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import duckdb

from costkit.readers.base import COUNT, Count, RecordFormat, count_value
from costkit.readers.documents import load_lines, peek
from costkit.readers.lines import Source
from costkit.readers.records import records_sql

NAME = "claude-code"

STRUCTURE = {
    "type": "VARCHAR",
    "timestamp": "VARCHAR",
    "sessionId": "VARCHAR",
    "session_id": "VARCHAR",
    "requestId": "VARCHAR",
    "leafUuid": "VARCHAR",
    "cwd": "VARCHAR",
    "message": {
        "id": "VARCHAR",
        "model": "VARCHAR",
        "usage": {
            "input_tokens": COUNT,
            "output_tokens": COUNT,
            "cache_creation_input_tokens": COUNT,
            "cache_read_input_tokens": COUNT,
            "server_tool_use": {"web_search_requests": COUNT},
        },
    },
}

SESSION = "coalesce(r.sessionId, r.session_id)"
INPUT = "r.message.usage.input_tokens"
OUTPUT = "r.message.usage.output_tokens"
CACHE_WRITE = "r.message.usage.cache_creation_input_tokens"
CACHE_READ = "r.message.usage.cache_read_input_tokens"
SEARCHES = "r.message.usage.server_tool_use.web_search_requests"

_read = f"coalesce({count_value(CACHE_READ)}, 0)"
_write = f"coalesce({count_value(CACHE_WRITE)}, 0)"
_time = "TRY_CAST(r.timestamp AS TIMESTAMPTZ)"

# A session's line that is no request: no usage, a `<synthetic>` message, a stream-json
# result (its usage totals the session), a summary line (no session id of its own).
FRAGMENT = (f"({SESSION} IS NOT NULL AND (r.message.usage IS NULL "
            "OR r.message.model = '<synthetic>' OR r.type = 'result')) "
            "OR (r.type = 'summary' AND r.leafUuid IS NOT NULL)")

FORMAT = RecordFormat(
    name=NAME,
    endpoint="messages",
    structure=STRUCTURE,
    match=f"{SESSION} IS NOT NULL AND r.message.usage IS NOT NULL",
    counts=(
        Count("message.usage.input_tokens", INPUT, required=True),
        Count("message.usage.output_tokens", OUTPUT, required=True),
        Count("message.usage.cache_creation_input_tokens", CACHE_WRITE),
        Count("message.usage.cache_read_input_tokens", CACHE_READ),
        Count("message.usage.server_tool_use.web_search_requests", SEARCHES),
    ),
    columns={
        "request_id": "coalesce(r.message.id, r.requestId)",
        "model": "r.message.model",
        "input_tokens": f"{count_value(INPUT)} + {_read} + {_write}",
        "cached_input_tokens": _read,
        "cache_write_tokens": _write,
        "output_tokens": count_value(OUTPUT),
        "search_calls": f"coalesce({count_value(SEARCHES)}, 0)",
        "project": "r.cwd",
    },
    # ISO 8601 text, as unix seconds (the form the composed SQL checks)
    time=(f"epoch({_time})", "timestamp"),
    no_time_reason="no time: timestamp is missing or not ISO 8601 (a `claude -p "
                   "--output-format stream-json` capture has none: ingest the session logs "
                   "under ~/.claude/projects instead)",
    labels={
        "input_tokens": "message.usage.input_tokens + cache_creation_input_tokens + "
                        "cache_read_input_tokens",
        "cached_input_tokens": "message.usage.cache_read_input_tokens",
        "cache_write_tokens": "message.usage.cache_creation_input_tokens",
        "output_tokens": "message.usage.output_tokens",
    },
    # every line of one message (and request) in a file is one request; the last wins
    stream_key="CASE WHEN r.message.id IS NOT NULL THEN r.message.id || ':' || "
               "coalesce(r.requestId, '') END",
    has_usage="r.message.usage IS NOT NULL",
    fragment=FRAGMENT,
)


# A session line: a `sessionId` (session logs) or `session_id` (stream-json) key, and a
# Claude Code line's own: `requestId`, `leafUuid`, or a type of its lines.
RECOGNISE = re.compile(rb'(?<!\\)"(sessionId|session_id)"\s*:\s*"')
OWN = re.compile(rb'(?<!\\)"(requestId|leafUuid)"\s*:|(?<!\\)"type"\s*:\s*"'
                 rb'(assistant|user|system|summary|result)"')


def recognises(source: Source) -> bool:
    """A file whose first 64 KB hold Claude Code session lines."""
    head = peek(source)
    return bool(RECOGNISE.search(head) and OWN.search(head))


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source | Sequence[Source],
    project: str | None = None,
    tags: dict[str, str] | None = None,
    formats: tuple[RecordFormat, ...] = (),
    **_: object,
) -> str:
    """SELECT of staging rows for the lines of session files (one, or all of a run's at
    once: a folder of a thousand sessions is one statement, not a thousand): message lines
    are stream parts (stitched per file and message by the ingest), other session lines
    skipped. Lines of `formats` (the registry passes its FORMATS) are read as anywhere else."""
    sources = [source] if isinstance(source, Source) else list(source)
    table = f"costkit_claude_code_{sources[0].file_id}"
    load_lines(con, sources, table)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {table}_lines AS "
                f"SELECT *, FALSE AS braced FROM {table}")
    return records_sql((*formats, FORMAT), f"{table}_lines", None, project, tags)


def default_folders(environ: dict[str, str] | None = None,
                    home: Path | None = None) -> list[Path]:
    """Where Claude Code keeps session logs, as ccusage looks: each folder of
    $CLAUDE_CONFIG_DIR (comma-separated) + /projects when set, else ~/.config/claude/projects
    and ~/.claude/projects; only those that exist."""
    env = os.environ if environ is None else environ
    home = home or Path.home()
    configured = [p.strip() for p in env.get("CLAUDE_CONFIG_DIR", "").split(",") if p.strip()]
    roots = [Path(p).expanduser() for p in configured] or [home / ".config" / "claude",
                                                           home / ".claude"]
    return [root / "projects" for root in roots if (root / "projects").is_dir()]
