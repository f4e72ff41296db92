"""Spend queries over the store: grouped breakdowns, unpriced usage, per-request costs.

Costs come from the store's price-card table (`register_prices`), joined to each request
exactly as the store's `costed_usage` view joins it, and priced with the store's
`cost_expressions`, so `costkit report`, the monthly HTML page and anything else that shows
spend agree to the last digit. The one difference from the view: rates are read as
DECIMAL(38,12), which holds every per-token rate exactly (a card's per-1M rates have at most
6 decimal places), so each cost is a plain multiplication; with the view's DECIMAL(38,18)
every cost needs a 128-bit division, and pricing 10M requests takes 14x longer.

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
import warnings
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import duckdb
import polars as pl

from costkit.errors import InputError
from costkit.pricing import RATE_NAMES, RATE_PLACES, PriceBook, load_price_book
from costkit.store import TOKEN_COLUMNS, cost_expressions, register_prices

TIME_DIMENSIONS = ("day", "week", "month")
DIMENSIONS = (*TIME_DIMENSIONS, "model", "project", "api_key", "user", "endpoint")
TAG_PREFIX = "tag:"
VALID_BY = (*DIMENSIONS, "tag:NAME")
COST_COLUMNS = tuple(cost_expressions())
RATE_COLUMNS = tuple(f"rate_{name}" for name in RATE_NAMES)
REQUEST_COLUMNS = ("requests", *TOKEN_COLUMNS)
SPEND_COLUMNS = (*REQUEST_COLUMNS, *COST_COLUMNS, "currency")
# Per-token rates: per-1M rates of at most RATE_PLACES places, divided by 10^6.
EXACT_RATE = f"DECIMAL(38,{RATE_PLACES + 6})"
QUARTER_HOUR_US = 900_000_000
DAY_US = 86_400_000_000
MAX_OFFSET_SCAN = 20 * 366 * 96  # quarter hours: past 20 years of data, convert every row
# Usage columns behind the plain dimensions ("user" is a reserved word in SQL).
_COLUMN_OF = {"project": "project", "api_key": "api_key_id", "user": '"user"',
              "endpoint": "endpoint"}


class UnpricedUsageWarning(UserWarning):
    """Some usage in a breakdown has no price: its groups' costs are null, its tokens kept."""


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


def spend(
    con: duckdb.DuckDBPyConnection,
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
    null where the group holds unpriced usage), and `currency`. `since` is inclusive and
    `until` exclusive; a date is local midnight in `tz`, a naive datetime local time.
    A model is matched and grouped under the card model its logged name is an alias of.
    """
    keys = parse_by(by)
    book, scope = _prepare(con, book, since, until, tz, models, projects)
    sql, params = _spend_sql(con, keys, scope, book)
    frame = _frame(con, sql, params)
    if frame.height and frame["total_cost"].null_count():
        _warn_unpriced(con, scope, frame)
    return frame


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


def check_tz(con: duckdb.DuckDBPyConnection, tz: str) -> None:
    """InputError unless DuckDB's ICU time zones know `tz`."""
    try:
        con.execute("SELECT timezone(?, TIMESTAMP '2000-01-01')", [tz]).fetchall()
    except duckdb.Error:
        raise InputError(
            f"unknown time zone {tz!r}; use an IANA name such as UTC, Europe/Berlin "
            "or America/New_York"
        ) from None


