"""The monthly report's data model: what the page shows, computed once from the store.

Shared by the builder (`costkit.report.monthly`), the figures and the page
(`costkit.report.figures`, `costkit.report.html`): the component and grouping names, how
many rows a chart shows, the report's dataclasses and the month arithmetic. It imports no
other report module, so the arrows run one way: monthly -> html -> figures -> data.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import polars as pl

from costkit.core import components as cost_components
from costkit.core.components import Component
from costkit.core.format import count, signed_money
from costkit.pricing.cards import Card
from costkit.spend.coverage import MonthCoverage

if TYPE_CHECKING:
    from costkit.budgets.check import MonthBudgets
    from costkit.forecast.projection import PeriodForecast

# Cost components in page order, with the names people read.
COMPONENTS = {c.cost_column: c.label for c in cost_components.COMPONENTS}
GROUPINGS = {"project": "Project", "model": "Model", "api_key": "API key", "endpoint": "Endpoint"}
# Rows shown per "by" chart before the rest are folded into "other" (the issue: top 10 keys).
TOP_ROWS = {"project": 15, "model": 15, "api_key": 10, "endpoint": 15}
# How the page counts the keys of a grouping (and names those folded into "other").
PLURALS = {"project": "projects", "model": "models", "api_key": "API keys",
           "endpoint": "endpoints"}
NONE_LABEL = "(none)"


@dataclass(frozen=True)
class Headline:
    """The figures at the top of the page. Money in Decimal; shares as Decimal fractions."""

    total: Decimal | None            # the month's spend; priced usage only when not `complete`
    complete: bool                   # every request of the month was priced
    currency: str | None
    previous_total: Decimal | None   # None when the previous month has no priced usage
    previous_complete: bool          # every request of the previous month was priced
    change: Decimal | None
    change_pct: Decimal | None       # None when the previous month spent nothing
    requests: int
    priced_requests: int
    cost_per_1k: Decimal | None
    cache_hit_share: Decimal | None  # cached input tokens / input tokens
    reasoning_share: Decimal | None  # reasoning cost / (output + reasoning cost)
    search_cost: Decimal | None
    search_calls: int
    unpriced_models: tuple[str, ...] = ()
    # What the change compares with the previous month: "month" (two whole months),
    # "projected" (this month's forecast total) or "same days" (the days 1..compared_days of
    # both months, when this month's data stops before its end).
    change_basis: str = "month"
    compared_days: int | None = None     # with "same days": how many (of the previous month)
    # The store's usage begins inside the compared part of the previous month, so that
    # part is short of days too (None: it is covered from its first day).
    previous_data_from: date | None = None


# --- the explaining sections (report.variance, report.anomalies) ---

@dataclass(frozen=True)
class Change:
    """One group's change between the two compared periods."""

    dim: str                       # project, api_key, model, or "component"
    key: str                       # the group (NONE_LABEL for a missing key) or component label
    before: Decimal | None         # priced spend in the earlier period (None: none priced)
    after: Decimal | None
    change: Decimal | None         # after - before; None when either side is wholly unpriced
    status: str                    # "new" (no usage before), "gone" (none after), or ""
    requests: int                  # change in requests
    driver: Component | None       # the component whose cost moved most
    driver_change: Decimal | None
    quantity: int                  # change in the driver's quantity (tokens or calls)
    unpriced: bool = False         # some usage on either side has no price: priced part only

    def sentence(self, currency: str | None) -> str:
        """'search-bot +$10.77: web search +$9.80, 653 more calls' (new / gone said first)."""
        head = f"{self.key} {signed_money(self.change, currency)}" if self.change is not None \
            else f"{self.key}: unpriced"
        if self.status:
            head += f" ({self.status})"
        if self.driver is None or self.driver_change is None:
            return head + _requests_clause(self.requests)
        if self.dim == "component":
            return head + _quantity_clause(self.quantity, self.driver.unit)
        return (f"{head}: {self.driver.label.lower()} "
                f"{signed_money(self.driver_change, currency)}"
                f"{_quantity_clause(self.quantity, self.driver.unit)}")


