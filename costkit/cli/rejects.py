"""`costkit rejects`: the records ingests set aside, with where they were and why."""

from __future__ import annotations

import os
from typing import Annotated, Any

import typer

from costkit.cli import output
from costkit.cli.errors import fail, handle_errors
from costkit.cli.options import Db, FormatTableJson, Since, TableJson, helped

RejectsSince = helped(Since, "Only records rejected on or after this day (UTC).")


@handle_errors
def rejects_command(
    since: RejectsSince = None,
    limit: Annotated[int, typer.Option(
        "--limit", metavar="N", help="At most N rejects, newest first (0: all).")] = 50,
    ingest_id: Annotated[int | None, typer.Option(
        "--ingest", metavar="ID", show_default=False,
        help="Only the rejects of this ingest run.")] = None,
    input_format: Annotated[str | None, typer.Option(
        "--input-format", metavar="NAME", show_default=False,
        help="Only records detected as this format.")] = None,
    fmt: FormatTableJson = TableJson.table,
    db: Db = None,
) -> None:
    """List the records ingests set aside: file, line, why, and the raw text."""
    from costkit.core.safe_output import masked
    from costkit.ingest.rejects import list_rejects

    if limit < 0:
        raise fail(f"--limit {limit}: must be 0 (all) or more")
    # masked again on the way out: stores written before ingest masked every secret
    rows = masked(list_rejects(db, since=since, limit=limit or None, ingest_id=ingest_id,
                               input_format=input_format))
    if fmt == "table" and not rows:
        typer.echo("no rejects", err=True)
        return
    output.emit(fmt, json_value=rows, table=lambda stream: _print_table(rows, stream))


def _print_table(rows: list[dict[str, Any]], stream: Any) -> None:
    from rich.table import Table

    table = Table(show_lines=False)
    for column in ("ingest", "where", "format", "reason", "raw"):
        table.add_column(column, overflow="fold")
    for r in rows:
        raw = r["raw"] or ""
        table.add_row(str(r["ingest_id"]), f"{_short(r['source_file'])}:{r['line']}",
                      r["format"] or "-", r["reason"], raw if len(raw) <= 80 else raw[:79] + "…")
    output.console(stream, width=200).print(table)


def _short(path: str) -> str:
    """A path under the working directory as a relative one (the table is narrower)."""
    if path.startswith("<"):
        return path
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative
