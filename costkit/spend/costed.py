"""Costed usage for the spend queries: which requests a query reads and what each one costs.

Each request is joined to its rate row in the store's `price_rates` with the store's own
join (`store.rate_join`, the one the `costed_usage` view uses), and priced with the store's
`cost_expressions`; rates are DECIMAL(38,12), exact for every valid card. One difference,
for speed and not changing a value:
- Ranking and distributions over every request (top N, quantiles, the top 1%'s share) use
  the same components (`store.COST_COMPONENTS`) in integer units of 10^-12 of the
  currency, 64-bit, which DuckDB multiplies 2-4x faster than decimals; a request too costly
  for 64 bits is retried in 128. Units convert back to Decimal exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

import duckdb
import polars as pl

from costkit.core.errors import InputError
from costkit.core.timezones import canonical, local_instant
from costkit.pricing.book import RATE_NAMES, RATE_PLACES, PriceBook, load_price_book
from costkit.store.connection import COST_COMPONENTS, cost_expressions, rate_join, register_prices

RATE_COLUMNS = tuple(f"rate_{name}" for name in RATE_NAMES)
# Per-token rates: per-1M rates of at most RATE_PLACES places, divided by 10^6.
UNIT_PLACES = RATE_PLACES + 6
EXACT_RATE = f"DECIMAL(38,{UNIT_PLACES})"
# Usage the cards cannot price: no card, or web searches on a card with no search rate.
UNPRICED = "(card_id IS NULL OR (search_calls > 0 AND rate_web_search IS NULL))"
T = TypeVar("T")


@dataclass(frozen=True)
class Scope:
    """Which usage a query reads: [since, until) as instants, logged model names, projects."""

    tz: str
    since: datetime | None
    until: datetime | None
    model_names: tuple[str, ...]
    projects: tuple[str, ...]
    filtered_models: bool

    def where(self) -> tuple[str, list]:
        """A WHERE clause over usage rows and its parameters."""
        clauses, params = ["TRUE"], []
        if self.since is not None:
            clauses.append("ts >= ?")
            params.append(self.since)
        if self.until is not None:
            clauses.append("ts < ?")
            params.append(self.until)
        if self.filtered_models:
            clauses.append(f"model IN ({', '.join('?' for _ in self.model_names)})")
            params.extend(self.model_names)
        if self.projects:
            clauses.append(f"project IN ({', '.join('?' for _ in self.projects)})")
            params.extend(self.projects)
        return " AND ".join(clauses), params


def prepare(
    con: duckdb.DuckDBPyConnection,
    book: PriceBook | None,
    since: date | datetime | None,
    until: date | datetime | None,
    tz: str,
    models: list[str] | None,
    projects: list[str] | None,
) -> tuple[PriceBook, Scope]:
    """Load the cards into this connection and resolve the filters into a Scope.

    `since` / `until`: a date is local midnight in `tz`, a naive datetime local time, an
    aware datetime that instant. A model name also matches its card's other names.
    """
    book = book if book is not None else load_price_book()
    tz = check_tz(con, tz)
    start, end = instant(since, tz), instant(until, tz)
    if start is not None and end is not None and start >= end:
        raise InputError(f"since ({since}) is not before until ({until}): the period is empty")
    # The store's names are resolved (learned by the book) first, so a filter also matches
    # every logged spelling that reaches the same card (costkit.pricing.names).
    register_prices(con, book)
    book.learn(models or [])
    aliases = book.aliases()
    names: list[str] = []
    for wanted in models or []:
        model = aliases.get(wanted, wanted)
        names += [wanted, model, *(n for n, m in aliases.items() if m == model)]
    return book, Scope(tz, start, end, tuple(dict.fromkeys(names)),
                       tuple(dict.fromkeys(projects or [])), bool(models))


def check_tz(con: duckdb.DuckDBPyConnection, tz: str) -> str:
    """`tz`'s IANA key, the only name of it DuckDB is given (`costkit.timezones.canonical`:
    InputError for any other name, or one DuckDB would read differently from Python).

    Run first by every query: the `execute` also discards a result the caller left unread,
    which would make DuckDB refuse `con.sql`.
    """
    key = canonical(tz)
    con.execute("SELECT timezone(?, TIMESTAMP '2000-01-01')", [key]).fetchall()
    return key


def instant(value: date | datetime | None, tz: str) -> datetime | None:
    """A date (local midnight) or naive datetime (local time) in `tz` as an instant, by
    Python's reading of the zone (`costkit.timezones.local_instant`), as everywhere else."""
    return None if value is None else local_instant(value, tz)


def rates_sql(rate_type: str = EXACT_RATE, scale: int = 1) -> str:
    """`price_rates` with its rates times `scale` as `rate_type`."""
    times = f" * {scale}" if scale != 1 else ""
    casts = ", ".join(f"CAST({c}{times} AS {rate_type}) AS {c}" for c in RATE_COLUMNS)
    return f"(SELECT * REPLACE ({casts}) FROM price_rates)"


def costed_sql(rates: str | None = None) -> str:
    """`costed_usage` with exact DECIMAL(38,12) rates (or `rates`, a `rates_sql`)."""
    columns = ", ".join(f"r.{c}" for c in RATE_COLUMNS)
    return f"""(
        SELECT u.*, r.priced_model, r.card_id, r.currency, {columns}
        FROM usage u LEFT JOIN {rates or rates_sql()} r
          ON {rate_join('u.ts', 'u.input_tokens', 'u.model')}
    )"""


def cost_columns_sql() -> str:
    """Each cost column of a `costed_sql` row, as the store defines it."""
    return ", ".join(f"{sql} AS {name}" for name, sql in cost_expressions().items())


def units_sql(int_type: str) -> str:
    """`costed_sql` rows plus `_units`: the request's total cost in 10^-12 currency units.

    Null when the request cannot be priced, like the store's `total_cost`.
    """
    scale = 10 ** UNIT_PLACES
    parts = []
    for column, (tokens, rate) in COST_COMPONENTS.items():
        if column == "search_cost":
            parts.append(f"CASE WHEN card_id IS NULL THEN NULL WHEN {tokens} = 0 THEN 0 "
                         f"ELSE CAST({tokens} AS {int_type}) * {rate} END")
        else:
            parts.append(f"CAST({tokens} AS {int_type}) * {rate}")
    total = " + ".join(f"({part})" for part in parts)
    return f"SELECT *, {total} AS _units FROM {costed_sql(rates_sql(int_type, scale))}"


def with_units(run: Callable[[str], T]) -> T:
    """`run(units_sql)` in 64-bit units, again in 128-bit if a cost overflows 64 bits."""
    try:
        return run(units_sql("BIGINT"))
    except duckdb.OutOfRangeException:
        return run(units_sql("HUGEINT"))


def money(units: int | None) -> Decimal | None:
    """Integer units of 10^-12 back to an exact Decimal."""
    return None if units is None else Decimal(int(units)).scaleb(-UNIT_PLACES)


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pl.DataFrame:
    """A query's result as polars (through Arrow, Decimals kept)."""
    return con.sql(sql, params=params).pl()


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
