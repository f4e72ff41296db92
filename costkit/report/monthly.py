"""The monthly spend report: one month of the store, shaped for a self-contained HTML page.

Every spend figure comes from `costkit.spend.breakdown` (the queries behind `costkit report`), so
the page and the CLI agree to the last digit. This module picks the month, calls those
queries, and builds the report (`costkit.report.data`) from their results: zero-filled days
and top N plus "other" (`rollups`), the headline (`headline`), the data-quality section
(`rejects`), the projection and the price cards in effect. The plotly figures live in
`figures` and the page itself in `html`; `write_monthly_report` ties them up.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl

from costkit.core import clock
from costkit.core.config import Budget
from costkit.core.errors import InputError
from costkit.core.output_file import ensure_dir, write_file
from costkit.core.timezones import canonical, local_instant, zone
from costkit.forecast.history import load_history
from costkit.forecast.horizon import parse_horizon
from costkit.forecast.projection import PeriodForecast, forecast_spend
from costkit.pricing.book import PriceBook, load_price_book
from costkit.pricing.cards import Card
from costkit.report.anomalies import history_start, month_anomalies
from costkit.report.budgets import month_budgets
from costkit.report.cache import cache_savings
from costkit.report.data import (
    GROUPINGS,
    PLURALS,
    TOP_ROWS,
    MonthlyReport,
    next_month,
    previous_month,
)
from costkit.report.headline import (
    change_projected,
    change_same_days,
    month_headline,
    previous_data_from,
    same_days,
)
from costkit.report.rejects import month_rejects
from costkit.report.rollups import every_day, main_currency, ranked, rollup, top_with_other
from costkit.report.single import aggregate_rows, single_requests
from costkit.report.variance import month_variance
from costkit.spend import breakdown
from costkit.spend.coverage import describe_age, month_coverage, usage_span
from costkit.spend.distribution import request_costs

TOP_REQUESTS = 20
# The month's second scan: every (project, key, endpoint, model) once.
WHO = ["project", "api_key", "endpoint", "model"]
# The cost-per-request curve: every percentile, plus the far tail where the money hides.
QUANTILES = tuple(i / 100 for i in range(101)) + (0.995, 0.999, 0.9999)
# Bands of the concentration chart: the most expensive 1% of requests against the rest.
TOP_FRACTIONS = (Decimal("0.01"),)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> date:
    """'YYYY-MM' -> the month's first day; InputError otherwise."""
    match = _MONTH.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InputError(f"--month is {text!r}; write it as YYYY-MM, e.g. 2026-10")
    return date(int(match.group(1)), int(match.group(2)), 1)


def last_full_month(tz: str = "UTC", now: datetime | None = None) -> date:
    """The calendar month before the current one in `tz`: what a month-end report is about."""
    today = (now or clock.now()).astimezone(zone(tz)).date()
    return previous_month(today.replace(day=1))


def latest_full_month_in_store(con: duckdb.DuckDBPyConnection, tz: str = "UTC") -> date | None:
    """The latest month whose end the store's usage reaches past (None if there is none).

    The usage must run beyond the month's end, so a month whose logs stop early, like the
    current one, is not "full". A store whose newest usage lies in its first month has none.
    """
    newest, oldest = con.execute("SELECT max(ts), min(ts) FROM usage").fetchone()
    if newest is None:
        return None
    local = newest.astimezone(zone(tz)).date().replace(day=1)
    month = previous_month(local)
    return month if oldest.astimezone(zone(tz)).date() < next_month(month) else None