def totals(frame: pl.DataFrame) -> dict[str, int | Decimal | str | None]:
    """The sum of a breakdown's rows: token sums, and each cost (null if any row's is null).

    Costs are null too when the rows are in more than one currency.
    """
    out: dict[str, int | Decimal | str | None] = {
        column: int(frame[column].sum()) for column in REQUEST_COLUMNS
    }
    currencies = set(frame["currency"].drop_nulls().to_list())
    for column in COST_COLUMNS:
        values = frame[column].to_list()
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
    _, scope = _prepare(con, book, since, until, tz, models, projects)
    where, params = scope.where()
    sums = ", ".join(f"CAST(coalesce(sum({c}), 0) AS BIGINT) AS {c}" for c in TOKEN_COLUMNS)
    sql = f"""
        SELECT model, reason, count(*)::BIGINT AS requests, {sums},
               timezone('UTC', min(ts)) AS first_ts, timezone('UTC', max(ts)) AS last_ts
        FROM (
            SELECT *, CASE
                WHEN card_id IS NOT NULL THEN 'search calls but the card has no web_search rate'
                WHEN model IN (SELECT name FROM price_rates)
                    THEN 'no card in effect at the request time'
                ELSE 'no price card' END AS reason
            FROM {_costed_sql()}
            WHERE ({where}) AND {_UNPRICED}
        )
        GROUP BY model, reason
        ORDER BY model, reason
    """
    frame = _frame(con, sql, params)
    return frame.with_columns(pl.col("first_ts", "last_ts").dt.replace_time_zone("UTC"))


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
    """
    if limit is not None and limit < 0:
        raise InputError(f"limit is {limit}; it must be >= 0")
    _, scope = _prepare(con, book, since, until, tz, models, projects)
    order = "total_cost DESC NULLS LAST, ts, request_id" if order_by_cost else "ts, request_id"
    costs = ", ".join(f"{sql} AS {name}" for name, sql in cost_expressions().items())
    where, params = scope.where()
    sql = f"""
        SELECT request_id, timezone('UTC', ts) AS ts, model, priced_model, endpoint, project,
               api_key_id AS api_key, "user", CAST(tags AS VARCHAR) AS tags,
               {', '.join(TOKEN_COLUMNS)}, {costs}, currency, card_id, source_file, source_line
        FROM {_costed_sql()}
        WHERE {where}
        ORDER BY {order}
        {'' if limit is None else f'LIMIT {int(limit)}'}
    """
    frame = _frame(con, sql, params)
    return frame.with_columns(pl.col("ts").dt.replace_time_zone("UTC"))


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
    _, scope = _prepare(con, book, since, until, tz, models, projects)
    where, params = scope.where()
    row = con.execute(
        f"SELECT quantile_disc(cost, ?::DOUBLE[]) FROM ({_priced_costs_sql(where)})",
        [levels, *params],
    ).fetchall()[0]
    values = row[0] if row and row[0] is not None else []
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
    _, scope = _prepare(con, book, since, until, tz, models, projects)
    where, params = scope.where()
    # Counting needs only the join; the costs are then computed in one pass, which keeps
    # the top N in a heap (max(cost, N)) instead of sorting every request.
    count = con.execute(
        f"SELECT count(*) FROM {_costed_sql()} WHERE ({where}) AND NOT {_UNPRICED}", params
    ).fetchall()[0][0]
    top_n = math.ceil(fraction * count)
    spent = top_cost = Decimal(0)
    if count:
        spent, top_cost = con.execute(
            f"SELECT sum(cost), list_sum(max(cost, {top_n})) FROM ({_priced_costs_sql(where)})",
            params,
        ).fetchall()[0]
    return {
        "requests": count,
        "top_requests": top_n,
        "top_cost": top_cost,
        "total_cost": spent,
        "share": (top_cost / spent) if spent else None,
    }


# --- shared preparation and SQL -------------------------------------------------------------

_UNPRICED = "(card_id IS NULL OR (search_calls > 0 AND rate_web_search IS NULL))"


def _prepare(
    con: duckdb.DuckDBPyConnection,
    book: PriceBook | None,
    since: date | datetime | None,
    until: date | datetime | None,
    tz: str,
    models: list[str] | None,
    projects: list[str] | None,
) -> tuple[PriceBook, Scope]:
    """Load the cards into this connection and resolve the filters into a Scope."""
    book = book if book is not None else load_price_book()
    check_tz(con, tz)
    start, end = _instant(con, since, tz), _instant(con, until, tz)
    if start is not None and end is not None and start >= end:
        raise InputError(f"since ({since}) is not before until ({until}): the period is empty")
    aliases = book.aliases()
    names: list[str] = []
    for wanted in models or []:
        model = aliases.get(wanted, wanted)
        names += [wanted, model, *(n for n, m in aliases.items() if m == model)]
    register_prices(con, book)
    return book, Scope(tz, start, end, tuple(dict.fromkeys(names)),
                       tuple(dict.fromkeys(projects or [])), bool(models))


def _instant(con: duckdb.DuckDBPyConnection, value: date | datetime | None, tz: str):
    """A date (local midnight) or naive datetime (local time) in `tz` as an instant."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value
        local = value
    elif isinstance(value, date):
        local = datetime(value.year, value.month, value.day)
    else:
        raise InputError(f"{value!r} is not a date or datetime")
    return con.execute("SELECT timezone(?, ?::TIMESTAMP)", [tz, local]).fetchall()[0][0]


