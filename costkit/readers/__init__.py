"""Usage-log readers: one module per format, all yielding the one canonical usage row.

How a log becomes rows (nothing per record runs in Python)
1. `costkit.readers.lines` turns inputs (files, directories, .gz, stdin) into Arrow batches
   of lines: `file_id`, `line` (1-based, exact: blank lines keep their numbers), `text`,
   `bad_utf8`, `braced`.
2. `costkit.readers.records.records_sql()` composes every registered format into ONE
   DuckDB statement over those lines: strip an SSE `data:` prefix; parse the JSON once
   (`json_transform` with the union of the formats' structures); unwrap an envelope
   (`envelope.py`) and a Responses streaming event; detect the format per record (the
   first format whose `match` holds, in `FORMATS` order; `--input-format` forces one);
   extract the canonical columns; validate; give each row a reject `reason` or NULL.
   The rows have the columns of `records.STAGE_COLUMNS`.
3. `costkit.ingest.run` puts good records straight into `usage` (the fast path) and everything
   else through a TEMP `stage` table: stream parts (rows with a `stream_key`) are stitched
   into one record per (file, format, key), rejects are recorded; then it dedupes on
   `request_id` (within the run and against the store) and writes `usage`, `rejects` and
   `ingests`, all in one transaction.

Adding a JSON format (one JSON object per line: e.g. the gateway's `usage_event` JSONL)
Write `costkit/readers/<name>.py` with a module-level `FORMAT = RecordFormat(...)`
(`costkit.readers.base`; its docstring describes each field) and add it to `FORMATS`
below. In short:
- `structure`: the fields you read, as a json_transform structure. Type counts "DOUBLE"
  (the validation then sees -3 and 1.5 as they are; an integer type would round), unix
  times "DOUBLE", everything else "VARCHAR" (or "JSON" to keep a sub-object as text).
  Fields shared with another format must have the same type (a clash raises when the SQL
  is composed).
- `match`: SQL over `r` (the parsed record) that is TRUE only for your records.
- `counts`: each count with its label and SQL; `required=True` for those a record must
  have. Every count is checked (whole number >= 0) and named in the reason when it is not.
- `columns`: SQL for the canonical columns (`base.CANONICAL`): `request_id` (the provider
  id; leave NULL to get a stable hash of the record), `model`, the token counts as the
  STORE defines them (`input_tokens` includes cached and cache-write; `output_tokens`
  excludes reasoning; `reasoning_tokens` NULL when the source does not split it),
  `search_calls`, `status`, `user`, `project` (the record's own; an envelope's wins, then it,
  then --project). Use `base.count_value(sql)` to read a count.
- `time`: (SQL of unix seconds, label); an envelope's `timestamp` (ISO 8601 or seconds)
  wins over it. `no_time_reason` for a format that has no time of its own.
- `checks`: extra (SQL true when bad, SQL reason text) pairs; `labels` name the source
  fields in the generic reasons (cached > input, reasoning > output).
- streams: `stream_key` (SQL, non-NULL for parts) and `has_usage`; `fragment` for lines
  that belong to a stream but carry nothing (skipped, not rejected).
Dedupe, rejects (with file, line, raw text), atomicity and the summary then come for free.
Add a fixture in tests/fixtures/logs/ and a test per rejection reason you introduce.

Adding a format whose records are not one-per-line (OTLP JSON exports, paged API
responses, CSV with a column mapping)
Register in `DOCUMENT_READERS` below: name -> (recognises, select).
- `recognises(source) -> bool`: whether a file is yours when no `--input-format` is given
  (`source` is a `lines.Source`: `file_id`, `path` (stdin is spooled to a file first),
  `name` (what lineage columns store)). `--input-format NAME` sends every input to you.
- `select(con, source, project, tags, **options) -> str`: a SELECT whose columns are
  `records.STAGE_COLUMNS` (by name; `documents.BILLED_COLUMNS` too when the source says
  what was charged): `file_id` = source.file_id, `line` (the record's line in the file,
  or where its document starts), `kind` 'record' (or 'skip' for an item that is no
  request, counted as skipped), `format` your name, canonical values, `project` / `tags`
  (the options, unless the source says otherwise), `reason` NULL for a good record, else
  why (then `raw`: the record's text, for `costkit rejects`). Typically DuckDB's own
  `read_json` / `read_csv` + `unnest`; `lines.reader()` gives exact line numbers when you
  need the text. `options` are the run's reader options that were given (see
  `READER_OPTIONS`): take the ones you read, accept the others as `**_`.
`costkit.ingest.run` inserts those rows into `stage`, so dedupe, rejects and atomicity are
shared (tests/test_ingest.py::test_a_document_reader_shares_dedupe_and_rejects shows a
minimal one). `documents.py` has the plumbing the three below share (`ledger.py`: the
gateway's usage events; `otel.py`: OTLP JSON spans; `csv_mapped.py`: any CSV, with
`mappings.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from costkit.core.errors import InputError
from costkit.readers import (
    anthropic_stream,
    chat_completion,
    chat_stream,
    claude_code,
    codex,
    csv_mapped,
    envelope,
    json_document,
    langfuse,
    ledger,
    litellm_daily,
    litellm_spend,
    messages,
    openai_usage,
    openrouter,
    otel,
    responses,
)
from costkit.readers.base import RecordFormat
from costkit.readers.lines import Source

# Detection order: the first format whose `match` holds claims the record (the commonest
# first: a record meets fewer tests).
FORMATS: tuple[RecordFormat, ...] = (
    chat_completion.FORMAT,
    chat_stream.FORMAT,
    responses.FORMAT,
    messages.FORMAT,
)

# Whole-file readers: name -> (recognises(source) -> bool,
#                              select(con, source, project, tags, **options) -> SQL).
# When several recognise a file the LAST one reads it (`document_reader`): generic readers
# (a pretty-printed JSON document, any CSV by its name) first, readers that know a source's
# own fields after.
DOCUMENT_READERS: dict[str, tuple[Callable, Callable]] = {
    json_document.NAME: (json_document.recognises,
                         partial(json_document.select_sql, formats=FORMATS)),
    csv_mapped.NAME: (csv_mapped.recognises, csv_mapped.select_sql),
    ledger.NAME: (ledger.recognises, ledger.select_sql),
    otel.NAME: (otel.recognises, otel.select_sql),
    openai_usage.NAME: (openai_usage.recognises, openai_usage.select_sql),
    litellm_spend.NAME: (litellm_spend.recognises, litellm_spend.select_sql),
    litellm_daily.NAME: (litellm_daily.recognises, litellm_daily.select_sql),
    codex.NAME: (codex.recognises, codex.select_sql),
    claude_code.NAME: (claude_code.recognises,
                       partial(claude_code.select_sql, formats=FORMATS)),
    anthropic_stream.NAME: (anthropic_stream.recognises, anthropic_stream.select_sql),
    openrouter.NAME: (openrouter.recognises, openrouter.select_sql),
    langfuse.NAME: (langfuse.recognises, langfuse.select_sql),
}

# Whole-file readers whose select takes every file of a run it reads at once, as a list
# (one statement for a folder of a thousand session logs, instead of one per file).
MANY_FILE_READERS = frozenset({claude_code.NAME})
# Whole-file readers whose SELECT is the composed line SQL (records.records_sql) over lines
# they load: the ingest runs it as it runs the line path's (see run._stage_documents).
LINE_SQL_READERS = frozenset({claude_code.NAME, json_document.NAME})

# Options of a run that whole-file readers read (passed only when given):
# ledger_reasoning  "in-output" | "from-total" (ledger.REASONING_MODES)
# csv_mapping       a mappings.CsvMapping
READER_OPTIONS = ("ledger_reasoning", "csv_mapping")

ALIASES = {
    "chat.completion": "chat",
    "chat-completion": "chat",
    "chat.completion.chunk": "chat-stream",
    "sse": "chat-stream",
    "response": "responses",
    "message": "messages",
    "usage_event": "ledger",
    "gateway-ledger": "ledger",
    "otlp": "otel",
    "opentelemetry": "otel",
    "tsv": "csv",
    "claude": "claude-code",
    "codex-cli": "codex",
    "pretty": "json",
}


def document_reader(source: Source, forced: str | None = None) -> str | None:
    """The whole-file reader of `source`: the forced one, else the LAST in
    DOCUMENT_READERS order that recognises it (generic readers are registered first, more
    specific ones after, so a LiteLLM export named .csv goes to the LiteLLM reader), else
    None (its lines go through FORMATS)."""
    if forced is not None:
        return forced if forced in DOCUMENT_READERS else None
    return next((name for name, (recognises, _) in reversed(DOCUMENT_READERS.items())
                 if recognises(source)), None)


def agent_log_folders(claude: bool = False, codex_cli: bool = False,
                      environ: dict[str, str] | None = None) -> list[Path]:
    """The folders where coding agents keep their session logs (`costkit ingest
    --claude-code --codex`); InputError naming where it looked when one asked for has none."""
    found: list[Path] = []
    if claude:
        folders = claude_code.default_folders(environ)
        if not folders:
            raise InputError("--claude-code: no Claude Code logs found ($CLAUDE_CONFIG_DIR/"
                             "projects, ~/.config/claude/projects, ~/.claude/projects); set "
                             "CLAUDE_CONFIG_DIR or give the folder as PATH")
        found += folders
    if codex_cli:
        folders = codex.default_folders(environ)
        if not folders:
            raise InputError("--codex: no Codex logs found ($CODEX_HOME/sessions, "
                             "~/.codex/sessions); set CODEX_HOME or give the folder as PATH")
        found += folders
    return found


def format_names() -> list[str]:
    """What `--input-format` accepts (besides aliases)."""
    return [f.name for f in FORMATS] + [envelope.NAME] + list(DOCUMENT_READERS)


def resolve_format(name: str | None) -> str | None:
    """A user's `--input-format` value as a registered name; InputError when unknown."""
    if name is None:
        return None
    canonical = ALIASES.get(name, name)
    if canonical not in format_names():
        raise InputError(
            f"--input-format {name!r} is not a known format; known: {', '.join(format_names())}"
        )
    return canonical
