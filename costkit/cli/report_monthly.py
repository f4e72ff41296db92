"""`costkit report monthly`: the month's self-contained HTML spend report."""

from __future__ import annotations

from typing import Annotated

import typer

from costkit.cli.errors import handle_errors, warn
from costkit.cli.options import ConfigFile, Db, OutDir, Prices, Tz, helped

MonthlyOut = helped(OutDir, "Folder to write costkit-YYYY-MM.html into (default: reports/).")


@handle_errors
def monthly(
    month: Annotated[str | None, typer.Option(
        "--month", metavar="YYYY-MM", show_default=False,
        help="Month to report (default: the last full month, i.e. the previous calendar "
             "month in --tz).")] = None,
    out: MonthlyOut = None,
    tz: Tz = "UTC",
    open_page: Annotated[bool, typer.Option(
        "--open", help="Open the report in the default browser.")] = False,
    db: Db = None,
    prices_path: Prices = None,
    config: ConfigFile = None,
) -> None:
    """Write one month's spend report: a single HTML page that works offline."""
    from costkit.core.format import count, money, when
    from costkit.pricing.book import load_price_book
    from costkit.report.monthly import last_full_month, parse_month, write_monthly_report
    from costkit.store.connection import default_path, open_store

    chosen = parse_month(month) if month else last_full_month(tz)
    book = load_price_book(prices_path)
    store = db if db is not None else default_path()
    con = open_store(store, read_only=True)
    try:
        path, report = write_monthly_report(con, chosen, tz=tz, out_dir=out, book=book,
                                            source=str(store),
                                            budgets=config.budgets if config else ())
    finally:
        con.close()
    hl = report.headline
    if not hl.complete:
        warn(f"{count(hl.requests - hl.priced_requests)} requests of "
             f"{', '.join(hl.unpriced_models)} are unpriced; the page's money figures leave "
             "them out (add a price card with --prices)")
    if report.rejects.total:
        n = report.rejects.total
        warn(f"{count(n)} rejected record{'s' if n != 1 else ''} of {report.key} "
             f"{'are' if n != 1 else 'is'} not counted; the page lists "
             f"{'them' if n != 1 else 'it'}")
    cov, hl = report.coverage, report.headline
    up_to = f"usage up to {when(cov.data_end, report.tz, False)} ({report.tz})"
    if cov.over and not cov.complete:
        compared = (f"; the change compares days 1-{hl.compared_days} of both months"
                    if hl.compared_days else "")
        warn(f"{report.key} is not complete: {up_to}, {cov.missing} day"
             f"{'s' if cov.missing != 1 else ''} short of its end; the page covers days "
             f"1-{cov.covered} only{compared}")
    elif not cov.over:
        warn(f"{report.key} is not over: the page shows {up_to}"
             + ("; the data is stale, so the rest of the month is not projected"
                if cov.stale else ""))
    typer.echo(str(path))
    typer.echo(f"{report.label} ({report.tz}): {money(hl.total, hl.currency)} over "
               f"{count(hl.requests)} requests", err=True)
    if open_page:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
