"""`costkit ingest` (usage logs into the store) and `costkit rejects` (what was set aside)."""

from __future__ import annotations

import os
import sys
from datetime import date
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn
from rich.table import Table

from costkit.cli import app
from costkit.cli.common import DbOption, PricesOption, dumps, fail, handle_errors, warn
from costkit.ingest import IngestSummary, ingest, list_rejects, parse_tags
from costkit.readers import format_names


class Format(StrEnum):
    table = "table"
    json = "json"


InputFormatOption = Annotated[str | None, typer.Option(
    "--input-format", metavar="NAME", show_default=False,
    help="Read every record as this format instead of detecting it per record: "
         + ", ".join(format_names()) + ".")]


@app.command("ingest")
@handle_errors
def ingest_command(
    paths: Annotated[list[str], typer.Argument(
        metavar="PATH", show_default=False,
        help="Log files, directories (read recursively), .gz files, or - for stdin.")],
    input_format: InputFormatOption = None,
    project: Annotated[str | None, typer.Option(
        "--project", metavar="NAME", show_default=False,
        help="Project of records that do not name one (an envelope's project wins).")] = None,
    tag: Annotated[list[str] | None, typer.Option(
        "--tag", metavar="NAME=VALUE", show_default=False,
        help="Tag every record (repeatable; an envelope's tag of the same name wins).")] = None,
    fmt: Annotated[Format, typer.Option(
        "--format", help="Summary format; json prints one object with the integer keys "
                         "read, inserted, duplicates, rejected.")] = Format.table,
    db: DbOption = None,
    prices_path: PricesOption = None,
) -> None:
    """Ingest usage logs into the store: formats detected per record, duplicates skipped,
    bad records set aside (see `costkit rejects`), all in one transaction."""
    tags = parse_tags(tag or [])
    if "-" in paths and sys.stdin.isatty():
        raise fail("- reads stdin, but stdin is a terminal; pipe a log into it")
    with _progress() as advance:
        summary = ingest(paths, db=db, prices=prices_path, input_format=input_format,
                         project=project, tags=tags, progress=advance)
    if fmt is Format.json:
        typer.echo(dumps(summary.as_dict()))
    else:
        _print_summary(summary)
    for model, n in summary.unpriced.items():
        warn(f"{n:,} request{'s' if n != 1 else ''} of model {model!r} "
             f"{'are' if n != 1 else 'is'} unpriced (no price card in effect at their time): "
             "tokens are kept and costs show as unpriced; add a card with --prices")
    if summary.rejected:
        warn(f"{summary.rejected:,} record{'s' if summary.rejected != 1 else ''} rejected; "
             f"see `costkit rejects --ingest {summary.ingest_id}`")


class _progress:
    """A progress bar on stderr while reading, only when stderr is a terminal."""

    def __enter__(self):
        if not sys.stderr.isatty():
            return None
        self.bar = Progress("reading", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                            console=Console(stderr=True), transient=True)
        self.bar.start()
        self.task = self.bar.add_task("ingest", total=None)

        def advance(done: int, total: int) -> None:
            self.bar.update(self.task, completed=done, total=total or None)

        return advance

    def __exit__(self, *exc) -> None:
        if hasattr(self, "bar"):
            self.bar.stop()


def _print_summary(s: IngestSummary) -> None:
    files = f"{s.files:,} file{'s' if s.files != 1 else ''}"
    typer.echo(f"ingest {s.ingest_id}: {s.read:,} records read from {files} in {s.seconds:.1f} s")
    rows = [("inserted", s.inserted), ("duplicates", s.duplicates), ("rejected", s.rejected)]
    if s.skipped:
        rows.append(("lines skipped (stream events, SSE control lines)", s.skipped))
    width = max(len(f"{n:,}") for _, n in rows)
    for label, n in rows:
        typer.echo(f"  {n:>{width},}  {label}")


def _short(path: str) -> str:
    """A path under the working directory as a relative one (the table is narrower)."""
    if path.startswith("<"):
        return path
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


@app.command("rejects")
@handle_errors
def rejects_command(
    since: Annotated[str | None, typer.Option(
        "--since", metavar="YYYY-MM-DD", show_default=False,
        help="Only records rejected on or after this day (UTC).")] = None,
    limit: Annotated[int, typer.Option(
        "--limit", metavar="N", help="At most N rejects, newest first (0: all).")] = 50,
    ingest_id: Annotated[int | None, typer.Option(
        "--ingest", metavar="ID", show_default=False,
        help="Only the rejects of this ingest run.")] = None,
    input_format: Annotated[str | None, typer.Option(
        "--input-format", metavar="NAME", show_default=False,
        help="Only records detected as this format.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    db: DbOption = None,
) -> None:
    """List the records ingests set aside: file, line, why, and the raw text."""
    day = None
    if since is not None:
        try:
            day = date.fromisoformat(since)
        except ValueError:
            raise fail(f"--since {since!r} is not a date; expected YYYY-MM-DD") from None
    if limit < 0:
        raise fail(f"--limit {limit}: must be 0 (all) or more")
    rows = list_rejects(db, since=day, limit=limit or None, ingest_id=ingest_id,
                        input_format=input_format)
    if fmt is Format.json:
        typer.echo(dumps(rows))
        return
    if not rows:
        typer.echo("no rejects", err=True)
        return
    table = Table(show_lines=False)
    for column in ("ingest", "where", "format", "reason", "raw"):
        table.add_column(column, overflow="fold")
    for r in rows:
        raw = r["raw"] or ""
        table.add_row(str(r["ingest_id"]), f"{_short(r['source_file'])}:{r['line']}",
                      r["format"] or "-", r["reason"], raw if len(raw) <= 80 else raw[:79] + "…")
    Console(width=200).print(table)
