"""Costed usage for the spend queries: which requests a query reads and what each one costs.

Each request is joined to its rate row in the store's `price_rates` with the join the
`costed_usage` view uses (`pricing.sql.rate_join`), and priced with `pricing.sql`'s
`cost_expressions`; rates are DECIMAL(38,12), exact for every valid card. One difference,
for speed and not changing a value:
- Ranking and distributions over every request (top N, quantiles, the top 1%'s share) use
  the same components, built by the same `pricing.sql.cost_sql`, in integer units of
  10^-12 of the currency, 64-bit, which DuckDB multiplies 2-4x faster than decimals; a
  request too costly for 64 bits is retried in 128. Units convert back to Decimal exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

import duckdb
import polars as pl

from costkit.core.components import COMPONENTS, RATE_COLUMNS
from costkit.core.errors import InputError
from costkit.core.timezones import local_instant
from costkit.core.usage import COUNT_COLUMNS as TOKEN_COLUMNS
from costkit.pricing.book import PriceBook, load_price_book
from costkit.pricing.cards import RATE_PLACES
from costkit.pricing.sql import cost_expressions, cost_sql, rate_join
from costkit.spend.engine import DuckDBEngine, Engine, as_engine
from costkit.store.costed import KEY_COLUMNS, costed_select

# Rates per token (or call): per-1M rates of at most RATE_PLACES places, divided by 10^6.
UNIT_PLACES = RATE_PLACES + max(len(str(c.per)) - 1 for c in COMPONENTS)
EXACT_RATE = f"DECIMAL(38,{UNIT_PLACES})"
# Usage the cards cannot price: no card, or use of a component its card does not offer.
UNPRICED = "(card_id IS NULL OR " + " OR ".join(
    f"({c.quantity} > 0 AND {c.rate_column} IS NULL)" for c in COMPONENTS if not c.offered_always
) + ")"
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
    con: duckdb.DuckDBPyConnection | Engine,
    book: PriceBook | None,
    since: date | datetime | None,
    until: date | datetime | None,
    tz: str,
    models: list[str] | None,
    projects: list[str] | None,
) -> tuple[PriceBook, Scope]:
    """Load the cards into this connection (or engine) and resolve the filters into a Scope.

    `since` / `until`: a date is local midnight in `tz`, a naive datetime local time, an
    aware datetime that instant. A model name also matches its card's other names.
    """
    book = book if book is not None else load_price_book()
    engine = as_engine(con)
    tz = engine.check_tz(tz)
    start, end = instant(since, tz), instant(until, tz)
    if start is not None and end is not None and start >= end:
        raise InputError(f"since ({since}) is not before until ({until}): the period is empty")
    # The store's names are resolved (learned by the book) first, so a filter also matches
    # every logged spelling that reaches the same card (costkit.pricing.names).
    engine.register_prices(book)
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
    return DuckDBEngine(con).check_tz(tz)


def instant(value: date | datetime | None, tz: str) -> datetime | None:
    """A date (local midnight) or naive datetime (local time) in `tz` as an instant, by
    Python's reading of the zone (`costkit.timezones.local_instant`), as everywhere else."""
    return None if value is None else local_instant(value, tz)


def rates_sql(rate_type: str = EXACT_RATE, scale: int = 1) -> str:
    """`price_rates` with its rates times `scale` as `rate_type` (every column named, so the
    SQL reads the same in each engine's dialect)."""
    times = f" * {scale}" if scale != 1 else ""
    keys = ", ".join(name for name, _ in KEY_COLUMNS)
    casts = ", ".join(f"CAST({c}{times} AS {rate_type}) AS {c}" for c in RATE_COLUMNS)
    return f"(SELECT {keys}, {casts} FROM price_rates)"


def costed_sql(rates: str | None = None, usage: str = "usage") -> str:
    """`costed_usage` with exact DECIMAL(38,12) rates (or `rates`, a `rates_sql`), over
    `usage` or a relation shaped like it."""
    join = rate_join("u.ts", "u.input_tokens", "u.model")
    return f"({costed_select(rates or rates_sql(), join, usage)})"


def cost_columns_sql() -> str:
    """Each cost column of a `costed_sql` row, as pricing.sql defines it."""
    return ", ".join(f"{sql} AS {name}" for name, sql in cost_expressions().items())


def requests_sql(where: str, chosen: str, order: str, limit: int | None,
                 usage: str = "usage") -> str:
    """Costed requests of `usage` over `where` (and `chosen`, more SQL to AND), one row
    each, in `order`: the columns `breakdown.requests` documents."""
    return f"""
        SELECT request_id, timezone('UTC', ts) AS ts, model, priced_model, endpoint, project,
               api_key_id AS api_key, "user", CAST(tags AS VARCHAR) AS tags,
               {', '.join(TOKEN_COLUMNS)}, {cost_columns_sql()}, currency, card_id,
               source_file, source_line
        FROM {costed_sql(usage=usage)}
        WHERE {where} {chosen}
        ORDER BY {order}
        {'' if limit is None else f'LIMIT {int(limit)}'}
    """


def units_sql(int_type: str) -> str:
    """`costed_sql` rows plus `_units`: the request's total cost in 10^-12 currency units.

    Null when the request cannot be priced, like the store's `total_cost`.
    """
    scale = 10 ** UNIT_PLACES

    def times(quantity: str, rate: str) -> str:
        return f"CAST({quantity} AS {int_type}) * {rate}"

    total = " + ".join(f"({cost_sql(c, times, '0')})" for c in COMPONENTS)
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


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