def build_monthly_report(
    con: duckdb.DuckDBPyConnection,
    month: date,
    tz: str = "UTC",
    book: PriceBook | None = None,
    now: datetime | None = None,
    source: str = "",
    budgets: Sequence[Budget] = (),
) -> MonthlyReport:
    """Compute the page's content for `month` (local to `tz`) from the store.

    Every figure is a sum of `breakdown.spend` rows, which are exact, so the page equals
    `costkit report` to the last digit. InputError when the store holds no usage in that
    month (an empty page would hide the gap rather than show it).
    """
    tz = canonical(tz)
    book = book if book is not None else load_price_book()
    now = now or clock.now()
    start_day, end_day = month, next_month(month)
    start, end = _utc_instant(start_day, tz), _utc_instant(end_day, tz)
    span = {"since": start_day, "until": end_day, "tz": tz, "book": book}
    with warnings.catch_warnings():
        # The page shows unpriced usage in its own section; the warning is for the CLI.
        warnings.simplefilter("ignore", breakdown.UnpricedUsageWarning)
        # Two scans of the month feed every figure. Both split by model, so one unpriced
        # model leaves the rest of a day or a project priced instead of nulling it; the
        # first, by day and project too, also reads the weeks before the month, which the
        # anomaly check fits its expectations on; the second holds each (project, key,
        # endpoint) combination once, which real usage keeps small (keys belong to projects).
        recent = breakdown.spend(con, ["day", "project", "model"],
                                 since=history_start(month), until=end_day, tz=tz, book=book)
        days = recent.filter(pl.col("day") >= f"{start_day:%Y-%m-%d}")
        if days.height == 0:
            raise InputError(_no_usage_message(con, month, tz))
        who = breakdown.spend(con, WHO, **span)
        data_start, data_end = usage_span(con)  # the month has usage, so the store has some
        coverage = month_coverage(month, tz, now, data_start, data_end, end)
        # The previous month's compared days, split like `who` for the variance section;
        # for a complete month they are the whole previous month, which the headline reads.
        since_before, until_before, compared = same_days(coverage)
        before = breakdown.spend(con, WHO, since=since_before, until=until_before, tz=tz,
                                 book=book)
        previous = before if compared is None else breakdown.spend(
            con, ["model"], since=previous_month(month), until=start_day, tz=tz, book=book)
    currency = main_currency(days)
    groups = {dim: ranked(rollup(days if dim == "model" else who, dim, currency), dim)
              for dim in GROUPINGS}
    headline = month_headline(rollup(days, None, currency), rollup(previous, None, currency),
                         days, currency)
    for dim, n in TOP_ROWS.items():
        groups[dim] = top_with_other(groups[dim], dim, n, PLURALS[dim])
    daily = every_day(rollup(days, "day", currency), month, coverage.covered)
    notes: list[str] = []
    projection, forecast = None, None
    if not coverage.over and coverage.stale:
        notes.append(f"no projection of the rest of the month: the store's usage ends "
                     f"{describe_age(now - data_end)} before now, and the forecast would read "
                     "the days since as no spend")
    elif not coverage.over:
        projection, forecast, note = project_rest_of_month(con, month, tz, book, now, daily)
        notes += [note] if note else []
    if forecast is not None:
        headline = change_projected(headline, forecast)
    elif compared is not None:
        headline = change_same_days(headline, before, compared, currency)
    headline = previous_data_from(headline, coverage, tz)
    variance = month_variance(before, who, currency, since_before, until_before, compared) \
        if previous.height else None
    aggregates, aggregate_requests = aggregate_rows(con, start, end)
    with single_requests(con, aggregates > 0) as one, warnings.catch_warnings():
        warnings.simplefilter("ignore", breakdown.UnpricedUsageWarning)
        # One scan of the month's requests feeds the three per-request sections.
        per_request = request_costs(one, QUANTILES, TOP_FRACTIONS, TOP_REQUESTS, **span)
    cards = cards_in_effect(book, days["model"].unique().to_list(), start, end)
    return MonthlyReport(
        month=month,
        tz=tz,
        start=start,
        end=end,
        generated_at=now,
        over=coverage.over,
        month_row=breakdown.totals(days),
        previous_row=breakdown.totals(previous) if previous.height else None,
        headline=headline,
        daily=daily,
        groups=groups,
        quantiles=per_request.quantiles,
        concentration=per_request.concentration,
        top_requests=per_request.top,
        unpriced=breakdown.unpriced(con, **span),
        rejects=month_rejects(con, start, end),
        cards=cards,
        coverage=coverage,
        source=source,
        projection=projection,
        forecast=forecast,
        notes=notes,
        budgets=month_budgets(con, month, tz, book, now, budgets),
        variance=variance,
        anomalies=month_anomalies(recent, month, coverage.covered, headline.total),
        aggregate_rows=aggregates,
        aggregate_requests=aggregate_requests,
        cache_savings=cache_savings(rollup(days, "model", currency), cards),
    )


