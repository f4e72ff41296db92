"""Property: `spend` equals pricing every request on its own in Python and summing per group.

The oracle uses `pricing.price` with `PriceBook.card_for` at each request's time and
Python's zoneinfo for the local day, week and month; `spend` uses DuckDB, ICU and token
sums. Cards with aliases, a price change at an odd instant, a tier, a card without a search
rate, and an unknown model are all in play, as are DST changes in three zones.
"""

from __future__ import annotations

import textwrap
import warnings
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costkit.core.errors import CostkitError
from costkit.core.usage import Usage
from costkit.pricing.book import PriceBook
from costkit.pricing.cards import parse_cards
from costkit.pricing.cost import price
from costkit.spend.breakdown import COST_COLUMNS, TOKEN_COLUMNS, UnpricedUsageWarning, spend
from costkit.store.migrations import migrate

CARDS = textwrap.dedent("""
    [[card]]
    model = "alpha"
    aliases = ["alpha-latest"]
    effective_to = 2026-10-25T01:07:30Z
    [card.rates]
    input = 0.57
    cached_input = 0.07
    cache_write = 0.9
    output = 1.71
    reasoning = 2.5
    web_search = 0.015
    [[card.tiers]]
    above_input_tokens = 3000
    [card.tiers.rates]
    input = 1.14
    output = 3.42

    [[card]]
    model = "alpha"
    aliases = ["alpha-latest"]
    effective_from = 2026-10-25T01:07:30Z
    [card.rates]
    input = 0.28
    output = 0.42
    web_search = 0.01

    [[card]]
    model = "beta"
    [card.rates]
    input = 0.000001
    output = 123.456789
""")
START = datetime(2026, 10, 20, tzinfo=UTC)
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe")
BYS = (["day"], ["week", "model"], ["month", "model"], [], ["model", "day"])
COMPONENTS = {"input_cost": "input", "cached_input_cost": "cached_input",
              "cache_write_cost": "cache_write", "output_cost": "output",
              "reasoning_cost": "reasoning", "search_cost": "web_search"}


def book() -> PriceBook:
    return PriceBook(parse_cards(CARDS, "test-cards"))


request = st.fixed_dictionaries({
    # Around Berlin's (Oct 25) and New York's (Nov 1) DST ends and month end.
    "seconds": st.integers(min_value=0, max_value=16 * 86400),
    "model": st.sampled_from(["alpha", "alpha-latest", "beta", "ghost"]),
    "input_tokens": st.integers(min_value=0, max_value=6000),
    "cached_share": st.integers(min_value=0, max_value=10),
    "cache_write": st.integers(min_value=0, max_value=50),
    "output_tokens": st.integers(min_value=0, max_value=100_000),
    "reasoning_tokens": st.none() | st.integers(min_value=0, max_value=9000),
    "search_calls": st.sampled_from([0, 0, 0, 1, 3]),
})


def oracle(rows, by, tz, prices):
    zone = ZoneInfo(tz)
    aliases = prices.aliases()
    groups: dict[tuple, dict] = {}
    for row in rows:
        local = row["ts"].astimezone(zone)
        iso = local.isocalendar()
        labels = {
            "day": local.strftime("%Y-%m-%d"), "month": local.strftime("%Y-%m"),
            "week": f"{iso.year:04d}-W{iso.week:02d}",
            "model": aliases.get(row["model"], row["model"]),
        }
        key = tuple(labels[k] for k in by)
        usage = Usage(row["input_tokens"], row["cached_input_tokens"],
                      row["cache_write_tokens"], row["output_tokens"],
                      row["reasoning_tokens"] or 0, row["search_calls"])
        try:
            card = prices.card_for(row["model"], row["ts"])
        except CostkitError:
            card = None
        if card is None:
            costs = dict.fromkeys(COMPONENTS)
        else:
            searchable = card.rates_for(usage.input_tokens).web_search is not None
            cost = price(replace(usage, search_calls=usage.search_calls if searchable else 0),
                         card)
            costs = {column: getattr(cost, name) for column, name in COMPONENTS.items()}
            if usage.search_calls and not searchable:
                costs["search_cost"] = None
        group = groups.setdefault(key, {"requests": 0, **dict.fromkeys(TOKEN_COLUMNS, 0),
                                        **dict.fromkeys(COMPONENTS, Decimal(0))})
        group["requests"] += 1
        for column in TOKEN_COLUMNS:
            group[column] += getattr(usage, column)
        for column, value in costs.items():
            missing = value is None or group[column] is None
            group[column] = None if missing else group[column] + value
    for group in groups.values():
        parts = [group[c] for c in COMPONENTS]
        group["total_cost"] = None if None in parts else sum(parts, Decimal(0))
    return dict(sorted(groups.items(), key=lambda kv: tuple(
        (v is None, v or "") for v in kv[0])))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(request, min_size=1, max_size=25), st.sampled_from(ZONES), st.sampled_from(BYS))
def test_spend_equals_pricing_each_request(requests, tz, by):
    prices = book()
    con = duckdb.connect()
    migrate(con)
    rows = []
    for i, r in enumerate(requests):
        cached = r["input_tokens"] * r["cached_share"] // 10
        write = min(r["cache_write"], r["input_tokens"] - cached)
        row = {"request_id": str(i), "ts": START + timedelta(seconds=r["seconds"]),
               "model": r["model"], "input_tokens": r["input_tokens"],
               "cached_input_tokens": cached, "cache_write_tokens": write,
               "output_tokens": r["output_tokens"], "reasoning_tokens": r["reasoning_tokens"],
               "search_calls": r["search_calls"]}
        rows.append(row)
        con.execute(
            "INSERT INTO usage (request_id, ts, model, input_tokens, cached_input_tokens, "
            "cache_write_tokens, output_tokens, reasoning_tokens, search_calls, source_format) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'test')", list(row.values()))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnpricedUsageWarning)
        frame = spend(con, by, tz=tz, book=prices)
    expected = oracle(rows, by, tz, prices)
    got = {tuple(r[k] for k in by): r for r in frame.iter_rows(named=True)}
    assert list(got) == list(expected)
    for key, want in expected.items():
        row = got[key]
        assert {c: row[c] for c in ("requests", *TOKEN_COLUMNS)} == {
            c: want[c] for c in ("requests", *TOKEN_COLUMNS)}
        for column in COST_COLUMNS:
            assert row[column] == want[column], (key, column)
    con.close()
