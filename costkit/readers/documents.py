"""Plumbing shared by the whole-file readers (gateway ledger, OTLP spans, mapped CSV): a
file's lines into a TEMP table, the JSON documents in those lines, how a file starts (for
recognising it), and the staging row every reader returns.

A JSON file is either one document per line (JSONL: an event, a page of events, an OTLP
export request per line, as the OTel collector's file exporter writes) or one document
over many lines (a pretty-printed page or export). Which one is decided per file from its
first non-blank lines, in SQL: when most of them are JSON objects or arrays on their own,
every non-blank line is a document (and a bad line is one reject); otherwise the whole
file is one document, at the line where it starts.
"""

from __future__ import annotations

import gzip
import json

import duckdb

from costkit.readers.base import quote
from costkit.readers.lines import GZIP_MAGIC, Source, reader
from costkit.readers.records import COUNT_RULE, RAW_LIMIT, STAGE_COLUMNS, WHITESPACE

PEEK = 64 << 10  # bytes of a file looked at to recognise its format
SAMPLE_LINES = 100  # first non-blank lines that decide JSONL or one document


def peek(source: Source, size: int = PEEK) -> bytes:
    """The first `size` bytes of a file (decompressed when it is gzip); b"" if unreadable.

    Recognising a format never fails the ingest: an unreadable file is reported by the
    reader that then opens it."""
    if source.path is None:
        return b""
    try:
        with open(source.path, "rb") as f:
            head = f.read(size)
            if head[:2] == GZIP_MAGIC:
                f.seek(0)
                with gzip.GzipFile(fileobj=f, mode="rb") as z:
                    return z.read(size)
            return head
    except (OSError, EOFError):
        return b""


def is_gzip(source: Source) -> bool:
    if source.path is None:
        return False
    try:
        with open(source.path, "rb") as f:
            return f.read(2) == GZIP_MAGIC
    except OSError:
        return False


def load_lines(con: duckdb.DuckDBPyConnection, source: Source, table: str) -> None:
    """Every line of `source` (file_id, line, text, bad_utf8; gzip detected, blank lines
    keep their numbers) into TEMP table `table`. An unreadable input raises InputError."""
    errors: list[BaseException] = []
    view = f"{table}_arrow"
    con.register(view, reader([source], None, None, errors))
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {view}")
    except duckdb.Error:
        if errors:
            raise errors[0] from None
        raise
    finally:
        con.unregister(view)
    if errors:
        raise errors[0]


def documents_sql(table: str) -> str:
    """SELECT file_id, line, doc (text), bad_utf8, whole over the lines in `table`: one row
    per JSON document (see the module docstring); `whole` is TRUE for a one-document file.
    Needs `{table}_mode` (see `load_documents`)."""
    blank = f"trim(text, {WHITESPACE}) = ''"
    return f"""
        SELECT file_id, line, text AS doc, bad_utf8, FALSE AS whole
        FROM {table}
        WHERE NOT ({blank}) AND (SELECT per_line FROM {table}_mode)
        UNION ALL
        SELECT any_value(file_id), min(line) FILTER (NOT ({blank})),
               string_agg(text, '' ORDER BY line), bool_or(bad_utf8), TRUE
        FROM {table}
        WHERE NOT (SELECT per_line FROM {table}_mode)
        HAVING count(*) FILTER (NOT ({blank})) > 0
    """


