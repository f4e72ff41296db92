"""Spend forecasts: a daily history of exact costs in, month-end (or horizon) projections out.

Pure functions over a daily series (`costkit.forecast.series`); the store is read elsewhere
(`costkit.forecast.history`). The statistics (`costkit.forecast.model`) run in float64,
because a forecast is an estimate, not a ledger. What is already spent stays exact: the
actuals to date are Decimal sums of the history as the store priced it. Every money value
this module returns is a Decimal, the forecast ones rounded half-even to $0.0001 (finer than
a cent, so small accounts still read), so JSON carries decimal strings and never a float.

A forecast covers a horizon (`costkit.forecast.horizon`). Each period's projected total is
its actuals before `as_of` plus the expected spend of its remaining days; its 80% and 95%
intervals are quantiles of the same sums over simulated futures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

from costkit.core.errors import InputError
from costkit.forecast import calibration
from costkit.forecast import model as forecast_model
from costkit.forecast.horizon import Horizon, Period
from costkit.forecast.scenario import WhatIf
from costkit.forecast.series import COMPONENTS, ZERO, DailyHistory

QUANTUM = Decimal("0.0001")
QUANTILES = (0.025, 0.10, 0.90, 0.975)


# --- results ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class PeriodForecast:
    """One period's actuals, expected remainder, projected total and intervals."""

    period: Period
    actual: Decimal              # exact spend before as_of inside the period
    expected_rest: Decimal       # expected spend of the period's days from as_of on
    projected_total: Decimal
    low_95: Decimal
    low_80: Decimal
    high_80: Decimal
    high_95: Decimal
    components: Mapping[str, Mapping[str, Decimal]]   # component -> actual / forecast / projected
    budget: BudgetCheck | None = None


@dataclass(frozen=True)
class BudgetCheck:
    amount: Decimal
    probability_over: float      # share of simulated futures over the budget
    crossing_date: date | None   # first day the expected cumulative spend reaches it
    over: bool                   # the projected total is over the budget


@dataclass(frozen=True)
class DayForecast:
    day: date
    actual: bool
    expected: Decimal            # the day's actual spend, or its expected spend
    low_80: Decimal | None
    high_80: Decimal | None
    low_95: Decimal | None
    high_95: Decimal | None
    cumulative: Decimal          # period to date, through this day


@dataclass(frozen=True)
class SpendForecast:
    horizon: Horizon
    model: str
    description: str
    history_from: date
    history_days: int
    fitted_from: date
    total: PeriodForecast                      # the whole horizon
    periods: tuple[PeriodForecast, ...]
    daily: tuple[DayForecast, ...]
    scenario: tuple[str, ...] = ()
    workload_per_day: Decimal | None = None
    sims: int = 0
    price_changes: tuple[str, ...] = ()        # cards taking effect inside the horizon

    def as_dict(self) -> dict:
        """JSON-ready: money as Decimal (serialised as strings), dates ISO."""
        return {
            "as_of": self.horizon.as_of.isoformat(),
            "horizon": self.horizon.spec,
            "period": {"start": self.total.period.start.isoformat(),
                       "end": self.total.period.end.isoformat(),
                       "label": self.total.period.label},
            **_period_money(self.total),
            "months": [
                {"month": p.period.label, "start": p.period.start.isoformat(),
                 "end": p.period.end.isoformat(), **_period_money(p)}
                for p in self.periods
            ] if self.horizon.monthly else [],
            "components": {
                name: dict(values) for name, values in self.total.components.items()
            },
            "daily": [
                {"date": d.day.isoformat(), "kind": "actual" if d.actual else "forecast",
                 "spend": d.expected, "low_80": d.low_80, "high_80": d.high_80,
                 "low_95": d.low_95, "high_95": d.high_95, "cumulative": d.cumulative}
                for d in self.daily
            ],
            "model": {
                "name": self.model,
                "description": self.description,
                "history_from": self.history_from.isoformat(),
                "history_days": self.history_days,
                "fitted_from": self.fitted_from.isoformat(),
                "simulations": self.sims,
            },
            "what_if": list(self.scenario),
            "price_changes": list(self.price_changes),
            "workload_per_day": self.workload_per_day,
            "budget": _budget_dict(self.periods) if any(p.budget for p in self.periods)
            else None,
        }


def _period_money(p: PeriodForecast) -> dict:
    return {
        "actual_to_date": p.actual,
        "expected_rest": p.expected_rest,
        "projected_total": p.projected_total,
        "low_95": p.low_95,
        "high_95": p.high_95,
        "low_80": p.low_80,
        "high_80": p.high_80,
    }


