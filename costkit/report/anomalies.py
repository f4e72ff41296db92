"""Anomalies: days of the month on which the account, a project or a model spent far more
than the forecast model expected from the days before.

Each day is checked one step ahead: `costkit.forecast.model` is fitted on the group's daily
spend before that day (at most `HISTORY_DAYS`) and simulated one day on (only for a day
above every day of the four weeks before it: a cheap test that keeps the fits few); it is an
anomaly when its spend is above the simulation's `UPPER` quantile, at least `MIN_MULTIPLE`
times the expectation, and the excess is at least `MIN_SHARE` of the month's spend (so a
cent-sized project doubling is not news). What drove it is the component (and, for the
account or a model, the project) whose spend rose most above its own last seven days.
The model's numbers are floats, estimates; the day's actual spend stays exact Decimal.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import polars as pl

from costkit.core.components import COMPONENTS, Component
from costkit.forecast.model import TooLittleHistory, fit, simulate
from costkit.report.data import NONE_LABEL, Anomaly

HISTORY_DAYS = 35          # five weeks before the month: a weekly profile from its first day
UPPER = 0.99               # the upper bound a day must pass
MIN_MULTIPLE = Decimal(2)  # ... and be at least this many times what was expected
MIN_SHARE = Decimal("0.005")  # ... by at least 0.5% of the month's spend
GROUPS_PER_DIMENSION = 8   # the largest projects and models are checked, one fit per day each
N_SIMS = 1000
SEED = 0                   # fixed: the same store gives the same page
DRIVER_DAYS = 7            # what drove a day: its rise over the mean of the days before
LIMIT = 10                 # anomalies listed
RECENT_MAX_DAYS = 28       # a day is fitted only when above every day of these weeks before


def history_start(month: date) -> date:
    """The first day the anomaly check reads (one grouped query from there)."""
    return month - timedelta(days=HISTORY_DAYS)


def month_anomalies(rows: pl.DataFrame, month: date, covered: int,
                    month_total: Decimal | None) -> list[Anomaly]:
    """Anomalies among days 1..`covered` of `month` in breakdown `rows` grouped by day,
    project and model, from `history_start(month)` on (unpriced rows are left out: the page
    lists them elsewhere). Largest excess first."""
    rows = rows.filter(pl.col("total_cost").is_not_null())
    if not rows.height or not month_total or covered <= 0:
        return []
    start = history_start(month)
    n_days = (month - start).days + covered
    index = {f"{start + timedelta(days=i):%Y-%m-%d}": i for i in range(n_days)}
    rows = rows.with_columns(
        pl.col("day").replace_strict(index, default=None, return_dtype=pl.Int64).alias("_i"),
        pl.col("project").fill_null(NONE_LABEL), pl.col("model").fill_null(NONE_LABEL),
    ).filter(pl.col("_i").is_not_null())
    found: list[Anomaly] = []
    for dim, key, part in _groups(rows):
        found += _check(dim, key, part, start, month, n_days, month_total, rows)
    return _one_per_day_and_group(found)[:LIMIT]


def _groups(rows: pl.DataFrame) -> list[tuple[str, str, pl.DataFrame]]:
    """The account, then the largest projects and models (a dimension with one key is the
    account again, so it is skipped)."""
    out = [("account", "all usage", rows)]
    for dim in ("project", "model"):
        spend = (rows.group_by(dim).agg(pl.col("total_cost").sum())
                 .sort(["total_cost", dim], descending=[True, False]))
        if spend.height < 2:
            continue
        for key in spend[dim].head(GROUPS_PER_DIMENSION).to_list():
            out.append((dim, key, rows.filter(pl.col(dim) == key)))
    return out


def _check(dim: str, key: str, part: pl.DataFrame, start: date, month: date, n_days: int,
           month_total: Decimal, rows: pl.DataFrame) -> list[Anomaly]:
    exact = [Decimal(0)] * n_days
    for i, cost in part.group_by("_i").agg(pl.col("total_cost").sum()).iter_rows():
        exact[i] = cost
    series = np.array([float(v) for v in exact])
    first = (month - start).days
    out = []
    for i in range(first, n_days):
        actual = exact[i]
        if actual <= 0 or actual < MIN_SHARE * month_total:
            continue
        if actual <= max(exact[max(0, i - RECENT_MAX_DAYS):i], default=Decimal(0)):
            # Not above every one of the four weeks before: within what the history shows
            # (the fitted bound resamples those days' own noise), so no fit is needed.
            continue
        day = start + timedelta(days=i)
        try:
            model = fit(series[:i], start.weekday())
        except TooLittleHistory:
            continue
        ahead = simulate(model, 1, n_sims=N_SIMS, seed=SEED)
        expected = _decimal(float(ahead.point[0]))
        upper = _decimal(float(np.quantile(ahead.paths[:, 0], UPPER)))
        if actual <= upper or actual < MIN_MULTIPLE * expected \
                or actual - expected < MIN_SHARE * month_total:
            continue
        component, c_rise = _driver(part, i, _component_costs)
        project, p_rise = (None, None) if dim == "project" else _driver(part, i, _project_costs)
        out.append(Anomaly(day=day, dim=dim, key=key, actual=actual, expected=expected,
                           upper=upper, component=component, component_rise=c_rise,
                           project=project, project_rise=p_rise))
    return out


def _component_costs(frame: pl.DataFrame) -> dict:
    return {c: sum(frame[c.cost_column].to_list(), Decimal(0)) for c in COMPONENTS}


def _project_costs(frame: pl.DataFrame) -> dict:
    return dict(frame.group_by("project").agg(pl.col("total_cost").sum()).iter_rows())


def _driver(part: pl.DataFrame, i: int, costs) -> tuple:
    """The key whose spend on day i rose most over its mean of the DRIVER_DAYS before."""
    today = costs(part.filter(pl.col("_i") == i))
    before = costs(part.filter(pl.col("_i").is_between(i - DRIVER_DAYS, i - 1)))
    rises = {k: v - before.get(k, Decimal(0)) / DRIVER_DAYS for k, v in today.items()}
    if not rises:
        return None, None
    key = max(rises, key=lambda k: (rises[k], str(k) if not isinstance(k, Component)
                                    else -COMPONENTS.index(k)))
    return (key, rises[key]) if rises[key] > 0 else (None, None)


def _one_per_day_and_group(found: list[Anomaly]) -> list[Anomaly]:
    """The account's anomaly on a day is dropped when a project or model explains it."""
    explained = {a.day for a in found if a.dim != "account"}
    kept = [a for a in found if a.dim != "account" or a.day not in explained]
    return sorted(kept, key=lambda a: (-a.excess, a.day, a.dim, a.key))


def _decimal(value: float) -> Decimal:
    """A model estimate as money, to a millionth (it is an estimate, not a ledger amount)."""
    return Decimal(f"{max(value, 0.0):.6f}")
