"""Group forecasts that add up to the total's: `costkit forecast --by project` (or key, model).

Each group is forecast on its own history, and so is the total; left alone their expected
values disagree (the demo store's projects summed to $1.09 more than its total). The groups
are reconciled top-down, weighted by variance:

- The total stays as it is. It is the best-measured series (every group's noise averages out
  in it), `costkit forecast` without `--by` and the budgets and monthly page show it, and it
  must not change with how the user happens to slice the spend.
- Each forecast day, the gap between the total and the groups' sum is shared among the groups
  in proportion to the variance of their simulated day: the group whose own forecast is least
  certain absorbs most of it, a clockwork group barely moves. This is MinT reconciliation with
  a diagonal covariance (Wickramasuriya, Athanasopoulos and Hyndman, 2019) in the limit where
  the total's own variance is taken as nil. No group is pushed below zero: what a group
  cannot give up is shared among the others.
- A group's simulated days move with its expected day, so its intervals stay around it.
- In money, each day is rounded to $0.0001 once and the rounding residual (under $0.0001 a
  group) goes to that day's largest group, so every day, month and horizon of the groups
  adds up to the total's exactly (actual spend is exact Decimal in both).

A group with too little history for the model (a project that started yesterday) still
takes part: its expected day is its mean day since its first spend, its simulated days are
its own days resampled, and reconciliation gives it a share of the gap like any other.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal

import numpy as np

from costkit.core.errors import InputError
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

METHOD = ("top-down by variance: the total is kept, and each day's gap between it and the "
          "groups' sum is shared among the groups in proportion to their forecast variance")


def short_history_simulation(history: DailyHistory, horizon_days: int, n_sims: int,
                             seed: int) -> SpendSimulation:
    """The forecast of a group with too little history for the model: its mean day since its
    first spend, simulated by resampling those days (wide, as it should be)."""
    total = np.array([float(v) for v in history.total])
    spent = np.flatnonzero(total > 0)
    days = total[spent[0]:] if len(spent) else np.zeros(1)
    mean = float(days.mean())
    point = np.full(horizon_days, mean)
    rng = np.random.default_rng(seed)
    paths = rng.choice(days, size=(max(n_sims, 0), horizon_days), replace=True)
    sums = {c: float(sum(history.components[c], ZERO)) for c in COMPONENTS}
    whole = sum(sums.values())
    components = {c: point * (sums[c] / whole if whole else 0.0) for c in COMPONENTS}
    n = len(spent)
    return SpendSimulation(None, point, paths, components, "mean day",
                           f"too little history for the model ({n} day(s) with spend): its "
                           f"mean day over the {len(days)} day(s) since its first spend")


def reconcile(total: SpendSimulation, groups: Sequence[SpendSimulation]
              ) -> tuple[list[SpendSimulation], list[list[Decimal]], list[Decimal]]:
    """The groups' simulations moved so their expected days add up to the total's, with
    each group's days in money (rounded) and the total's, which they add up to exactly."""
    h = len(total.point)
    if not groups:
        return [], [], [as_money(v) for v in total.point]
    point = np.vstack([g.point for g in groups]).astype(np.float64)     # (groups, h)
    variance = np.vstack([g.paths.var(axis=0) if g.paths.size else np.zeros(h)
                          for g in groups])
    moved = np.empty_like(point)
    for d in range(h):
        moved[:, d] = _share_gap(point[:, d], variance[:, d], float(total.point[d]))
    total_money = [as_money(v) for v in total.point]
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
    return out, group_money, total_money


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
) -> list[tuple[Key, SpendForecast, str | None, Decimal]]:
    """Each group forecast on its own history (price steps applied), then reconciled to add
    up to `base` (the total's simulation): (key, forecast, why the model could not fit it,
    its own expected rest before reconciling) per group."""
    keys, sims, problems = [], [], []
    for key, series in histories.items():
        seed = zlib.crc32("/".join(key).encode())
        try:
            sim = simulate_spend(series, span, what_if, None, n_sims=n_sims, seed=seed)
            problem = None
        except InputError as exc:
            sim = apply_what_if(short_history_simulation(series, span.days, n_sims, seed),
                                what_if)
            problem = str(exc)
        keys.append(key)
        sims.append(apply_steps(sim, (steps or {}).get(key, [])))
        problems.append(problem)
    moved, money, _ = reconcile(base, sims)
    out = []
    for key, own, sim, days, problem in zip(keys, sims, moved, money, problems, strict=True):
        fc = summarise(sim, histories[key], span, None, labels, None, what_if, n_sims, days)
        own_rest = sum((as_money(v) for v in own.point), ZERO)
        out.append((key, fc, problem, own_rest))
    return out
