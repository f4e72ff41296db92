"""`costkit forecast`: month-end (or horizon) spend from the store's history, with intervals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from costkit.cli import output
from costkit.cli.errors import handle_errors, warn
from costkit.cli.options import Db, FormatTableJson, MonthlyBudget, Prices, TableJson, Tz
from costkit.core.money import money


@handle_errors
def forecast(
    horizon: Annotated[str, typer.Option(
        "--horizon", metavar="SPAN",
        help="eom (this month), Nm (this month and the next N-1, e.g. 3m), Nd (N days from "
             "the as-of date, e.g. 90d) or an end date YYYY-MM-DD.")] = "eom",
    as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="DATE",
        help="Forecast as on this date, from the days before it only (default: today in "
             "--tz).", show_default=False)] = None,
    by: Annotated[list[str] | None, typer.Option(
        "--by", metavar="DIM",
        help="Also forecast each group: project, model, api_key, user, endpoint or "
             "tag:NAME (repeatable).", show_default=False)] = None,
    budget: MonthlyBudget = None,
    stale_after: Annotated[str, typer.Option(
        "--stale-after", metavar="AGE",
        help="Warn when the newest usage is older than this at the as-of instant (now, or "
             "the start of --as-of): 2d, 36h. The days since would count as no spend.")] = "2d",
    what_if: Annotated[list[str] | None, typer.Option(
        "--what-if", metavar="KEY=VALUE",
        help="Scenario (repeatable): growth=20% or growth=x1.2 (future volume), "
             "reasoning=+50% (future reasoning tokens), prices=FILE (reprice the history "
             "with these cards), model=NAME (reprice every request as this model). A change "
             "is a percentage (20%, -15%) or a multiplier (x1.2); a bare number is refused.",
        show_default=False)] = None,
    workload: Annotated[Path | None, typer.Option(
        "--workload", metavar="FILE",
        help="JSONL of request bodies priced by the estimator and added to every future "
             "day (with --per-day).", show_default=False)] = None,
    per_day: Annotated[int | None, typer.Option(
        "--per-day", metavar="N", help="Requests a day of the --workload.",
        show_default=False)] = None,
    fmt: FormatTableJson = TableJson.table,
    tz: Tz = "UTC",
    db: Db = None,
    prices_path: Prices = None,
) -> None:
    """Forecast spend to month end (or a horizon) from the store's daily history.

    The model (level, growth, weekly profile, level shifts, spikes) is fitted on the days
    before the as-of date; 80% and 95% intervals come from simulated futures. Money that is
    already spent is exact; forecast money is rounded to $0.0001.
    """
    from costkit.core.errors import BudgetExceeded, StaleData
    from costkit.core.safe_output import masked
    from costkit.forecast.run import run_forecast, stale_message
    from costkit.spend.coverage import describe_age, duration_spec

    run = run_forecast(
        db=db, prices=prices_path, horizon=horizon, as_of=as_of, tz=tz, by=by or (),
        budget=budget, what_if=what_if or (), workload=workload, per_day=per_day,
        stale_after=stale_after,
    )
    stale = run.freshness is not None and run.freshness.stale
    for note in run.warnings:
        warn(note)
    if stale:
        warn(f"data stale: {stale_message(run.freshness, run.tz)}")
    output.emit(fmt, json_value=run.as_dict() if fmt == "json" else None,
                table=lambda stream: render(masked(run), stream))
    over = run.over_budget
    if stale and budget is not None:
        f = run.freshness
        age = describe_age(f.age) if f.age is not None else "missing"
        verdict = (f"projected over it even so ({money(over[0].projected_total, places=2)} for "
                   f"{over[0].period.label})" if over else "'under' cannot be trusted")
        raise StaleData(f"budget not checked: data stale (newest usage {age} old, over "
                        f"--stale-after {duration_spec(f.stale_after)}); {verdict}")
    if over:
        p = over[0]
        crossing = p.budget.crossing_date.isoformat() if p.budget.crossing_date else "-"
        raise BudgetExceeded(
            f"projected {money(p.projected_total, places=2)} for {p.period.label} is over the "
            f"budget {money(p.budget.amount, places=2)} ({p.budget.probability_over:.0%} "
            f"chance; crossed on {crossing})"
        )


def render(run: Any, stream: Any = None) -> None:
    from rich.table import Table

    from costkit.forecast.run import stale_message
    from costkit.forecast.series import COMPONENTS

    fc = run.forecast
    places = _places(fc.total.projected_total)
    console = output.console(stream, width=min(150, output.terminal_width()))
    h = fc.horizon
    console.print(f"Forecast {fc.total.period.label} as of {h.as_of.isoformat()} "
                  f"(days before it count; {run.tz}; {run.currency})")
    console.print(f"Model: {fc.description}")
    console.print(f"History used: {fc.history_days} days from {fc.history_from.isoformat()} "
                  f"(level fitted from {fc.fitted_from.isoformat()}); "
                  f"{fc.sims:,} simulated futures")
    if run.freshness is not None and run.freshness.stale:
        console.print(f"Data stale: {stale_message(run.freshness, run.tz)}")
    for line in fc.scenario:
        console.print(f"What-if: {line}")
    for line in fc.price_changes:
        console.print(f"Prices: {line} (applied from that day)")
    if run.workload is not None:
        w = run.workload
        console.print(f"Workload: {w.path}: {w.requests:,} request(s) estimated, expected "
                      f"{money(w.per_request, places=6)} each x {w.per_day:,}/day = "
                      f"{money(w.per_day_total, places=places)}/day from {h.as_of.isoformat()}"
                      + ("" if w.exact else " (approximate token counts)"))

    periods = Table(title=None)
    for column in ("period", "actual to date", "expected rest", "projected", "80% interval",
                   "95% interval"):
        periods.add_column(column, justify="left" if column == "period" else "right")
    rows = list(fc.periods) + ([fc.total] if len(fc.periods) > 1 else [])
    for p in rows:
        label = "total" if p is fc.total and len(fc.periods) > 1 else p.period.label
        periods.add_row(label, *_money_cells(p, places))
    console.print(periods)

    split = Table(title=f"Split by component ({fc.total.period.label})")
    for column in ("component", "actual to date", "forecast", "projected", "share"):
        split.add_column(column, justify="left" if column == "component" else "right")
    projected = fc.total.projected_total
    for c in COMPONENTS:
        values = fc.total.components[c]
        if not any(values.values()):
            continue
        share = values["projected"] / projected if projected else Decimal(0)
        split.add_row(c, *(money(values[k], places=places)
                           for k in ("actual", "forecast", "projected")), f"{share:.1%}")
    console.print(split)

    checks = [p for p in fc.periods if p.budget is not None]
    if checks:
        table = Table(title=f"Budget {money(checks[0].budget.amount, places=places)}")
        for column in ("period", "projected", "chance over", "crossed on", "status"):
            table.add_column(column, justify="left" if column in ("period", "status")
                             else "right")
        for p in checks:
            b = p.budget
            table.add_row(p.period.label, money(p.projected_total, places=places),
                          f"{b.probability_over:.0%}",
                          b.crossing_date.isoformat() if b.crossing_date else "not projected",
                          _status(b.over, run.freshness is not None and run.freshness.stale))
        console.print(table)

    if run.by:
        title = f"By {', '.join(run.by)}, reconciled with the total (MinT): they add up to it"
        if run.workload is not None:
            title += " less the planned workload"
        groups = Table(title=title)
        for i, dim in enumerate(run.by):
            # Keys are never cut short (the models are listed under the table, not beside it).
            longest = max((len(g.key[i]) for g in run.groups), default=0)
            groups.add_column(dim, min_width=min(max(longest, len(dim), 10), 40))
        for column in ("actual to date", "projected", "80% interval", "95% interval",
                       "reconciled"):
            groups.add_column(column, justify="right")
        for g in run.groups:
            t = g.forecast.total
            cells = _money_cells(t, places)
            groups.add_row(*g.key, cells[0], cells[2], cells[3], cells[4],
                           _moved(t.expected_rest, g.own_rest, places))
        sums = run.reconciliation()
        groups.add_section()
        groups.add_row(*(["all groups"] + [""] * (len(run.by) - 1)),
                       money(sums["groups_actual_to_date"], places=places),
                       money(sums["groups_projected_total"], places=places), "", "",
                       _moved(fc.total.expected_rest, run.total_own_rest, places))
        console.print(groups)
        # One line per group under the table: a column of them wrapped every row at 100
        # columns.
        console.print("Each group's own model (before reconciliation):")
        for g in run.groups:
            console.print(f"  {' / '.join(g.key)}: {_short_model(g)}")


def _moved(rest: Decimal, own: Decimal | None, places: int) -> str:
    """How far reconciliation moved a forecast from its own: +$0.12 / -$0.05."""
    if own is None:
        return ""
    moved = rest - own
    return f"{'+' if moved >= 0 else '-'}{money(abs(moved), places=places)}"


def _status(over: bool, stale: bool) -> str:
    if stale:
        return "OVER, stale data" if over else "unknown: stale data"
    return "OVER" if over else "under"


def _money_cells(p: Any, places: int) -> list[str]:
    def cash(value: Decimal) -> str:
        return money(value, places=places)

    return [
        cash(p.actual), cash(p.expected_rest), cash(p.projected_total),
        f"{cash(p.low_80)} - {cash(p.high_80)}", f"{cash(p.low_95)} - {cash(p.high_95)}",
    ]


def _places(total: Decimal) -> int:
    """Cents, unless the whole forecast is under a dollar (then four places)."""
    return 2 if abs(total) >= 1 else 4


def _short_model(group: Any) -> str:
    fc = group.forecast
    if group.problem:
        return f"{fc.model} of {fc.history_days} day(s): too little history for the model"
    return f"{fc.model}, {fc.history_days} days"
