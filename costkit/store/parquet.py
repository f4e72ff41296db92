"""The store's usage as Hive-partitioned Parquet: the layout a distributed engine reads.

Layout: `DIR/month=YYYY-MM/usage.parquet`, one file per month of UTC time (`ts`), holding
every usage row of that month, with the columns of the store's `usage` table in its order
(store.migrations): text as UTF-8 strings, counts as INT64, `ts` as a UTC timestamp
(microseconds, isAdjustedToUTC), `billed_cost` as DECIMAL(38,12), `tags` as JSON text, and
the lineage columns (`source_format`, `source_file`, `source_line`, `ingest_id`). `month`
lives only in the directory name.

A month is exported whole, so re-exporting replaces its partition: the new file is written
beside the old one under a hidden name (readers skip names starting with '.'), then renamed
over it, which is atomic on one file system. Other months' files are never touched.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from costkit.core.errors import InputError, OutputError
from costkit.core.output_file import reason
from costkit.core.sql import quote

PARTITION = "month"
FILE_NAME = "usage.parquet"
_MONTH_DIR = re.compile(r"^month=(\d{4})-(\d{2})$")


def parquet_glob(source: Path) -> str:
    """The files of a layout, for readers that take a glob (DuckDB's read_parquet)."""
    return str(source / f"{PARTITION}=*" / "*.parquet")


def partitions(source: Path) -> list[str]:
    """The months ('YYYY-MM') a layout holds a file for, in order."""
    found = []
    if source.is_dir():
        for child in source.iterdir():
            match = _MONTH_DIR.match(child.name)
            if match and (child / FILE_NAME).is_file():
                found.append(f"{match[1]}-{match[2]}")
    return sorted(found)


def check_layout(source: Path) -> None:
    """InputError unless `source` is a directory holding at least one month partition."""
    if not source.is_dir():
        raise InputError(f"{source}: no such directory (give the --parquet DIR of "
                         "`costkit export`)")
    if not partitions(source):
        raise InputError(f"{source}: no {PARTITION}=YYYY-MM/{FILE_NAME} partitions in it; "
                         "write them with `costkit export --parquet DIR`")


def export_parquet(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    since: date | None = None,
    until: date | None = None,
) -> list[tuple[str, int]]:
    """Write each month of usage in [since, until) (UTC days) as its partition, whole.

    The months are those holding a usage row in the range, and, when the range is bounded
    on both sides, those already exported inside it (a month the store no longer holds
    becomes an empty partition, so the lake never keeps rows the store dropped).
    Returns (month, rows written) per month, in order.
    """
    if since is not None and until is not None and since >= until:
        raise InputError(f"since ({since}) is not before until ({until}): the period is empty")
    start, end = _utc(since), _utc(until)
    clauses, params = ["TRUE"], []
    if start is not None:
        clauses.append("ts >= ?")
        params.append(start)
    if end is not None:
        clauses.append("ts < ?")
        params.append(end)
    months = {row[0] for row in con.execute(
        f"SELECT DISTINCT strftime(timezone('UTC', ts), '%Y-%m') FROM usage "
        f"WHERE {' AND '.join(clauses)}", params).fetchall()}
    if since is not None and end is not None:
        months |= {m for m in partitions(out_dir)
                   if f"{since:%Y-%m}" <= m and _month_start(m) < end}
    written = []
    for month in sorted(months):
        written.append((month, _write_month(con, out_dir, month)))
    return written


def _write_month(con: duckdb.DuckDBPyConnection, out_dir: Path, month: str) -> int:
    first = _month_start(month)
    after = datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=UTC)
    folder = out_dir / f"{PARTITION}={month}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create the partition: {reason(exc)}") from None
    target = folder / FILE_NAME
    temp = folder / f".{FILE_NAME}.{os.getpid()}.tmp"
    # Row order fixed (time, then id) so an export of the same store is the same file content.
    select = ("SELECT * REPLACE (CAST(tags AS VARCHAR) AS tags) FROM usage "
              "WHERE ts >= ? AND ts < ? ORDER BY ts, request_id")
    try:
        con.execute(f"COPY ({select}) TO {quote(str(temp))} "
                    "(FORMAT parquet, COMPRESSION zstd)", [first, after])
        [(rows,)] = con.execute("SELECT count(*) FROM read_parquet(?)", [str(temp)]).fetchall()
        os.replace(temp, target)
    except (OSError, duckdb.Error) as exc:
        if temp.is_file():  # ours, half written; anything else in the way is left alone
            temp.unlink()
        why = reason(exc) if isinstance(exc, OSError) else str(exc).splitlines()[0]
        raise OutputError(f"{target}: cannot write the partition: {why}") from None
    return int(rows)


def _month_start(month: str) -> datetime:
    return datetime(int(month[:4]), int(month[5:7]), 1, tzinfo=UTC)


def _utc(day: date | None) -> datetime | None:
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC)
