"""Budgets against spend: each costkit.toml budget's month to date, its projection to the
month's end and its status (`costkit budget check`, the monthly page's budget section).

Spend comes from `costkit.spend.breakdown.spend` (exact, the figures `costkit report`
shows), per local day and model in the budget's scope; the projection is
`costkit.forecast.projection.forecast_spend` over that scope's daily history, the month
projection the monthly page makes. How far the data reaches is `costkit.spend.coverage`'s
freshness, as `costkit forecast --budget` judges it: a budget read from stale data is not
trusted either way.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import duckdb

from costkit.core import clock
from costkit.core.config import Budget
from costkit.core.errors import InputError
from costkit.core.timezones import canonical, local_instant, zone
from costkit.forecast.horizon import month_end, parse_horizon
from costkit.forecast.projection import forecast_spend
from costkit.forecast.series import daily_history
from costkit.pricing.book import PriceBook
from costkit.spend import breakdown
from costkit.spend.coverage import STALE_AFTER, Freshness, freshness

OK, PROJECTED_OVER, OVER = "ok", "projected-over", "over"
ZERO = Decimal(0)


@dataclass(frozen=True)
class BudgetRow:
    """One budget in one month."""

    budget: Budget
    spent: Decimal                  # priced spend in scope, from the 1st to the check instant
    projected: Decimal | None       # to the month's end (a past month: its spend); None: none
    status: str                     # ok, projected-over or over
    left_out: int = 0               # requests in scope not in `spent` (unpriced, or priced in
                                    # another currency than the budget's)
    left_out_models: tuple[str, ...] = ()
    note: str | None = None         # why there is no projection

    @property
    def remaining(self) -> Decimal:
        return self.budget.monthly - self.spent


@dataclass(frozen=True)
class MonthBudgets:
    month: date                     # the first day
    tz: str
    as_of: datetime                 # spend is counted up to this instant (now, or the end)
    running: bool                   # the month is not over (spent is to date, projected)
    freshness: Freshness            # the newest usage at `as_of`, and whether it is stale
    rows: tuple[BudgetRow, ...]

    @property
    def stale(self) -> bool:
        return self.freshness.stale

    def as_dicts(self) -> list[dict]:
        """One dict per budget, for a JSON line each (money as Decimal, instants ISO)."""
        local = zone(self.tz)
        through = self.freshness.newest
        return [{
            "name": r.budget.name, "scope": r.budget.scope, "match": r.budget.match,
            "currency": r.budget.currency, "budget": r.budget.monthly, "month":
            f"{self.month:%Y-%m}", "spent": r.spent, "projected": r.projected,
            "status": r.status, "unpriced_requests": r.left_out,
            "as_of": self.as_of.astimezone(local).isoformat(),
            "data_through": through.astimezone(local).isoformat() if through else None,
            "stale": self.stale, "note": r.note,
        } for r in self.rows]


def check_budgets(
    con: duckdb.DuckDBPyConnection,
    budgets: Sequence[Budget],
    tz: str = "UTC",
    book: PriceBook | None = None,
    month: date | None = None,
    now: datetime | None = None,
    stale_after: timedelta = STALE_AFTER,
) -> MonthBudgets:
    """Every budget in `month` (its first day; default: the current month in `tz`).

    A month not over: spend from its 1st to now, projected to its end. A month over: its
    whole spend, which is also its projection. InputError for a month not begun.
    """
    tz = canonical(tz)
    now = now or clock.now()
    today = now.astimezone(zone(tz)).date()
    month = month or today.replace(day=1)
    start = local_instant(month, tz)
    end = local_instant(month_end(month) + timedelta(days=1), tz)
    if start > now:
        raise InputError(f"--month {month:%Y-%m} has not begun ({tz}); nothing to check yet")
    running = now < end
    as_of = now if running else end
    fresh = freshness(con, as_of, stale_after)
    frames: dict[str | None, list[dict]] = {}
    for dim in dict.fromkeys(b.dimension for b in budgets):
        # A running month reads the whole history before it too: the forecast fits on it.
        frames[dim] = _daily_rows(con, dim, None if running else month, as_of, tz, book)
    rows = tuple(_row(b, frames[b.dimension], month, today if running else None)
                 for b in budgets)
    return MonthBudgets(month, tz, as_of, running, fresh, rows)


def _daily_rows(con: duckdb.DuckDBPyConnection, dim: str | None, since: date | None,
                until: datetime, tz: str, book: PriceBook | None) -> list[dict]:
    """Spend per (day, model[, dim]) before `until`: one unpriced model never blanks the
    rest of a day (as the forecast's history and the monthly page split it)."""
    by = ["day", "model", *([dim] if dim else [])]
    with warnings.catch_warnings():
        # Unpriced usage is counted per budget and said by the caller.
        warnings.simplefilter("ignore", breakdown.UnpricedUsageWarning)
        frame = breakdown.spend(con, by, since=since, until=until, tz=tz, book=book)
    return list(frame.iter_rows(named=True))


def _row(budget: Budget, rows: list[dict], month: date, today: date | None) -> BudgetRow:
    """The budget's figures from its dimension's rows; `today` None: the month is over."""
    dim = budget.dimension
    mine = [r for r in rows if dim is None or r[dim] == budget.match]
    first = f"{month:%Y-%m-%d}"
    priced = [r for r in mine if r["total_cost"] is not None
              and r["currency"] == budget.currency]
    left = [r for r in mine if r["day"] >= first and not (
        r["total_cost"] is not None and r["currency"] == budget.currency)]
    spent = sum((r["total_cost"] for r in priced if r["day"] >= first), ZERO)
    left_out = sum(int(r["requests"]) for r in left)
    models = tuple(sorted({str(r["model"]) for r in left}))
    projected, note = spent, None
    if today is not None:
        projected, note = _projection(priced, today, spent)
    amount = budget.monthly
    status = OVER if spent > amount else (
        PROJECTED_OVER if projected is not None and projected > amount else OK)
    return BudgetRow(budget, spent, projected, status, left_out, models, note)


def _projection(priced: list[dict], today: date, spent: Decimal) -> tuple[Decimal | None,
                                                                          str | None]:
    """Month-end spend: the forecast of the month (actuals before today, the expected rest
    from today on), with today's expected spend raised to what today has already spent."""
    history = daily_history(priced, today)   # the days before today
    try:
        fc = forecast_spend(history, parse_horizon("eom", today), n_sims=0)
    except InputError as exc:
        return None, f"no projection: {exc}"
    key = f"{today:%Y-%m-%d}"
    spent_today = sum((r["total_cost"] for r in priced if r["day"] == key), ZERO)
    expected_today = next(d.expected for d in fc.daily if d.day == today)
    projected = fc.periods[0].projected_total + max(spent_today - expected_today, ZERO)
    return max(projected, spent), None
