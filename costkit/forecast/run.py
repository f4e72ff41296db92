"""One run of `costkit forecast`: parse the options, read the store's history (and the
workload), forecast the total and each group, and say how fresh the data is."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from costkit.core import clock
from costkit.core.errors import InputError
from costkit.core.money import parse_budget  # the one --budget parser (estimate's too)
from costkit.core.timezones import canonical, local_instant
from costkit.core.timezones import zone as tz_zone
from costkit.forecast import model as forecast_model
from costkit.forecast.history import (
    load_history,
    logged_model_names,
    price_steps,
)
from costkit.forecast.horizon import parse_horizon
from costkit.forecast.projection import (
    SpendForecast,
    apply_what_if,
    as_money,
    simulate_spend,
    summarise,
)
from costkit.forecast.reconcile import METHOD, forecast_groups
from costkit.forecast.repricing import apply_steps
from costkit.forecast.scenario import WhatIf, parse_what_if, scenario_book
from costkit.forecast.series import ZERO
from costkit.forecast.workload import Workload, price_workload
from costkit.pricing.book import load_price_book
from costkit.spend.coverage import (
    STALE_AFTER,
    Freshness,
    describe_age,
    duration_spec,
    freshness,
    parse_stale_after,
)


def parse_as_of(text: str | None, tz: str) -> date:
    """The as-of date (data before it is used); default: today in `tz`."""
    zone = tz_zone(tz)
    if text is None:
        return clock.now().astimezone(zone).date()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--as-of {text!r}: expected a date YYYY-MM-DD") from None


@dataclass(frozen=True)
class GroupResult:
    key: tuple[str, ...]
    forecast: SpendForecast | None
    problem: str | None = None               # why the model could not fit (too little history)
    own_rest: Decimal | None = None          # the group's own expected rest, before reconciling


@dataclass(frozen=True)
class ForecastRun:
    """Everything `costkit forecast` shows."""

    forecast: SpendForecast
    tz: str
    currency: str
    by: tuple[str, ...] = ()
    groups: tuple[GroupResult, ...] = ()
    workload: Workload | None = None
    warnings: tuple[str, ...] = field(default=())
    freshness: Freshness | None = None       # how old the newest usage is at the as-of instant
    total_own_rest: Decimal | None = None    # with --by: the total's expected rest before
                                             # reconciling with the groups

    def as_dict(self) -> dict:
        out = self.forecast.as_dict()
        out["tz"] = self.tz
        out["currency"] = self.currency
        if self.freshness is not None:
            out["data"] = self.freshness.as_dict()
        if self.workload is not None:
            w = self.workload
            out["workload"] = {
                "file": w.path, "requests_estimated": w.requests, "lines_skipped": w.skipped,
                "per_day": w.per_day, "expected_per_request": w.per_request,
                "per_day_cost": w.per_day_total, "components_per_day": dict(w.daily),
                "exact_tokens": w.exact,
            }
        if self.by:
            out["by"] = list(self.by)
            out["groups"] = [
                {"group": dict(zip(self.by, g.key, strict=True)),
                 **({"forecast": g.forecast.as_dict()} if g.forecast is not None else {}),
                 **({"problem": g.problem} if g.problem else {}),
                 **({"own_expected_rest": g.own_rest} if g.own_rest is not None else {})}
                for g in self.groups
            ]
            out["reconciliation"] = self.reconciliation()
        return out

    def reconciliation(self) -> dict:
        """How the groups add up: their sums next to the total they were reconciled to."""
        fc = [g.forecast for g in self.groups if g.forecast is not None]
        total = self.forecast.total
        extra = self.workload.per_day_total * self.forecast.horizon.days \
            if self.workload is not None else ZERO
        return {
            "method": METHOD,
            "groups_actual_to_date": sum((f.total.actual for f in fc), ZERO),
            "groups_expected_rest": sum((f.total.expected_rest for f in fc), ZERO),
            "groups_projected_total": sum((f.total.projected_total for f in fc), ZERO),
            "total_projected_total": total.projected_total,
            "total_own_expected_rest": self.total_own_rest,
            "planned_workload_not_in_groups": extra if self.workload is not None else None,
        }

    @property
    def over_budget(self) -> list:
        return [p for p in self.forecast.periods if p.budget is not None and p.budget.over]


def run_forecast(
    *,
    db: Path | None = None,
    prices: Sequence[Path] | None = None,
    horizon: str = "eom",
    as_of: str | None = None,
    tz: str = "UTC",
    by: Sequence[str] = (),
    budget: str | None = None,
    what_if: Sequence[str] = (),
    workload: Path | None = None,
    per_day: int | None = None,
    n_sims: int = forecast_model.N_SIMS,
    stale_after: str | timedelta = STALE_AFTER,
) -> ForecastRun:
    """Parse the options, read the store (and the workload), forecast; raise InputError on
    bad input or too little history. The run also says how old the store's newest usage
    is (`freshness`): at the clock's now, or at the start of an explicit `as_of` day."""
    from costkit.store.connection import open_store

    tz = canonical(tz)
    day = parse_as_of(as_of, tz)
    span = parse_horizon(horizon, day)
    threshold = parse_stale_after(stale_after) if isinstance(stale_after, str) else stale_after
    scenario = parse_what_if(what_if)
    amount = parse_budget(budget)
    if (workload is None) != (per_day is None):
        raise InputError("--workload FILE and --per-day N go together")
    book = load_price_book(prices)
    start_utc = local_instant(day, tz)

    planned = None
    if workload is not None and per_day is not None:
        planned = price_workload(workload, per_day, book, db, start_utc)

    # The newest usage is judged where the history ends: now, or an explicit as-of day's
    # start (a forecast "as on" a past day is not stale for the days after it; one as on a
    # future day is, since the days until then would count as no spend).
    checked_at = clock.now() if as_of is None else start_utc
    con = open_store(db, read_only=True)
    try:
        fresh = freshness(con, checked_at, threshold)
        priced_with = book
        if scenario.prices is not None or scenario.model is not None:
            names = logged_model_names(con, day, tz, book) if scenario.model else []
            priced_with = scenario_book(book, scenario, names)
        history = load_history(con, day, tz, priced_with, by)
        steps, price_notes = price_steps(con, day, span.days, tz, priced_with, history.dims)
    finally:
        con.close()

    notes = list(history.warnings) + list(price_notes)
    if planned is not None:
        if planned.currency != history.currency:
            raise InputError(f"{planned.path}: the workload is priced in {planned.currency}, "
                             f"the history in {history.currency}; they cannot be added")
        if planned.skipped:
            notes.append(f"{planned.path}: {planned.skipped} line(s) not estimated; first: "
                         f"{planned.first_error}")
    labels = tuple(scenario.describe())
    extra = planned.daily if planned is not None else None
    try:
        base = apply_steps(simulate_spend(history.total, span, scenario.what_if, None,
                                          n_sims=n_sims, seed=0), steps.get((), []))
    except InputError as exc:
        if fresh.stale and fresh.newest is not None:
            raise InputError(f"{exc} (the newest usage is {describe_age(fresh.age)} old: is "
                             "ingestion running?)") from None
        raise
    if scenario.what_if.reasoning and not any(history.total.components["reasoning"]):
        notes.append("--what-if reasoning changes nothing: the history has no reasoning spend "
                     "(logs that do not split reasoning out count it as output)")

    groups: list[GroupResult] = []
    days = None
    own_rest = None
    if history.dims:
        own_rest = sum((as_money(v) for v in base.point), ZERO)
        # Groups and total reconciled (costkit.forecast.reconcile); a planned workload is in
        # no group, so it is added to the total after.
        base, days, found = forecast_groups(base, history.groups, span, scenario.what_if,
                                            labels, n_sims, steps)
        groups = [GroupResult(*g) for g in found]
    total = summarise(apply_what_if(base, WhatIf(), extra), history.total, span, amount,
                      labels, extra, scenario.what_if, n_sims,
                      days if extra is None else None)
    return ForecastRun(total, tz, history.currency, history.dims, tuple(groups), planned,
                       tuple(notes), fresh, own_rest)


def stale_message(fresh: Freshness, tz: str) -> str:
    """The warning of a forecast whose newest usage is older than the threshold."""
    zone = tz_zone(tz)
    at = f"{fresh.checked_at.astimezone(zone):%Y-%m-%d %H:%M} {tz}"
    limit = duration_spec(fresh.stale_after)
    if fresh.newest is None:
        return f"the store has no usage before {at}; is ingestion running?"
    return (f"the newest usage is from {fresh.newest.astimezone(zone):%Y-%m-%d %H:%M} {tz}, "
            f"{describe_age(fresh.age)} before {at} (over --stale-after {limit}); the days "
            "since count as no spend, so the forecast is too low; is ingestion running?")
