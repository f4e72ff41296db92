"""`costkit report`: the spend breakdown from the store, as a table, JSON, CSV or Parquet.

The `report` group runs this when no subcommand is given; `costkit report monthly`
(costkit/cli/report_monthly.py) is its subcommand. Both are registered in costkit/cli/app.py.
"""

from __future__ import annotations

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
    wide: Annotated[bool, typer.Option(
        "--wide", help="Table: every token count and cost component, at full width (default: "
        "requests, tokens in and out, cost and share, fitted to the terminal).")] = False,
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
    """Spend per group: requests, tokens in and out, cost and share of the priced cost,
    from the price card in effect at each request's time (--wide: every component).
    Unpriced usage keeps its tokens and is counted beside the priced cost, never as $0."""
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
        table=lambda stream: stream.write(
            _table(frame, dims, tz, wide, output.terminal_width()) if not frame.is_empty()
            else ""),
    )


def _json_row(row: dict[str, Any]) -> dict[str, Any]:
    """Money as exact decimal strings without trailing zeros (null when unpriced); counts as
    JSON integers (token sums arrive as DECIMAL(38,0), exact past 64 bits)."""
    from costkit.spend.breakdown import REQUEST_COLUMNS

    return {k: (int(v) if k in REQUEST_COLUMNS else decimal_text(v))
            if isinstance(v, Decimal) else v for k, v in row.items()}


def _table(frame: Any, dims: list[str], tz: str, wide: bool, width: int) -> str:
    """The title, the table (one row per group, then the totals) and its notes. Compact: it
    fits `width`, shortening long group values (when the cost cells carry unpriced counts
    and the table is too wide, those counts go to a second line first). Wide: every
    component at its natural width; cache-write columns only when there is cache-write
    usage."""
    from costkit.spend import breakdown

    total = breakdown.totals(frame)
    rows = list(frame.iter_rows(named=True))
    if wide:
        values = [c for c in HEADINGS
                  if not (c.startswith("cache_write") and not total["cache_write_tokens"])]
        headings = [HEADINGS[c] for c in values]
    else:
        values, headings = list(COMPACT), list(COMPACT.values())
    columns = [output.Column(d, shrinks=d not in breakdown.TIME_DIMENSIONS) for d in dims]
    columns += [output.Column(h, numeric=True) for h in headings]
    labels = ["total", *([""] * (len(dims) - 1))]

    def layout(split: bool) -> tuple[list[list[str]], list[str] | None]:
        def cells(row: dict[str, Any]) -> list[str]:
            return [_cell(row, c, total, split) for c in values]

        body = [["-" if r[d] is None else str(r[d]) for d in dims] + cells(r) for r in rows]
        return body, [*labels, *cells(total)] if dims else None

    body, footer = layout(split=False)
    text = output.table_text(columns, body, footer=footer)
    if not wide and output.widest(text) > width:
        if total[breakdown.UNPRICED_REQUESTS]:  # unpriced counts to a second line first
            body, footer = layout(split=True)
        text = output.table_text(columns, body, footer=footer, width=width)
    from costkit.core.safe_output import escape_controls

    title = escape_controls(f"Spend by {', '.join(dims)} ({tz})" if dims else f"Spend ({tz})")
    notes = [] if wide else [COMPACT_CAPTION]
    unpriced = int(total[breakdown.UNPRICED_REQUESTS] or 0)
    if unpriced:
        notes.append(f"{unpriced:,} unpriced: requests no card in effect can price; their "
                     "tokens are counted, their cost is not (add or correct a card with "
                     "--prices)")
    unreported = int(total[breakdown.SEARCH_UNREPORTED] or 0)
    if unreported:
        notes.append(f"search not reported: {_requests(unreported)} enabled web search but "
                     "logged no search count; their search cost is not in these totals")
    return _lines(title, width) + text + "".join(_lines(note, width) for note in notes)


# The compact table's value columns and their headings. "tokens in" is the store's
# input_tokens, which holds cached and cache-write input too; "tokens out" is output plus
# reasoning (disjoint in the store); "cost" is the priced cost (see _cost).
COMPACT = {"requests": "requests", "tokens_in": "tokens in", "tokens_out": "tokens out",
           "cost": "cost", "share": "share"}
COMPACT_CAPTION = ("tokens in: all input, cached and cache write included; tokens out: output "
                   "+ reasoning; share: of the priced cost; --wide: every component")


def _cell(row: dict[str, Any], column: str, total: dict[str, Any], split: bool) -> str:
    """Counts with thousands separators; money to the cent ("<$0.01" when under a cent)."""
    if column == "tokens_in":
        return f"{row['input_tokens']:,}"
    if column == "tokens_out":
        return f"{row['output_tokens'] + row['reasoning_tokens']:,}"
    if column in ("cost", "total_cost"):
        return _cost(row, split)
    if column == "share":
        return _share(row, total)
    value = row[column]
    if not column.endswith("_cost"):
        return f"{value:,}"
    return _money(value, row["currency"])


def _cost(row: dict[str, Any], split: bool) -> str:
    """A group's cost: its priced requests' cost, and "+ N unpriced" when some have no price
    (on a second line when `split`); "N unpriced" when none has one. Never $0 for unpriced
    usage, and never a priced total hidden behind it."""
    from costkit.spend.breakdown import PRICED_TOTAL, UNPRICED_REQUESTS

    unpriced, priced = row[UNPRICED_REQUESTS], row[PRICED_TOTAL]
    if unpriced and unpriced == row["requests"]:
        return f"{unpriced:,} unpriced"
    # A group whose cards bill in two currencies has no one sum (spend warns of it).
    amount = "mixed currencies" if priced is None else _money(priced, row["currency"])
    if not unpriced:
        return amount
    return f"{amount}{chr(10) if split else ' '}+ {unpriced:,} unpriced"


def _share(row: dict[str, Any], total: dict[str, Any]) -> str:
    """The group's part of the priced cost of every group; "-" when it has none."""
    from costkit.core.format import pct
    from costkit.spend.breakdown import PRICED_TOTAL, UNPRICED_REQUESTS

    part, whole = row[PRICED_TOTAL], total[PRICED_TOTAL]
    if part is None or not whole or row[UNPRICED_REQUESTS] == row["requests"]:
        return "-"
    shown = pct(part / whole)
    return "<0.1%" if part and shown == "0.0%" else shown  # a part, however small, is not 0


def _money(value: Decimal | None, currency: str | None) -> str:
    if value and not value.quantize(CENT):
        return "<" + money(CENT, currency, places=2)
    return money(value, currency, places=2)


def _requests(n: int) -> str:
    return f"{n:,} request{'s' if n != 1 else ''}"


def _lines(text: str, width: int) -> str:
    """`text` wrapped at `width` (at spaces; a word longer than the width is not broken)."""
    import textwrap

    return "".join(line + "\n" for line in textwrap.wrap(
        text, width, break_long_words=False, break_on_hyphens=False))
