"""`costkit report`: the spend breakdown from the store, as a table, JSON, CSV or Parquet.

`report_app` is a group: run alone it prints the breakdown; `costkit report monthly`
(costkit/cli/report_monthly.py) adds the HTML page as a subcommand.
"""

from __future__ import annotations

import io
import sys
import warnings
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from costkit.cli import app
from costkit.cli.common import (
    DbOption,
    PricesOption,
    dumps,
    fail,
    handle_errors,
    plain,
    tz_option,
    warn,
)
from costkit.core.output_file import write_file
from costkit.core.safe_output import CsvWriter, SafeConsole, masked
from costkit.pricing.book import load_price_book
from costkit.spend import breakdown
from costkit.spend.engine import usage_engine
from costkit.store.connection import default_path

report_app = typer.Typer(
    help="Spend breakdown from the usage store (and `report monthly`, the HTML page).",
    invoke_without_command=True,
)
app.add_typer(report_app, name="report")

# Table headings of the value columns (JSON and CSV use the column names themselves).
HEADINGS = {
    "requests": "requests", "input_tokens": "input", "cached_input_tokens": "cached in",
    "cache_write_tokens": "cache write", "output_tokens": "output",
    "reasoning_tokens": "reasoning", "search_calls": "searches",
    "input_cost": "input $", "cached_input_cost": "cached in $",
    "cache_write_cost": "cache write $", "output_cost": "output $",
    "reasoning_cost": "reasoning $", "search_cost": "search $", "total_cost": "total $",
}


class EngineName(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"
    parquet = "parquet"


@report_app.callback()
@handle_errors
def report(
    ctx: typer.Context,
    by: Annotated[list[str] | None, typer.Option(
        "--by", metavar="DIM", show_default=False,
        help="Group by day, week, month, model, project, api_key, user, endpoint or "
             "tag:NAME (repeatable; default: month).")] = None,
    since: Annotated[str | None, typer.Option(
        "--since", metavar="YYYY-MM-DD", show_default=False,
        help="First day to include (local midnight in --tz).")] = None,
    until: Annotated[str | None, typer.Option(
        "--until", metavar="YYYY-MM-DD", show_default=False,
        help="Day to stop before (exclusive).")] = None,
    model: Annotated[list[str] | None, typer.Option(
        "--model", metavar="MODEL", show_default=False,
        help="Only this model (or an alias of it); repeatable.")] = None,
    project: Annotated[list[str] | None, typer.Option(
        "--project", metavar="PROJECT", show_default=False,
        help="Only this project; repeatable.")] = None,
    tz: Annotated[str, typer.Option(
        "--tz", metavar="TZ", help="Time zone of days, weeks and months (IANA name).",
        callback=tz_option)] = "UTC",
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
    out: Annotated[Path | None, typer.Option(
        "--out", metavar="PATH", show_default=False,
        help="Write to this file instead of stdout (required for parquet).")] = None,
    db: DbOption = None,
    prices_path: PricesOption = None,
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
    dims = breakdown.parse_by(by or ["month"])
    start, end = _day(since, "--since"), _day(until, "--until")
    if fmt is Format.parquet and out is None:
        raise fail("--format parquet writes a binary file; give it --out PATH")
    if source is not None and db is not None:
        raise fail("--db and --source are two places to read usage from; give one")
    book = load_price_book(prices_path)
    store = source or (db if db is not None else default_path())
    with usage_engine(engine.value, source, db, spark_master) as con:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", breakdown.UnpricedUsageWarning)
            frame = breakdown.spend(con, dims, since=start, until=end, tz=tz, models=model,
                                    projects=project, book=book)
    for warning in caught:
        if issubclass(warning.category, breakdown.UnpricedUsageWarning):
            warn(str(warning.message))
    frame = masked(frame)  # key ids of stores written before ingest masked them
    if frame.is_empty():
        filtered = any((since, until, model, project))
        typer.echo(f"costkit: no usage in {store}{' matches these filters' if filtered else ''}"
                   "; add usage with `costkit ingest PATH`", err=True)
    if fmt is Format.parquet:
        buffer = io.BytesIO()  # a breakdown is small; written whole, like every output file
        frame.write_parquet(buffer)
        write_file(out, buffer.getvalue())
        return
    if fmt is Format.json:
        text = dumps([_json_row(row) for row in frame.iter_rows(named=True)]) + "\n"
    elif fmt is Format.csv:
        text = _csv(frame)
    else:
        text = _table(frame, dims, tz) if not frame.is_empty() else ""
    if out is not None:
        write_file(out, text)
    else:
        sys.stdout.write(text)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date; expected YYYY-MM-DD") from None


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """Money as exact decimal strings without trailing zeros (null when unpriced); counts as
    JSON integers (token sums arrive as DECIMAL(38,0), exact past 64 bits)."""
    return {k: (int(v) if k in breakdown.REQUEST_COLUMNS else plain(v))
            if isinstance(v, Decimal) else v for k, v in row.items()}


def _csv(frame) -> str:
    """Exact decimals; text cells that a spreadsheet would run are quoted (csv_cell)."""
    buffer = io.StringIO()
    writer = CsvWriter(buffer)
    writer.writerow(frame.columns)
    for row in frame.iter_rows():
        writer.writerow(row)
    return buffer.getvalue()


def _table(frame, dims: list[str], tz: str) -> str:
    """Rows, then a totals row; cache-write columns only when there is cache-write usage."""
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
    SafeConsole(file=buffer, width=400, no_color=True, highlight=False).print(table)
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
    if value is None:
        return "unpriced"
    shown = value.quantize(Decimal("0.01"))
    below = "<" if value and not shown else ""
    amount = f"{Decimal('0.01') if below else shown:,}"
    if row["currency"] in (None, "USD"):
        return f"{below}${amount}"
    return f"{below}{amount} {row['currency']}"


# `report monthly` lives in its own module; importing it registers it on report_app, so the
# group is whole wherever `costkit.cli.report` is imported.
from costkit.cli import report_monthly  # noqa: E402,F401
