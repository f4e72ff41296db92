"""Request -> prompt tokens -> cost range (low / expected / high) with every assumption stated.

`estimate(request, model=None, endpoint=None, **options)` prices one prompt or request body
before it is sent. A plain string is one user message on chat completions; a dict is a body
of `/v1/chat/completions`, `/v1/responses` or `/v1/messages` (detected from its shape, see
costkit.tokens.templates, or forced with `endpoint=`).

- Input: the body rendered with the model's chat template and counted with its tokenizer:
  exact prompt tokens and their exact cost (no prompt-cache discount is assumed).
- `low`: a one-token answer, no reasoning, no search: the least a request that succeeds bills.
- `expected`: the medians of the user's own past requests of that model in the store
  ("learned from N requests"), else the documented defaults `EXPECTED_DEFAULTS`; each capped
  at the request's own bounds.
- `high`: the most the request can bill under its parameters: the answer up to max_tokens,
  reasoning up to thinking_budget when thinking is on, the stated number of search calls when
  search is on; output plus reasoning never more than the context window leaves.

The work is split so batches can tokenize many prompts at once: `prepare` (parse, choose the
card, read and validate parameters, render the prompt), a tokenizer call, then `finish`
(check the context window, build the three scenarios, price them).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from costkit.core.components import INPUT, OUTPUT, REASONING, SEARCH
from costkit.core.errors import CostkitError, InputError
from costkit.core.money import decimal_text as decimal_str  # the one Decimal-to-text
from costkit.estimator.history import History, HistorySource
from costkit.estimator.params import Params, request_params
from costkit.pricing.book import PriceBook, load_price_book
from costkit.pricing.cards import Card
from costkit.pricing.cost import Cost, component_cost
from costkit.tokens.templates import (
    CHAT,
    MESSAGES,
    detect_endpoint,
    normalize_endpoint,
    render,
)

DEFAULT_MODEL = "deepseek-v3-2"
# Used for `expected` when the store has no history of the model. Round working figures, not
# measurements: a medium chat answer, a medium chain of thought, one search when search is on.
EXPECTED_DEFAULTS = {"output_tokens": 500, "reasoning_tokens": 1500, "search_calls": 1}
ENDPOINT_PATHS = {CHAT: "/v1/chat/completions", "responses": "/v1/responses",
                  "messages": "/v1/messages"}
DEEPSEEK_TEMPLATE = "deepseek-v3-2"
LOW_NOTE = "low: a one-token answer with no reasoning and no search"
ZERO = Decimal(0)


def load_request(path: str | Path) -> Any:
    """The JSON body in file `path` ('-' reads stdin); errors name the file, line and column."""
    name = "stdin" if str(path) == "-" else str(path)
    try:
        if str(path) == "-":
            raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read()
        else:
            raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise InputError(f"{name}: not UTF-8 text (byte {exc.start})") from None
    if not text.strip():
        raise InputError(f"{name}: empty; expected a JSON request body")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


def unwrap_request(obj: Any, endpoint: str | None = None) -> tuple[Any, str | None, str | None]:
    """A batch-API line's body, custom_id and endpoint; any other object is the body itself.

    OpenAI batch lines are `{"custom_id", "method", "url", "body"}` (the url names the
    endpoint unless `endpoint` is given); Anthropic message batches `{"custom_id", "params"}`.
    """
    if not isinstance(obj, dict):
        kind = "array" if isinstance(obj, list) else type(obj).__name__
        raise InputError(f"a JSON {kind}, not a request object")
    custom_id = obj.get("custom_id")
    custom_id = None if custom_id is None else str(custom_id)
    if isinstance(obj.get("body"), dict):
        url = obj.get("url")
        if endpoint is None and url is not None:
            if not isinstance(url, str):
                raise InputError(f"url is {url!r}; it must be a string")
            endpoint = normalize_endpoint(url)
        return obj["body"], custom_id, endpoint
    if custom_id is not None and isinstance(obj.get("params"), dict):
        return obj["params"], custom_id, endpoint or MESSAGES
    if "body" in obj or "params" in obj:
        raise InputError("a batch line's 'body' (or 'params') must be a JSON object")
    return obj, custom_id, endpoint


@dataclass(slots=True)
class Scenario:
    """One point of the range: what the request generates and the whole request's cost.

    Plain slots (not frozen) because a batch builds three per request; treat as read-only.
    """

    output_tokens: int
    reasoning_tokens: int
    search_calls: int
    input_cost: Decimal
    output_cost: Decimal
    reasoning_cost: Decimal
    web_search_cost: Decimal
    currency: str = "USD"

    @property
    def total_cost(self) -> Decimal:
        return self.input_cost + self.output_cost + self.reasoning_cost + self.web_search_cost

    @property
    def cost(self) -> Cost:
        """The same amounts as a pricing.Cost (the whole prompt as uncached input)."""
        return Cost(input=self.input_cost, output=self.output_cost,
                    reasoning=self.reasoning_cost, web_search=self.web_search_cost,
                    currency=self.currency)

    def as_dict(self) -> dict[str, Any]:
        return {
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "search_calls": self.search_calls,
            "input_cost": decimal_str(self.input_cost),
            "output_cost": decimal_str(self.output_cost),
            "reasoning_cost": decimal_str(self.reasoning_cost),
            "web_search_cost": decimal_str(self.web_search_cost),
            "total_cost": decimal_str(self.total_cost),
        }


@dataclass(slots=True)
class Estimate:
    """A request's prompt tokens and cost range. Money is exact Decimal in `currency`.

    Plain slots (not frozen) for batch speed; treat as read-only.
    """

    model: str
    endpoint: str
    input_tokens: int
    input_cost: Decimal
    exact: bool  # the tokenizer is the model's own (else an approximation)
    low: Scenario
    expected: Scenario
    high: Scenario
    thinking: bool
    search: bool
    max_tokens: int
    thinking_budget: int | None
    expected_source: str  # "history" or "defaults"
    history_requests: int
    card_id: str
    currency: str
    assumptions: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    prompt: str | None = None  # the rendered prompt text (single estimates only)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: token counts as ints, money as decimal strings."""
        return {
            "model": self.model,
            "endpoint": self.endpoint,
            "exact": self.exact,
            "input_tokens": self.input_tokens,
            "input_cost": decimal_str(self.input_cost),
            "low": self.low.as_dict(),
            "expected": self.expected.as_dict(),
            "high": self.high.as_dict(),
            "currency": self.currency,
            "thinking": self.thinking,
            "search": self.search,
            "max_tokens": self.max_tokens,
            "thinking_budget": self.thinking_budget,
            "expected_source": self.expected_source,
            "history_requests": self.history_requests,
            "card": self.card_id,
            "assumptions": list(self.assumptions),
            "warnings": list(self.warnings),
        }


