"""`costkit demo`: sample logs into a fresh store, the ingest summary, the monthly report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from costkit.cli.errors import handle_errors, warn
from costkit.cli.options import OutDir, Prices, Tz, helped
from costkit.demo import DEFAULT_DB

DemoDb = Annotated[Path | None, typer.Option(
    "--db", metavar="PATH", show_default=False,
    help=f"Store to create (default: {DEFAULT_DB}, replaced on each run; never your "
         "own store).")]
DemoOut = helped(OutDir, "Folder for the report (default: reports/).")


@handle_errors
def demo(
    data: Annotated[Path | None, typer.Option(
        "--data", metavar="DIR", show_default=False,
        help="Sample logs, one directory per project (default: the bundled ones).")] = None,
    db: DemoDb = None,
    out: DemoOut = None,
    month: Annotated[str | None, typer.Option(
        "--month", metavar="YYYY-MM", show_default=False,
        help="Month to report (default: the latest full month in the data).")] = None,
    tz: Tz = "UTC",
    prices_path: Prices = None,
    open_page: Annotated[bool, typer.Option(
        "--open", help="Open the report in the default browser.")] = False,
) -> None:
    """Ingest the bundled sample logs into a fresh store and write their monthly report."""
    from costkit.core.money import money
    from costkit.demo import run_demo
    from costkit.report.monthly import parse_month

    chosen = parse_month(month) if month else None

    def show(project: str, s: Any) -> None:
        typer.echo(f"  {project:<20} read {s.read:>7,}  inserted {s.inserted:>7,}  "
                   f"duplicates {s.duplicates:>5,}  rejected {s.rejected:>3,}  "
                   f"({s.files} file{'s' if s.files != 1 else ''}, {s.seconds:.1f} s)")

    typer.echo("ingesting the sample logs (one directory per project):")
    result = run_demo(data=data, db=db, out_dir=out, tz=tz, month=chosen,
                      prices=prices_path, on_ingest=show)
    read = sum(s.read for _, s in result.ingests)
    inserted = sum(s.inserted for _, s in result.ingests)
    rejected = sum(s.rejected for _, s in result.ingests)
    typer.echo(f"  {'total':<20} read {read:>7,}  inserted {inserted:>7,}  "
               f"duplicates {sum(s.duplicates for _, s in result.ingests):>5,}  "
               f"rejected {rejected:>3,}")
    typer.echo(f"from {result.data} into {result.db}")
    if result.rejects:
        typer.echo("rejected records (kept in the store's rejects table, not counted):")
        for reason, n, where in result.rejects:
            typer.echo(f"  {n:>4,}  {where}: {reason}")
    for project, s in result.ingests:
        for model, n in s.unpriced.items():
            warn(f"{project}: {n:,} requests of {model} have no price card; they are unpriced")
    hl = result.report.headline
    typer.echo(f"{result.report.label} ({result.report.tz}): {money(hl.total, hl.currency)} over "
               f"{hl.requests:,} requests")
    typer.echo(f"report: {result.path}")
    typer.echo(f"explore: costkit report --db {result.db} --by month --by project")
    if open_page:
        import webbrowser

        webbrowser.open(result.path.resolve().as_uri())
