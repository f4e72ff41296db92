"""`costkit report`: the spend breakdown from the store, as a table, JSON, CSV or Parquet.

The `report` group runs this when no subcommand is given; `costkit report monthly`
(costkit/cli/report_monthly.py) is its subcommand. Both are registered in costkit/cli/app.py.
"""

from __future__ import annotations

import io
import warnings
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from costkit.cli import output
from costkit.cli.errors import fail, handle_errors, warn
from costkit.cli.options import Db, Format, FormatAll, OutFile, Prices, Since, Tz, Until, helped
from costkit.core.money import decimal_text, money

HELP = "Spend breakdown from the usage store (and `report monthly`, the HTML page)."
ReportTz = helped(Tz, "Time zone of days, weeks and months (IANA name).")
ReportOut = helped(OutFile, "Write to this file instead of stdout (required for parquet).")
CENT = Decimal("0.01")


class EngineName(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


# Table headings of the value columns (JSON and CSV use the column names themselves).
HEADINGS = {
    "requests": "requests", "input_tokens": "input", "cached_input_tokens": "cached in",
    "cache_write_tokens": "cache write", "output_tokens": "output",
    "reasoning_tokens": "reasoning", "search_calls": "searches",
    "input_cost": "input $", "cached_input_cost": "cached in $",
    "cache_write_cost": "cache write $", "output_cost": "output $",
    "reasoning_cost": "reasoning $", "search_cost": "search $", "total_cost": "total $",
}


@handle_errors
def report(
    ctx: typer.Context,
    by: Annotated[list[str] | None, typer.Option(
        "--by", metavar="DIM", show_default=False,
        help="Group by day, week, month, model, project, api_key, user, endpoint or "
             "tag:NAME (repeatable; default: month).")] = None,
    since: Since = None,
    until: Until = None,
    model: Annotated[list[str] | None, typer.Option(
        "--model", metavar="MODEL", show_default=False,
        help="Only this model (or an alias of it); repeatable.")] = None,
    project: Annotated[list[str] | None, typer.Option(
        "--project", metavar="PROJECT", show_default=False,
        help="Only this project; repeatable.")] = None,
    tz: ReportTz = "UTC",
    fmt: FormatAll = Format.table,
    out: ReportOut = None,
    db: Db = None,
    prices_path: Prices = None,
    engine: Annotated[EngineName, typer.Option(
        "--engine", help="Engine that runs the breakdown (spark: pip install "
        "'costkit[spark]').")] = EngineName.duckdb,
    source: Annotated[Path | None, typer.Option(
        "--source", metavar="DIR", show_default=False,
        help="Read usage exported by `costkit export --parquet DIR` instead of the store.")
    ] = None,
    spark_master: Annotated[str | None, typer.Option(
        "--spark-master", metavar="URL", show_default=False,
        help="Spark master (spark://HOST:PORT, local[N]; else Spark's own configuration).")
    ] = None,
) -> None:
    """Spend per group: tokens and each cost component, from the price card in effect at
    each request's time. Unpriced usage keeps its tokens and shows no cost."""
    if ctx.invoked_subcommand is not None:
        return
    from costkit.core.safe_output import masked
    from costkit.pricing.book import load_price_book
    from costkit.spend import breakdown
    from costkit.spend.engine import usage_engine
    from costkit.store.connection import default_path

    dims = breakdown.parse_by(by or ["month"])
    output.require_out(fmt, out)
    if source is not None and db is not None:
        raise fail("--db and --source are two places to read usage from; give one")
    book = load_price_book(prices_path)
    store = source or (db if db is not None else default_path())
    with usage_engine(engine.value, source, db, spark_master) as con:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", breakdown.UnpricedUsageWarning)
            frame = breakdown.spend(con, dims, since=since, until=until, tz=tz, models=model,
                                    projects=project, book=book)
    for warning in caught:
        if issubclass(warning.category, breakdown.UnpricedUsageWarning):
            warn(str(warning.message))
    frame = masked(frame)  # key ids of stores written before ingest masked them
    if frame.is_empty():
        filtered = any((since, until, model, project))
        typer.echo(f"costkit: no usage in {store}{' matches these filters' if filtered else ''}"
                   "; add usage with `costkit ingest PATH`", err=True)
    output.emit(
        fmt, out=out, frame=frame,
        json_value=[_json_row(row) for row in frame.iter_rows(named=True)]
        if fmt == "json" else None,
        csv_rows=[frame.columns, *frame.iter_rows()] if fmt == "csv" else None,
        table=lambda stream: stream.write(_table(frame, dims, tz) if not frame.is_empty()
                                          else ""),
    )


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """Money as exact decimal strings without trailing zeros (null when unpriced); counts as
    JSON integers (token sums arrive as DECIMAL(38,0), exact past 64 bits)."""
    from costkit.spend.breakdown import REQUEST_COLUMNS

    return {k: (int(v) if k in REQUEST_COLUMNS else decimal_text(v))
            if isinstance(v, Decimal) else v for k, v in row.items()}


def _table(frame: Any, dims: list[str], tz: str) -> str:
    """Rows, then a totals row; cache-write columns only when there is cache-write usage."""
    from rich.table import Table

    from costkit.spend import breakdown

    total = breakdown.totals(frame)
    columns = [c for c in HEADINGS
               if not (c.startswith("cache_write") and not total["cache_write_tokens"])]
    title = f"Spend by {', '.join(dims)}" if dims else "Spend"
    table = Table(title=f"{title} ({tz})", title_justify="left")
    for dim in dims:
        table.add_column(dim)
    for column in columns:
        table.add_column(HEADINGS[column], justify="right")
    for row in frame.iter_rows(named=True):
        keys = ["-" if row[d] is None else str(row[d]) for d in dims]
        table.add_row(*keys, *(_cell(row, c) for c in columns))
    if dims:
        table.add_section()
        labels = ["total", *([""] * (len(dims) - 1))]
        table.add_row(*labels, *(_cell(total, c) for c in columns), style="bold")
    buffer = io.StringIO()
    output.console(buffer, width=400, no_color=True, highlight=False).print(table)
    text = "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
    unreported = total[breakdown.SEARCH_UNREPORTED]
    if unreported:
        text += (f"search not reported: {unreported:,} request{'s' if unreported != 1 else ''} "
                 "enabled web search but logged no search count; their search cost is not in "
                 "these totals\n")
    return text


def _cell(row: dict[str, Any], column: str) -> str:
    """Counts with thousands separators; money to the cent ("<$0.01" when under a cent)."""
    value = row[column]
    if not column.endswith("_cost"):
        return f"{value:,}"
    if value and not value.quantize(CENT):
        return "<" + money(CENT, row["currency"], places=2)
    return money(value, row["currency"], places=2)