@dataclass
class Prepared:
    """A request ready for its tokenizer: the chosen card, parameters and prompt text."""

    model: str
    card: Card
    endpoint: str
    prompt: str
    params: Params
    assumptions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    parts: tuple[str, str, str] | None = None  # the prompt cut around its tools block


def estimate(
    request: str | Mapping[str, Any],
    model: str | None = None,
    endpoint: str | None = None,
    *,
    book: PriceBook | None = None,
    prices: Sequence[str | Path] | None = None,
    db: str | Path | None = None,
    history: bool = True,
    at: datetime | None = None,
    **options: Any,
) -> Estimate:
    """Price `request` (prompt text or a request body) before it is sent.

    `options` override the body: max_tokens, thinking (bool), thinking_budget,
    reasoning_effort, search (bool), search_calls (the high estimate's calls). `db` is the
    usage store to learn `expected` from (default: $COSTKIT_DB or the user's store);
    `history=False` uses the defaults. `at` picks the price card in effect (default: now).
    """
    book = book if book is not None else load_price_book(prices)
    if isinstance(request, dict):
        request, _, endpoint = unwrap_request(request, endpoint)
    prep = prepare(request, model, endpoint, book=book, at=at, options=options)
    count, exact, note = count_prompts([prep.prompt], prep.card, book)
    if not exact:
        prep.assumptions.append(f"prompt tokens {note}")
    with HistorySource(db, enabled=history) as source:
        past = source.for_model(model_names(book, prep.model))
        result = finish(prep, count[0], exact, past, source.problem)
    return _with_prompt(result, prep.prompt)


