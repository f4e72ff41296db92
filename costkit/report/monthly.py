"""The monthly spend report: one month of the store, shaped for a self-contained HTML page.

Every spend figure comes from `costkit.spend.breakdown` (the queries behind `costkit report`), so
the page and the CLI agree to the last digit. This module picks the month, calls those
queries, and shapes their results: zero-filled days, top N plus "other", headline ratios,
the data-quality section and the price cards in effect. The plotly figures live in
`report_figures` and the page itself in `report_html`; `write_monthly_report` ties them up.
"""

from __future__ import annotations

import calendar
import re
import warnings
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from costkit.core import clock
from costkit.core import components as cost_components
from costkit.core.errors import InputError
from costkit.core.output_file import ensure_dir, write_file
from costkit.core.timezones import canonical, local_instant, zone
from costkit.pricing.book import PriceBook, load_price_book
from costkit.pricing.cards import Card
from costkit.spend import breakdown
from costkit.spend.coverage import MonthCoverage, describe_age, month_coverage, usage_span

if TYPE_CHECKING:
    from costkit.forecast.projection import PeriodForecast

# Cost components in page order, with the names people read.
COMPONENTS = {c.cost_column: c.label for c in cost_components.COMPONENTS}
GROUPINGS = {"project": "Project", "model": "Model", "api_key": "API key", "endpoint": "Endpoint"}
# Rows shown per "by" chart before the rest are folded into "other" (the issue: top 10 keys).
TOP_ROWS = {"project": 15, "model": 15, "api_key": 10, "endpoint": 15}
_PLURAL = {"project": "projects", "model": "models", "api_key": "API keys",
           "endpoint": "endpoints"}
TOP_REQUESTS = 20
REJECT_SAMPLES = 20
# The cost-per-request curve: every percentile, plus the far tail where the money hides.
QUANTILES = tuple(i / 100 for i in range(101)) + (0.995, 0.999, 0.9999)
# Bands of the concentration chart: the most expensive 1% of requests against the rest.
# (More bands cost one pass over the month's requests each.)
TOP_FRACTIONS = (Decimal("0.01"),)
NONE_LABEL = "(none)"
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


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
    # The rest of a month that is not over, from `costkit.forecast.run`: day, expected (beyond
    # what the day already spent), day_expected, low and high (the day's 80% range).
    projection: pl.DataFrame | None = None
    forecast: PeriodForecast | None = None   # the month's projected total and its ranges
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{calendar.month_name[self.month.month]} {self.month.year}"

    @property
    def key(self) -> str:
        return f"{self.month:%Y-%m}"


