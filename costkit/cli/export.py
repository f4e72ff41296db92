"""`costkit export`: the store's usage as month-partitioned Parquet (costkit.store.parquet)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from costkit.cli.errors import handle_errors
from costkit.cli.options import Db, Since, Until, helped

ExportSince = helped(Since, "Export the months from the one holding this UTC day.")
ExportUntil = helped(Until, "Export the months of usage before this UTC day (exclusive).")


@handle_errors
def export(
    parquet: Annotated[Path, typer.Option(
        "--parquet", metavar="DIR", show_default=False,
        help="Directory of the Hive-partitioned layout (month=YYYY-MM/usage.parquet).")],
    since: ExportSince = None,
    until: ExportUntil = None,
    db: Db = None,
) -> None:
    """Write the store's usage as Parquet partitioned by UTC month, for DuckDB, Spark or any
    engine that reads a lake. Each month is written whole and replaces its partition
    atomically; other months' files are left as they are."""
    from costkit.store.connection import default_path, open_store
    from costkit.store.parquet import FILE_NAME, PARTITION, export_parquet

    # since / until arrive as dates: the shared option's callback parsed them
    store = db if db is not None else default_path()
    con = open_store(store, read_only=True)
    try:
        written = export_parquet(con, parquet, since, until)
    finally:
        con.close()
    if not written:
        typer.echo(f"costkit: no usage in {store} to export"
                   f"{' in this period' if since or until else ''}", err=True)
        return
    for month, rows in written:
        typer.echo(f"{parquet / f'{PARTITION}={month}' / FILE_NAME}\t{rows} rows")
