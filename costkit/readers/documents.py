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
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb

from costkit.core.errors import InputError
from costkit.core.sql import quote
from costkit.readers.lines import GZIP_MAGIC, Source, reader
from costkit.readers.records import COUNT_RULE, RAW_LIMIT, STAGE_COLUMNS

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


def mentions(head: bytes, pattern: re.Pattern[bytes], *needles: bytes) -> bool:
    """`pattern.search(head)`, tried only when one of `needles` (literals that every match
    contains) is in `head`: recognisers' patterns begin with a look-behind, which Python's
    regular expressions try at every byte (about half a millisecond per 64 KB head, per
    recogniser, per file), while a literal is found at memchr speed."""
    return any(needle in head for needle in needles) and pattern.search(head) is not None


def is_gzip(source: Source) -> bool:
    if source.path is None:
        return False
    try:
        with open(source.path, "rb") as f:
            return f.read(2) == GZIP_MAGIC
    except OSError:
        return False


def load_lines(con: duckdb.DuckDBPyConnection, source: Source | Sequence[Source],
               table: str) -> None:
    """Every line of `source` (or of several sources: file_id, line, text, bad_utf8; gzip
    detected, blank lines keep their numbers) into TEMP table `table`. An unreadable input
    raises InputError."""
    errors: list[BaseException] = []
    view = f"{table}_arrow"
    sources = [source] if isinstance(source, Source) else list(source)
    con.register(view, reader(sources, None, None, errors))
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


# Regular expressions beat trim() here: DuckDB's trim walks the whole of a long line.
BLANK_RE = "[ \\t\\r\\n]*"
FIRST_RE = "^[ \\t\\r\\n]*([^ \\t\\r\\n])"


def is_blank(sql: str) -> str:
    return f"regexp_full_match({sql}, {quote(BLANK_RE)})"


def first_char(sql: str) -> str:
    """The first character of a text that is not white space ('' when none)."""
    return f"regexp_extract({sql}, {quote(FIRST_RE)}, 1)"


def documents_sql(table: str) -> str:
    """SELECT file_id, line, doc (text), bad_utf8, whole over the lines in `table`: one row
    per JSON document (see the module docstring); `whole` is TRUE for a one-document file.
    Needs `{table}_mode` (see `load_documents`)."""
    blank = is_blank("text")
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
    blank = is_blank("text")
    looks_json = f"(NOT bad_utf8 AND {first_char('text')} IN ('{{', '[') AND json_valid(text))"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {table}_mode AS
        SELECT coalesce(avg(CASE WHEN {looks_json} THEN 1 ELSE 0 END) > 0.5, TRUE) AS per_line
        FROM (SELECT * FROM {table} WHERE NOT ({blank}) ORDER BY line LIMIT {SAMPLE_LINES})
    """)
    # Most sampled lines are not documents of their own: a pretty-printed page (whole or
    # broken: it opens with "{" or "["), or a JSONL behind comment lines (each line read,
    # the comments rejected one by one, the records kept).
    if not con.execute(f"SELECT per_line FROM {table}_mode").fetchone()[0]:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {table}_mode AS
            SELECT NOT coalesce(json_valid(string_agg(text, '' ORDER BY line)), FALSE)
                   AND NOT coalesce(arg_min({first_char('text')}, line) IN ('{{', '['), FALSE)
                   AS per_line
            FROM {table} WHERE NOT bad_utf8 AND NOT ({blank})
        """)
    return documents_sql(table)


# --- times, counts and money read from text (JSON values as text, CSV cells) ---------------

# Times outside [2000, 2100) are almost always milliseconds taken for seconds, or garbage.
EARLIEST, LATEST = "2000-01-01", "2100-01-01"
EARLIEST_S, LATEST_S = 946684800, 4102444800  # the same, in unix seconds
# A time of day followed by a zone: Z, an offset, or a name (UTC, Europe/Berlin).
ZONED = ("[0-9]:[0-9]{2}(:[0-9]{2})?([.,][0-9]+)?\\s*"
         "([Zz]|[+-][0-9]{2}(:?[0-9]{2})?|[A-Za-z][A-Za-z0-9_/+-]*)\\s*$")


def time_unchecked(text: str, tz: str = "UTC") -> str:
    """TIMESTAMPTZ of a time's text, before the range check (see `time_of`): a text with a
    `-` or `:` is ISO 8601 (any number of fractional digits; without a zone, read in
    `tz`), any other is unix seconds (NULL outside [2000, 2100), where to_timestamp
    could not even hold it). Needs the connection's TimeZone to be UTC (the ingest's)."""
    if tz == "UTC":
        iso = f"TRY_CAST({text} AS TIMESTAMPTZ)"
    else:
        iso = (f"(CASE WHEN regexp_matches({text}, {quote(ZONED)}) "
               f"THEN TRY_CAST({text} AS TIMESTAMPTZ) "
               f"ELSE timezone({quote(tz)}, TRY_CAST({text} AS TIMESTAMP)) END)")
    seconds = f"TRY_CAST({text} AS DOUBLE)"
    return (f"(CASE WHEN contains({text}, '-') OR contains({text}, ':') THEN {iso} "
            f"WHEN {seconds} >= {EARLIEST_S} AND {seconds} < {LATEST_S} "
            f"THEN to_timestamp({seconds}) END)")


