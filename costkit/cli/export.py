"""`costkit export`: the store's usage as month-partitioned Parquet (costkit.store.parquet)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from costkit.cli.common import DbOption, fail, handle_errors
from costkit.store.connection import default_path, open_store
from costkit.store.parquet import FILE_NAME, PARTITION, export_parquet


@handle_errors
def export(
    parquet: Annotated[Path, typer.Option(
        "--parquet", metavar="DIR", show_default=False,
        help="Directory of the Hive-partitioned layout (month=YYYY-MM/usage.parquet).")],
    since: Annotated[str | None, typer.Option(
        "--since", metavar="YYYY-MM-DD", show_default=False,
        help="Export the months from the one holding this UTC day.")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", metavar="YYYY-MM-DD", show_default=False,
        help="Export the months of usage before this UTC day (exclusive).")] = None,
    db: DbOption = None,
) -> None:
    """Write the store's usage as Parquet partitioned by UTC month, for DuckDB, Spark or any
    engine that reads a lake. Each month is written whole and replaces its partition
    atomically; other months' files are left as they are."""
    start, end = _day(since, "--since"), _day(until, "--until")
    store = db if db is not None else default_path()
    con = open_store(store, read_only=True)
    try:
        written = export_parquet(con, parquet, start, end)
    finally:
        con.close()
    if not written:
        typer.echo(f"costkit: no usage in {store} to export"
                   f"{' in this period' if since or until else ''}", err=True)
        return
    for month, rows in written:
        typer.echo(f"{parquet / f'{PARTITION}={month}' / FILE_NAME}\t{rows} rows")


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date; expected YYYY-MM-DD") from None