def project_rest_of_month(
    con: duckdb.DuckDBPyConnection,
    month: date,
    tz: str,
    book: PriceBook,
    now: datetime,
    daily: pl.DataFrame,
) -> tuple[pl.DataFrame | None, PeriodForecast | None, str | None]:
    """The forecast of the month's remaining days (`costkit forecast --horizon eom`).

    Days from today (in `tz`) to the month's end; today's projected bar is its expected
    spend beyond what it has already spent. (None, None, why) with too little history.
    """
    as_of = max(now.astimezone(zone(tz)).date(), month)
    history = load_history(con, as_of, tz, book).total
    try:
        result = forecast_spend(history, parse_horizon("eom", as_of))
    except InputError as exc:
        return None, None, f"no projection of the rest of the month: {exc}"
    spent = dict(zip(daily["day"].to_list(), daily["total_cost"].to_list(), strict=True))
    rows = []
    for day in result.daily:
        if day.actual or day.day.month != month.month:
            continue
        # Today has begun: its bar already holds what it spent so far.
        already = (spent.get(f"{day.day:%Y-%m-%d}") or Decimal(0)) if day.day == as_of \
            else Decimal(0)
        rows.append({"day": f"{day.day:%Y-%m-%d}",
                     "expected": max(day.expected - already, Decimal(0)),
                     "day_expected": day.expected, "low": day.low_80, "high": day.high_80})
    money_type = pl.Decimal(38, 12)
    frame = pl.DataFrame(rows, schema={"day": pl.Utf8, "expected": money_type,
                                       "day_expected": money_type, "low": money_type,
                                       "high": money_type})
    return frame, result.periods[0], None


def cards_in_effect(book: PriceBook, models: list, start: datetime, end: datetime) -> list[Card]:
    """The cards of the month's models whose effective period overlaps [start, end)."""
    cards = []
    for card in book.cards:
        if card.model not in models:
            continue
        begins_before_end = card.effective_from is None or card.effective_from < end
        ends_after_start = card.effective_to is None or card.effective_to > start
        if begins_before_end and ends_after_start:
            cards.append(card)
    return sorted(cards, key=lambda c: (c.model, c.effective_from or datetime.min.replace(
        tzinfo=UTC)))


def _utc_instant(day: date, tz: str) -> datetime:
    return local_instant(day, tz)


def _no_usage_message(con: duckdb.DuckDBPyConnection, month: date, tz: str) -> str:
    oldest, newest = con.execute("SELECT min(ts), max(ts) FROM usage").fetchone()
    if oldest is None:
        return (f"no usage in {month:%Y-%m}: the store is empty; ingest logs first "
                "(costkit ingest PATH)")
    first = oldest.astimezone(zone(tz)).date()
    last = newest.astimezone(zone(tz)).date()
    return (f"no usage in {month:%Y-%m} ({tz}); the store holds usage from {first} to {last}; "
            "choose one of those months with --month")


def default_out_path(month: date, out_dir: Path | None = None) -> Path:
    """reports/costkit-YYYY-MM.html under the current directory, or under `out_dir`."""
    return (out_dir if out_dir is not None else Path("reports")) / f"costkit-{month:%Y-%m}.html"


def write_monthly_report(
    con: duckdb.DuckDBPyConnection,
    month: date,
    tz: str = "UTC",
    out_dir: Path | None = None,
    book: PriceBook | None = None,
    now: datetime | None = None,
    source: str = "",
    budgets: Sequence[Budget] = (),
) -> tuple[Path, MonthlyReport]:
    """Build the month's report, render the page and write it; returns (path, report)."""
    # Imported here so plotly loads only when a page is written, not with every command.
    from costkit.report.html import render_page

    report = build_monthly_report(con, month, tz=tz, book=book, now=now, source=source,
                                  budgets=budgets)
    path = default_out_path(month, out_dir)
    page = render_page(report)
    ensure_dir(path.parent)
    write_file(path, page)
    return path, report
