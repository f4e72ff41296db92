"""Usage-log readers: one module per format, all yielding the one canonical usage row.

How a log becomes rows (nothing per record runs in Python)
1. `costkit.readers.lines` turns inputs (files, directories, .gz, stdin) into Arrow batches
   of lines: `file_id`, `line` (1-based, exact: blank lines keep their numbers), `text`,
   `bad_utf8`.
2. `costkit.readers.records.records_sql()` composes every registered format into ONE
   DuckDB statement over those lines: strip an SSE `data:` prefix; parse the JSON once
   (`json_transform` with the union of the formats' structures); unwrap an envelope
   (`envelope.py`) and a Responses streaming event; detect the format per record (the
   first format whose `match` holds, in `FORMATS` order; `--input-format` forces one);
   extract the canonical columns; validate; give each row a reject `reason` or NULL.
3. `costkit.ingest` stages those rows, stitches stream parts (rows with a `stream_key`)
   into one record per (file, key), dedupes on `request_id` (within the run and against
   the store), and writes `usage`, `rejects` and `ingests` in one transaction.

Adding a JSON format (one JSON object per line: e.g. the gateway's `usage_event` JSONL)
Write `costkit/readers/<name>.py` with a module-level `FORMAT = RecordFormat(...)`
(`costkit.readers.base`; its docstring describes each field) and add it to `FORMATS`
below. In short:
- `structure`: the fields you read, as a json_transform structure; type counts "JSON" so
  the validation sees 1.5 or "12" as they are. Fields shared with another format must have
  the same type (a clash raises when the SQL is composed).
- `match`: SQL over `r` (the parsed record) that is TRUE only for your records.
- `counts`: each count with its label and SQL; `required=True` for those a record must have.
  Every count is checked (whole number >= 0) and named in the reason when it is not.
- `columns`: SQL for the canonical columns (`base.CANONICAL`): `request_id` (the provider
  id; leave NULL to get a stable hash of the record), `model`, the token counts as the
  STORE defines them (`input_tokens` includes cached and cache-write; `output_tokens`
  excludes reasoning; `reasoning_tokens` NULL when the source does not split it),
  `search_calls`, `status`, `user`. Use `base.count_value(sql)` to read a count.
- `time`: (SQL of a JSON time, label): unix seconds or ISO 8601 are both parsed.
- `checks`: extra (SQL true when bad, SQL reason text) pairs; `labels` name the source
  fields in the generic reasons (cached > input, reasoning > output).
- streams: `stream_key` (SQL, non-NULL for parts) and `has_usage`; `fragment` for lines
  that belong to a stream but carry nothing.
Dedupe, rejects (with file, line, raw text), atomicity and the summary then come for free.
Add a fixture in tests/fixtures/logs/ and a test per rejection reason you introduce.

Adding a format whose records are not one-per-line (OTLP JSON exports, paged API
responses, CSV with a column mapping)
Write a module with a function that, given the open connection, a `Source` (path, file id,
display name; see `costkit.readers.lines`) and the `IngestOptions`, returns a SELECT whose
columns are `records.STAGE_COLUMNS` (kind 'record', reason NULL or why; `raw` for rejects),
typically from DuckDB's own `read_json` / `read_csv` + `unnest`, with `line` the record's
line in the file (or its 1-based position when the file is one JSON document). Register it
in `DOCUMENT_READERS` below with how to recognise its files; `costkit.ingest` inserts its
rows into the same staging table, so dedupe, rejects and atomicity are shared. For a
container line (a page object with a `data` list inside a JSONL), prefer expanding it in
SQL (`unnest(json_extract(body, '$.data[*]'))`) into records your `RecordFormat` matches.
"""

from __future__ import annotations

from collections.abc import Callable

from costkit.errors import InputError
from costkit.readers import chat_completion, chat_stream, envelope, messages, responses
from costkit.readers.base import RecordFormat

# Detection order: the first format whose `match` holds claims the record.
FORMATS: tuple[RecordFormat, ...] = (
    chat_stream.FORMAT,
    chat_completion.FORMAT,
    responses.FORMAT,
    messages.FORMAT,
)

# Whole-file readers: name -> (recognises(path) -> bool, select_sql(con, source, options)).
DOCUMENT_READERS: dict[str, tuple[Callable, Callable]] = {}

ALIASES = {
    "chat.completion": "chat",
    "chat-completion": "chat",
    "chat.completion.chunk": "chat-stream",
    "sse": "chat-stream",
    "response": "responses",
    "message": "messages",
}


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