def _join_on(ts: str, input_tokens: str, model: str) -> str:
    """The `costed_usage` view's join of a request to its rate row `r`."""
    return (
        f"r.name = {model}"
        f" AND {ts} >= coalesce(r.effective_from, '-infinity'::TIMESTAMPTZ)"
        f" AND {ts} < coalesce(r.effective_to, 'infinity'::TIMESTAMPTZ)"
        f" AND {input_tokens} > r.above_input_tokens"
        f" AND (r.upto_input_tokens IS NULL OR {input_tokens} <= r.upto_input_tokens)"
    )


def _rates_sql() -> str:
    casts = ", ".join(f"CAST({c} AS {EXACT_RATE}) AS {c}" for c in RATE_COLUMNS)
    return f"(SELECT * REPLACE ({casts}) FROM price_rates)"


def _costed_sql() -> str:
    """`costed_usage` with exact DECIMAL(38,12) rates (see the module docstring)."""
    rates = ", ".join(f"r.{c}" for c in RATE_COLUMNS)
    return f"""(
        SELECT u.*, r.priced_model, r.card_id, r.currency, {rates}
        FROM usage u LEFT JOIN {_rates_sql()} r ON {_join_on('u.ts', 'u.input_tokens', 'u.model')}
    )"""


def _priced_costs_sql(where: str) -> str:
    total = cost_expressions()["total_cost"]
    return f"SELECT {total} AS cost FROM {_costed_sql()} WHERE ({where}) AND ({total}) IS NOT NULL"


def _spend_sql(con, keys: list[str], scope: Scope, book: PriceBook) -> tuple[str, list]:
    """Stage 1 sums tokens per (fine keys, price keys); stage 2 prices and labels each
    aggregate; stage 3 sums the labelled rows per group."""
    where, params = scope.where()
    fine: dict[str, str] = {}
    for key in keys:
        if key in TIME_DIMENSIONS:
            fine["_day"] = _local_day_sql(con, scope.tz, where, params)
        elif key.startswith(TAG_PREFIX):
            fine["_tags"] = "CAST(tags AS VARCHAR)"
        elif key != "model":
            fine[f"_{key}"] = _COLUMN_OF[key]
    fine["model"] = "model"
    fine["_period"] = _index_sql(_card_bounds(book), "ts >= {}", _timestamp_literal)
    fine["_band"] = _index_sql(_tier_bounds(book), "input_tokens > {}", str)
    fine_cols = ", ".join(f"{sql} AS {name}" for name, sql in fine.items())
    token_sums = ", ".join(f"CAST(sum({c}) AS BIGINT) AS {c}" for c in TOKEN_COLUMNS)

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
    request_sums = ", ".join(f"CAST(coalesce(sum({c}), 0) AS BIGINT) AS {c}"
                             for c in REQUEST_COLUMNS)
    outer_keys = "".join(f"{label} AS {_quote(key)}, "
                         for key, label in zip(keys, labels, strict=True))
    group = f"GROUP BY {', '.join(labels)}" if labels else "HAVING count(*) > 0"
    order = f"ORDER BY {', '.join(f'{label} NULLS LAST' for label in labels)}" if labels else ""
    sql = f"""
        WITH fine AS (
            SELECT {fine_cols}, count(*) AS requests, {token_sums},
                   min(ts) AS _ts, min(input_tokens) AS _in
            FROM usage
            WHERE {where}
            GROUP BY ALL
        ),
        priced AS (
            SELECT f.*, r.card_id, r.currency, {rates}
            FROM fine f LEFT JOIN {_rates_sql()} r ON {_join_on('f._ts', 'f._in', 'f.model')}
        ),
        costed AS (
            SELECT {label_cols}requests, {', '.join(TOKEN_COLUMNS)}, currency, {costs}
            FROM priced
        )
        SELECT {outer_keys}{request_sums}, {cost_sums},
               CASE WHEN NOT {mixed} THEN any_value(currency) END AS currency
        FROM costed
        {group}
        {order}
    """
    return sql, params


