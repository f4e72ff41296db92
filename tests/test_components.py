"""The cost-component vocabulary (core.components) and the canonical counts (core.usage):
the names are the ones costkit already publishes, every record type has one field per
component, quantities and tier bands come out as worked by hand."""

from __future__ import annotations

import csv
import dataclasses
import json
import textwrap
import tomllib
from decimal import Decimal
from importlib import resources

import pytest

from costkit.core.components import (
    BY_COST_COLUMN,
    BY_NAME,
    COMPONENTS,
    COST_COLUMNS,
    INPUT,
    NAMES,
    RATE_COLUMNS,
    SEARCH,
    TOTAL_COLUMN,
)
from costkit.core.errors import InputError
from costkit.core.usage import (
    COUNT_COLUMNS,
    REASONING_WITHIN_OUTPUT,
    ROW_RULES,
    Usage,
    check_sql,
)
from costkit.pricing.cards import Rates, parse_cards
from costkit.pricing.cost import Cost
from costkit.store.costed import PRICE_RATE_COLUMNS
from tests.conftest import GOLDEN


def test_count_and_cost_columns_are_the_published_ones():
    """`report --format csv` has published these columns, in this order (golden file)."""
    with (GOLDEN / "report_day_project.csv").open(newline="") as f:
        header = next(csv.reader(f))
    start = header.index("input_tokens")
    assert header[start:start + 6] == list(COUNT_COLUMNS)
    costs = header.index("input_cost")
    assert header[costs:costs + 7] == [*COST_COLUMNS, TOTAL_COLUMN]


def test_component_names_are_the_published_ones():
    """Forecast JSON keys its components by name (golden), and cards name rates the same."""
    forecast = json.loads((GOLDEN / "forecast_eom.json").read_text())
    assert tuple(forecast["components"]) == NAMES
    card = resources.files("costkit.pricing") / "cards" / "deepseek-v3-2.toml"
    rates = tomllib.loads(card.read_text(encoding="utf-8"))["card"][0]["rates"]
    assert list(rates) == [name for name in NAMES if name in rates]  # it states no cache_write
    assert len(rates) == len(NAMES) - 1


def test_every_record_has_one_field_per_component():
    assert tuple(f.name for f in dataclasses.fields(Rates)) == NAMES
    assert tuple(f.name for f in dataclasses.fields(Cost)) == (*NAMES, "currency")
    assert tuple(f.name for f in dataclasses.fields(Usage)) == COUNT_COLUMNS
    assert tuple(name for name, _ in PRICE_RATE_COLUMNS[-len(COMPONENTS):]) == RATE_COLUMNS
    assert {c.quantity for c in COMPONENTS} <= set(COUNT_COLUMNS)
    assert all(set(c.less) <= set(COUNT_COLUMNS) for c in COMPONENTS)
    assert BY_NAME["web_search"] is SEARCH and BY_COST_COLUMN["search_cost"] is SEARCH


def test_quantities_by_hand():
    counts = {"input_tokens": 1000, "cached_input_tokens": 300, "cache_write_tokens": 200,
              "output_tokens": 40, "reasoning_tokens": 7, "search_calls": 2}
    # 1000 prompt tokens, of which 300 cached and 200 cache writes: 500 plain input
    assert {c.name: c.quantity_of(counts) for c in COMPONENTS} == {
        "input": 500, "cached_input": 300, "cache_write": 200, "output": 40,
        "reasoning": 7, "web_search": 2,
    }
    assert Usage(**counts).uncached_input_tokens == 500
    assert [c.unit for c in COMPONENTS] == ["tokens"] * 5 + ["calls"]
    # a rate per 1M tokens as the price of one token; a search rate is already per call
    assert INPUT.per_unit(Decimal("0.57")) == Decimal("0.00000057")
    assert SEARCH.per_unit(Decimal("0.015")) == Decimal("0.015")


def test_the_row_rules():
    assert check_sql() == (
        "input_tokens >= 0", "cached_input_tokens >= 0", "cache_write_tokens >= 0",
        "output_tokens >= 0", "reasoning_tokens >= 0", "search_calls >= 0",
        "cached_input_tokens + cache_write_tokens <= input_tokens",
    )
    counts = dict.fromkeys(COUNT_COLUMNS, 0) | {"input_tokens": 5, "cached_input_tokens": 4,
                                                 "cache_write_tokens": 2}
    [rule] = ROW_RULES
    assert not rule.holds(counts)
    assert rule.problem(counts) == (
        "cached_input_tokens + cache_write_tokens (4 + 2) exceed input_tokens (5)")
    with pytest.raises(InputError, match=r"^cached_input_tokens \+ cache_write_tokens \(4 \+ 2\) "
                                         r"exceed input_tokens \(5\)$"):
        Usage(**counts)
    split = dict(counts, reasoning_tokens=9, output_tokens=8)
    assert REASONING_WITHIN_OUTPUT.problem(split) == (
        "reasoning_tokens (9) exceeds output_tokens (8)")
    assert Usage(input_tokens=1, output_tokens=8, reasoning_tokens=9).reasoning_tokens == 9


def test_tier_bands_whatever_order_the_card_lists_them():
    [card] = parse_cards(textwrap.dedent("""
        [[card]]
        model = "m"
        [card.rates]
        input = 1
        output = 2
        [[card.tiers]]
        above_input_tokens = 2000
        [card.tiers.rates]
        input = 3
        [[card.tiers]]
        above_input_tokens = 1000
        [card.tiers.rates]
        input = 5
    """), "tiers.toml")
    assert [(b.above, b.upto, b.rates.input) for b in card.bands] == [
        (-1, 1000, 1), (1000, 2000, 5), (2000, None, 3)]
    chosen = {n: card.rates_for(n).input for n in (0, 1000, 1001, 2000, 2001, 10**9)}
    assert chosen == {0: 1, 1000: 1, 1001: 5, 2000: 5, 2001: 3, 10**9: 3}
    # a tier states only what changes: the rest is the base card's
    assert card.rates_for(2001).output == 2
