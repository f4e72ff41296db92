"""A request's billing parameters: from flags, else the body, else the card's defaults; validated.

`request_params(body, endpoint, card, options)` reads what bounds a request's bill (max output
tokens, thinking on/off and its budget, web search and how many calls, `n` choices), checks
each value the body or a flag sets against the card's parameter ranges and enums (one-line
InputError naming the field), and records every default it had to assume.

Flags (options) win over the body: `max_tokens`, `thinking`, `thinking_budget`,
`reasoning_effort`, `search`, `search_calls`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from costkit.core.errors import InputError
from costkit.pricing.cards import Card
from costkit.pricing.parameters import Parameter
from costkit.tokens.templates import reasoning_effort, requested_thinking

# Searches the high estimate allows for when search is on and nothing bounds it (Anthropic's
# `max_uses` does); one request rarely searches more, and the flag --search-calls overrides.
DEFAULT_HIGH_SEARCH_CALLS = 5
MAX_TOKEN_FIELDS = ("max_completion_tokens", "max_output_tokens", "max_tokens")
OPTION_NAMES = {"max_tokens", "thinking", "thinking_budget", "reasoning_effort", "search",
                "search_calls"}


@dataclass
class Params:
    max_tokens: int
    thinking: bool
    thinking_budget: int | None
    reasoning_effort: str | None
    search: bool
    search_calls: int  # the high estimate's search calls when search is on
    choices: int = 1
    assumptions: list[str] = field(default_factory=list)
    window_bound: bool = False  # max_tokens is the context window: the card states no limit


def request_params(
    body: Mapping[str, Any], endpoint: str, card: Card, options: Mapping[str, Any]
) -> Params:
    opt = {k: v for k, v in options.items() if v is not None} if options else {}
    if opt and not opt.keys() <= OPTION_NAMES:
        unknown = sorted(set(opt) - OPTION_NAMES)[0]
        raise TypeError(f"unknown estimate option {unknown!r}")
    notes: list[str] = []

    for name in ("temperature", "top_p"):
        if body.get(name) is not None:
            _check(card, name, body[name], name)

    max_tokens = _max_tokens(body, card, opt, notes)

    if "enable_thinking" in body and body["enable_thinking"] is not None:
        _check(card, "enable_thinking", body["enable_thinking"], "enable_thinking")
    effort = opt["reasoning_effort"] if "reasoning_effort" in opt else reasoning_effort(body)
    if effort is not None:
        _check(card, "reasoning_effort", effort, "reasoning_effort")
    if "thinking" in opt:
        thinking = bool(opt["thinking"])
    else:
        asked = requested_thinking(body, endpoint)
        if asked is None and "reasoning_effort" in opt:
            asked = opt["reasoning_effort"] != "none"
        if asked is None:
            default = card.default("enable_thinking")
            thinking = bool(default)
            if default is not None:
                state = "on" if thinking else "off"
                notes.append(f"thinking not set: the card's default ({state})")
        else:
            thinking = asked

    budget = _thinking_budget(body, card, opt, thinking, notes)
    search, search_calls = _search(body, card, opt, notes)

    choices = body.get("n", 1)
    if choices is None:
        choices = 1
    if isinstance(choices, bool) or not isinstance(choices, int) or choices < 1:
        raise InputError(f"n is {choices!r}; it must be a whole number >= 1")
    if choices > 1:
        notes.append(f"n = {choices}: output, reasoning and searches are counted for each choice")
    window_bound = max_tokens == card.context_window and card.default("max_tokens") is None \
        and card.max_output is None and "max_tokens" not in opt \
        and not any(body.get(k) is not None for k in MAX_TOKEN_FIELDS)
    return Params(max_tokens, thinking, budget, effort, search, search_calls, choices, notes,
                  window_bound)


def _max_tokens(
    body: Mapping[str, Any], card: Card, opt: Mapping[str, Any], notes: list[str]
) -> int:
    if "max_tokens" in opt:
        value, name = opt["max_tokens"], "--max-tokens"
    else:
        found = [(body[k], k) for k in MAX_TOKEN_FIELDS if body.get(k) is not None]
        if found:
            value, name = found[0]
        else:
            value, name = card.default("max_tokens"), None
            if value is None:
                value = card.max_output
            if value is None and card.context_window is not None:
                # A catalog card states no output limit: the context window bounds the
                # answer (finish() caps it at what the prompt leaves).
                notes.append(f"max_tokens not set and {card.card_id} states no max output: "
                             f"the answer is bounded by the context window "
                             f"({card.context_window:,} tokens)")
                return card.context_window
            if value is None:
                raise InputError(
                    f"max_tokens is not set and card {card.card_id} gives no default or max "
                    "output; pass --max-tokens"
                )
            notes.append(f"max_tokens not set: the card's default {int(value):,} assumed")
            return int(value)
    _check(card, "max_tokens", value, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name} is {value!r}; it must be a whole number >= 1")
    return value


def _thinking_budget(
    body: Mapping[str, Any], card: Card, opt: Mapping[str, Any], thinking: bool, notes: list[str]
) -> int | None:
    anthropic = body.get("thinking")
    if "thinking_budget" in opt:
        value, name = opt["thinking_budget"], "--thinking-budget"
    elif body.get("thinking_budget") is not None:
        value, name = body["thinking_budget"], "thinking_budget"
    elif isinstance(anthropic, dict) and anthropic.get("budget_tokens") is not None:
        value, name = anthropic["budget_tokens"], "thinking.budget_tokens"
    else:
        value = card.default("thinking_budget")
        if value is not None and thinking:
            notes.append(f"thinking_budget not set: the card's default {int(value):,} assumed")
        return None if value is None else int(value)
    _check(card, "thinking_budget", value, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{name} is {value!r}; it must be a whole number >= 0")
    return value


def _search(
    body: Mapping[str, Any], card: Card, opt: Mapping[str, Any], notes: list[str]
) -> tuple[bool, int]:
    tools = body.get("tools")
    search_tools = [t for t in tools if isinstance(t, dict)
                    and str(t.get("type", "")).startswith("web_search")
                    ] if isinstance(tools, list) else []
    if "search" in opt:
        search = bool(opt["search"])
    elif body.get("enable_search") is not None:
        _check(card, "enable_search", body["enable_search"], "enable_search")
        search = bool(body["enable_search"])
    elif search_tools or body.get("web_search_options") is not None:
        search = True
    else:
        search = bool(card.default("enable_search"))
    if "search_calls" in opt:
        calls = opt["search_calls"]
        if isinstance(calls, bool) or not isinstance(calls, int) or calls < 0:
            raise InputError(f"--search-calls is {calls!r}; it must be a whole number >= 0")
    else:
        uses = [t.get("max_uses") for t in search_tools]
        if uses and all(isinstance(u, int) and not isinstance(u, bool) and u >= 0 for u in uses):
            calls = sum(uses)
        else:
            calls = DEFAULT_HIGH_SEARCH_CALLS
            if search:
                notes.append(
                    f"search on: the high estimate allows {calls} search calls "
                    "(nothing in the request bounds them; set --search-calls)"
                )
    return search, calls


def _check(card: Card, parameter: str, value: Any, field_name: str | None) -> None:
    """Check `value` against the card's `parameter`, naming the field the user wrote."""
    spec = card.parameters.get(parameter)
    if spec is None or _plainly_valid(spec, value):
        return
    if field_name and field_name != parameter:
        spec = dataclasses.replace(spec, name=field_name)
    spec.check(value)


def _plainly_valid(spec: Parameter, value: Any) -> bool:
    """The common valid cases, decided without building an error message (batches are big);
    anything else goes to the card's own check, which raises with its message."""
    kind = type(value)
    if spec.type == "boolean":
        return kind is bool
    if spec.type == "enum":
        return kind is str and value in spec.values
    if kind is int or (kind is float and spec.type == "number"):
        return (spec.min is None or value >= spec.min) and (spec.max is None or value <= spec.max)
    return False
