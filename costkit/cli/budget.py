"""`costkit budget check`: costkit.toml's budgets against the month's spend, for people and
for cron (exit 0 all ok, 3 over or projected over, 4 data stale)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from costkit.cli import output
from costkit.cli.errors import fail, handle_errors, warn
from costkit.cli.options import ConfigFile, Db, FormatTableJson, OutFile, Prices, TableJson, Tz
from costkit.core.errors import BudgetExceeded, StaleData
from costkit.core.money import money

HELP = "Monthly budgets from costkit.toml against spend (`budget check`)."


@handle_errors
def check(
    month: Annotated[str | None, typer.Option(
        "--month", metavar="YYYY-MM", show_default=False,
        help="Check this month, whole (default: the current month in --tz, to date and "
             "projected to its end).")] = None,
    stale_after: Annotated[str, typer.Option(
        "--stale-after", metavar="AGE",
        help="Exit 4 when the newest usage is older than this (at now, or at the end of "
             "--month): 2d, 36h.")] = "2d",
    fmt: FormatTableJson = TableJson.table,
    out: OutFile = None,
    config: ConfigFile = None,
    tz: Tz = "UTC",
    db: Db = None,
    prices_path: Prices = None,
) -> None:
    """Each budget's spend this month, its projection to the month's end and its status.

    Status: ok, projected-over (the projection is over the budget) or over (the spend is).
    Exit 0 when every budget is ok, 3 when one is over or projected over, 4 when the data
    is stale (the newest usage is older than --stale-after). --format json prints one line
    per budget.
    """
    from costkit.budgets.check import OK, check_budgets
    from costkit.core.safe_output import masked
    from costkit.pricing.book import load_price_book
    from costkit.report.monthly import parse_month
    from costkit.spend.coverage import describe_age, duration_spec, parse_stale_after
    from costkit.store.connection import open_store

    if config is None:
        raise fail("no costkit.toml: give --config PATH, set $COSTKIT_CONFIG, or write "
                   "costkit.toml in this folder with [[budget]] tables")
    if not config.budgets:
        raise fail(f"{config.path}: no budgets; add a [[budget]] table")
    threshold = parse_stale_after(stale_after)
    chosen = parse_month(month) if month else None
    book = load_price_book(prices_path)
    con = open_store(db, read_only=True)
    try:
        result = check_budgets(con, config.budgets, tz=tz, book=book, month=chosen,
                               stale_after=threshold)
    finally:
        con.close()

    for row in result.rows:
        if row.left_out:
            warn(f"budget {row.budget.name!r}: {row.left_out:,} request(s) of "
                 f"{', '.join(row.left_out_models)} are not in its spend (unpriced, or priced "
                 f"in another currency than {row.budget.currency}); add a price card with "
                 "--prices")
        if row.note and result.running:
            warn(f"budget {row.budget.name!r}: {row.note}")
    if fmt == "json":
        with output.destination(out) as stream:
            for line in result.as_dicts():
                stream.write(output.dumps(line, indent=None) + "\n")
    else:
        output.emit("table", table=lambda stream: render(masked(result), stream), out=out)

    over = [r for r in result.rows if r.status != OK]
    fresh = result.freshness
    if result.stale:
        age = describe_age(fresh.age) if fresh.age is not None else "none at all"
        verdict = (f"over or projected over even so: {', '.join(r.budget.name for r in over)}"
                   if over else "'ok' cannot be trusted")
        raise StaleData(f"budgets not checked: data stale (newest usage {age} old, over "
                        f"--stale-after {duration_spec(fresh.stale_after)}); {verdict}")
    if over:
        listed = "; ".join(f"{r.budget.name} {r.status} ({_money(r.spent, r)} spent, "
                           f"{_money(r.projected, r)} projected of {_money(r.budget.monthly, r)})"
                           for r in over)
        raise BudgetExceeded(f"over or projected over: {listed}")


def render(result: Any, stream: Any = None) -> None:
    from rich.table import Table

    console = output.console(stream)
    through = result.freshness.newest
    when = f"{through.astimezone(_zone(result.tz)):%Y-%m-%d %H:%M}" if through else "none"
    kind = "to date, projected to its end" if result.running else "whole month"
    console.print(f"Budgets {result.month:%Y-%m} ({kind}; {result.tz}); usage through {when}"
                  + ("  STALE" if result.stale else ""))
    table = Table()
    for column in ("budget", "scope", "monthly", "spent", "used", "projected", "status",
                   "unpriced"):
        table.add_column(column, justify="left" if column in ("budget", "scope", "status")
                         else "right")
    for r in result.rows:
        b = r.budget
        scope = b.scope if b.match is None else f"{b.scope} {b.match}"
        used = f"{r.spent / b.monthly:.0%}"
        table.add_row(b.name, scope, _money(b.monthly, r), _money(r.spent, r), used,
                      _money(r.projected, r) if r.projected is not None else "-", r.status,
                      f"{r.left_out:,}" if r.left_out else "")
    console.print(table)


def _money(value: Any, row: Any) -> str:
    return "-" if value is None else money(value, row.budget.currency, places=2)


def _zone(tz: str) -> Any:
    from costkit.core.timezones import zone

    return zone(tz)