def in_range(ts: str) -> str:
    """TRUE when a TIMESTAMPTZ is within [2000, 2100): others are milliseconds taken for
    seconds, or garbage."""
    return f"({ts} >= TIMESTAMPTZ '{EARLIEST}' AND {ts} < TIMESTAMPTZ '{LATEST}')"


def time_of(text: str, tz: str = "UTC") -> str:
    """TIMESTAMPTZ of a time's text: unix seconds, or ISO 8601 (see `time_unchecked`);
    NULL when unparseable or outside [2000, 2100)."""
    ts = time_unchecked(text, tz)
    return f"(CASE WHEN {in_range(ts)} THEN {ts} END)"


def count_number(text: str) -> str:
    """DOUBLE of a count's text (NULL when no number)."""
    return f"TRY_CAST(trim({text}) AS DOUBLE)"


def count_of(text: str) -> str:
    """BIGINT of a count's text (validate with count_bad first)."""
    return f"TRY_CAST({count_number(text)} AS BIGINT)"


def count_bad(text: str) -> str:
    """TRUE when a count is given but is not a whole number >= 0 (below 2**53, where a
    DOUBLE holds every integer exactly). Given includes an empty text: `"input": ""` is no
    count, and is rejected rather than read as absent."""
    n = count_number(text)
    return (f"({text} IS NOT NULL AND "
            f"NOT coalesce({n} >= 0 AND {n} = trunc({n}) AND {n} < 9e15, FALSE))")


def count_reason(label: str, text: str) -> str:
    shown = f"(CASE WHEN trim({text}) = '' THEN 'empty' ELSE left({text}, 80) END)"
    return f"{quote(label + ' is ')} || {shown} || {quote('; ' + COUNT_RULE)}"


def money_of(text: str) -> str:
    """DECIMAL(38,12) of a money text, parsed from the text itself (never via a double)."""
    return f"TRY_CAST(trim({text}) AS DECIMAL(38,12))"


def money_bad_places(text: str) -> str:
    """TRUE when a money text has significant digits beyond the store's 12 decimal places
    (which a cast would round away): as written, or after an exponent."""
    return (f"(regexp_matches({text}, '\\.[0-9]{{12}}[0-9]*[1-9]') OR "
            f"TRY_CAST(trim({text}) AS DECIMAL(38,18)) <> {money_of(text)})")


# What a source says was charged for a request (a gateway ledger's debit, a CSV's cost
# column): stored in `usage` next to the tokens, for the audit. The line formats have no
# such field, so these columns are not in records.STAGE_COLUMNS; staging adds them.
BILLED_COLUMNS = {"billed_cost": "DECIMAL(38,12)", "billed_currency": "VARCHAR"}
# How many requests a row stands for: NULL (stored as 1) for a logged request; an aggregate
# source's own count (a usage bucket's num_model_requests, a day's api_requests).
REQUEST_COUNT = {"request_count": "BIGINT"}


def stage_select(values: dict[str, str]) -> str:
    """The select list of a staging row (records.STAGE_COLUMNS, then BILLED_COLUMNS and
    REQUEST_COUNT): the given SQL per column, NULL for the others, each cast to its type."""
    columns = {**STAGE_COLUMNS, **BILLED_COLUMNS, **REQUEST_COUNT}
    unknown = set(values) - set(columns)
    if unknown:
        raise ValueError(f"not staging columns: {', '.join(sorted(unknown))}")
    return ",\n    ".join(
        f'CAST({values.get(name, "NULL")} AS {kind}) AS "{name}"'
        for name, kind in columns.items()
    )


def judge(problems: list[tuple[str, str]]) -> tuple[str, str]:
    """(SQL true when any problem holds, SQL of the first one's reason) for a list of (SQL
    true when bad, SQL reason); a NULL test is no problem."""
    any_problem = " OR ".join(f"coalesce({cond}, FALSE)" for cond, _ in problems)
    first = " ".join(f"WHEN coalesce({cond}, FALSE) THEN {why}" for cond, why in problems)
    return f"({any_problem})", f"(CASE {first} END)"


# A JSON number as its source wrote it: DuckDB reads numbers as doubles (0.1000000000000000001
# comes back as 0.1), so money is quoted before parsing and read from the text itself.
_NUMBER = "-?[0-9][0-9.eE+-]*"