def _budget_dict(periods: Sequence[PeriodForecast]) -> list[dict]:
    out = []
    for p in periods:
        if p.budget is None:
            continue
        out.append({
            "period": p.period.label,
            "budget": p.budget.amount,
            "projected_total": p.projected_total,
            "probability_over": round(p.budget.probability_over, 4),
            "crossing_date": p.budget.crossing_date.isoformat() if p.budget.crossing_date
            else None,
            "over": p.budget.over,
        })
    return out


# --- the forecast ----------------------------------------------------------------------------

@dataclass
class SpendSimulation:
    """The float futures of one history before they become money: the expected daily path,
    simulated paths and each component's expected path (which add up to the expected one).

    Kept apart from the money so a run can change the futures first: a price card taking
    effect inside the horizon (`costkit.forecast.repricing`), or reconciling a group's
    forecast with the total's (`costkit.forecast.reconcile`)."""

    fit: forecast_model.ModelFit | None
    point: np.ndarray                    # (horizon,)
    paths: np.ndarray                    # (n_sims, horizon)
    components: dict[str, np.ndarray]    # component -> (horizon,)
    model: str = ""
    description: str = ""
    notes: tuple[str, ...] = ()
    widen: calibration.Widening = calibration.Widening()  # interval calibration applied to paths
    # The past origins' misses over their half-widths the widening came from (calibration):
    # a group with few origins of its own pools them with the total's.
    ratios: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)), repr=False)


def forecast_spend(
    history: DailyHistory,
    horizon: Horizon,
    what_if: WhatIf = WhatIf(),  # noqa: B008 - frozen, so a shared default is safe
    extra_per_day: Mapping[str, Decimal] | None = None,
    budget: Decimal | None = None,
    scenario: Sequence[str] = (),
    n_sims: int = forecast_model.N_SIMS,
    seed: int = 0,
) -> SpendForecast:
    """Forecast `history` over `horizon`.

    `extra_per_day` (component -> cost) is added to every future day (a planned workload);
    `budget` is checked against each period. Raises InputError with fewer than three days
    with spend before as_of.
    """
    sim = simulate_spend(history, horizon, what_if, extra_per_day, n_sims, seed)
    return summarise(sim, history, horizon, budget, scenario, extra_per_day, what_if, n_sims)


def simulate_spend(
    history: DailyHistory,
    horizon: Horizon,
    what_if: WhatIf = WhatIf(),  # noqa: B008 - frozen, so a shared default is safe
    extra_per_day: Mapping[str, Decimal] | None = None,
    n_sims: int = forecast_model.N_SIMS,
    seed: int = 0,
    fallback: np.ndarray | None = None,
) -> SpendSimulation:
    """The model's futures of `history` over `horizon`, scenario changes applied.

    `fallback`: the account's calibration ratios, pooled with a group's own when it has too
    few (costkit.forecast.calibration)."""
    as_of = horizon.as_of
    if history.days and history.days[-1] != as_of - timedelta(days=1):
        raise ValueError("the history must end the day before as_of")
    if history.spend_days < forecast_model.MIN_DAYS:
        raise InputError(
            f"too little history to forecast: {history.spend_days} day(s) with priced spend "
            f"before {as_of.isoformat()}; need at least {forecast_model.MIN_DAYS}"
        )
    first_weekday = history.days[0].weekday()
    y = np.array([float(v) for v in history.total])
    h = horizon.days
    result = forecast_model.forecast(y, first_weekday, h, n_sims=n_sims, seed=seed)
    comp_paths = _component_paths(history, result.point, h)
    # The spread the series' own recent past says the model needs (costkit.forecast.calibration).
    fit = result.fit
    since = fit.trimmed + fit.shift_index if fit.shift_index is not None else 0
    spikes = [fit.trimmed + i for i in fit.spike_index]
    factor, ratios = calibration.interval_scale(y, first_weekday, h, since, spikes, fallback) \
        if n_sims > 0 else (calibration.Widening(), np.zeros((0, 2)))
    paths = calibration.widen(result.point, result.paths, factor)
    description = result.fit.describe()
    if not factor.none:
        description += f"; {factor.describe()}, as its own recent past needed"
    sim = SpendSimulation(result.fit, result.point.copy(), paths, comp_paths,
                          result.fit.name(), description, widen=factor, ratios=ratios)
    return apply_what_if(sim, what_if, extra_per_day)


