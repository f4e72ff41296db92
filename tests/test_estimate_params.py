"""Request parameters (flags > body > card defaults), their validation, and the cost range
built from a given prompt size (`prepare` + `finish`, no tokenizer involved)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costkit.core.errors import InputError, UnknownModelError
from costkit.estimator.estimate import EXPECTED_DEFAULTS, finish, prepare
from costkit.estimator.history import History
from costkit.pricing.book import load_price_book

BOOK = load_price_book([])
HI = {"messages": [{"role": "user", "content": "hi"}]}


def prep(body=HI, **options):
    endpoint = options.pop("endpoint", None)
    model = options.pop("model", None)
    return prepare(body, model, endpoint, book=BOOK, options=options)


def with_(**fields):
    return {**HI, **fields}


# --- parameters -------------------------------------------------------------------------------

def test_defaults_come_from_the_card_and_are_stated():
    p = prep()
    assert (p.params.max_tokens, p.params.thinking, p.params.thinking_budget) == (4096, True, 32768)
    assert (p.params.search, p.params.choices) == (False, 1)
    assert "max_tokens not set: the card's default 4,096 assumed" in p.assumptions
    assert "thinking not set: the card's default (on)" in p.assumptions
    assert "thinking_budget not set: the card's default 32,768 assumed" in p.assumptions
    assert "model not named: deepseek-v3-2 assumed" in p.assumptions


@pytest.mark.parametrize("fields, expected", [
    ({"max_tokens": 100}, 100),
    ({"max_completion_tokens": 200, "max_tokens": 100}, 200),
    ({"max_output_tokens": 300}, 300),
])
def test_max_tokens_from_any_endpoint_field(fields, expected):
    assert prep(with_(**fields)).params.max_tokens == expected


def test_flags_override_the_body():
    body = with_(max_tokens=100, enable_thinking=True, thinking_budget=50, enable_search=False)
    p = prep(body, max_tokens=7, thinking=False, thinking_budget=9, search=True, search_calls=2)
    assert (p.params.max_tokens, p.params.thinking, p.params.thinking_budget) == (7, False, 9)
    assert (p.params.search, p.params.search_calls) == (True, 2)


def test_reasoning_effort_none_turns_thinking_off():
    assert prep(with_(reasoning_effort="none")).params.thinking is False
    assert prep(reasoning_effort="none").params.thinking is False
    assert prep(with_(reasoning_effort="high")).params.thinking is True


def test_anthropic_thinking_budget_and_search_tool_max_uses():
    body = {"system": "S", "max_tokens": 1000, "messages": [{"role": "user", "content": "x"}],
            "thinking": {"type": "enabled", "budget_tokens": 8000},
            "tools": [{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}]}
    p = prep(body)
    assert p.endpoint == "messages"
    assert (p.params.thinking, p.params.thinking_budget) == (True, 8000)
    assert (p.params.search, p.params.search_calls) == (True, 3)


def test_search_on_without_bound_states_the_high_calls():
    p = prep(with_(enable_search=True))
    assert p.params.search and p.params.search_calls == 5
    assert any(a.startswith("search on: the high estimate allows 5 search calls")
               for a in p.assumptions)
    assert prep({"input": "x", "tools": [{"type": "web_search_preview"}]}).params.search


@pytest.mark.parametrize("fields, message", [
    ({"temperature": 3}, "temperature is 3; it must be in 0..2"),
    ({"top_p": 1.5}, "top_p is 1.5; it must be in 0..1"),
    ({"max_tokens": 0}, "max_tokens is 0; it must be in 1..65536"),
    ({"max_tokens": 70000}, "max_tokens is 70000; it must be in 1..65536"),
    ({"max_completion_tokens": 2.5}, "max_completion_tokens is 2.5; it must be a whole number"),
    ({"thinking_budget": 400000}, "thinking_budget is 400000; it must be in 1..393216"),
    ({"reasoning_effort": "extreme"},
     "reasoning_effort is 'extreme'; it must be one of none|low|medium|high|max"),
    ({"enable_thinking": "yes"}, "enable_thinking is 'yes'; it must be true or false"),
    ({"enable_search": 1}, "enable_search is 1; it must be true or false"),
    ({"n": 0}, "n is 0; it must be a whole number >= 1"),
])
def test_parameter_out_of_range_or_enum(fields, message):
    with pytest.raises(InputError) as err:
        prep(with_(**fields))
    assert str(err.value) == message


def test_flag_values_are_validated_and_named_as_flags():
    with pytest.raises(InputError, match="--max-tokens is 100000; it must be in 1..65536"):
        prep(max_tokens=100000)
    with pytest.raises(InputError, match="--thinking-budget is 0; it must be in 1..393216"):
        prep(thinking_budget=0)
    with pytest.raises(InputError, match="reasoning_effort is 'huge'"):
        prep(reasoning_effort="huge")


def test_anthropic_budget_named_as_its_field():
    body = {"system": "S", "messages": [{"role": "user", "content": "x"}],
            "thinking": {"type": "enabled", "budget_tokens": 500000}}
    with pytest.raises(InputError, match="thinking.budget_tokens is 500000"):
        prep(body)


def test_unknown_model_lists_the_known_ones():
    known = "unknown model 'gpt-x'.*known models: deepseek-v3-2"
    with pytest.raises(UnknownModelError, match=known):
        prep(with_(model="gpt-x"))
    with pytest.raises(UnknownModelError):
        prep(model="gpt-x")


def test_flag_model_wins_and_says_so(tmp_path):
    card = tmp_path / "m.toml"
    card.write_text('[[card]]\nmodel = "other"\ntokenizer = "cl100k_base"\n'
                    '[card.rates]\ninput = 1\noutput = 2\n', encoding="utf-8")
    book = load_price_book([card])
    p = prepare(with_(model="other"), "deepseek-v3-2", book=book)
    assert p.model == "deepseek-v3-2"
    assert "priced as deepseek-v3-2 (as asked) although the body names other" in p.assumptions
    q = prepare(with_(model="other", max_tokens=10), book=book)
    assert any("no chat template is known for other" in a for a in q.assumptions)
    with pytest.raises(InputError, match="gives no default or max output; pass --max-tokens"):
        prepare(with_(model="other"), book=book)


def test_a_body_that_is_not_a_request():
    with pytest.raises(InputError, match="missing field 'messages'"):
        prep({"prompt": "hi"})
    with pytest.raises(InputError, match="not int"):
        prepare(5, book=BOOK)


# --- the range for a given prompt size ----------------------------------------------------------

def test_seed_example_costs_with_defaults():
    est = finish(prep(), 12, True, None)
    assert est.input_tokens == 12 and est.input_cost == Decimal("0.00000684")
    assert (est.low.output_tokens, est.low.reasoning_tokens, est.low.search_calls) == (1, 0, 0)
    assert est.low.total_cost == Decimal("0.00000684") + Decimal("0.00000171")
    assert (est.expected.output_tokens, est.expected.reasoning_tokens) == (500, 1500)
    output_rate = Decimal("1.71") / 10**6
    assert est.expected.total_cost == Decimal("0.00000684") + 2000 * output_rate
    assert (est.high.output_tokens, est.high.reasoning_tokens) == (4096, 32768)
    assert est.high.total_cost == Decimal("0.00000684") + (4096 + 32768) * output_rate
    assert est.expected_source == "defaults"
    assert est.assumptions[0] == "low: a one-token answer with no reasoning and no search"
    defaults = "expected: costkit's defaults (no usage history"
    assert any(a.startswith(defaults) for a in est.assumptions)
    assert est.warnings == ()


def test_no_thinking_means_no_reasoning_anywhere():
    est = finish(prep(thinking=False), 12, True, None)
    assert est.expected.reasoning_tokens == 0 and est.high.reasoning_tokens == 0


def test_search_priced_per_call():
    est = finish(prep(with_(enable_search=True)), 12, True, None)
    assert est.high.search_calls == 5 and est.high.web_search_cost == Decimal("0.075")
    assert est.expected.search_calls == EXPECTED_DEFAULTS["search_calls"]
    assert est.low.web_search_cost == 0


def test_prompt_over_the_context_window_is_an_error():
    with pytest.raises(InputError) as err:
        finish(prep(), 131073, True, None)
    assert str(err.value) == (
        "prompt is 131,073 tokens, over deepseek-v3-2's context window of 131,072 tokens"
    )
    finish(prep(), 131072 - 4096, True, None)  # exactly fits: no error


def test_prompt_plus_max_tokens_over_the_window_warns_and_caps_high():
    est = finish(prep(), 130000, True, None)
    assert est.warnings == (
        "prompt (130,000 tokens) + max_tokens (4,096) exceeds the context window of 131,072 "
        "tokens: the answer may be cut short",
    )
    assert est.high.output_tokens + est.high.reasoning_tokens == 1072
    assert est.high.output_tokens == 1072 and est.high.reasoning_tokens == 0
    assert any(a.startswith("high: output plus reasoning capped at the 1,072 tokens")
               for a in est.assumptions)


def test_reasoning_capped_first_when_the_window_is_short():
    est = finish(prep(max_tokens=1000), 100000, True, None)
    assert (est.high.output_tokens, est.high.reasoning_tokens) == (1000, 30072)
    assert est.warnings == ()


def test_max_tokens_above_the_documented_max_output_warns():
    est = finish(prep(with_(max_tokens=50000)), 12, True, None)
    assert est.warnings == (
        "max_tokens 50,000 is above deepseek-v3-2's documented max output of 32,768 tokens: "
        "the provider may reject the request or cap the answer",
    )


def test_expected_from_history_capped_by_the_request():
    past = History(requests=42, output_tokens=800, reasoning_tokens=5000, reasoning_requests=40,
                   search_calls=2, search_requests=3, output_includes_reasoning=False)
    est = finish(prep(with_(max_tokens=600, enable_search=True)), 12, True, past)
    assert est.expected_source == "history" and est.history_requests == 42
    assert (est.expected.output_tokens, est.expected.reasoning_tokens) == (600, 5000)
    assert est.expected.search_calls == 2
    note = next(a for a in est.assumptions if a.startswith("expected:"))
    assert note == ("expected: learned from 42 requests in the store: median output 800 tokens, "
                    "median reasoning 5,000 tokens (of 40 that reasoned), median 2 search calls "
                    "(of 3 that searched)")


def test_n_choices_multiply_what_is_generated():
    est = finish(prep(with_(n=3, max_tokens=10)), 12, True, None)
    assert est.high.output_tokens == 30 and est.high.reasoning_tokens == 3 * 32768
    assert est.low.output_tokens == 3
    assert est.input_tokens == 12  # the prompt is billed once


def test_as_dict_money_is_decimal_strings_without_exponent():
    d = finish(prep(), 1, True, None).as_dict()
    assert d["input_cost"] == "0.00000057"
    assert d["low"]["output_cost"] == "0.00000171"
    assert d["low"]["reasoning_cost"] == "0"
    assert set(d["high"]) == {"output_tokens", "reasoning_tokens", "search_calls", "input_cost",
                              "output_cost", "reasoning_cost", "web_search_cost", "total_cost"}
    assert all(isinstance(v, str) for k, v in d["high"].items() if k.endswith("cost"))
