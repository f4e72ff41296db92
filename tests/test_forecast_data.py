"""The forecast's inputs: option parsing, scenario price books, workload pricing."""

from __future__ import annotations

import lzma
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from conftest import FIXTURES, ROOT

from costkit.core.errors import CardError, InputError, UnknownModelError
from costkit.core.usage import Usage
from costkit.forecast.run import parse_as_of, parse_budget
from costkit.forecast.scenario import Scenario, WhatIf, parse_what_if, scenario_book
from costkit.forecast.workload import price_workload
from costkit.pricing.book import load_price_book
from costkit.pricing.cost import price

CARDS = ROOT / "data" / "prices" / "example-cards.toml"


def test_what_if_keys_parse_into_one_scenario():
    s = parse_what_if(["growth=20%", "Reasoning = +50%", "prices=my-cards.toml",
                       "model=example-long-context"])
    assert s.what_if == WhatIf(growth=Decimal("0.2"), reasoning=Decimal("0.5"))
    assert str(s.prices) == "my-cards.toml"
    assert s.model == "example-long-context"
    assert s.describe() == ["history repriced with the cards in my-cards.toml",
                            "history repriced as if every request ran on example-long-context"]
    assert parse_what_if([]) == Scenario()


@pytest.mark.parametrize("items, message", [
    (["growth"], "expected KEY=VALUE"),
    (["growth="], "expected KEY=VALUE"),
    (["volume=2"], "unknown key 'volume'; valid: growth, reasoning, prices, model"),
    (["growth=1%", "GROWTH=2%"], "--what-if growth given twice"),
    (["reasoning=-120%"], "must be more than -100%"),
])
def test_bad_what_ifs(items, message):
    with pytest.raises(InputError, match=message):
        parse_what_if(items)


@pytest.mark.parametrize("text, value", [
    ("5000", Decimal(5000)), ("$5,000.50", Decimal("5000.50")), (" 12_000 ", Decimal(12000)),
    (None, None),
])
def test_budgets(text, value):
    assert parse_budget(text) == value


@pytest.mark.parametrize("text", ["five", "0", "-3", "inf", "$"])
def test_bad_budgets(text):
    with pytest.raises(InputError, match="--budget"):
        parse_budget(text)


def test_as_of_defaults_to_today_in_the_time_zone(monkeypatch):
    monkeypatch.setenv("COSTKIT_NOW", "2026-11-15T12:00:00Z")
    # 12:00 UTC is 02:00 the next day in Kiritimati (UTC+14), 01:00 in Pago Pago (UTC-11)
    for tz, day in (("UTC", 15), ("Pacific/Kiritimati", 16), ("Pacific/Pago_Pago", 15)):
        assert parse_as_of(None, tz) == date(2026, 11, day)
    assert parse_as_of("2026-10-10", "UTC") == date(2026, 10, 10)
    with pytest.raises(InputError, match="unknown time zone 'Nowhere/Land'"):
        parse_as_of(None, "Nowhere/Land")
    with pytest.raises(InputError, match="expected a date YYYY-MM-DD"):
        parse_as_of("yesterday", "UTC")


def test_prices_scenario_replaces_the_models_the_file_names(tmp_path):
    cards = tmp_path / "cheap.toml"
    cards.write_text('[[card]]\nmodel = "deepseek-v3-2"\n[card.rates]\ninput = "0.1"\n'
                     'output = "0.2"\n', encoding="utf-8")
    book = load_price_book([CARDS])
    what_if = scenario_book(book, Scenario(prices=cards), [])
    assert what_if.card_for("deepseek-v3-2").rates.input == Decimal("0.1")
    assert len(what_if.cards_for("deepseek-v3-2")) == 1
    # Models the file does not name keep their cards.
    assert what_if.card_for("example-lc").rates.input == Decimal("1.25")
    with pytest.raises(CardError, match="no such price card file"):
        scenario_book(book, Scenario(prices=tmp_path / "missing.toml"), [])