def load_documents(con: duckdb.DuckDBPyConnection, source: Source, name: str) -> str:
    """Load `source`'s lines and decide its layout; returns a SELECT of its JSON documents
    (file_id, line, doc, bad_utf8, whole). TEMP tables are named after `name` and the file."""
    table = f"costkit_{name}_{source.file_id}"
    load_lines(con, source, table)
    blank = f"trim(text, {WHITESPACE}) = ''"
    looks_json = (f"(NOT bad_utf8 AND (starts_with(ltrim(text, {WHITESPACE}), '{{') "
                  f"OR starts_with(ltrim(text, {WHITESPACE}), '[')) AND json_valid(text))")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {table}_mode AS
        SELECT coalesce(avg(CASE WHEN {looks_json} THEN 1 ELSE 0 END) > 0.5, TRUE) AS per_line
        FROM (SELECT * FROM {table} WHERE NOT ({blank}) ORDER BY line LIMIT {SAMPLE_LINES})
    """)
    return documents_sql(table)


# --- times, counts and money read from text (JSON values as text, CSV cells) ---------------

# Times outside [2000, 2100) are almost always milliseconds taken for seconds, or garbage.
EARLIEST, LATEST = "2000-01-01", "2100-01-01"
EARLIEST_S, LATEST_S = 946684800, 4102444800  # the same, in unix seconds
# A time of day followed by a zone: Z, an offset, or a name (UTC, Europe/Berlin).
ZONED = ("[0-9]:[0-9]{2}(:[0-9]{2})?([.,][0-9]+)?\\s*"
         "([Zz]|[+-][0-9]{2}(:?[0-9]{2})?|[A-Za-z][A-Za-z0-9_/+-]*)$")


def time_of(text: str, tz: str = "UTC") -> str:
    """TIMESTAMPTZ of a time's text: unix seconds, or ISO 8601 (any number of fractional
    digits; one without a zone is read in `tz`). NULL when unparseable or outside
    [2000, 2100). Needs the connection's TimeZone to be UTC (the ingest sets it)."""
    seconds = f"TRY_CAST({text} AS DOUBLE)"
    if tz == "UTC":
        iso = f"TRY_CAST({text} AS TIMESTAMPTZ)"
    else:
        iso = (f"(CASE WHEN regexp_matches(trim({text}), {quote(ZONED)}) "
               f"THEN TRY_CAST({text} AS TIMESTAMPTZ) "
               f"ELSE timezone({quote(tz)}, TRY_CAST({text} AS TIMESTAMP)) END)")
    return (f"(CASE WHEN {seconds} IS NOT NULL THEN (CASE WHEN {seconds} >= {EARLIEST_S} "
            f"AND {seconds} < {LATEST_S} THEN to_timestamp({seconds}) END) "
            f"ELSE (CASE WHEN {iso} >= TIMESTAMPTZ '{EARLIEST}' AND {iso} < TIMESTAMPTZ "
            f"'{LATEST}' THEN {iso} END) END)")


def count_number(text: str) -> str:
    """DOUBLE of a count's text (NULL when no number)."""
    return f"TRY_CAST(trim({text}) AS DOUBLE)"


def count_of(text: str) -> str:
    """BIGINT of a count's text (validate with count_bad first)."""
    return f"TRY_CAST({count_number(text)} AS BIGINT)"


def count_bad(text: str) -> str:
    """TRUE when a count is given but is not a whole number >= 0 (below 2**53, where a
    DOUBLE holds every integer exactly)."""
    n = count_number(text)
    return (f"({text} IS NOT NULL AND trim({text}) <> '' AND "
            f"NOT coalesce({n} >= 0 AND {n} = trunc({n}) AND {n} < 9e15, FALSE))")


def count_reason(label: str, text: str) -> str:
    return f"{quote(label + ' is ')} || left({text}, 80) || {quote('; ' + COUNT_RULE)}"


def money_of(text: str) -> str:
    """DECIMAL(38,12) of a money text, parsed from the text itself (never via a double)."""
    return f"TRY_CAST(trim({text}) AS DECIMAL(38,12))"


def money_bad_places(text: str) -> str:
    """TRUE when a money text has significant digits beyond the store's 12 decimal places
    (which a cast would round away): as written, or after an exponent."""
    return (f"(regexp_matches({text}, '\\.[0-9]{{12}}[0-9]*[1-9]') OR "
            f"TRY_CAST(trim({text}) AS DECIMAL(38,18)) <> {money_of(text)})")


def stage_select(values: dict[str, str]) -> str:
    """The select list of a staging row (records.STAGE_COLUMNS, in order): the given SQL
    per column, NULL for the others, each cast to its column's type."""
    unknown = set(values) - set(STAGE_COLUMNS)
    if unknown:
        # A column the store's staging does not have yet: dropped rather than failing, so a
        # reader can provide it ahead of the staging table (e.g. billed_cost).
        values = {k: v for k, v in values.items() if k in STAGE_COLUMNS}
    return ",\n    ".join(
        f'CAST({values.get(name, "NULL")} AS {kind}) AS "{name}"'
        for name, kind in STAGE_COLUMNS.items()
    )


def raw_text(sql: str) -> str:
    """A reject's raw text: trimmed and cut to RAW_LIMIT characters."""
    return f"left(rtrim(({sql})::VARCHAR, {WHITESPACE}), {RAW_LIMIT})"


def tags_sql(tags: dict[str, str] | None) -> str:
    """--tag values as a JSON literal (NULL when none)."""
    return quote(json.dumps(tags, sort_keys=True)) + "::JSON" if tags else "NULL::JSON"


def text_or_null(value: str | None) -> str:
    return quote(value) if value is not None else "NULL::VARCHAR"