def prepare(
    request: str | Mapping[str, Any],
    model: str | None = None,
    endpoint: str | None = None,
    *,
    book: PriceBook,
    at: datetime | None = None,
    options: Mapping[str, Any] | None = None,
    cache: dict[str, tuple[str, Card]] | None = None,
    split_tools: bool = False,
) -> Prepared:
    """Everything before tokenizing: the body, its endpoint, card, parameters and prompt.

    `cache` (name -> model and card) saves choosing the card again for each line of a batch;
    `split_tools` also cuts the prompt around its tools block (`Prepared.parts`), so a batch
    can count a block it has seen before from memory.
    """
    notes: list[str] = []
    if isinstance(request, dict):
        body: Mapping[str, Any] = request
        endpoint_name = normalize_endpoint(endpoint) if endpoint else detect_endpoint(body)
    elif isinstance(request, str):
        body = {"messages": [{"role": "user", "content": request}]}
        endpoint_name = normalize_endpoint(endpoint) if endpoint else CHAT
    elif isinstance(request, Mapping):
        body = dict(request)
        endpoint_name = normalize_endpoint(endpoint) if endpoint else detect_endpoint(body)
    else:
        raise InputError(f"a request is prompt text or a JSON object, not {type(request).__name__}")

    named = body.get("model")
    if named is not None and not isinstance(named, str):
        raise InputError(f"model is {named!r}; it must be a string")
    chosen = model or named or DEFAULT_MODEL
    canonical, card = _card(book, chosen, at, cache)
    if model and named and named != model:
        try:
            same = _card(book, named, at, cache)[0] == canonical
        except CostkitError:
            same = False
        if not same:
            notes.append(f"priced as {model} (as asked) although the body names {named}")
    elif not model and not named:
        notes.append(f"model not named: {DEFAULT_MODEL} assumed")

    params = request_params(body, endpoint_name, card, options or {})
    rendered = render(body, endpoint_name, thinking=params.thinking)
    warnings: list[str] = []
    path = ENDPOINT_PATHS[endpoint_name]
    if card.endpoints and path not in card.endpoints:
        warnings.append(f"{canonical} is not listed as served on {path} (card {card.card_id})")
    if card.tokenizer != DEEPSEEK_TEMPLATE:
        notes.append(
            f"no chat template is known for {canonical}: DeepSeek V3.2's is used, so the "
            "prompt count is approximate"
        )
    notes.extend(rendered.conversation.assumptions())
    notes.extend(params.assumptions)
    parts = rendered.parts() if split_tools else None
    return Prepared(canonical, card, endpoint_name, rendered.text, params, notes, warnings, parts)


def _card(
    book: PriceBook, name: str, at: datetime | None, cache: dict[str, tuple[str, Card]] | None
) -> tuple[str, Card]:
    if cache is not None and name in cache:
        return cache[name]
    canonical = book.resolve(name)
    found = (canonical, book.card_for(canonical, at))
    if cache is not None:
        cache[name] = found
    return found


def count_prompts(
    texts: Sequence[str], card: Card, book: PriceBook, num_threads: int = 2
) -> tuple[list[int], bool, str]:
    """Token counts of rendered prompts with the card's tokenizer (added tokens count one each),
    whether they are exact, and the tokenizer's note ('exact' or its declared approximation)."""
    from costkit.tokens import tokenizer_for_model

    tokenizer = tokenizer_for_model(card.model, book)
    counts = [tokenizer.count_large(t, num_threads) for t in texts]
    return counts, tokenizer.exact, tokenizer.note


def model_names(book: PriceBook, model: str) -> list[str]:
    """Every name (model id and aliases) under which the store may hold `model`'s usage."""
    return sorted(name for name, target in book.aliases().items() if target == model)


