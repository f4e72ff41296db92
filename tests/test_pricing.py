"""Price cards: loading, every validation error, the card in effect, Decimal arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costkit.core.errors import CardError, InputError, NoCardInEffectError, UnknownModelError
from costkit.core.usage import Usage
from costkit.pricing.book import load_price_book
from costkit.pricing.cards import parse_cards
from costkit.pricing.cost import price

BASE = """
[[card]]
model = "m"
[card.rates]
input = 1.0
output = 2.0
"""


def book_from(tmp_path: Path, text: str):
    path = tmp_path / "cards.toml"
    path.write_text(text)
    return load_price_book([path])


def deepseek():
    return load_price_book([]).card_for("deepseek-v3-2")


def test_builtin_card_has_every_seed_number():
    card = deepseek()
    assert card.rates.input == Decimal("0.57")
    assert card.rates.cached_input == Decimal("0.57")
    assert card.rates.output == Decimal("1.71")
    assert card.rates.reasoning == Decimal("1.71")
    assert card.rates.web_search == Decimal("0.015")
    assert card.context_window == 131072
    assert card.max_output == 32768
    assert card.region == "Singapore"
    assert card.currency == "USD"
    assert card.endpoints == ("/v1/chat/completions", "/v1/responses", "/v1/messages")
    p = card.parameters
    assert (p["temperature"].default, p["temperature"].min, p["temperature"].max) == (
        Decimal("0.7"),
        0,
        2,
    )
    assert (p["top_p"].default, p["top_p"].min, p["top_p"].max) == (Decimal("0.9"), 0, 1)
    assert (p["max_tokens"].default, p["max_tokens"].min, p["max_tokens"].max) == (4096, 1, 65536)
    assert p["enable_thinking"].default is True
    assert (p["thinking_budget"].default, p["thinking_budget"].max) == (32768, 393216)
    assert p["reasoning_effort"].default == "medium"
    assert p["reasoning_effort"].values == ("none", "low", "medium", "high", "max")
    assert p["enable_search"].default is False
    assert any("cached input bills at the input rate" in n for n in card.notes)


def test_exact_decimal_output_cost():
    cost = price(Usage(output_tokens=1_234_567), deepseek())
    assert cost.output == Decimal("2.11110957")
    assert cost.total == Decimal("2.11110957")
    assert isinstance(cost.total, Decimal)


def test_seed_example_input_cost():
    assert price(Usage(input_tokens=12), deepseek()).input == Decimal("0.00000684")


def test_every_component_priced():
    usage = Usage(
        input_tokens=1_000_000,
        cached_input_tokens=200_000,
        output_tokens=300_000,
        reasoning_tokens=100_000,
        search_calls=3,
    )
    cost = price(usage, deepseek())
    assert cost.input == Decimal("0.456")  # 800k uncached
    assert cost.cached_input == Decimal("0.114")
    assert cost.output == Decimal("0.513")
    assert cost.reasoning == Decimal("0.171")
    assert cost.web_search == Decimal("0.045")
    assert cost.total == Decimal("1.299")


def test_unknown_model_lists_known_ones():
    with pytest.raises(UnknownModelError, match="known models: deepseek-v3-2"):
        load_price_book([]).card_for("gpt-9")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[card]]\nmodel = "m"\n[card.rates]\noutput = 2\n',
            r"card\[0\] \(m\)\.rates: missing rate 'input'",
        ),
        ('[[card]]\nmodel = "m"\n[card.rates]\ninput = 1\n', "missing rate 'output'"),
        (BASE.replace("input = 1.0", "input = -1.0"), r"rates\.input: -1\.0 is negative"),
        (BASE.replace('model = "m"', 'model = "m"\ncolour = "red"'), "unknown field 'colour'"),
        (BASE.replace("output = 2.0", "output = 2.0\nvideo = 1"), "unknown rate 'video'"),
        (
            BASE.replace('model = "m"', 'model = "m"\neffective_from = "next tuesday"'),
            r"effective_from: 'next tuesday' is not a date",
        ),
        (
            BASE.replace(
                'model = "m"', 'model = "m"\neffective_from = 2026-02-01\neffective_to = 2026-01-01'
            ),
            "effective_to .* is not after effective_from",
        ),
        ("[[card]]\n[card.rates]\ninput = 1\noutput = 2\n", "missing field 'model'"),
        ('[[card]]\nmodel = "m"\n', "missing table 'rates'"),
        ("not toml [", "not valid TOML"),
        (BASE.replace("input = 1.0", 'input = "cheap"'), "'cheap' is not a number"),
        (
            BASE + "[card.limits]\ncontext_window = -5\n",
            "context_window: -5; must be a whole number > 0",
        ),
        (BASE + '[card.parameters.temperature]\ntype = "colour"\n', "type: 'colour'"),
    ],
)
def test_validation_errors(tmp_path, text, message):
    with pytest.raises(CardError, match=message) as info:
        book_from(tmp_path, text)
    assert "cards.toml" in str(info.value)


def test_overlapping_periods_rejected(tmp_path):
    text = BASE.replace('model = "m"', 'model = "m"\neffective_to = 2026-03-01') + BASE.replace(
        'model = "m"', 'model = "m"\neffective_from = 2026-02-01'
    )
    with pytest.raises(CardError, match="cards for 'm' overlap"):
        book_from(tmp_path, text)


def test_two_open_ended_cards_overlap(tmp_path):
    with pytest.raises(CardError, match="overlap"):
        book_from(tmp_path, BASE + BASE)


def test_effective_date_boundary_instant(tmp_path):
    old = BASE.replace('model = "m"', 'model = "m"\neffective_to = 2026-03-01T00:00:00Z')
    new = BASE.replace('model = "m"', 'model = "m"\neffective_from = 2026-03-01T00:00:00Z').replace(
        "input = 1.0", "input = 3.0"
    )
    book = book_from(tmp_path, old + new)
    boundary = datetime(2026, 3, 1, tzinfo=UTC)
    just_before = datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=UTC)
    assert book.card_for("m", boundary).rates.input == Decimal("3.0")
    assert book.card_for("m", just_before).rates.input == Decimal("1.0")
    # A naive instant is UTC.
    assert book.card_for("m", datetime(2026, 3, 1)).rates.input == Decimal("3.0")


def test_no_card_in_effect_before_first(tmp_path):
    book = book_from(
        tmp_path, BASE.replace('model = "m"', 'model = "m"\neffective_from = 2026-01-01')
    )
    with pytest.raises(NoCardInEffectError, match="no card for 'm' is in effect"):
        book.card_for("m", datetime(2025, 12, 31, tzinfo=UTC))


def test_user_cards_add_models_and_override_builtins(tmp_path):
    override = BASE.replace('model = "m"', 'model = "deepseek-v3-2"').replace(
        "input = 1.0", "input = 0.50"
    )
    (tmp_path / "a.toml").write_text(override)
    (tmp_path / "b.toml").write_text(BASE)
    book = load_price_book([tmp_path])
    assert book.models() == ["deepseek-v3-2", "m"]
    assert book.card_for("deepseek-v3-2").rates.input == Decimal("0.50")
    assert not book.card_for("deepseek-v3-2").builtin


def test_prices_env_variable(tmp_path, monkeypatch):
    (tmp_path / "b.toml").write_text(BASE)
    monkeypatch.setenv("COSTKIT_PRICES", str(tmp_path / "b.toml"))
    assert "m" in load_price_book().models()


def test_missing_prices_path(tmp_path):
    with pytest.raises(CardError, match="no such price card file"):
        load_price_book([tmp_path / "nope.toml"])


def test_aliases_resolve(tmp_path):
    book = book_from(tmp_path, BASE.replace('model = "m"', 'model = "m"\naliases = ["m-latest"]'))
    assert book.resolve("m-latest") == "m"
    assert book.card_for("m-latest").model == "m"


def test_long_context_tier_bills_all_tokens_at_tier_rates(tmp_path):
    text = (
        BASE
        + "[[card.tiers]]\nabove_input_tokens = 1000\n"
        + "[card.tiers.rates]\ninput = 2.0\noutput = 3.0\n"
    )
    card = book_from(tmp_path, text).card_for("m")
    at_threshold = price(Usage(input_tokens=1000, output_tokens=1_000_000), card)
    above = price(Usage(input_tokens=1001, output_tokens=1_000_000), card)
    assert at_threshold.output == Decimal("2.0")
    assert above.output == Decimal("3.0")
    assert above.input == Decimal("0.002002")
    # A tier names only what changes: cached input keeps falling back to the tier's input.
    assert card.tiers[0].rates.cached_input == Decimal("1.0")


def test_cache_write_rate(tmp_path):
    text = BASE.replace("output = 2.0", "output = 2.0\ncache_write = 1.25\ncached_input = 0.1")
    card = book_from(tmp_path, text).card_for("m")
    cost = price(
        Usage(input_tokens=3_000_000, cached_input_tokens=1_000_000, cache_write_tokens=1_000_000),
        card,
    )
    assert (cost.input, cost.cached_input, cost.cache_write) == (
        Decimal("1.0"),
        Decimal("0.1"),
        Decimal("1.25"),
    )


def test_search_without_rate_is_an_error_not_zero(tmp_path):
    card = book_from(tmp_path, BASE).card_for("m")
    with pytest.raises(CardError, match="no web_search rate"):
        price(Usage(search_calls=1), card)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"output_tokens": -3}, "output_tokens is -3; token counts must be >= 0"),
        ({"input_tokens": 1.5}, "must be whole numbers"),
        ({"input_tokens": 5, "cached_input_tokens": 6}, "exceed input_tokens"),
    ],
)
def test_usage_rejects_bad_counts(kwargs, message):
    with pytest.raises(InputError, match=message):
        Usage(**kwargs)


def test_parameter_check_messages():
    card = deepseek()
    with pytest.raises(InputError, match=r"temperature is 2.5; it must be in 0..2"):
        card.check_parameter("temperature", 2.5)
    with pytest.raises(
        InputError, match=r"reasoning_effort is 'extreme'; it must be one of none\|low"
    ):
        card.check_parameter("reasoning_effort", "extreme")
    with pytest.raises(InputError, match="max_tokens is 70000; it must be in 1..65536"):
        card.check_parameter("max_tokens", 70000)
    card.check_parameter("max_tokens", 65536)
    card.check_parameter("top_p", 0)


counts = st.integers(min_value=0, max_value=10**12)


@st.composite
def usages(draw):
    input_tokens = draw(counts)
    cached = draw(st.integers(min_value=0, max_value=input_tokens))
    return Usage(
        input_tokens=input_tokens,
        cached_input_tokens=cached,
        output_tokens=draw(counts),
        reasoning_tokens=draw(counts),
        search_calls=draw(st.integers(min_value=0, max_value=10**6)),
    )


@given(usages(), usages())
def test_cost_is_additive_and_never_negative(a, b):
    card = deepseek()
    ca, cb, cab = price(a, card), price(b, card), price(a + b, card)
    assert cab.total == ca.total + cb.total
    for name in ("input", "cached_input", "output", "reasoning", "web_search"):
        assert getattr(cab, name) == getattr(ca, name) + getattr(cb, name)
        assert getattr(ca, name) >= 0
    assert ca.total >= 0


def test_parse_cards_origin_in_message():
    with pytest.raises(CardError, match=r"^x\.toml: card\[0\] \(m\)"):
        parse_cards(BASE.replace("input = 1.0", "input = -2"), "x.toml")