@dataclass(frozen=True)
class Variance:
    """The month against the previous month's compared days."""

    since: date                    # the earlier period [since, until)
    until: date
    compared_days: int | None      # None: two whole months; else days 1..N of each
    before: Decimal | None         # priced totals of each side
    after: Decimal | None
    change: Decimal | None
    by: dict[str, list[Change]]    # dimension -> changes, largest absolute change first

    def largest(self) -> list[Change]:
        """The first change of each dimension: the section's summary."""
        return [rows[0] for rows in self.by.values() if rows]


@dataclass(frozen=True)
class Anomaly:
    day: date
    dim: str                       # "account", "project" or "model"
    key: str
    actual: Decimal                # the day's priced spend (exact)
    expected: Decimal              # the model's expectation for the day (an estimate)
    upper: Decimal                 # the UPPER quantile of its one-day-ahead simulation
    component: Component | None    # the component whose spend rose most
    component_rise: Decimal | None
    project: str | None            # for the account or a model: the project that rose most
    project_rise: Decimal | None

    @property
    def excess(self) -> Decimal:
        return self.actual - self.expected

    @property
    def multiple(self) -> Decimal | None:
        return self.actual / self.expected if self.expected > 0 else None


@dataclass(frozen=True)
class CacheSaving:
    """Cached input of one model: what it cost and what it would have cost uncached."""

    model: str
    cached_tokens: int
    cost: Decimal | None             # what the cached tokens cost (None: unpriced)
    saved: Decimal | None            # at the input rate minus `cost` (None: see `why_not`)
    why_not: str = ""


@dataclass(frozen=True)
class Rejects:
    """Rejected records attributed to the month, by reason, and a few examples."""

    by_reason: pl.DataFrame          # reason, by_time, by_ingest, total
    samples: pl.DataFrame            # source_file, line, format, reason, raw, attributed
    by_time: int                     # rejects whose record time falls in the month
    by_ingest: int                   # rejects without a readable time, from ingests covering it

    @property
    def total(self) -> int:
        return self.by_time + self.by_ingest


@dataclass(frozen=True)
class MonthlyReport:
    """Everything the page shows, computed once from the store."""

    month: date                      # the first day
    tz: str
    start: datetime                  # the month as UTC instants [start, end)
    end: datetime
    generated_at: datetime
    over: bool                       # the month had ended when the report was made
    month_row: dict                  # breakdown.totals over the month: `costkit report`'s row
    previous_row: dict | None        # the same for the previous month (None: no usage)
    headline: Headline
    # Rollup per day, every day of the month: zeros on a day without usage, null costs and
    # `covered` false on a day after the store's data ends (no data is not $0).
    daily: pl.DataFrame
    groups: dict[str, pl.DataFrame]  # rollups per project, model, api_key, endpoint (top N)
    quantiles: pl.DataFrame          # quantile, cost
    concentration: dict[Decimal, dict]
    top_requests: pl.DataFrame
    unpriced: pl.DataFrame
    rejects: Rejects
    cards: list[Card]
    coverage: MonthCoverage          # how far the store's usage reaches into the month
    source: str = ""                 # the store the page was made from
    # The rest of a month that is not over, from `costkit.forecast.projection`: day,
    # expected (beyond what the day already spent), day_expected, low and high (the day's
    # 80% range).
    projection: pl.DataFrame | None = None
    forecast: PeriodForecast | None = None   # the month's projected total and its ranges
    notes: list[str] = field(default_factory=list)
    budgets: MonthBudgets | None = None      # costkit.toml's budgets (costkit.report.budgets)
    variance: Variance | None = None         # what changed since the previous month
    anomalies: list[Anomaly] = field(default_factory=list)
    # Rows that stand for many requests (an OpenAI usage bucket): counted in every total,
    # left out of the per-request sections (top requests, percentiles, concentration).
    aggregate_rows: int = 0
    aggregate_requests: int = 0
    # Per model: what its cached input tokens saved against its card's input rate (only
    # models whose card discounts cached input), or why it could not be said.
    cache_savings: list[CacheSaving] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{calendar.month_name[self.month.month]} {self.month.year}"

    @property
    def key(self) -> str:
        return f"{self.month:%Y-%m}"


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


def _quantity_clause(quantity: int, unit: str) -> str:
    if quantity == 0:
        return ""
    return f", {count(abs(quantity))} {'more' if quantity > 0 else 'fewer'} {unit}"


def _requests_clause(requests: int) -> str:
    return "" if requests == 0 else _quantity_clause(requests, "requests").replace(", ", ": ", 1)

