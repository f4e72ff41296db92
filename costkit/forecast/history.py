"""The store's daily spend as a forecast reads it: in total and per group, as priced (or
repriced under a scenario's cards, `costkit.forecast.scenario.scenario_book`).

This is the forecast's I/O edge; the forecasting itself is pure
(`costkit.forecast.projection`). Repricing never approximates: a `--what-if prices=FILE` or
`model=NAME` history is priced by the same store pricing as every breakdown
(`costkit.spend.breakdown.spend` under another price book), per request, so long-context
tiers and card periods apply to each request as they would have.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from costkit.core.errors import InputError
from costkit.forecast.repricing import (
    RECENT_DAYS,
    PriceStep,
    change_days,
    component_sums,
    day_starts,
    pinned_book,
    step_for,
)
from costkit.forecast.series import DailyHistory, daily_history
from costkit.pricing.book import PriceBook


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


def price_steps(con: duckdb.DuckDBPyConnection, as_of: date, horizon_days: int, tz: str,
                book: PriceBook, dims: Sequence[str]
                ) -> tuple[dict[tuple[str, ...], list[PriceStep]], tuple[str, ...]]:
    """The price cards taking effect inside the horizon, as steps per series (key () the
    total, else a group of `dims`), from the last RECENT_DAYS days' usage priced under the
    cards of each side of the change (`costkit.forecast.repricing`); and warnings."""
    from costkit.spend.breakdown import UnpricedUsageWarning, spend

    starts = day_starts(as_of, horizon_days, tz)
    changes = change_days(book, starts)
    if not changes:
        return {}, ()
    since = as_of - timedelta(days=RECENT_DAYS)
    by = ["model", *dims]

    def priced(at_book: PriceBook) -> list[dict]:
        with warnings.catch_warnings():
            # Usage these cards do not price is told about below, not as a warning each.
            warnings.simplefilter("ignore", UnpricedUsageWarning)
            frame = spend(con, by=by, since=since, until=as_of, tz=tz, book=at_book)
        return list(frame.iter_rows(named=True))

    old_rows = priced(pinned_book(book, starts[0]))
    old = component_sums(old_rows, dims)
    old_models = {r["model"] for r in old_rows if r["total_cost"] is not None}
    steps: dict[tuple[str, ...], list[PriceStep]] = {}
    notes = []
    for index, cards in changes.items():
        new_rows = priced(pinned_book(book, starts[index]))
        new = component_sums(new_rows, dims)
        day = as_of + timedelta(days=index)
        gone = sorted(old_models - {r["model"] for r in new_rows
                                    if r["total_cost"] is not None})
        if gone:
            notes.append(f"no price card for {', '.join(gone)} from {day.isoformat()}: "
                         "its usage is left out of the forecast from then; add a card with "
                         "--prices")
        for key in set(old) | set(new) | {()}:
            steps.setdefault(key, []).append(step_for(index, day, cards, old.get(key),
                                                      new.get(key)))
    return steps, tuple(notes)
