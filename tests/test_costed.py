"""The three forms of one cost agree on random cards: Python's Decimal arithmetic
(pricing.cost.price), the store's DECIMAL SQL (pricing.sql.cost_expressions) and the spend
queries' integer fast path (spend.costed.units_sql, 64-bit then 128-bit).

Cards are random TOML (rates of up to 6 decimal places, optional rates, 0-2 tiers written
in any order, with or without a web-search rate) read by the real card parser; requests are
random canonical rows, some too costly for 64-bit units, some with counts not reported.
The hand-worked cases below pin the common arithmetic to figures worked out on paper.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costkit.core.errors import CardError
from costkit.core.usage import COUNT_COLUMNS, Usage
from costkit.pricing.book import PriceBook, load_price_book
from costkit.pricing.cards import parse_cards
from costkit.pricing.cost import price
from costkit.pricing.sql import cost_expressions, register_prices
from costkit.spend.costed import money, units_sql, with_units
from costkit.store.migrations import migrate

AT = datetime(2026, 10, 5, tzinfo=UTC)
OPTIONAL_RATES = ("cached_input", "cache_write", "reasoning", "web_search")


def rates_toml(table: str, rates: dict[str, Decimal]) -> str:
    return f"[{table}]\n" + "".join(f"{k} = {format(v, 'f')}\n" for k, v in rates.items())


rate = st.integers(min_value=0, max_value=10**12).map(lambda n: Decimal(n).scaleb(-6))
small_rate = st.integers(min_value=0, max_value=5 * 10**6).map(lambda n: Decimal(n).scaleb(-6))


@st.composite
def cards(draw: st.DrawFn) -> str:
    base = {"input": draw(st.one_of(small_rate, rate)), "output": draw(st.one_of(small_rate, rate))}
    for name in OPTIONAL_RATES:
        if draw(st.booleans()):
            base[name] = draw(small_rate)
    text = '[[card]]\nmodel = "m"\naliases = ["m-alias"]\n' + rates_toml("card.rates", base)
    thresholds = draw(st.lists(st.integers(1, 5000), max_size=2, unique=True))
    for threshold in thresholds:  # in the order drawn: a card need not list tiers sorted
        tier = {name: draw(small_rate) for name in draw(
            st.lists(st.sampled_from(("input", "output", "cached_input", "reasoning")),
                     unique=True, max_size=3))}
        text += f"[[card.tiers]]\nabove_input_tokens = {threshold}\n"
        text += rates_toml("card.tiers.rates", tier)
    return text


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, dict[str, int | None]]:
    big = draw(st.booleans())
    count = st.integers(0, 10**12 if big else 6000)
    cached, cache_write = draw(count), draw(count)
    row: dict[str, int | None] = {
        "input_tokens": cached + cache_write + draw(count),
        "cached_input_tokens": cached,
        "cache_write_tokens": cache_write,
        "output_tokens": draw(count),
        "reasoning_tokens": draw(st.none() | count),
        "search_calls": draw(st.none() | st.integers(0, 5)),
    }
    return draw(st.sampled_from(("m", "m-alias", "unknown"))), row


def python_total(book: PriceBook, model: str, row: dict[str, int | None]) -> Decimal | None:
    """The request priced on its own in Python; None when it cannot be priced."""
    try:
        card = book.card_for(book.resolve(model), AT)
        return price(Usage(**{k: v or 0 for k, v in row.items()}), card).total
    except CardError:
        return None
    except Exception as exc:  # an unknown model
        if "unknown model" in str(exc):
            return None
        raise


def store_with(
    rows: list[tuple[str, dict[str, int | None]]], con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyConnection:
    """A store holding `rows` (in `con`, emptied first, or a new one in memory)."""
    if con is None:
        con = duckdb.connect()
        migrate(con)
    con.execute("DELETE FROM usage")
    columns = ", ".join(COUNT_COLUMNS)
    for i, (model, row) in enumerate(rows):
        con.execute(
            f"INSERT INTO usage (request_id, ts, model, source_format, {columns}) "
            f"VALUES (?, ?, ?, 'test', {', '.join('?' for _ in COUNT_COLUMNS)})",
            [f"r{i:03d}", AT, model, *(row[c] for c in COUNT_COLUMNS)],
        )
    return con


def decimal_totals(con: duckdb.DuckDBPyConnection) -> list[Decimal | None]:
    total = cost_expressions()["total_cost"]
    rows = con.execute(f"SELECT {total} FROM costed_usage ORDER BY request_id").fetchall()
    return [r[0] for r in rows]


def unit_totals(con: duckdb.DuckDBPyConnection, int_type: str | None = None) -> list:
    def run(sql: str) -> list:
        return con.execute(f"SELECT _units FROM ({sql}) ORDER BY request_id").fetchall()

    rows = run(units_sql(int_type)) if int_type else with_units(run)
    return [money(r[0]) for r in rows]


@pytest.fixture(scope="module")
def memory_store():
    con = duckdb.connect()
    migrate(con)
    yield con
    con.close()


@settings(deadline=None)
@given(cards(), st.lists(requests(), min_size=1, max_size=12))
def test_integer_units_decimal_sql_and_python_agree(memory_store, card_text, rows):
    book = PriceBook(parse_cards(card_text, "random.toml"))
    con = store_with(rows, memory_store)
    register_prices(con, book)
    expected = [python_total(book, model, row) for model, row in rows]
    assert decimal_totals(con) == expected
    assert unit_totals(con) == expected


def test_a_cost_past_64_bits_is_retried_in_128():
    """10^12 tokens at $1,000,000 per 1M is $10^12, 10^24 units: past 64 bits (9.2 x 10^18)."""
    book = PriceBook(parse_cards(
        '[[card]]\nmodel = "m"\n[card.rates]\ninput = 1000000\noutput = 1\n', "big.toml"))
    con = store_with([("m", dict(zip(COUNT_COLUMNS, (10**12, 0, 0, 0, 0, 0), strict=True)))])
    register_prices(con, book)
    try:
        unit_totals(con, "BIGINT")
        overflowed = False
    except duckdb.OutOfRangeException:
        overflowed = True
    assert overflowed
    assert unit_totals(con) == [Decimal(10**12)]
    assert unit_totals(con, "HUGEINT") == [Decimal(10**12)]


def test_hand_worked_costs_in_every_form():
    """DeepSeek V3.2's published rates: $0.57 / 1M input (no cached rate is published, so
    cached input bills as input), $1.71 / 1M output, reasoning billed as output, $0.015 per
    search call.

    1,000,000 input of which 200,000 cached: 800,000 x 0.57 / 1M = 0.456, 200,000 x
    0.57 / 1M = 0.114; 300,000 output x 1.71 / 1M = 0.513; 100,000 reasoning = 0.171;
    3 searches x 0.015 = 0.045. Total 1.299.
    """
    book = load_price_book([])
    card = book.card_for("deepseek-v3-2", AT)
    counts = dict(zip(COUNT_COLUMNS, (1_000_000, 200_000, 0, 300_000, 100_000, 3), strict=True))
    cost = price(Usage(**counts), card)
    assert (cost.input, cost.cached_input, cost.output, cost.reasoning, cost.web_search) == (
        Decimal("0.456"), Decimal("0.114"), Decimal("0.513"), Decimal("0.171"), Decimal("0.045"))
    assert cost.total == Decimal("1.299")
    con = store_with([("deepseek-v3-2", counts)])
    register_prices(con, book)
    assert decimal_totals(con) == [Decimal("1.299")]
    assert unit_totals(con) == [Decimal("1.299")]
