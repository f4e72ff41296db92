"""The direct path of a mapped CSV: when every row of a file is good, one statement reads,
checks and inserts its rows straight into `usage`, with no staging table and no copy of
the file in a TEMP table; a file with anything else goes the staging path of
`csv_mapped.select_sql`, which is the reference for what a row becomes (this module
reuses its SQL: `csv_mapped.rows_sql`)."""

from __future__ import annotations

import gzip
from collections.abc import Callable

import duckdb

from costkit.core.errors import InputError
from costkit.core.sql import quote
from costkit.readers.csv_mapped import read_plan, rows_sql
from costkit.readers.documents import is_gzip
from costkit.readers.lines import Source
from costkit.readers.mappings import CsvMapping


def line_count(source: Source) -> int | None:
    """How many lines the file has (a last line without a line end counted); None when it
    has a carriage return that ends no line (DuckDB may split a row there) or cannot be
    read (the staging path then reports it)."""
    newlines = returns = pairs = 0
    last = b""
    try:
        with (gzip.open if is_gzip(source) else open)(str(source.path), "rb") as f:
            while chunk := f.read(1 << 23):
                newlines += chunk.count(b"\n")
                here = chunk.count(b"\r")
                if here or last == b"\r":
                    returns += here
                    pairs += chunk.count(b"\r\n") + (last == b"\r" and chunk[:1] == b"\n")
                last = chunk[-1:]
    except (OSError, EOFError):
        return None
    if returns != pairs:
        return None
    return newlines + (last not in (b"", b"\n"))


def insert_direct(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    ingest_id: int,
    into_usage: Callable[[str], str],
    project: str | None = None,
    tags: dict[str, str] | None = None,
    csv_mapping: CsvMapping | None = None,
    **_: object,
) -> tuple[int, str | None] | None:
    """Put the good rows of the CSV `source` straight into `usage` (no staging) when that
    gives each its right line and id. Returns (rows inserted, a SELECT of the staging rows
    still to stage: the file's rejects, or None), or None (nothing of the file inserted)
    when the staging path (`select_sql`) must read the whole file.

    One statement reads, checks and inserts the good rows (`into_usage(select)` is the
    ingest's INSERT of a SELECT of staging rows). They are right when the good rows and the
    rows a check rejected (read again, only when some rows were left out) are one per line
    after the header: then DuckDB split every line into one row (none spans lines, none is
    blank, none has the wrong number of fields), so each row's line is its number + 1.
    And each is the first copy of its cells when no hashed id came out twice. Otherwise its
    rows are deleted again, and the staging path reads the file (copies, the lines of rows
    after one DuckDB could not split, rows that span lines)."""
    mapping = csv_mapping or CsvMapping()
    plan = read_plan(source, mapping)
    lines = line_count(source) if plan is not None else None
    if plan is None or lines is None:
        return None
    numbered = (f"SELECT row_number() OVER () + 1 AS k_line, {plan.renamed} "
                f"FROM read_csv({quote(str(source.path))}, {plan.options}, ignore_errors = true)")

    def rows(bad_only: bool) -> str:
        assert plan is not None
        return rows_sql(source.file_id, "", "", False, plan.header, plan.columns, mapping,
                        plan.delimiter, project, tags, direct=numbered, bad_only=bad_only)

    inserted = _numbered(con, source, into_usage(rows(False)))
    rejects = None
    if inserted != lines - 1:
        rejects = f"costkit_csv_direct_rejects_{int(source.file_id)}"
        _numbered(con, source, f"CREATE OR REPLACE TEMP TABLE {rejects} AS {rows(True)}")
        bad = con.execute(f"SELECT count(*) FROM {rejects}").fetchall()[0][0]
    mine = "ingest_id = ? AND source_file = ?"
    if rejects is None or inserted + bad == lines - 1:
        # Hashed ids that came out twice are identical rows (or a 64-bit hash collision,
        # or a given id that looks like a hash): the staging path numbers copies.
        repeated = con.execute(
            f"SELECT count(*) FROM (SELECT hash(request_id) FROM usage WHERE {mine} "
            "AND starts_with(request_id, 'sha256:') GROUP BY 1 HAVING count(*) > 1)",
            [ingest_id, source.name]).fetchall()[0][0]
        if not repeated:
            return int(inserted), (f"SELECT * FROM {rejects}" if rejects else None)
    con.execute(f"DELETE FROM usage WHERE {mine}", [ingest_id, source.name])
    return None


def _numbered(con: duckdb.DuckDBPyConnection, source: Source, statement: str) -> int:
    """Run a statement over the file's numbered rows; the first value it returns (an
    INSERT's count), 0 when none."""
    kept = {name: con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]
            for name in ("preserve_insertion_order", "disabled_optimizers")}
    con.execute("SET preserve_insertion_order = true")  # row_number() in file order
    # Pushing the `k_bad` test down would inline (so compute twice) the parsing it tests.
    con.execute("SET disabled_optimizers = 'filter_pushdown'")
    try:
        result = con.execute(statement).fetchall()
    except duckdb.Error as exc:
        raise InputError(f"{source.name}: cannot read as CSV: "
                         f"{str(exc).splitlines()[0]}") from None
    finally:
        try:
            for name, value in kept.items():
                con.execute(f"SET {name} = {quote(str(value))}")
        except duckdb.TransactionException:
            pass  # the read failed and aborted the transaction: the InputError is the news
    return int(result[0][0]) if result else 0
