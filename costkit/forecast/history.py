"""What `costkit forecast` reads and how one run is assembled: the store's daily spend (as
priced, or repriced under other cards), per group, a planned workload priced by the
estimator, and the scenario options.

The forecasting itself is pure (`costkit.forecast.run`); this module is its I/O edge. Repricing
never approximates: a `--what-if prices=FILE` or `model=NAME` history is priced by the same
store pricing as every breakdown (`costkit.spend.breakdown.spend` under another price book), per
request, so long-context tiers and card periods apply to each request as they would have.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import duckdb

from costkit.core import clock
from costkit.core.errors import InputError
from costkit.core.timezones import canonical, local_instant
from costkit.core.timezones import zone as tz_zone
from costkit.forecast import model as forecast_model
from costkit.forecast.run import (
    COMPONENTS,
    DailyHistory,
    SpendForecast,
    WhatIf,
    daily_history,
    forecast_spend,
    parse_horizon,
    parse_percent,
)
from costkit.pricing.book import PriceBook, load_price_book
from costkit.pricing.cards import Card, load_cards_path
from costkit.spend.coverage import (
    STALE_AFTER,
    Freshness,
    describe_age,
    duration_spec,
    freshness,
    parse_stale_after,
)

WHAT_IF_KEYS = ("growth", "reasoning", "prices", "model")
ZERO = Decimal(0)


@dataclass(frozen=True)
class Scenario:
    """The parsed --what-if options."""

    what_if: WhatIf = WhatIf()
    prices: Path | None = None       # cards that replace those of the models they name
    model: str | None = None         # every request priced as this model

    def describe(self) -> list[str]:
        out = []
        if self.prices is not None:
            out.append(f"history repriced with the cards in {self.prices}")
        if self.model is not None:
            out.append(f"history repriced as if every request ran on {self.model}")
        return out


def parse_what_if(items: Sequence[str]) -> Scenario:
    """`growth=20%`, `reasoning=+50%`, `prices=FILE`, `model=NAME`, each at most once."""
    seen: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or not value:
            raise InputError(f"--what-if {item!r}: expected KEY=VALUE, e.g. growth=20%")
        if key not in WHAT_IF_KEYS:
            raise InputError(f"--what-if {item!r}: unknown key {key!r}; valid: "
                             + ", ".join(WHAT_IF_KEYS))
        if key in seen:
            raise InputError(f"--what-if {key} given twice")
        seen[key] = value
    what_if = WhatIf(
        growth=parse_percent(seen["growth"], "growth") if "growth" in seen else ZERO,
        reasoning=parse_percent(seen["reasoning"], "reasoning") if "reasoning" in seen
        else ZERO,
    )
    prices = Path(seen["prices"]) if "prices" in seen else None
    return Scenario(what_if, prices, seen.get("model"))


def parse_budget(text: str | None) -> Decimal | None:
    """'5000', '$5,000', '5000.50' -> Decimal; a clear error otherwise."""
    if text is None:
        return None
    raw = text.strip().lstrip("$").replace(",", "").replace("_", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InputError(f"--budget {text!r}: expected an amount such as 5000 or 5000.50") \
            from None
    if not value.is_finite() or value <= 0:
        raise InputError(f"--budget {text!r}: must be a positive amount")
    return value


def parse_as_of(text: str | None, tz: str) -> date:
    """The as-of date (data before it is used); default: today in `tz`."""
    zone = tz_zone(tz)
    if text is None:
        return clock.now().astimezone(zone).date()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"--as-of {text!r}: expected a date YYYY-MM-DD") from None


# --- price books for a scenario ---------------------------------------------------------------

def scenario_book(book: PriceBook, scenario: Scenario, logged_models: Sequence[str]) -> PriceBook:
    """The cards a scenario prices the history with.

    `prices`: the file's cards replace every card of the models they name. `model`: each
    logged model name (`logged_models`, plus every name the book knows) gets a copy of that
    model's cards, so each request is priced as that model at its own time and size.
    """
    if scenario.prices is not None:
        extra = load_cards_path(scenario.prices)
        named = {card.model for card in extra}
        book = PriceBook([c for c in book.cards if c.model not in named] + extra)
    if scenario.model is None:
        return book
    target = book.cards_for(scenario.model)   # UnknownModelError lists the known models
    names = sorted(set(book.aliases()) | set(logged_models))
    copies: list[Card] = []
    for name in names:
        copies.extend(replace(card, model=name, aliases=(), display_name=card.display_name
                              or card.model) for card in target)
    return PriceBook(copies)


# --- the store's daily spend ----------------------------------------------------------------

@dataclass(frozen=True)
class StoreHistory:
    total: DailyHistory
    groups: dict[tuple[str, ...], DailyHistory]
    currency: str
    dims: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def load_history(
    con: duckdb.DuckDBPyConnection,
    as_of: date,
    tz: str,
    book: PriceBook,
    by: Sequence[str] = (),
) -> StoreHistory:
    """Daily spend before `as_of` (local days in `tz`), in total and per `by` group.

    Priced per (day, model) so one unpriced model never blanks a whole day; unpriced usage
    is left out and reported in `warnings`.
    """
    from costkit.spend.breakdown import UnpricedUsageWarning, parse_by, spend, unpriced

    dims = parse_by(list(by))
    if any(d in ("day", "week", "month") for d in dims):
        raise InputError("--by takes groups such as project, model, api_key, user, endpoint "
                         "or tag:NAME; forecasts are always per day")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnpricedUsageWarning)
        frame = spend(con, by=["day", "model", *dims], until=as_of, tz=tz, book=book)
    notes: tuple[str, ...] = ()
    if any(issubclass(w.category, UnpricedUsageWarning) for w in caught):
        left_out = unpriced(con, until=as_of, tz=tz, book=book)
        parts = [f"{row['requests']:,} request(s) of {row['model']} ({row['reason']})"
                 for row in left_out.iter_rows(named=True)]
        notes = (("left out of the forecast, unpriced: " + "; ".join(parts)
                  + "; add a price card with --prices") if parts else
                 "left out of the forecast: usage in a second currency",)
    rows = [row for row in frame.iter_rows(named=True) if row["total_cost"] is not None]
    currencies = sorted({row["currency"] for row in rows if row.get("currency")})
    if len(currencies) > 1:
        raise InputError(
            f"the history is priced in several currencies ({', '.join(currencies)}); "
            "forecast each separately (e.g. --by model)"
        )
    groups: dict[tuple[str, ...], list[dict]] = {}
    for row in rows:
        key = tuple("(none)" if row[d] is None else str(row[d]) for d in dims)
        groups.setdefault(key, []).append(row)
    return StoreHistory(
        total=daily_history(rows, as_of),
        groups={key: daily_history(g, as_of) for key, g in sorted(groups.items())} if dims
        else {},
        currency=currencies[0] if currencies else "USD",
        dims=tuple(dims),
        warnings=notes,
    )


def logged_model_names(con: duckdb.DuckDBPyConnection, as_of: date, tz: str,
                       book: PriceBook) -> list[str]:
    """Model names in the history the book has no card for (so a scenario can price them)."""
    from costkit.spend.breakdown import unpriced

    frame = unpriced(con, until=as_of, tz=tz, book=book)
    return sorted(set(frame["model"].to_list())) if frame.height else []


# --- a planned workload -----------------------------------------------------------------------

@dataclass(frozen=True)
class Workload:
    """A JSONL of request bodies priced by the estimator, at `per_day` requests a day."""

    path: str
    per_day: int
    requests: int                           # lines estimated
    skipped: int                            # bad lines (reported, not priced)
    first_error: str | None
    per_request: Decimal                    # expected cost of the mean request
    daily: dict[str, Decimal]               # component -> expected cost per day
    currency: str
    exact: bool                             # every prompt counted with its model's tokenizer

    @property
    def per_day_total(self) -> Decimal:
        return sum(self.daily.values(), ZERO)


def price_workload(path: Path, per_day: int, book: PriceBook, db: Path | None,
                   at: datetime) -> Workload:
    """Estimate every body in `path` (expected scenario) and scale the mean to `per_day`."""
    from costkit.estimator.batch import BatchEstimator, read_lines
    from costkit.estimator.history import HistorySource

    if per_day < 0:
        raise InputError(f"--per-day {per_day}: must be 0 or more requests a day")
    first_error = None
    with HistorySource(db) as history:
        batch = BatchEstimator(book=book, history=history, source=str(path), at=at)
        for result in batch.run(read_lines(path)):
            if result.error and first_error is None:
                first_error = result.error
        totals = batch.totals
    if totals.requests == 0:
        reason = f"; first: {first_error}" if first_error else ""
        raise InputError(f"{path}: no request could be estimated{reason}")
    expected = totals.expected
    sums = {"input": expected.input_cost, "output": expected.output_cost,
            "reasoning": expected.reasoning_cost, "web_search": expected.web_search_cost}
    daily = {c: sums.get(c, ZERO) * per_day / totals.requests for c in COMPONENTS}
    return Workload(
        path=str(path), per_day=per_day, requests=totals.requests, skipped=totals.bad_lines,
        first_error=first_error, per_request=expected.total_cost / totals.requests,
        daily=daily, currency=totals.currency, exact=totals.exact,
    )


# --- one run ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupResult:
    key: tuple[str, ...]
    forecast: SpendForecast | None
    problem: str | None = None               # why there is no forecast (too little history)


@dataclass(frozen=True)
class ForecastRun:
    """Everything `costkit forecast` shows."""

    forecast: SpendForecast
    tz: str
    currency: str
    by: tuple[str, ...] = ()
    groups: tuple[GroupResult, ...] = ()
    workload: Workload | None = None
    warnings: tuple[str, ...] = field(default=())
    freshness: Freshness | None = None       # how old the newest usage is at the as-of instant

    def as_dict(self) -> dict:
        out = self.forecast.as_dict()
        out["tz"] = self.tz
        out["currency"] = self.currency
        if self.freshness is not None:
            out["data"] = self.freshness.as_dict()
        if self.workload is not None:
            w = self.workload
            out["workload"] = {
                "file": w.path, "requests_estimated": w.requests, "lines_skipped": w.skipped,
                "per_day": w.per_day, "expected_per_request": w.per_request,
                "per_day_cost": w.per_day_total, "components_per_day": dict(w.daily),
                "exact_tokens": w.exact,
            }
        if self.by:
            out["by"] = list(self.by)
            out["groups"] = [
                {"group": dict(zip(self.by, g.key, strict=True)),
                 **({"forecast": g.forecast.as_dict()} if g.forecast is not None
                    else {"problem": g.problem})}
                for g in self.groups
            ]
        return out

    @property
    def over_budget(self) -> list:
        return [p for p in self.forecast.periods if p.budget is not None and p.budget.over]


def run_forecast(
    *,
    db: Path | None = None,
    prices: Sequence[Path] | None = None,
    horizon: str = "eom",
    as_of: str | None = None,
    tz: str = "UTC",
    by: Sequence[str] = (),
    budget: str | None = None,
    what_if: Sequence[str] = (),
    workload: Path | None = None,
    per_day: int | None = None,
    n_sims: int = forecast_model.N_SIMS,
    stale_after: str | timedelta = STALE_AFTER,
) -> ForecastRun:
    """Parse the options, read the store (and the workload), forecast; raise InputError on
    bad input or too little history. The run also says how old the store's newest usage
    is (`freshness`): at the clock's now, or at the start of an explicit `as_of` day."""
    from costkit.store.connection import open_store

    tz = canonical(tz)
    day = parse_as_of(as_of, tz)
    span = parse_horizon(horizon, day)
    threshold = parse_stale_after(stale_after) if isinstance(stale_after, str) else stale_after
    scenario = parse_what_if(what_if)
    amount = parse_budget(budget)
    if (workload is None) != (per_day is None):
        raise InputError("--workload FILE and --per-day N go together")
    book = load_price_book(prices)
    start_utc = local_instant(day, tz)

    planned = None
    if workload is not None and per_day is not None:
        planned = price_workload(workload, per_day, book, db, start_utc)

    # The newest usage is judged where the history ends: now, or an explicit as-of day's
    # start (a forecast "as on" a past day is not stale for the days after it; one as on a
    # future day is, since the days until then would count as no spend).
    checked_at = clock.now() if as_of is None else start_utc
    con = open_store(db, read_only=True)
    try:
        fresh = freshness(con, checked_at, threshold)
        priced_with = book
        if scenario.prices is not None or scenario.model is not None:
            names = logged_model_names(con, day, tz, book) if scenario.model else []
            priced_with = scenario_book(book, scenario, names)
        history = load_history(con, day, tz, priced_with, by)
    finally:
        con.close()

    notes = list(history.warnings)
    if planned is not None:
        if planned.currency != history.currency:
            raise InputError(f"{planned.path}: the workload is priced in {planned.currency}, "
                             f"the history in {history.currency}; they cannot be added")
        if planned.skipped:
            notes.append(f"{planned.path}: {planned.skipped} line(s) not estimated; first: "
                         f"{planned.first_error}")
    labels = tuple(scenario.describe())
    extra = planned.daily if planned is not None else None
    try:
        total = forecast_spend(history.total, span, scenario.what_if, extra, amount, labels,
                               n_sims=n_sims, seed=0)
    except InputError as exc:
        if fresh.stale and fresh.newest is not None:
            raise InputError(f"{exc} (the newest usage is {describe_age(fresh.age)} old: is "
                             "ingestion running?)") from None
        raise
    if scenario.what_if.reasoning and not any(history.total.components["reasoning"]):
        notes.append("--what-if reasoning changes nothing: the history has no reasoning spend "
                     "(logs that do not split reasoning out count it as output)")

    groups = []
    for key, series in history.groups.items():
        try:
            fc = forecast_spend(series, span, scenario.what_if, None, None, labels,
                                n_sims=n_sims, seed=zlib.crc32("/".join(key).encode()))
            groups.append(GroupResult(key, fc))
        except InputError as exc:
            groups.append(GroupResult(key, None, str(exc)))
    return ForecastRun(total, tz, history.currency, history.dims, tuple(groups), planned,
                       tuple(notes), fresh)


def stale_message(fresh: Freshness, tz: str) -> str:
    """The warning of a forecast whose newest usage is older than the threshold."""
    zone = tz_zone(tz)
    at = f"{fresh.checked_at.astimezone(zone):%Y-%m-%d %H:%M} {tz}"
    limit = duration_spec(fresh.stale_after)
    if fresh.newest is None:
        return f"the store has no usage before {at}; is ingestion running?"
    return (f"the newest usage is from {fresh.newest.astimezone(zone):%Y-%m-%d %H:%M} {tz}, "
            f"{describe_age(fresh.age)} before {at} (over --stale-after {limit}); the days "
            "since count as no spend, so the forecast is too low; is ingestion running?")