def apply_what_if(sim: SpendSimulation, what_if: WhatIf,
                  extra_per_day: Mapping[str, Decimal] | None = None) -> SpendSimulation:
    """Scenario changes act on the future only; each is a multiplier per day."""
    h = len(sim.point)
    point, paths, comp_paths = sim.point, sim.paths, dict(sim.components)
    scale = np.ones(h)
    if what_if.reasoning:
        share = np.divide(comp_paths["reasoning"], point, out=np.zeros(h), where=point > 0)
        scale = scale + float(what_if.reasoning) * share
        comp_paths["reasoning"] = comp_paths["reasoning"] * (1.0 + float(what_if.reasoning))
    if what_if.growth:
        scale = scale * (1.0 + float(what_if.growth))
        for c in COMPONENTS:
            comp_paths[c] = comp_paths[c] * (1.0 + float(what_if.growth))
    point = point * scale
    paths = paths * scale[None, :]
    extra = {c: float((extra_per_day or {}).get(c, ZERO)) for c in COMPONENTS}
    extra_total = sum(extra.values())
    if extra_total:
        point = point + extra_total
        paths = paths + extra_total
        for c in COMPONENTS:
            comp_paths[c] = comp_paths[c] + extra[c]
    return replace(sim, point=point, paths=paths, components=comp_paths)


def summarise(
    sim: SpendSimulation,
    history: DailyHistory,
    horizon: Horizon,
    budget: Decimal | None = None,
    scenario: Sequence[str] = (),
    extra_per_day: Mapping[str, Decimal] | None = None,
    what_if: WhatIf = WhatIf(),  # noqa: B008 - frozen, so a shared default is safe
    n_sims: int = forecast_model.N_SIMS,
    daily_expected: Sequence[Decimal] | None = None,
) -> SpendForecast:
    """The money of a simulation: actuals (exact), expected rest, intervals, per period.

    Each forecast day's expected spend is rounded to QUANTUM once, and a period's expected
    rest is the sum of those days, so days, months and the horizon add up exactly.
    `daily_expected` gives those rounded days outright (reconciled groups,
    `costkit.forecast.reconcile`, whose days must add up to the total's to the cent).
    """
    as_of = horizon.as_of
    total_hist = history.total
    h = horizon.days
    point, paths, comp_paths = sim.point, sim.paths, sim.components
    day_money = list(daily_expected) if daily_expected is not None \
        else [as_money(v) for v in point]
    future_days = [as_of + timedelta(days=i) for i in range(h)]
    hist_index = {d: i for i, d in enumerate(history.days)}

    def period_forecast(period: Period) -> PeriodForecast:
        before = _days(period.start, min(period.end, as_of - timedelta(days=1)))
        actual_idx = [hist_index[d] for d in before if d in hist_index]
        actual = sum((total_hist[i] for i in actual_idx), ZERO)
        lo = max((period.start - as_of).days, 0)
        hi = (period.end - as_of).days + 1
        rest = float(point[lo:hi].sum())
        sums = paths[:, lo:hi].sum(axis=1) if paths.size else np.zeros(1) + rest
        q = np.quantile(sums, QUANTILES) if len(sums) else np.full(len(QUANTILES), rest)
        components = {}
        for c in COMPONENTS:
            c_actual = sum((history.components[c][i] for i in actual_idx), ZERO)
            c_rest = as_money(float(comp_paths[c][lo:hi].sum()))
            components[c] = {"actual": c_actual, "forecast": c_rest,
                             "projected": c_actual + c_rest}
        expected_rest = sum(day_money[lo:hi], ZERO)
        # Exact actuals plus rounded forecasts, never re-rounded: groups' projections then
        # add up to the total's exactly, as their actuals and days do.
        projected = actual + expected_rest
        lows_highs = [actual + as_money(v) for v in q]
        low_95, low_80, high_80, high_95 = lows_highs
        # The expected value can fall outside a skewed 80% band only by Monte Carlo noise;
        # keep the bands nested around it so the output never contradicts itself.
        low_80, low_95 = min(low_80, projected), min(low_95, projected, low_80)
        high_80, high_95 = max(high_80, projected), max(high_95, projected, high_80)
        check = None
        if budget is not None:
            over_share = float(np.mean(float(actual) + sums > float(budget))) if paths.size \
                else float(float(actual) + rest > float(budget))
            check = BudgetCheck(budget, over_share,
                                _crossing(period, actual_idx, history, total_hist, point,
                                          as_of, budget),
                                projected > budget)
        return PeriodForecast(period, actual, expected_rest, projected, low_95, low_80,
                              high_80, high_95, components, check)

    periods = tuple(period_forecast(p) for p in horizon.periods)
    whole = Period(horizon.spec if len(horizon.periods) > 1 else horizon.periods[0].label,
                   horizon.periods[0].start, horizon.end)
    total = period_forecast(whole) if len(periods) > 1 else periods[0]
    if len(periods) > 1 and total.budget is not None:
        total = replace(total, budget=None)

    daily = _daily_path(horizon, history, total_hist, day_money, paths, future_days)
    fit = sim.fit
    start = fit.trimmed if fit is not None else 0
    window = fit.window_start if fit is not None else 0
    extra_total = sum((extra_per_day or {}).values(), ZERO)
    return SpendForecast(
        horizon=horizon,
        model=sim.model,
        description=sim.description,
        history_from=history.days[start],
        history_days=fit.history_days if fit is not None else len(history.days),
        fitted_from=history.days[start + window],
        total=total,
        periods=periods,
        daily=daily,
        scenario=tuple(scenario) + tuple(what_if.describe()),
        price_changes=sim.notes,
        workload_per_day=extra_total if extra_total else None,
        sims=n_sims,
    )


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def as_money(value: float) -> Decimal:
    """A float estimate as a Decimal rounded to QUANTUM (repr gives the shortest exact form)."""
    return Decimal(repr(float(value))).quantize(QUANTUM, ROUND_HALF_EVEN)


