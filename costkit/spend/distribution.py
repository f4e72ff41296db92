"""The per-request figures of a period from one scan: cost quantiles, the most expensive
requests' share (concentration) and the most expensive requests themselves.

`costkit.spend.breakdown` answers each with its own query (`cost_quantiles`,
`concentration`, `requests`), and each of those joins every request to its rate row again;
on a month of 10M requests that is four passes of about the same cost. `request_costs`
answers all three from one: every priced request's total cost in integer units
(`costed.units_sql`, the same components, exact) and its time come back as two arrays, are
sorted once, and then
- a quantile is the sorted cost at DuckDB's `quantile_disc` position for that level;
- the top `fraction`'s cost is the sum of the last ceil(fraction x n) sorted costs (Python
  ints, exact);
- the top `limit` requests are among those costing at least the `limit`-th largest cost, so
  only rows at the times of those few are read again, and priced in full as `requests` does.
When a shortcut does not hold (a cost beyond 64 bits, a quantile level DuckDB would read
differently, fewer priced requests than `limit`, a tie of very many requests at the cut)
the figure comes from `breakdown`'s own query, so the answer is the same either way.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import duckdb
import numpy as np
import polars as pl

from costkit.core.errors import InputError
from costkit.pricing.book import PriceBook
from costkit.spend import breakdown
from costkit.spend.costed import money, prepare, requests_sql, units_sql

# Levels are read by DuckDB as decimals of their shortest spelling; beyond this many
# significant digits it rounds them, so such a level is left to `quantile_disc` itself.
EXACT_LEVEL_DIGITS = 15
# More requests tied at the cut than this: the second read would fetch too many times,
# so `breakdown.requests` ranks them instead.
MAX_CANDIDATES = 1000
_INT64_MAX = 2**63 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RequestCosts:
    quantiles: pl.DataFrame                      # as breakdown.cost_quantiles
    concentration: dict[Decimal, dict]           # fraction -> as breakdown.concentration
    top: pl.DataFrame                            # as breakdown.requests(limit=...)


def request_costs(
    con: duckdb.DuckDBPyConnection,
    quantiles: Sequence[float],
    fractions: Sequence[Decimal],
    limit: int,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    tz: str = "UTC",
    book: PriceBook | None = None,
) -> RequestCosts:
    """`cost_quantiles(quantiles)`, `concentration(f)` for each of `fractions` and
    `requests(limit=limit)` over [since, until), from one pass over the requests."""
    levels = [float(q) for q in quantiles]
    if not levels or any(not 0 <= q <= 1 for q in levels):
        raise InputError(f"quantiles {list(quantiles)}: each must be in 0..1")
    shares = [Decimal(str(f)) for f in fractions]
    for fraction in shares:
        if not 0 < fraction <= 1:
            raise InputError(f"fraction is {fraction}; it must be in (0, 1]")
    if limit < 0:
        raise InputError(f"limit is {limit}; it must be >= 0")
    span = {"since": since, "until": until, "tz": tz, "book": book}
    book, scope = prepare(con, book, since, until, tz, None, None)
    span["book"] = book
    where, params = scope.where()
    try:
        # Through Arrow: two plain int64 columns, no nulls (fetchnumpy converts slower).
        found = con.sql(
            f"SELECT _units, epoch_us(ts) AS _at FROM ({units_sql('BIGINT')}) "
            f"WHERE ({where}) AND _units IS NOT NULL", params=params).to_arrow_table()
    except duckdb.OutOfRangeException:  # a request costs more than 64 bits of units hold
        return RequestCosts(
            breakdown.cost_quantiles(con, levels, **span),
            {f: breakdown.concentration(con, f, **span) for f in shares},
            breakdown.requests(con, limit=limit, **span))
    units = found.column("_units").to_numpy().astype(np.int64, copy=False)
    at = found.column("_at").to_numpy().astype(np.int64, copy=False)
    ordered = np.sort(units)
    exact = all(_digits(q) <= EXACT_LEVEL_DIGITS for q in levels)
    return RequestCosts(
        _quantiles(ordered, levels) if exact
        else breakdown.cost_quantiles(con, levels, **span),
        {f: _concentration(ordered, f) for f in shares},
        _top(con, units, at, ordered, limit, where, params, span))


def _digits(level: float) -> int:
    return len(Decimal(repr(level)).as_tuple().digits)


def _position(n: int, level: float) -> int:
    """The 0-based sorted position `quantile_disc(level)` reads among n values: DuckDB takes
    the level as the decimal it is written as, and the ceil(n x level)-th value (the first
    at level 0)."""
    return max(1, math.ceil(Decimal(repr(level)) * n)) - 1


def _quantiles(ordered: np.ndarray, levels: list[float]) -> pl.DataFrame:
    n = len(ordered)
    values = [money(int(ordered[_position(n, q)])) for q in levels] if n else []
    return pl.DataFrame(
        {"quantile": levels[: len(values)], "cost": values},
        schema={"quantile": pl.Float64, "cost": pl.Decimal(38, 12)},
    )


def _concentration(ordered: np.ndarray, fraction: Decimal) -> dict:
    count = len(ordered)
    top_n = math.ceil(fraction * count)
    spent = top_cost = Decimal(0)
    if count:
        spent, top_cost = money(_exact_sum(ordered)), money(_exact_sum(ordered[count - top_n:]))
    return breakdown.concentration_result(count, top_n, top_cost, spent)


def _exact_sum(values: np.ndarray) -> int:
    """The sum as a Python int: int64 sums over chunks small enough never to overflow."""
    if not len(values):
        return 0
    largest = max(abs(int(values.min())), abs(int(values.max())))
    step = max(1, _INT64_MAX // largest) if largest else len(values)
    return sum(int(values[i:i + step].sum()) for i in range(0, len(values), step))


def _top(con: duckdb.DuckDBPyConnection, units: np.ndarray, at: np.ndarray,
         ordered: np.ndarray, limit: int, where: str, params: list, span: dict
         ) -> pl.DataFrame:
    """The `limit` most expensive requests: every request costing at least the `limit`-th
    largest cost is at one of a few times, so only the rows at those times are priced and
    ranked (all of them rank above every other request)."""
    if limit == 0 or len(ordered) < limit:
        return breakdown.requests(con, limit=limit, **span)
    cut = ordered[len(ordered) - limit]
    times = np.unique(at[units >= cut])
    if len(times) > MAX_CANDIDATES:
        return breakdown.requests(con, limit=limit, **span)
    instants = [_EPOCH + timedelta(microseconds=int(t)) for t in times]
    at_times = f"AND ts IN ({', '.join('?' for _ in instants)})"
    usage, chosen, more = "usage", at_times, instants
    try:
        # The rows at those times by a scan of `ts` alone, then only those rows read whole:
        # filtering the costed rows by time would read every column of every row first.
        rows = con.execute(f"SELECT rowid FROM usage WHERE ({where}) {at_times}",
                           [*params, *instants]).fetchall()
        usage = f"(SELECT * FROM usage WHERE rowid IN ({', '.join(str(int(r)) for (r,) in rows)}))"
        chosen, more = "", []
    except duckdb.BinderException:  # `usage` is a view (single requests only): no rowid
        pass
    sql = requests_sql(where, chosen, "total_cost DESC NULLS LAST, ts, request_id", limit,
                       usage)
    result = con.sql(sql, params=[*params, *more]).pl()
    return result.with_columns(pl.col("ts").dt.replace_time_zone("UTC"))