def finish(
    prep: Prepared,
    input_tokens: int,
    exact: bool,
    past: History | None,
    history_problem: str | None = None,
) -> Estimate:
    """The estimate of a prepared request whose prompt is `input_tokens` tokens."""
    card, p = prep.card, prep.params
    # Exact only when both the tokenizer and the chat template are the model's own.
    exact = exact and card.tokenizer == DEEPSEEK_TEMPLATE
    notes = [LOW_NOTE, *prep.assumptions]
    warnings = list(prep.warnings)
    if history_problem:
        warnings.append(history_problem)
    window = card.context_window
    if window is not None and input_tokens > window:
        raise InputError(
            f"prompt is {input_tokens:,} tokens, over {prep.model}'s context window of "
            f"{window:,} tokens"
        )
    if card.max_output is not None and p.max_tokens > card.max_output:
        warnings.append(
            f"max_tokens {p.max_tokens:,} is above {prep.model}'s documented max output of "
            f"{card.max_output:,} tokens: the provider may reject the request or cap the answer"
        )

    high_out = p.max_tokens
    high_reasoning = (p.thinking_budget or 0) if p.thinking else 0
    if window is not None:
        room = window - input_tokens
        if input_tokens + p.max_tokens > window and not p.window_bound:
            warnings.append(
                f"prompt ({input_tokens:,} tokens) + max_tokens ({p.max_tokens:,}) exceeds the "
                f"context window of {window:,} tokens: the answer may be cut short"
            )
        if high_out + high_reasoning > room:
            high_reasoning = max(0, min(high_reasoning, room - min(high_out, room)))
            high_out = min(high_out, room)
            notes.append(
                f"high: output plus reasoning capped at the {room:,} tokens the context "
                "window leaves after the prompt"
            )
    high_search = p.search_calls if p.search else 0

    exp_out, exp_reasoning, exp_search, source, n = _expected(p, past, notes)
    exp_out = min(exp_out, high_out)
    exp_reasoning = min(exp_reasoning, high_reasoning)
    exp_search = min(exp_search, high_search)

    rates = card.rates_for(input_tokens)
    priced_search = rates.of(SEARCH) is not None
    if p.search and not priced_search:
        warnings.append(f"card {card.card_id} has no web_search rate: search calls are not priced")
    # The whole prompt bills at the input rate (no prompt-cache hit is assumed).
    input_cost = component_cost(INPUT, input_tokens, rates)
    k, currency = p.choices, card.currency

    def scenario(out: int, reasoning: int, search: int) -> Scenario:
        out, reasoning, search = out * k, reasoning * k, search * k
        return Scenario(out, reasoning, search, input_cost,
                        component_cost(OUTPUT, out, rates),
                        component_cost(REASONING, reasoning, rates),
                        component_cost(SEARCH, search, rates) if priced_search else ZERO,
                        currency)

    return Estimate(
        model=prep.model,
        endpoint=prep.endpoint,
        input_tokens=input_tokens,
        input_cost=input_cost,
        exact=exact,
        low=scenario(1, 0, 0),
        expected=scenario(exp_out, exp_reasoning, exp_search),
        high=scenario(high_out, high_reasoning, high_search),
        thinking=p.thinking,
        search=p.search,
        max_tokens=p.max_tokens,
        thinking_budget=p.thinking_budget,
        expected_source=source,
        history_requests=n,
        card_id=card.card_id,
        currency=card.currency,
        assumptions=tuple(notes),
        warnings=tuple(warnings),
    )


@lru_cache(maxsize=8)
def _defaults_note(thinking: bool, search: bool) -> str:
    d = EXPECTED_DEFAULTS
    parts = [f"output {d['output_tokens']:,} tokens"]
    if thinking:
        parts.append(f"reasoning {d['reasoning_tokens']:,} tokens")
    if search:
        parts.append(f"{d['search_calls']} search call")
    return ("expected: costkit's defaults (no usage history of this model in the store): "
            + ", ".join(parts))


def _expected(p: Params, past: History | None, notes: list[str]) -> tuple[int, int, int, str, int]:
    """Expected output, reasoning and searches per choice, and where they come from."""
    d = EXPECTED_DEFAULTS
    if past is None:
        notes.append(_defaults_note(p.thinking, p.search))
        return (d["output_tokens"], d["reasoning_tokens"] if p.thinking else 0,
                d["search_calls"] if p.search else 0, "defaults", 0)
    out = past.output_tokens
    parts = [f"median output {out:,} tokens"]
    if past.output_includes_reasoning:
        parts[0] += " (past requests do not split reasoning from output: it is included)"
    reasoning = 0
    if p.thinking and not past.output_includes_reasoning:
        if past.reasoning_tokens is not None:
            reasoning = past.reasoning_tokens
            parts.append(f"median reasoning {reasoning:,} tokens "
                         f"(of {past.reasoning_requests:,} that reasoned)")
        else:
            reasoning = EXPECTED_DEFAULTS["reasoning_tokens"]
            parts.append(f"reasoning {reasoning:,} tokens (default: none of them reasoned)")
    search = 0
    if p.search:
        if past.search_calls is not None:
            search = past.search_calls
            parts.append(
                f"median {search} search calls (of {past.search_requests:,} that searched)"
            )
        else:
            search = EXPECTED_DEFAULTS["search_calls"]
            parts.append(f"{search} search call (default: none of them searched)")
    notes.append(f"expected: {past.learned_from()}: "
                 + ", ".join(parts))
    return out, reasoning, search, "history", past.requests


def _with_prompt(result: Estimate, prompt: str) -> Estimate:
    result.prompt = prompt
    return result