def test_model_scenario_prices_every_logged_name_as_that_model():
    book = load_price_book([CARDS])
    what_if = scenario_book(book, Scenario(model="example-lc"), ["mystery-model"])
    target = book.cards_for("example-long-context")
    for name in ("deepseek-v3-2", "example-lc", "mystery-model"):
        cards = what_if.cards_for(name)
        assert [c.rates for c in cards] == [c.rates for c in target]
        assert [c.tiers for c in cards] == [c.tiers for c in target]
    # Tiers still apply request by request: a long prompt bills at the tier's rates.
    card = what_if.card_for("mystery-model")
    long = price(Usage(input_tokens=300_000, output_tokens=1000), card)
    assert long.input == Decimal("0.75")                 # 300k x $2.50 / 1M
    with pytest.raises(UnknownModelError, match="unknown model 'gpt-nothing'"):
        scenario_book(book, Scenario(model="gpt-nothing"), [])


def test_model_scenario_keeps_the_target_cards_periods():
    book = load_price_book([CARDS])
    what_if = scenario_book(book, Scenario(model="deepseek-v3-2"), ["other"])
    cards = what_if.cards_for("other")
    assert [c.effective_to for c in cards][0] == datetime(2026, 12, 1, tzinfo=UTC)
    assert what_if.card_for("other", datetime(2026, 12, 5, tzinfo=UTC)).rates.cached_input \
        == Decimal("0.07")


def reference_count(text: str) -> int:
    """Tokens of `text` by the reference tokenizer (Hugging Face `tokenizers` on DeepSeek's
    own tokenizer.json), not by costkit's counter."""
    from tokenizers import Tokenizer

    raw = lzma.decompress((FIXTURES / "tokens" / "deepseek-v3.2-tokenizer.json.xz").read_bytes())
    return len(Tokenizer.from_str(raw.decode("utf-8")).encode(text, add_special_tokens=False))


def test_workload_is_priced_at_hand_worked_costs(tmp_path):
    bodies = tmp_path / "batch.jsonl"
    bodies.write_text(
        '{"model": "deepseek-v3-2", "max_tokens": 100, "enable_thinking": false, '
        '"messages": [{"role": "user", "content": "Write a haiku about the ocean."}]}\n'
        "not json\n"
        '{"model": "deepseek-v3-2", "max_tokens": 100, "enable_thinking": false, '
        '"messages": [{"role": "user", "content": "Write a haiku about the sea."}]}\n',
        encoding="utf-8")
    book = load_price_book()
    # db None: the default store ($COSTKIT_DB, a fresh temporary path) does not exist yet
    w = price_workload(bodies, 1000, book, None, datetime(2026, 10, 10, tzinfo=UTC))
    assert w.requests == 2 and w.skipped == 1
    assert w.first_error.startswith(f"{bodies}:2: not valid JSON")
    assert w.currency == "USD" and w.exact is True
    # By hand: each prompt is DeepSeek's chat template around the message with thinking off,
    # 12 tokens; no history, so the expected answer is the stated 500-token default capped
    # by max_tokens 100; no reasoning (thinking off), no search. At $0.57 and $1.71 per 1M:
    for subject in ("the ocean", "the sea"):
        prompt = ("<\uff5cbegin\u2581of\u2581sentence\uff5c><\uff5cUser\uff5c>"
                  f"Write a haiku about {subject}.<\uff5cAssistant\uff5c></think>")
        assert reference_count(prompt) == 12
    per_request = 12 * Decimal("0.57") / 10**6 + 100 * Decimal("1.71") / 10**6
    assert per_request == Decimal("0.00017784")
    assert w.per_request == per_request
    assert w.per_day_total == Decimal("0.17784")              # x 1000 requests a day
    assert w.daily == {"input": Decimal("0.00684"), "cached_input": 0, "cache_write": 0,
                       "output": Decimal("0.171"), "reasoning": 0, "web_search": 0}


def test_an_unusable_workload_is_an_error(tmp_path):
    bodies = tmp_path / "bad.jsonl"
    bodies.write_text("nope\n[]\n", encoding="utf-8")
    at = datetime(2026, 10, 15, tzinfo=UTC)  # a fixed instant: the errors hold at any
    with pytest.raises(InputError, match=r"no request could be estimated; first: .*bad.jsonl:1"):
        price_workload(bodies, 10, load_price_book(), None, at)
    with pytest.raises(InputError, match="--per-day -1"):
        price_workload(bodies, -1, load_price_book(), None, at)
    with pytest.raises(InputError, match="cannot read"):
        price_workload(tmp_path / "missing.jsonl", 10, load_price_book(), None,
                       at - timedelta(days=1))