def parse_month(text: str) -> date:
    """'YYYY-MM' -> the month's first day; InputError otherwise."""
    match = _MONTH.match(text.strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InputError(f"--month is {text!r}; write it as YYYY-MM, e.g. 2026-10")
    return date(int(match.group(1)), int(match.group(2)), 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def previous_month(month: date) -> date:
    return date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)


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
        # second holds each (project, key, endpoint) combination once, which real usage
        # keeps small (keys belong to projects).
        days = breakdown.spend(con, ["day", "model"], **span)
        if days.height == 0:
            raise InputError(_no_usage_message(con, month, tz))
        who = breakdown.spend(con, ["project", "api_key", "endpoint", "model"], **span)
        previous = breakdown.spend(con, ["model"], since=previous_month(month),
                                   until=start_day, tz=tz, book=book)
    data_start, data_end = usage_span(con)  # the month has usage, so the store has some
    coverage = month_coverage(month, tz, now, data_start, data_end, end)
    currency = main_currency(days)
    groups = {dim: _ranked(rollup(days if dim == "model" else who, dim, currency), dim)
              for dim in GROUPINGS}
    headline = _headline(rollup(days, None, currency), rollup(previous, None, currency),
                         days, currency)
    for dim, n in TOP_ROWS.items():
        groups[dim] = top_with_other(groups[dim], dim, n, _PLURAL[dim])
    daily = _every_day(rollup(days, "day", currency), month, coverage.covered)
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
        headline = _change_projected(headline, forecast)
    elif not coverage.complete:
        headline = _change_same_days(con, headline, coverage, tz, book, currency)
    headline = _previous_data_from(headline, coverage, tz)
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
        quantiles=breakdown.cost_quantiles(con, QUANTILES, **span),
        concentration={f: breakdown.concentration(con, f, **span) for f in TOP_FRACTIONS},
        top_requests=breakdown.requests(con, limit=TOP_REQUESTS, **span),
        unpriced=breakdown.unpriced(con, **span),
        rejects=month_rejects(con, start, end),
        cards=cards_in_effect(book, days["model"].unique().to_list(), start, end),
        coverage=coverage,
        source=source,
        projection=projection,
        forecast=forecast,
        notes=notes,
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
    from costkit.forecast.history import load_history
    from costkit.forecast.horizon import parse_horizon
    from costkit.forecast.projection import forecast_spend

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


# --- shaping -----------------------------------------------------------------------------

def main_currency(frame: pl.DataFrame) -> str | None:
    """The currency the page reports in: the one most priced rows are in (None if none)."""
    counts = (frame.filter(pl.col("currency").is_not_null())
              .group_by("currency").agg(pl.col("requests").sum())
              .sort(["requests", "currency"], descending=[True, False]))
    return counts["currency"][0] if counts.height else None


def rollup(frame: pl.DataFrame, key: str | None, currency: str | None) -> pl.DataFrame:
    """Sum breakdown rows per `key` (None: one row), keeping priced and unpriced apart.

    Requests and tokens count all usage; the costs sum the rows priced in `currency` only,
    and `unpriced_requests` counts the rest (a row is unpriced when the breakdown gave it a
    null cost, or priced it in another currency). Costs are null when nothing was priced.
    """
    priced = pl.col("total_cost").is_not_null() & (pl.col("currency") == pl.lit(currency))
    # Token sums stay DECIMAL(38,0) as the breakdown gives them: 64 bits can overflow.
    aggs = [pl.col(c).sum().cast(pl.Int64) if c == "requests" else pl.col(c).sum()
            for c in breakdown.REQUEST_COLUMNS]
    aggs += [pl.col(c).filter(priced).sum() for c in breakdown.COST_COLUMNS]
    aggs.append(pl.col("requests").filter(~priced.fill_null(False)).sum().cast(pl.Int64)
                .alias("unpriced_requests"))
    if key is None:
        out = frame.select(aggs) if frame.height else frame.head(0).select(aggs)
    else:
        out = frame.group_by(key, maintain_order=True).agg(aggs)
    nothing_priced = pl.col("requests") == pl.col("unpriced_requests")
    return out.with_columns(
        [pl.when(nothing_priced).then(None).otherwise(pl.col(c)).alias(c)
         for c in breakdown.COST_COLUMNS]
    ).with_columns(currency=pl.lit(currency, dtype=pl.Utf8))


def top_with_other(frame: pl.DataFrame, key: str, n: int, noun: str = "rows") -> pl.DataFrame:
    """The first `n` rows of a ranked rollup, the rest summed into one "other" row.

    Adds `keys`: how many keys a row stands for (1, or how many were folded). The other
    row's key reads e.g. "other (14 API keys)"; its costs sum its priced part, like every
    row of a rollup.
    """
    frame = frame.with_columns(keys=pl.lit(1, dtype=pl.Int64))
    if frame.height <= n + 1:
        return frame
    head, rest = frame.head(n), frame.slice(n)
    row: dict = {key: f"other ({rest.height} {noun})", "keys": rest.height}
    for column in (*breakdown.REQUEST_COLUMNS, "unpriced_requests"):
        row[column] = int(rest[column].sum())
    for column in breakdown.COST_COLUMNS:
        values = [v for v in rest[column].to_list() if v is not None]
        row[column] = sum(values, Decimal(0)) if values else None
    row["currency"] = rest["currency"][0]
    other = pl.DataFrame([row], schema=frame.schema)
    return pl.concat([head, other])


def _ranked(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """Most spend first (wholly unpriced rows last, by requests), ties by name."""
    return frame.sort(
        ["total_cost", "requests", key], descending=[True, True, False], nulls_last=True
    )


def _every_day(daily: pl.DataFrame, month: date, covered: int) -> pl.DataFrame:
    """One row per calendar day of the month. A day without usage has zero tokens and cost;
    a day after the first `covered` has no data at all: its costs are null, never $0."""
    days = [month + timedelta(days=i)
            for i in range(calendar.monthrange(month.year, month.month)[1])]
    calendar_frame = pl.DataFrame({"day": [f"{d:%Y-%m-%d}" for d in days],
                                   "covered": [i < covered for i in range(len(days))]})
    joined = calendar_frame.join(daily, on="day", how="left")
    absent = joined["requests"].is_null()
    fills = [pl.col(c).fill_null(0) for c in (*breakdown.REQUEST_COLUMNS, "unpriced_requests")]
    fills += [
        pl.when(absent & pl.col("covered")).then(pl.lit(Decimal(0), dtype=joined.schema[c]))
        .otherwise(pl.col(c)).alias(c)
        for c in breakdown.COST_COLUMNS
    ]
    return joined.with_columns(fills).with_columns(has_usage=~absent)


def _headline(month: pl.DataFrame, previous: pl.DataFrame, rows: pl.DataFrame,
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


def _change_projected(headline: Headline, forecast: PeriodForecast) -> Headline:
    """A running month with a projection compares its projected total with the previous
    month's: a part of a month against a whole one would read as a fall."""
    previous = headline.previous_total
    if previous is None:
        return replace(headline, change=None, change_pct=None, change_basis="projected")
    change = forecast.projected_total - previous
    return replace(headline, change=change,
                   change_pct=(change / previous * 100) if previous else None,
                   change_basis="projected")


def _change_same_days(con: duckdb.DuckDBPyConnection, headline: Headline,
                      coverage: MonthCoverage, tz: str, book: PriceBook,
                      currency: str | None) -> Headline:
    """A month whose data stops early (and has no projection) is compared with the same
    days of the previous month: days 1..N of both, N the days the data covers (all of a
    shorter previous month). The month's own usage ends there, so its total is those days."""
    before = previous_month(coverage.month)
    n = min(coverage.covered, calendar.monthrange(before.year, before.month)[1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", breakdown.UnpricedUsageWarning)
        rows = breakdown.spend(con, ["model"], since=before,
                               until=before + timedelta(days=n), tz=tz, book=book)
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
        change=change, change_pct=change_pct, change_basis="same days", compared_days=n)


def _previous_data_from(headline: Headline, coverage: MonthCoverage, tz: str) -> Headline:
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


# --- what the breakdown does not cover: rejects, price cards ------------------------------

def month_rejects(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, samples: int = REJECT_SAMPLES
) -> Rejects:
    """Rejected records of the month [start, end).

    A reject counts for the month when its raw record states a time in it (an envelope's
    `timestamp`, a response's `created` / `created_at`). One with no readable time counts
    for every month its ingest loaded usage into: the gap is shown, if more than once.
    """
    sql = f"""
        WITH covering AS (
            SELECT DISTINCT ingest_id FROM usage WHERE ts >= $start AND ts < $end
        ),
        timed AS (
            SELECT *, {_RECORD_TIME_SQL} AS record_ts FROM rejects
        ),
        picked AS (
            SELECT *, CASE WHEN record_ts IS NOT NULL THEN 'record time'
                           ELSE 'ingest' END AS attributed
            FROM timed
            WHERE (record_ts >= $start AND record_ts < $end)
               OR (record_ts IS NULL AND ingest_id IN (SELECT ingest_id FROM covering))
        )
    """
    params = {"start": start, "end": end}
    by_reason = con.sql(sql + """
        SELECT reason,
               count(*) FILTER (WHERE attributed = 'record time')::BIGINT AS by_time,
               count(*) FILTER (WHERE attributed = 'ingest')::BIGINT AS by_ingest,
               count(*)::BIGINT AS total
        FROM picked GROUP BY reason ORDER BY total DESC, reason
    """, params=params).pl()
    sample_frame = con.sql(sql + f"""
        SELECT source_file, line, format, reason, raw, attributed
        FROM picked ORDER BY source_file, line, reason LIMIT {int(samples)}
    """, params=params).pl()
    return Rejects(
        by_reason=by_reason,
        samples=sample_frame,
        by_time=int(by_reason["by_time"].sum()) if by_reason.height else 0,
        by_ingest=int(by_reason["by_ingest"].sum()) if by_reason.height else 0,
    )


# The time a rejected record states about itself, read from its raw text: an envelope's
# ISO `timestamp`, else the unix `created` / `created_at` of a chat completion, a stream's
# chunks or a response (a regex, since a reject is by definition often not valid JSON).
_RECORD_TIME_SQL = """coalesce(
    TRY_CAST(nullif(regexp_extract(raw, '"timestamp"\\s*:\\s*"([^"]+)"', 1), '')
             AS TIMESTAMPTZ),
    to_timestamp(TRY_CAST(nullif(regexp_extract(raw, '"created(_at)?"\\s*:\\s*([0-9]{9,11})\\b',
                                                2), '') AS BIGINT))
)"""


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
) -> tuple[Path, MonthlyReport]:
    """Build the month's report, render the page and write it; returns (path, report)."""
    from costkit.report.html import render_page

    report = build_monthly_report(con, month, tz=tz, book=book, now=now, source=source)
    path = default_out_path(month, out_dir)
    page = render_page(report)
    ensure_dir(path.parent)
    write_file(path, page)
    return path, report
