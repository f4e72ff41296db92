"""The figures at the top of the monthly page (`Headline`): the month's total and what it
is compared with (the previous month, the same days of it, or the month's projected total).
"""

from __future__ import annotations

import calendar
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import polars as pl

from costkit.core.timezones import zone
from costkit.report.data import Headline, previous_month
from costkit.report.rollups import rollup
from costkit.spend.coverage import MonthCoverage

if TYPE_CHECKING:
    from costkit.forecast.projection import PeriodForecast


def month_headline(month: pl.DataFrame, previous: pl.DataFrame, rows: pl.DataFrame,
              currency: str | None) -> Headline:
    row = month.row(0, named=True)
    prev = previous.row(0, named=True) if previous.height and previous["requests"][0] else None
    complete = row["unpriced_requests"] == 0
    total = row["total_cost"]
    previous_total = prev["total_cost"] if prev else None
    change = change_pct = None
    if total is not None and previous_total is not None:
        change = total - previous_total
        change_pct = (change / previous_total * 100) if previous_total else None
    priced_requests = row["requests"] - row["unpriced_requests"]
    output_side = _sum_or_none(row["output_cost"], row["reasoning_cost"])
    unpriced_models = (rows.filter(pl.col("total_cost").is_null()
                                   | (pl.col("currency") != pl.lit(currency)))
                       ["model"].unique().sort().to_list())
    return Headline(
        total=total,
        complete=complete,
        currency=currency,
        previous_total=previous_total,
        previous_complete=bool(prev) and prev["unpriced_requests"] == 0,
        change=change,
        change_pct=change_pct,
        requests=row["requests"],
        priced_requests=priced_requests,
        cost_per_1k=(total / priced_requests * 1000) if total is not None and priced_requests
        else None,
        cache_hit_share=(Decimal(row["cached_input_tokens"]) / row["input_tokens"])
        if row["input_tokens"] else None,
        reasoning_share=(row["reasoning_cost"] / output_side) if output_side else None,
        search_cost=row["search_cost"],
        search_calls=row["search_calls"],
        unpriced_models=tuple(str(m) for m in unpriced_models),
    )


def change_projected(headline: Headline, forecast: PeriodForecast) -> Headline:
    """A running month with a projection compares its projected total with the previous
    month's: a part of a month against a whole one would read as a fall."""
    previous = headline.previous_total
    if previous is None:
        return replace(headline, change=None, change_pct=None, change_basis="projected")
    change = forecast.projected_total - previous
    return replace(headline, change=change,
                   change_pct=(change / previous * 100) if previous else None,
                   change_basis="projected")


def same_days(coverage: MonthCoverage) -> tuple[date, date, int | None]:
    """The previous month's part a month is compared with: [since, until) and N, the days
    1..N of both months (None: the whole previous month). A month whose data stops early
    (or that is still running) is compared on the days its data covers (all of a shorter
    previous month); a complete month with the whole previous month. The one definition
    of "the same days", for the headline's change and the variance section alike."""
    before = previous_month(coverage.month)
    if coverage.complete:
        return before, coverage.month, None
    n = min(coverage.covered, calendar.monthrange(before.year, before.month)[1])
    return before, before + timedelta(days=n), n


def change_same_days(headline: Headline, rows: pl.DataFrame, compared_days: int,
                     currency: str | None) -> Headline:
    """A month whose data stops early (and has no projection) is compared with the same
    days of the previous month (`same_days`), whose breakdown `rows` are. The month's own
    usage ends there, so its total is those days."""
    prev = rollup(rows, None, currency)
    prev_row = prev.row(0, named=True) if prev.height and prev["requests"][0] else None
    previous_total = prev_row["total_cost"] if prev_row else None
    change = change_pct = None
    if headline.total is not None and previous_total is not None:
        change = headline.total - previous_total
        change_pct = (change / previous_total * 100) if previous_total else None
    return replace(
        headline, previous_total=previous_total,
        previous_complete=bool(prev_row) and prev_row["unpriced_requests"] == 0,
        change=change, change_pct=change_pct, change_basis="same days",
        compared_days=compared_days)


def previous_data_from(headline: Headline, coverage: MonthCoverage, tz: str) -> Headline:
    """Note when the store's usage begins after the first day of the previous month's
    compared part: that part is short of days, and the change says so."""
    if headline.previous_total is None:
        return headline
    first = coverage.data_start.astimezone(zone(tz)).date()
    return replace(headline, previous_data_from=first) if first > previous_month(
        coverage.month) else headline


def _sum_or_none(*values: Decimal | None) -> Decimal | None:
    if any(v is None for v in values):
        return None
    return sum(values, Decimal(0))
