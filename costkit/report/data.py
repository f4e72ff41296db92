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