def _component_paths(history: DailyHistory, point: np.ndarray, h: int) -> dict[str, np.ndarray]:
    """Each component's expected path, scaled so the components add up to the total's.

    Each component is forecast with the same model (its own level, trend and weekdays), so a
    growing reasoning share shows in the split; components too sparse to fit keep their
    share of the last four weeks.
    """
    raw: dict[str, np.ndarray] = {}
    recent = {c: float(sum(history.components[c][-28:], ZERO)) for c in COMPONENTS}
    recent_total = sum(recent.values())
    first_weekday = history.days[0].weekday()
    spent = [c for c in COMPONENTS if any(v > 0 for v in history.components[c])]
    if len(spent) <= 1:
        return {c: point.copy() if c in spent else np.zeros(h) for c in COMPONENTS}
    for c in COMPONENTS:
        y = np.array([float(v) for v in history.components[c]])
        if not np.any(y > 0):
            raw[c] = np.zeros(h)
            continue
        try:
            raw[c] = forecast_model.forecast(y, first_weekday, h, n_sims=0).point
        except forecast_model.TooLittleHistory:
            share = recent[c] / recent_total if recent_total else 0.0
            raw[c] = point * share
    stacked = np.vstack([raw[c] for c in COMPONENTS])
    sums = stacked.sum(axis=0)
    fallback = np.array([recent[c] / recent_total if recent_total else 0.0 for c in COMPONENTS])
    shares = np.where(sums > 0, stacked / np.where(sums > 0, sums, 1.0), fallback[:, None])
    return {c: shares[i] * point for i, c in enumerate(COMPONENTS)}


def _crossing(period: Period, actual_idx: list[int], history: DailyHistory,
              total_hist: Sequence[Decimal], point: np.ndarray, as_of: date,
              budget: Decimal) -> date | None:
    """The first day of `period` whose cumulative spend (actual, then expected) reaches budget."""
    running = ZERO
    for i in actual_idx:
        running += total_hist[i]
        if running >= budget:
            return history.days[i]
    lo = max((period.start - as_of).days, 0)
    hi = (period.end - as_of).days + 1
    cumulative = float(running) + np.cumsum(point[lo:hi])
    hit = np.flatnonzero(cumulative >= float(budget))
    return as_of + timedelta(days=lo + int(hit[0])) if len(hit) else None


def _daily_path(horizon: Horizon, history: DailyHistory, total_hist: Sequence[Decimal],
                day_money: Sequence[Decimal], paths: np.ndarray,
                future_days: Sequence[date]) -> tuple[DayForecast, ...]:
    """Actual days of the first period, then every forecast day; cumulative per period."""
    out: list[DayForecast] = []
    hist_index = {d: i for i, d in enumerate(history.days)}
    period_of = {}
    for p in horizon.periods:
        for d in _days(p.start, p.end):
            period_of[d] = p
    running: dict[Period, Decimal] = {}
    for d in _days(horizon.periods[0].start, horizon.as_of - timedelta(days=1)):
        value = total_hist[hist_index[d]] if d in hist_index else ZERO
        p = period_of[d]
        running[p] = running.get(p, ZERO) + value
        out.append(DayForecast(d, True, value, None, None, None, None, running[p]))
    q = np.quantile(paths, QUANTILES, axis=0) if paths.size else None
    for i, d in enumerate(future_days):
        expected = day_money[i]
        p = period_of[d]
        running[p] = running.get(p, ZERO) + expected
        if q is not None:
            low_95, low_80, high_80, high_95 = (as_money(q[j, i]) for j in range(4))
        else:
            low_95 = low_80 = high_80 = high_95 = expected
        out.append(DayForecast(d, False, expected, min(low_80, expected), max(high_80, expected),
                               min(low_95, expected), max(high_95, expected), running[p]))
    return tuple(out)