def _local_day_sql(con: duckdb.DuckDBPyConnection, tz: str, where: str, params: list) -> str:
    """SQL for a request's local calendar day in `tz`, as days since 1970-01-01.

    From the zone's UTC offsets over the data's range: one CASE branch per offset change.
    Each quarter hour's offset is read at its first and last second; if an offset changes
    inside a quarter hour (or the data spans decades), every row's time is converted.
    """
    zone = _literal(tz)
    exact = _floor_div(f"epoch_us(timezone({zone}, ts))", DAY_US)
    lo, hi = con.execute(
        f"SELECT min(epoch_us(ts)), max(epoch_us(ts)) FROM usage WHERE {where}", params
    ).fetchall()[0]
    if lo is None or (hi // QUARTER_HOUR_US - lo // QUARTER_HOUR_US) > MAX_OFFSET_SCAN:
        return exact
    quarter = QUARTER_HOUR_US // 1_000_000
    changes = con.execute(
        f"""
        WITH q AS (
            SELECT q,
                   epoch_us(timezone({zone}, to_timestamp(q * {quarter}))) - q * {QUARTER_HOUR_US}
                       AS off,
                   epoch_us(timezone({zone}, to_timestamp(q * {quarter} + {quarter - 1})))
                       - (q * {quarter} + {quarter - 1}) * 1000000 AS off_end
            FROM range(?, ?) t(q)
        ),
        steps AS (SELECT q, off, off_end, lag(off) OVER (ORDER BY q) AS before FROM q)
        SELECT q, off, off = off_end FROM steps
        WHERE before IS NULL OR off <> before OR off <> off_end
        ORDER BY q
        """,
        [lo // QUARTER_HOUR_US, hi // QUARTER_HOUR_US + 1],
    ).fetchall()
    if not all(steady for _, _, steady in changes):
        return exact
    offset = str(changes[0][1])
    if len(changes) > 1:
        whens = " ".join(f"WHEN epoch_us(ts) >= {q * QUARTER_HOUR_US} THEN {off}"
                         for q, off, _ in reversed(changes[1:]))
        offset = f"(CASE {whens} ELSE {changes[0][1]} END)"
    return _floor_div(f"(epoch_us(ts) + {offset})", DAY_US)


def _floor_div(expr: str, divisor: int) -> str:
    """Integer floor division, also before 1970 (DuckDB's // truncates toward zero): shifted
    by 10^7 divisors (27,000 years of days) so the dividend is positive, `expr` once."""
    shift = 10_000_000
    return f"((({expr}) + {shift * divisor}) // {divisor} - {shift})"


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
        whens = " ".join(f"WHEN {_literal(n)} THEN {_literal(m)}" for n, m in renamed)
        return f"(CASE model {whens} ELSE model END)"
    if key.startswith(TAG_PREFIX):
        name = key[len(TAG_PREFIX):]
        pointer = "/" + name.replace("~", "~0").replace("/", "~1")
        return f"json_extract_string(_tags, {_literal(pointer)})"
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


def _tier_bounds(book: PriceBook) -> dict[str, list]:
    """Per logged name, the input-token thresholds of its cards' tiers."""
    bounds: dict[str, set] = {}
    for card in book.cards:
        for name in (card.model, *card.aliases):
            for tier in card.tiers:
                bounds.setdefault(name, set()).add(tier.above_input_tokens)
    return {name: sorted(points) for name, points in bounds.items()}


def _index_sql(bounds: dict[str, list], test: str, literal) -> str:
    """How many of its model's bounds a request is past: requests with one index share a
    card and a tier, so one of them prices them all."""
    if not bounds:
        return "0"
    whens = []
    for name, points in sorted(bounds.items()):
        steps = " ".join(f"WHEN {test.format(literal(p))} THEN {i}"
                         for i, p in reversed(list(enumerate(points, start=1))))
        whens.append(f"WHEN {_literal(name)} THEN CASE {steps} ELSE 0 END")
    return f"(CASE model {' '.join(whens)} ELSE 0 END)"


def _warn_unpriced(con: duckdb.DuckDBPyConnection, scope: Scope, frame: pl.DataFrame) -> None:
    where, params = scope.where()
    rows = con.execute(
        f"SELECT model, count(*) FROM {_costed_sql()} WHERE ({where}) AND {_UNPRICED} "
        "GROUP BY model ORDER BY model",
        params,
    ).fetchall()
    groups = frame["total_cost"].null_count()
    held = f"{groups} group{'s' if groups != 1 else ''}"
    if rows:
        parts = ", ".join(f"{model} ({n:,} request{'s' if n != 1 else ''})" for model, n in rows)
        message = (f"unpriced usage: {parts}; costs are null in the {held} holding it "
                   "(add a price card with --prices)")
    else:
        message = f"costs are null in the {held} that mix currencies, which cannot be summed"
    warnings.warn(UnpricedUsageWarning(message), stacklevel=3)


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> pl.DataFrame:
    """A query's result as polars (through Arrow, Decimals kept).

    `con.sql` refuses to run while another result of the connection is unread; every query
    here reads its results whole, and `_prepare`'s first `execute` discards a caller's.
    """
    return con.sql(sql, params=params).pl()


def _timestamp_literal(at: datetime) -> str:
    return f"TIMESTAMPTZ '{at.isoformat()}'"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
