"""Spend queries over the store: grouped breakdowns, unpriced usage, per-request costs.

Every cost here comes from `costkit.spend.costed`: each request joined to the price card in effect
at its time, priced with the store's cost SQL, so `costkit report`, the monthly HTML page and
anything else that shows spend agree to the last digit.

Money rule: a breakdown groups by (group keys, rate row) summing tokens, multiplies each token
sum by its rate once, then sums those products per group. A group holding any usage that
cannot be priced gets a null cost (never $0) and `spend` warns with `UnpricedUsageWarning`.

How `spend` stays fast: it aggregates `usage` first and prices the aggregates. Stage 1 groups
by the group keys and by what fixes a request's price: its logged model and the index of the
card period and input-token tier it falls in (from the cards' boundaries); every aggregate
is then joined to its rate row through one of its own requests. Time is bucketed by local
day, computed from the zone's UTC offsets over the data's range (a CASE over the few offset
changes, instead of converting every row's time zone); when an offset changes inside a
quarter hour (as some zones did before 1980), every row's time is converted instead.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from decimal import Decimal

import duckdb
import polars as pl

from costkit.core.components import COMPONENTS, TOTAL_COLUMN, Component
from costkit.core.errors import InputError
from costkit.core.sql import quote as literal
from costkit.core.usage import COUNT_COLUMNS as TOKEN_COLUMNS
from costkit.pricing.book import PriceBook
from costkit.pricing.sql import cost_expressions, rate_join
from costkit.spend.costed import (
    RATE_COLUMNS,
    UNPRICED,
    Scope,
    check_tz,
    costed_sql,
    frame,
    money,
    prepare,
    quote,
    rates_sql,
    requests_sql,
    with_units,
)
from costkit.spend.days import local_day_sql as _local_day_sql
from costkit.spend.engine import Engine, as_engine
from costkit.spend.warn import (
    UnpricedUsageWarning,
    maybe_unpriced,
    unpriced_counts,
    warn_unpriced,
)

TIME_DIMENSIONS = ("day", "week", "month")
DIMENSIONS = (*TIME_DIMENSIONS, "model", "project", "api_key", "user", "endpoint")
TAG_PREFIX = "tag:"
VALID_BY = (*DIMENSIONS, "tag:NAME")
COST_COLUMNS = tuple(cost_expressions())
REQUEST_COLUMNS = ("requests", *TOKEN_COLUMNS)
SEARCH_UNREPORTED = "search_unreported"  # requests whose search count is unknown (NULL)
# A group's cost of its priced requests alone (null only when it mixes currencies), and how
# many of its requests have no price: a group with unpriced usage keeps total_cost null
# (never a partial sum passed off as the whole) and still shows what is priced.
PRICED_TOTAL = "priced_total"
UNPRICED_REQUESTS = "unpriced_requests"
SPEND_COLUMNS = (*REQUEST_COLUMNS, *COST_COLUMNS, "currency")
# Token sums are HUGEINT (DECIMAL(38,0) in polars): exact for any store. Each request's count
# is below 9e15 (the readers' bound), so 2^63 requests sum to under 10^35, inside 38 digits;
# a BIGINT sum overflowed past about a thousand such requests.
TOKEN_SUM = "HUGEINT"
_UNPRICED_BY_MODEL = "_unpriced_by_model"  # folded into the query, read by the warning
__all__ = ["UnpricedUsageWarning", "check_tz", "concentration", "cost_quantiles", "parse_by",
           "requests", "spend", "totals", "unpriced"]
# Usage columns behind the plain dimensions ("user" is a reserved word in SQL).
_COLUMN_OF = {"project": "project", "api_key": "api_key_id", "user": '"user"',
              "endpoint": "endpoint"}


def spend(
    con: duckdb.DuckDBPyConnection | Engine,
    by: list[str],
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    tz: str = "UTC",
    models: list[str] | None = None,
    projects: list[str] | None = None,
    book: PriceBook | None = None,
) -> pl.DataFrame:
    """Spend per group: one row per combination of the `by` dimensions, sorted by them.

    Columns: the group keys (named after their dimension: `day` 'YYYY-MM-DD', `week`
    'YYYY-Www', `month` 'YYYY-MM', `model`, `project`, `api_key`, `user`, `endpoint`,
    `tag:NAME`), `requests`, the token sums, the cost components and `total_cost` (Decimal;
    null where the group holds unpriced usage), `search_unreported`, `currency`, then
    `priced_total` (the cost of the group's priced requests; null only where currencies
    mix) and `unpriced_requests` (how many of its requests have no price). `since` is inclusive and
    `until` exclusive; a date is local midnight in `tz`, a naive datetime local time.
    A model is matched and grouped under the card model its logged name is an alias of.
    `con`: the store's connection, or an engine (costkit.spend.engine) over exported usage.
    """
    keys = parse_by(by)
    engine = as_engine(con)
    book, scope = prepare(engine, book, since, until, tz, models, projects)
    fold = engine.name == "duckdb"
    sql, params = _spend_sql(engine, keys, scope, book, fold)
    result = engine.frame(sql, params)
    folded = result.get_column(_UNPRICED_BY_MODEL) if fold else None
    result = result.drop(_UNPRICED_BY_MODEL, strict=False)
    if result.height and result["total_cost"].null_count():
        warn_unpriced(engine, scope, result, None if folded is None else
                      unpriced_counts(folded))
    return result


def parse_by(by: list[str] | tuple[str, ...]) -> list[str]:
    """Validate the `by` dimensions (duplicates dropped, order kept); InputError otherwise."""
    keys: list[str] = []
    for raw in by:
        key = raw.strip()
        valid = key in DIMENSIONS or (key.startswith(TAG_PREFIX) and len(key) > len(TAG_PREFIX))
        if not valid:
            raise InputError(f"unknown --by value {raw!r}; valid: {', '.join(VALID_BY)}")
        if key not in keys:
            keys.append(key)
    return keys


def totals(rows: pl.DataFrame) -> dict[str, int | Decimal | str | None]:
    """The sum of a breakdown's rows: token sums (Python ints, exact at any size), and each
    cost (null if any row's is null). Costs are null too when the rows are in more than one
    currency. `priced_total` sums the rows' priced parts, so unpriced usage leaves it
    standing beside `unpriced_requests`.
    """
    out: dict[str, int | Decimal | str | None] = {
        column: sum(int(v) for v in rows[column].to_list() if v is not None)
        for column in (*REQUEST_COLUMNS, SEARCH_UNREPORTED, UNPRICED_REQUESTS)
    }
    currencies = set(rows["currency"].drop_nulls().to_list())
    for column in (*COST_COLUMNS, PRICED_TOTAL):
        values = rows[column].to_list()
        summable = len(currencies) <= 1 and all(v is not None for v in values)
        out[column] = sum(values, Decimal(0)) if summable else None
    out["currency"] = currencies.pop() if len(currencies) == 1 else None
    return out


def unpriced(
    con: duckdb.DuckDBPyConnection,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    tz: str = "UTC",
    models: list[str] | None = None,
    projects: list[str] | None = None,
    book: PriceBook | None = None,
) -> pl.DataFrame:
    """Usage that cannot be priced, per logged model and reason, with its tokens kept.

    Reasons: 'no price card' (the model is unknown), 'no card in effect at the request
    time' (the model's cards start later or end earlier), 'search calls but the card has
    no web_search rate'. Columns: model, reason, requests, the token sums, first_ts and
    last_ts (UTC). Empty when everything is priced.
    """
    _, scope = prepare(con, book, since, until, tz, models, projects)
    where, params = maybe_unpriced(as_engine(con), scope)
    sums = ", ".join(f"CAST(coalesce(sum({c}), 0) AS {TOKEN_SUM}) AS {c}" for c in TOKEN_COLUMNS)
    sql = f"""
        SELECT model, reason, sum(request_count)::BIGINT AS requests, {sums},
               timezone('UTC', min(ts)) AS first_ts, timezone('UTC', max(ts)) AS last_ts
        FROM (
            SELECT *, CASE
                WHEN card_id IS NOT NULL THEN 'search calls but the card has no web_search rate'
                WHEN model IN (SELECT name FROM price_rates)
                    THEN 'no card in effect at the request time'
                ELSE 'no price card' END AS reason
            FROM {costed_sql()}
            WHERE ({where}) AND {UNPRICED}
        )
        GROUP BY model, reason
        ORDER BY model, reason
    """
    result = frame(con, sql, params)
    return result.with_columns(pl.col("first_ts", "last_ts").dt.replace_time_zone("UTC"))


def requests(
    con: duckdb.DuckDBPyConnection,
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    tz: str = "UTC",
    models: list[str] | None = None,
    projects: list[str] | None = None,
    book: PriceBook | None = None,
    order_by_cost: bool = True,
    limit: int | None = 20,
) -> pl.DataFrame:
    """Costed requests, one row each: the most expensive first (or by time), at most `limit`.

    Columns: request_id, ts (UTC), model (as logged), priced_model, endpoint, project,
    api_key, user, tags (JSON text), the token columns, the cost components, total_cost
    (null when unpriced; those sort last), currency, card_id, source_file, source_line.
    Ties sort by time, then request id.
    """
    if limit is not None and limit < 0:
        raise InputError(f"limit is {limit}; it must be >= 0")
    _, scope = prepare(con, book, since, until, tz, models, projects)
    where, params = scope.where()
    order = "total_cost DESC NULLS LAST, ts, request_id" if order_by_cost else "ts, request_id"
    chosen = ""
    if limit is not None:
        # Rank by the integer total first, then price only the chosen requests in full.
        def top(source: str) -> list:
            rank = "_units DESC NULLS LAST, ts, request_id" if order_by_cost else "ts, request_id"
            return con.execute(
                f"SELECT request_id FROM ({source}) WHERE {where} ORDER BY {rank} "
                f"LIMIT {int(limit)}", params
            ).fetchall()

        ids = [row[0] for row in
               (with_units(top) if order_by_cost else top("SELECT * FROM usage"))]
        chosen = f"AND request_id IN ({', '.join('?' for _ in ids)})" if ids else "AND FALSE"
        params = [*params, *ids]
    sql = requests_sql(where, chosen, order, limit)
    result = frame(con, sql, params)
    return result.with_columns(pl.col("ts").dt.replace_time_zone("UTC"))


def cost_quantiles(
    con: duckdb.DuckDBPyConnection,
    quantiles: list[float] | tuple[float, ...] = (0.5, 0.9, 0.99),
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    tz: str = "UTC",
    models: list[str] | None = None,
    projects: list[str] | None = None,
    book: PriceBook | None = None,
) -> pl.DataFrame:
    """Cost per request at each quantile over priced requests: columns quantile, cost.

    Each cost is an actual request's cost (`quantile_disc`), so it stays exact. No priced
    request: an empty frame.
    """
    levels = [float(q) for q in quantiles]
    if not levels or any(not 0 <= q <= 1 for q in levels):
        raise InputError(f"quantiles {list(quantiles)}: each must be in 0..1")
    _, scope = prepare(con, book, since, until, tz, models, projects)
    where, params = scope.where()
    [(found,)] = with_units(lambda units: con.execute(
        f"SELECT quantile_disc(_units, ?::DOUBLE[]) FROM ({units}) "
        f"WHERE ({where}) AND _units IS NOT NULL",
        [levels, *params],
    ).fetchall())
    values = [money(v) for v in found or []]
    return pl.DataFrame(
        {"quantile": levels[: len(values)], "cost": values},
        schema={"quantile": pl.Float64, "cost": pl.Decimal(38, 12)},
    )


def concentration(
    con: duckdb.DuckDBPyConnection,
    fraction: Decimal | float | str = Decimal("0.01"),
    since: date | datetime | None = None,
    until: date | datetime | None = None,
    tz: str = "UTC",
    models: list[str] | None = None,
    projects: list[str] | None = None,
    book: PriceBook | None = None,
) -> dict[str, int | Decimal | None]:
    """Where the money concentrates: the spend of the most expensive `fraction` of requests.

    Over priced requests. Returns requests, top_requests (ceil(fraction x requests)),
    top_cost, total_cost and share (top_cost / total_cost; None when nothing was spent).
    """
    fraction = Decimal(str(fraction))
    if not 0 < fraction <= 1:
        raise InputError(f"fraction is {fraction}; it must be in (0, 1]")
    _, scope = prepare(con, book, since, until, tz, models, projects)
    where, params = scope.where()
    # Counting needs only the join; the costs are then computed in one pass, which keeps
    # the top N in a heap (max(cost, N)) instead of sorting every request.
    count = con.execute(
        f"SELECT count(*) FROM {costed_sql()} WHERE ({where}) AND NOT {UNPRICED}", params
    ).fetchall()[0][0]
    top_n = math.ceil(fraction * count)
    spent = top_cost = Decimal(0)
    if count:
        [(total, top)] = with_units(lambda units: con.execute(
            f"SELECT sum(_units), list_sum(max(_units, {top_n})) FROM ({units}) "
            f"WHERE ({where}) AND _units IS NOT NULL",
            params,
        ).fetchall())
        spent, top_cost = money(total), money(top)
    return concentration_result(count, top_n, top_cost, spent)


def concentration_result(count: int, top_n: int, top_cost: Decimal, spent: Decimal
                         ) -> dict[str, int | Decimal | None]:
    """`concentration`'s answer, however its sums were found (`spend.distribution` finds
    them from one sorted scan)."""
    return {
        "requests": count,
        "top_requests": top_n,
        "top_cost": top_cost,
        "total_cost": spent,
        "share": (top_cost / spent) if spent else None,
    }


# --- the breakdown's SQL ---------------------------------------------------------------------

def _spend_sql(
    engine: Engine, keys: list[str], scope: Scope, book: PriceBook, fold: bool = False
) -> tuple[str, list]:
    """Stage 1 sums tokens per (fine keys, price keys); stage 2 prices and labels each
    aggregate; stage 3 sums the labelled rows per group. `fold`: also a column of the
    group's unpriced requests per logged model (DuckDB's list aggregate), which the
    warning reads instead of a query of its own."""
    where, params = scope.where()
    fine: dict[str, str] = {}
    for key in keys:
        if key in TIME_DIMENSIONS:
            fine["_day"] = _local_day_sql(engine, scope.tz, where, params)
        elif key.startswith(TAG_PREFIX):
            fine["_tags"] = "CAST(tags AS VARCHAR)"
        elif key != "model":
            fine[f"_{key}"] = _COLUMN_OF[key]
    fine["model"] = "model"
    fine["_period"] = _index_sql(_card_bounds(book), "ts >= {}", _timestamp_literal)
    fine["_band"] = _index_sql(_tier_bounds(book), "input_tokens > {}", str)
    # A component a card may not offer (web search) leaves a request unpriced only when the
    # request uses it: on the models of such cards, those requests get their own aggregates,
    # so the priced ones beside them still count in `priced_total` and `unpriced_requests`
    # counts requests exactly. (No such card, as with the built-in one: no extra key.)
    for component in COMPONENTS:
        names = _names_lacking(book, component)
        if names:
            fine[f"_uses_{component.name}"] = (
                f"(model IN ({', '.join(literal(n) for n in names)}) "
                f"AND coalesce({component.quantity}, 0) > 0)")
    fine_cols = ", ".join(f"{sql} AS {name}" for name, sql in fine.items())
    token_sums = ", ".join(f"CAST(sum({c}) AS {TOKEN_SUM}) AS {c}" if c != "search_calls" else
                           f"CAST(coalesce(sum({c}), 0) AS {TOKEN_SUM}) AS {c}"
                           for c in TOKEN_COLUMNS)
    # requests that enabled web search but reported no count: shown, never priced as $0
    token_sums += f", count(*) FILTER (WHERE search_calls IS NULL) AS {SEARCH_UNREPORTED}"

    labels = [f"_l{i}" for i in range(len(keys))]
    label_cols = "".join(f"{_label_sql(key, book)} AS {label}, "
                         for key, label in zip(keys, labels, strict=True))
    costs = ", ".join(f"{sql} AS {name}" for name, sql in cost_expressions().items())
    rates = ", ".join(f"r.{c}" for c in RATE_COLUMNS)
    # A cost sums only when every rate row of the group priced and all share one currency.
    mixed = "count(DISTINCT currency) > 1"
    cost_sums = ", ".join(
        f"CASE WHEN bool_and({c} IS NOT NULL) AND NOT {mixed} THEN sum({c}) END AS {c}"
        for c in COST_COLUMNS
    )
    request_sums = ", ".join(
        f"CAST(coalesce(sum({c}), 0) AS {'BIGINT' if c == 'requests' else TOKEN_SUM}) AS {c}"
        for c in REQUEST_COLUMNS)
    outer_keys = "".join(f"{label} AS {quote(key)}, "
                         for key, label in zip(keys, labels, strict=True))
    group = f"GROUP BY {', '.join(labels)}" if labels else "HAVING count(*) > 0"
    # An aggregate's null total is unpriced usage (one rate row prices all its requests).
    unpriced_by_model = (
        f", list(struct_pack(model := _logged, requests := CAST(requests AS BIGINT))) "
        f"FILTER (WHERE {TOTAL_COLUMN} IS NULL) AS {_UNPRICED_BY_MODEL}") if fold else ""
    order = f"ORDER BY {', '.join(f'{label} NULLS LAST' for label in labels)}" if labels else ""
    sql = f"""
        WITH fine AS (
            SELECT {fine_cols}, sum(request_count) AS requests, {token_sums},
                   any_value(ts) AS _ts, any_value(input_tokens) AS _in
            FROM usage
            WHERE {where}
            GROUP BY ALL
        ),
        priced AS (
            SELECT f.*, r.card_id, r.currency, {rates}
            FROM fine f LEFT JOIN {rates_sql()} r ON {rate_join('f._ts', 'f._in', 'f.model')}
        ),
        costed AS (
            SELECT {label_cols}requests, {', '.join(TOKEN_COLUMNS)}, {SEARCH_UNREPORTED},
                   currency, model AS _logged, {costs}
            FROM priced
        )
        SELECT {outer_keys}{request_sums}, {cost_sums},
               CAST(sum({SEARCH_UNREPORTED}) AS BIGINT) AS {SEARCH_UNREPORTED},
               CASE WHEN NOT {mixed} THEN any_value(currency) END AS currency,
               CASE WHEN NOT {mixed} THEN coalesce(sum({TOTAL_COLUMN}), 0) END
                   AS {PRICED_TOTAL},
               CAST(coalesce(sum(requests) FILTER (WHERE {TOTAL_COLUMN} IS NULL), 0) AS BIGINT)
                   AS {UNPRICED_REQUESTS}{unpriced_by_model}
        FROM costed
        {group}
        {order}
    """
    return sql, params


def _label_sql(key: str, book: PriceBook) -> str:
    """A group key as shown, from the stage-1 columns."""
    if key in TIME_DIMENSIONS:
        day = "(DATE '1970-01-01' + CAST(_day AS INTEGER))"
        if key == "week":
            return f"printf('%04d-W%02d', isoyear({day}), week({day}))"
        return f"strftime({day}, '{'%Y-%m-%d' if key == 'day' else '%Y-%m'}')"
    if key == "model":
        renamed = sorted((n, m) for n, m in book.aliases().items() if n != m)
        if not renamed:
            return "model"
        whens = " ".join(f"WHEN {literal(n)} THEN {literal(m)}" for n, m in renamed)
        return f"(CASE model {whens} ELSE model END)"
    if key.startswith(TAG_PREFIX):
        name = key[len(TAG_PREFIX):]
        pointer = "/" + name.replace("~", "~0").replace("/", "~1")
        return f"json_extract_string(_tags, {literal(pointer)})"
    return f"_{key}"


def _card_bounds(book: PriceBook) -> dict[str, list]:
    """Per logged name, the instants where one of its cards starts or ends."""
    bounds: dict[str, set] = {}
    for card in book.cards:
        for name in (card.model, *card.aliases):
            for at in (card.effective_from, card.effective_to):
                if at is not None:
                    bounds.setdefault(name, set()).add(at)
    return {name: sorted(points) for name, points in bounds.items()}


def _names_lacking(book: PriceBook, component: Component) -> list[str]:
    """The logged names of the cards that have no rate for `component` in some tier."""
    if component.offered_always:
        return []
    return sorted({name for card in book.cards
                   if any(band.rates.of(component) is None for band in card.bands)
                   for name in (card.model, *card.aliases)})


def _tier_bounds(book: PriceBook) -> dict[str, list]:
    """Per logged name, the input-token thresholds of its cards' tiers (where bands start)."""
    bounds: dict[str, set] = {}
    for card in book.cards:
        for name in (card.model, *card.aliases):
            for band in card.bands[1:]:
                bounds.setdefault(name, set()).add(band.above)
    return {name: sorted(points) for name, points in bounds.items()}


def _index_sql(bounds: dict[str, list], test: str, render) -> str:
    """How many of its model's bounds a request is past: requests with one index share a
    card and a tier, so one of them prices them all."""
    if not bounds:
        return "0"
    whens = []
    for name, points in sorted(bounds.items()):
        steps = " ".join(f"WHEN {test.format(render(p))} THEN {i}"
                         for i, p in reversed(list(enumerate(points, start=1))))
        whens.append(f"WHEN {literal(name)} THEN CASE {steps} ELSE 0 END")
    return f"(CASE model {' '.join(whens)} ELSE 0 END)"


def _timestamp_literal(at: datetime) -> str:
    return f"TIMESTAMPTZ '{at.isoformat()}'"
