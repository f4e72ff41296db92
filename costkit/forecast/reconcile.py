"""Group forecasts that add up to the total's: `costkit forecast --by project` (or key, model).

Each group is forecast on its own history, and so is the total; left alone their expected
values disagree (the demo store's projects summed to $1.09 more than its total). They are
reconciled by weighted least squares (MinT with a diagonal covariance, Wickramasuriya,
Athanasopoulos and Hyndman 2019), day by day:

- The gap D between the total's expected day and the groups' sum is shared among the total
  and the groups in proportion to the variance of their simulated day: the total moves by
  D x v_total / V, each group by D x v_group / V (V the sum of them all). The least certain
  forecast gives way most; a clockwork group barely moves. The variances are robust (from
  each day's 80% range), so a group with a rare huge spike does not take every gap.
- Why not keep the total and move only the groups (top-down), or add the groups up
  (bottom-up)? Measured on the same backtest (`python bench/forecast.py --groups
  --reconcile ...`, 14-day sums, mean absolute error over the run-rate's, groups / total):
  top-down 0.88 / 0.83 on the demo store but 1.09 / 0.97 on the Azure trace (whose total is
  dominated by one heavy-tailed service), bottom-up 0.91 / 0.90 and 1.00 / 1.02, MinT
  0.90 / 0.88 and 0.93 / 0.91: never far from the best. So `--by` can move the total a
  little; the table and JSON say by how much.
- No group is pushed below zero: what a group cannot give up is shared among the others.
- A forecast's simulated days move with its expected day, so its intervals stay around it.
- In money, each day is rounded to $0.0001 once and the rounding residual (under $0.0001 a
  group) goes to that day's largest group, so every day, month and horizon of the groups
  adds up to the total's exactly (actual spend is exact Decimal in both).

A group with too little history for the model (a project that started yesterday) still
takes part: its expected day is its mean day since its first spend, its simulated days are
its own days resampled, and it is reconciled like any other.

A group under two weeks old cannot show its own weekly cycle, and its few days (all
weekdays, say) were projected onto weekends as they were: the demo's docs-qa, three
weekdays old, was forecast at $5.13 for a month that came to $3.79. When the total has a
weekly profile, such a group borrows it: its days are divided by the account's weekday
factors before the model sees them, and its future days multiplied by them.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

import numpy as np

from costkit.core.errors import InputError
from costkit.forecast import calibration
from costkit.forecast.horizon import Horizon
from costkit.forecast.model import N_SIMS
from costkit.forecast.projection import (
    SpendForecast,
    SpendSimulation,
    apply_what_if,
    as_money,
    simulate_spend,
    summarise,
)
from costkit.forecast.repricing import PriceStep, apply_steps
from costkit.forecast.scenario import WhatIf
from costkit.forecast.series import COMPONENTS, ZERO, DailyHistory

Key = tuple[str, ...]

METHOD_NAME = "mint"
METHOD = ("MinT (diagonal): each day's gap between the total's forecast and the groups' sum is "
          "shared among the total and the groups in proportion to their forecast variance")


def short_history_simulation(history: DailyHistory, horizon_days: int, n_sims: int,
                             seed: int, account: np.ndarray | None = None) -> SpendSimulation:
    """The forecast of a group with too little history for the model: its mean day since its
    first spend, simulated by resampling those days, then widened by the account's
    calibration (`account`: the total's past misses over its half-widths), since a few
    days of one group say nothing of how wrong a forecast of it can be."""
    total = np.array([float(v) for v in history.total])
    spent = np.flatnonzero(total > 0)
    days = total[spent[0]:] if len(spent) else np.zeros(1)
    mean = float(days.mean())
    point = np.full(horizon_days, mean)
    rng = np.random.default_rng(seed)
    paths = rng.choice(days, size=(max(n_sims, 0), horizon_days), replace=True)
    scale = calibration.factors(np.zeros((0, 2)), account)
    paths = calibration.widen(point, paths, scale)
    sums = {c: float(sum(history.components[c], ZERO)) for c in COMPONENTS}
    whole = sum(sums.values())
    components = {c: point * (sums[c] / whole if whole else 0.0) for c in COMPONENTS}
    n = len(spent)
    text = (f"too little history for the model ({n} day(s) with spend): its mean day over "
            f"the {len(days)} day(s) since its first spend")
    if not scale.none:
        text += f"; {scale.describe()}"
    return SpendSimulation(None, point, paths, components, "mean day", text, widen=scale)


def reconcile(total: SpendSimulation, groups: Sequence[SpendSimulation],
              method: str = "mint") -> tuple[SpendSimulation, list[SpendSimulation],
                                             list[list[Decimal]], list[Decimal]]:
    """The total's and the groups' simulations moved so the groups' expected days add up to
    the total's; with each group's days in money (rounded) and the total's, which they add
    up to exactly. `method`: "mint" (the total moves too, by its share of the variance),
    "top-down" (the total stays), "bottom-up" (the total becomes the groups' sum)."""
    h = len(total.point)
    if not groups:
        return total, [], [], [as_money(v) for v in total.point]
    point = np.vstack([g.point for g in groups]).astype(np.float64)     # (groups, h)
    variance = np.vstack([_spread(g.paths, h) for g in groups])
    own_total = total.point.astype(np.float64)
    summed = point.sum(axis=0)
    if method == "top-down":
        target = own_total
    elif method == "bottom-up":
        target = summed
    else:
        # Least squares weighted by 1/variance, the total included: the gap D moves the
        # total by D x v_total / V and the groups by D x (their variance) / V in all.
        v_total = _spread(total.paths, h)
        whole = v_total + variance.sum(axis=0)
        share = np.divide(v_total, whole, out=np.full(h, 0.5), where=whole > 0)
        target = own_total - (own_total - summed) * share
    target = np.maximum(target, 0.0)
    moved = np.empty_like(point)
    for d in range(h):
        moved[:, d] = _share_gap(point[:, d], variance[:, d], float(target[d]))
    total_shift = target - own_total
    new_total = replace(total, point=target,
                        paths=np.maximum(total.paths + total_shift[None, :], 0.0)
                        if total.paths.size else total.paths,
                        components=_rescale(total.components, own_total, target, total))
    total_money = [as_money(v) for v in target]
    group_money = [[as_money(v) for v in row] for row in moved]
    for d in range(h):
        residual = total_money[d] - sum((row[d] for row in group_money), ZERO)
        if residual:
            largest = max(range(len(groups)), key=lambda i: group_money[i][d])
            group_money[largest][d] += residual
    out = []
    for i, g in enumerate(groups):
        shift = moved[i] - point[i]
        paths = np.maximum(g.paths + shift[None, :], 0.0) if g.paths.size else g.paths
        out.append(replace(g, point=moved[i], paths=paths,
                           components=_rescale(g.components, point[i], moved[i], total)))
    return new_total, out, group_money, total_money


def _spread(paths: np.ndarray, h: int) -> np.ndarray:
    """A robust variance of each simulated day: the squared width of its 80% range over
    2 x 1.2816 (a normal's sd). Robust because a group with a rare huge spike has a huge
    plain variance, and would take every day's gap without having caused it."""
    if not paths.size:
        return np.zeros(h)
    low, high = np.quantile(paths, [0.10, 0.90], axis=0)
    return ((high - low) / (2 * 1.2816)) ** 2


def _share_gap(values: np.ndarray, variance: np.ndarray, target: float) -> np.ndarray:
    """`values` moved to sum to `target`, each by a share of the gap proportional to its
    weight (variance; the values themselves when no group has any), none below zero."""
    out = np.maximum(values, 0.0)
    weight = np.where(variance > 0, variance, 0.0)
    if not np.any(weight > 0):
        weight = out.copy()
    free = np.ones(len(values), dtype=bool)
    for _ in range(len(values) + 1):
        gap = target - float(out.sum())
        if abs(gap) <= 1e-12 * max(abs(target), 1.0):
            return out
        w = np.where(free, weight, 0.0)
        if not np.any(w > 0):
            w = np.where(free, out, 0.0) if gap < 0 else free.astype(np.float64)
        if not np.any(w > 0):
            break
        trial = out + gap * w / w.sum()
        below = trial < 0
        if not np.any(below):
            return trial
        # Those that would go negative give up all they have; the rest is shared again.
        out[below] = 0.0
        free &= ~below
    # Only a negative target gets here (spend is never negative): scale, never go below 0.
    whole = float(out.sum())
    return out * (max(target, 0.0) / whole) if whole > 0 else out


def _rescale(components: dict[str, np.ndarray], before: np.ndarray, after: np.ndarray,
             total: SpendSimulation) -> dict[str, np.ndarray]:
    """Each component moved with its group's expected day (a day the group had nothing
    expected for is split like the total's)."""
    out = {}
    ratio = np.divide(after, before, out=np.zeros(len(after)), where=before > 0)
    total_share = {c: np.divide(total.components[c], total.point,
                                out=np.zeros(len(after)), where=total.point > 0)
                   for c in COMPONENTS}
    for c in COMPONENTS:
        out[c] = np.where(before > 0, components[c] * ratio, after * total_share[c])
    return out


def forecast_groups(
    base: SpendSimulation,
    histories: Mapping[Key, DailyHistory],
    span: Horizon,
    what_if: WhatIf = WhatIf(),  # noqa: B008 - frozen, so a shared default is safe
    labels: Sequence[str] = (),
    n_sims: int = N_SIMS,
    steps: Mapping[Key, Sequence[PriceStep]] | None = None,
    method: str = METHOD_NAME,
) -> tuple[SpendSimulation, list[Decimal],
           list[tuple[Key, SpendForecast, str | None, Decimal]]]:
    """Each group forecast on its own history (price steps applied), then reconciled with
    `base` (the total's simulation): the total's simulation and days in money as reconciled,
    and per group (key, forecast, why the model could not fit it, its own expected rest
    before reconciling)."""
    keys, sims, problems = [], [], []
    for key, series in histories.items():
        seed = zlib.crc32("/".join(key).encode())
        week = _borrowed_week(base, series)
        seen = _deseasonalised(series, week) if week is not None else series
        try:
            sim = simulate_spend(seen, span, what_if, None, n_sims=n_sims, seed=seed,
                                 fallback=base.ratios)
            problem = None
        except InputError as exc:
            sim = apply_what_if(short_history_simulation(seen, span.days, n_sims, seed,
                                                         base.ratios), what_if)
            problem = str(exc)
        if week is not None:
            sim = _reseasonalised(sim, week, span)
        keys.append(key)
        sims.append(apply_steps(sim, (steps or {}).get(key, [])))
        problems.append(problem)
    total, moved, money, total_money = reconcile(base, sims, method)
    out = []
    for key, own, sim, days, problem in zip(keys, sims, moved, money, problems, strict=True):
        fc = summarise(sim, histories[key], span, None, labels, None, what_if, n_sims, days)
        own_rest = sum((as_money(v) for v in own.point), ZERO)
        out.append((key, fc, problem, own_rest))
    return total, total_money, out


YOUNG_DAYS = 14     # under two weeks since its first spend, a group has no weekly cycle of its own


def _borrowed_week(base: SpendSimulation, series: DailyHistory) -> np.ndarray | None:
    """The total's weekday factors (Monday first) for a young group, when the total has some."""
    fit = base.fit
    if fit is None or not fit.seasonal or not series.days or min(fit.weekly) <= 0.05:
        return None
    total = series.total
    first = next((i for i, v in enumerate(total) if v > 0), len(total))
    return fit.weekly if 0 < len(total) - first < YOUNG_DAYS else None


def _deseasonalised(series: DailyHistory, week: np.ndarray) -> DailyHistory:
    """`series` with each day divided by its weekday's factor (what the model then sees)."""
    factor = [Decimal(repr(float(week[d.weekday()]))) for d in series.days]
    return replace(series, components={
        c: tuple(v / f for v, f in zip(series.components[c], factor, strict=True))
        for c in COMPONENTS})


def _reseasonalised(sim: SpendSimulation, week: np.ndarray, span: Horizon) -> SpendSimulation:
    """The forecast of a deseasonalised group back on the weekdays of the horizon."""
    first = span.as_of.weekday()
    factor = week[(first + np.arange(len(sim.point))) % 7]
    return replace(sim, point=sim.point * factor,
                   paths=sim.paths * factor[None, :] if sim.paths.size else sim.paths,
                   components={c: v * factor for c, v in sim.components.items()},
                   description=sim.description + "; the account's weekly profile (too young "
                   "for its own)")
