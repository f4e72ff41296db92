"""What a record format is (`RecordFormat`), and the SQL fragments every format shares.

A format module describes its records declaratively: which JSON fields to parse, how to
recognise a record, and SQL expressions over the parsed record `r` (a DuckDB STRUCT) for
each canonical column. `costkit.readers.records` composes all formats into one statement,
so every line is parsed once and nothing runs per record in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Canonical columns a format provides, with their SQL types (the store's `usage` columns
# that come from the record itself; who/where columns come from envelopes and options).
CANONICAL = {
    "request_id": "VARCHAR",
    "ts": "TIMESTAMPTZ",
    "model": "VARCHAR",
    "input_tokens": "BIGINT",
    "cached_input_tokens": "BIGINT",
    "cache_write_tokens": "BIGINT",
    "output_tokens": "BIGINT",
    "reasoning_tokens": "BIGINT",
    "search_calls": "BIGINT",
    "status": "VARCHAR",
    "user": "VARCHAR",
    "project": "VARCHAR",
}

# Times outside this window are almost always milliseconds taken for seconds, or garbage.
EARLIEST, LATEST = "2000-01-01", "2100-01-01"
EARLIEST_S, LATEST_S = 946684800, 4102444800  # the same, in unix seconds


@dataclass(frozen=True)
class Count:
    """A token (or call) count field of a format: its label in messages, SQL, and whether a
    record without it is incomplete."""

    label: str
    sql: str
    required: bool = False


@dataclass(frozen=True)
class RecordFormat:
    """One usage-record format, described for the composed SQL.

    name       what `--input-format` accepts and `usage.source_format` stores
    endpoint   the canonical endpoint (`chat.completions`, `responses`, `messages`) or None
    structure  json_transform structure fragment (field -> DuckDB type name, or nested dict);
               type counts "DOUBLE" (see count_invalid), unix-seconds times "DOUBLE"
    match      SQL over `r`: TRUE when a parsed record is this format (formats are tried in
               registry order; keep them disjoint)
    counts     the count fields, validated as whole numbers >= 0 (and required ones present)
               before a record is accepted; `columns` read them with `count_value()`
    columns    SQL per canonical column (see CANONICAL); missing ones are NULL (counts: 0)
    time       SQL (DOUBLE, unix seconds) of the record's own time, and its label; None: no
               time of its own (then only an envelope's timestamp gives it one)
    checks     extra (SQL true when bad, SQL reason) pairs, after the count checks
    labels     canonical column -> label, for the generic "cached > input" style reasons
    stream_key SQL: when not NULL the record is one part of a stream; all parts of one key
               in one file are one request (`has_usage` says which part carries the usage)
    fragment   SQL over `r`: TRUE for lines that belong to this format's streams but are no
               record and carry no usage (deltas); they are skipped, not rejected
    no_time_reason  the reject reason when a record has no time (and no envelope gives one);
               default: names the `time` field
    """

    name: str
    endpoint: str | None
    structure: dict
    match: str
    counts: tuple[Count, ...]
    columns: dict[str, str]
    time: tuple[str, str] | None = None
    checks: tuple[tuple[str, str], ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    stream_key: str | None = None
    has_usage: str | None = None
    fragment: str | None = None
    no_time_reason: str | None = None


# --- SQL fragments ------------------------------------------------------------------------

# White space as SQL sees it in text fields: DuckDB's one-argument trim() takes spaces only.
WHITESPACE = "chr(32) || chr(9) || chr(13) || chr(10) || chr(11) || chr(12)"


def rstrip_space(sql: str) -> str:
    """`sql` without trailing WHITESPACE, as rtrim(sql, WHITESPACE) gives it, by a regular
    expression anchored at the end: DuckDB's rtrim with a character set costs about 4 us
    on a 500-byte line, which made keeping every stream part's raw text the dearest step
    of reading Claude Code sessions."""
    return f"regexp_replace({sql}, '[ \\t\\r\\n\\v\\f]+$', '')"


def given(sql: str) -> str:
    """A text field's value, or NULL when it is absent, empty or only white space (a blank
    id is no id, a blank model no model).

    A value whose first and last characters are past the space (nearly every one) is its
    own answer; only others pay for trim() with a character set, which cost more than the
    rest of an id's or model's extraction together (WHITESPACE is all at or below 32)."""
    return (f"(CASE WHEN ord(({sql})[1]) > 32 AND ord(({sql})[-1]) > 32 THEN {sql} "
            f"ELSE nullif(trim({sql}, {WHITESPACE}), '') END)")




# json_transform type of a count field: its JSON text. Only a JSON number is a count; `true`
# or "12" would come out of a DOUBLE field as 1 and 12.
COUNT = "JSON"
# Counts at or past this are refused: a DOUBLE holds every integer below 2**53 exactly, and
# sums of any number of stored counts stay exact (the spend queries sum as HUGEINT).
COUNT_LIMIT = "9e15"


def number(sql: str) -> str:
    """DOUBLE of a count field's JSON text: NULL unless it is a JSON number (not a
    boolean, a string or an object)."""
    return f"TRY_CAST(CAST({sql} AS VARCHAR) AS DOUBLE)"


def count_value(sql: str) -> str:
    """BIGINT of a count field (JSON text; validate with count_invalid first)."""
    return f"TRY_CAST({number(sql)} AS BIGINT)"


def count_invalid(sql: str, given: str | None = None) -> str:
    """TRUE when a count is present but not a whole number >= 0.

    `sql` is the count as DOUBLE (see `number`); `given`, when the field is JSON text, is
    that text: present but no number (true, "12", {}) is invalid too. Below 2**53 a DOUBLE
    holds integers exactly; NaN and infinities fail the range test.
    """
    bad = f"NOT coalesce({sql} >= 0 AND {sql} = trunc({sql}) AND {sql} < {COUNT_LIMIT}, FALSE)"
    if given is None:
        return f"({sql} IS NOT NULL AND {bad})"
    return f"({given} IS NOT NULL AND {bad})"


def count_text(sql: str, given: str | None = None) -> str:
    """A count as the log wrote it, for a reason message: -3, 1.5, true, "12"."""
    shown = (f"(CASE WHEN {sql} = trunc({sql}) AND abs({sql}) < {COUNT_LIMIT} "
             f"THEN CAST({sql} AS BIGINT)::VARCHAR ELSE {sql}::VARCHAR END)")
    if given is None:
        return shown
    return f"coalesce({shown}, left(CAST({given} AS VARCHAR), 80))"


def seconds_time(sql: str) -> str:
    """TIMESTAMPTZ of unix seconds (DOUBLE); NULL outside [2000, 2100), where a number is
    milliseconds taken for seconds, or garbage."""
    return (f"(CASE WHEN {sql} >= {EARLIEST_S} AND {sql} < {LATEST_S} "
            f"THEN to_timestamp({sql}) END)")


def text_time(sql: str) -> str:
    """TIMESTAMPTZ of a time given as text: ISO 8601 (naive read as UTC, the ingest
    connection's TimeZone) or unix seconds; NULL when unparseable or outside [2000, 2100)."""
    iso = f"TRY_CAST({sql} AS TIMESTAMPTZ)"
    return (f"coalesce({seconds_time(f'TRY_CAST({sql} AS DOUBLE)')}, (CASE WHEN {iso} >= "
            f"TIMESTAMPTZ '{EARLIEST}' AND {iso} < TIMESTAMPTZ '{LATEST}' THEN {iso} END))")


def json_text(sql: str) -> str:
    """A value as text for a reason message, cut short."""
    return f"left(({sql})::VARCHAR, 80)"