def quote_numbers(sql: str, keys: tuple[str, ...]) -> str:
    """JSON text `sql` with the numbers of the given keys turned into strings of the same
    digits (`"spend": 2e-06` becomes `"spend": "2e-06"`), wherever those keys occur. A key
    is a quote after `{`, `,` or white space: inside a JSON string quotes are escaped, so
    text that only mentions a key is left alone."""
    names = "|".join(keys)
    pattern = f'([{{,[:space:]])"({names})"([[:space:]]*:[[:space:]]*)({_NUMBER})'
    return f"regexp_replace({sql}, {quote(pattern)}, '\\1\"\\2\"\\3\"\\4\"', 'g')"


def items_sql(docs: str, list_fields: tuple[str, ...] = (), numbers: tuple[str, ...] = (),
              ) -> str:
    """SELECT of the JSON items in the documents of `docs` (see `load_documents`): a
    document that is an array gives its elements, an object with one of `list_fields` as
    an array (a page) gives that list's elements, any other object is one item.

    Columns: file_id, line (the document's line; in a one-document file the item's 1-based
    position in it), item (JSON; NULL for a document that is no JSON object or array),
    item_type (json_type of the item), item_at (a prefix naming the item in reasons: '' for a
    lone object, 'data[3]: ' or '[3]: ' in a list), problem (why a document is unreadable,
    else NULL), raw (the item's text, for a reject). `numbers`: keys whose numbers keep
    their digits (see `quote_numbers`)."""
    text = quote_numbers("doc", numbers) if numbers else "doc"
    field = "(CASE " + " ".join(
        f"WHEN json_type(j, {quote('$.' + f)}) = 'ARRAY' THEN {quote(f)}"
        for f in list_fields) + " END)" if list_fields else "NULL"
    listed = "(CASE " + " ".join(
        f"WHEN field = {quote(f)} THEN json_extract(j, {quote('$.' + f + '[*]')})"
        for f in list_fields) + " ELSE json_extract(j, '$[*]') END)"
    return f"""
WITH parsed AS (
    SELECT *, CASE WHEN NOT bad_utf8 THEN TRY_CAST({text} AS JSON) END AS j FROM ({docs})
), shaped AS (
    SELECT *, CASE WHEN json_type(j) = 'ARRAY' THEN '' WHEN json_type(j) = 'OBJECT'
                   THEN {field} END AS field
    FROM parsed
), listed AS (
    SELECT file_id, line, whole, field, unnest(items) AS item,
           generate_subscripts(items, 1) AS pos
    FROM (SELECT *, {listed} AS items FROM shaped WHERE field IS NOT NULL)
)
SELECT file_id, CASE WHEN whole THEN pos ELSE line END AS line, item,
       json_type(item) AS item_type, coalesce(field, '') || '[' || (pos - 1) || ']: ' AS item_at,
       NULL::VARCHAR AS problem, item::VARCHAR AS raw
FROM listed
UNION ALL
SELECT file_id, CASE WHEN whole THEN 1 ELSE line END, j, 'OBJECT', '', NULL, j::VARCHAR
FROM shaped WHERE json_type(j) = 'OBJECT' AND field IS NULL
UNION ALL
SELECT file_id, line, NULL::JSON, NULL, '',
       CASE WHEN bad_utf8 THEN 'not UTF-8 text' WHEN j IS NULL THEN 'not JSON'
            ELSE 'JSON, but not an object' END, doc
FROM shaped WHERE j IS NULL OR json_type(j) NOT IN ('OBJECT', 'ARRAY')
"""


def raw_text(sql: str) -> str:
    """A reject's raw text: trimmed and cut to RAW_LIMIT characters."""
    return f"left(regexp_replace(({sql})::VARCHAR, '[ \\t\\r\\n]+$', ''), {RAW_LIMIT})"


def tags_sql(tags: dict[str, str] | None) -> str:
    """--tag values as a JSON literal (NULL when none)."""
    return quote(json.dumps(tags, sort_keys=True)) + "::JSON" if tags else "NULL::JSON"


def text_or_null(value: str | None) -> str:
    return quote(value) if value is not None else "NULL::VARCHAR"


def readable(path: Path | str) -> Source:
    """The file at `path` as a Source, after checking it opens: InputError (in the words
    `readers.lines` uses) before any work otherwise."""
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return Source(0, Path(path), str(path))


def staged_rows(path: Path | str, select: Callable[[duckdb.DuckDBPyConnection, Source], str],
                columns: str = "*", where: str = "TRUE",
                order: str = "line") -> list[dict[str, Any]]:
    """The rows a reader's SELECT (`select(con, source)`, the statement `costkit ingest`
    stages with) makes of the file at `path`, as dicts in `order`: read in a DuckDB of its
    own, in memory, so nothing is stored (what `costkit audit` reads billed sources with)."""
    source = readable(path)
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")  # as the ingest's: naive ISO times are UTC
        sql = select(con, source)
        cursor = con.execute(f"SELECT {columns} FROM ({sql}) WHERE {where} ORDER BY {order}")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
