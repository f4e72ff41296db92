"""What-if scenarios of a forecast: the parsed `--what-if` options.

`growth` and `reasoning` change the future days (`WhatIf`, applied by
`costkit.forecast.projection`); `prices` and `model` reprice the history before it is
forecast (`scenario_book`), by the same store pricing as every breakdown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

from costkit.core.errors import InputError
from costkit.core.money import decimal_text
from costkit.forecast.series import ZERO
from costkit.pricing.book import PriceBook
from costkit.pricing.cards import Card, load_cards_path

WHAT_IF_KEYS = ("growth", "reasoning", "prices", "model")


@dataclass(frozen=True)
class WhatIf:
    """Changes applied to the future days: volume growth and a change of reasoning spend.

    (Repricing the history under other cards happens before: `scenario_book`.)
    """

    growth: Decimal = ZERO      # 0.2 = every future day's volume +20%
    reasoning: Decimal = ZERO   # 0.5 = future reasoning tokens (so reasoning spend) +50%

    def describe(self) -> list[str]:
        out = []
        if self.growth:
            out.append(f"growth {_percent(self.growth)} on every future day")
        if self.reasoning:
            out.append(f"reasoning {_percent(self.reasoning)} on every future day")
        return out


def parse_percent(text: str, what: str) -> Decimal:
    """A change as a percentage ('20%', '+50%', '-15%') or a multiplier ('x1.2') -> the
    Decimal fraction of change (0.2). A bare number is refused: '20' could mean +20%, x20
    or +2000%, and a forecast must not guess which."""
    raw = text.strip()
    forms = f"write a change as {what}=20% or {what}=-15%, or a multiplier as {what}=x1.2"
    try:
        if raw.endswith("%"):
            value = Decimal(raw[:-1].strip()) / 100
        elif raw[:1] in ("x", "X", "\u00d7"):
            value = Decimal(raw[1:].strip()) - 1
        else:
            Decimal(raw)   # only to tell a bare number from text that is no number at all
            raise InputError(f"--what-if {what}={text}: a bare number is ambiguous; {forms}")
    except InvalidOperation:
        raise InputError(f"--what-if {what}={text}: expected a percentage or a multiplier; "
                         f"{forms}") from None
    if not value.is_finite() or value <= -1:
        raise InputError(f"--what-if {what}={text}: must be more than -100% (a multiplier "
                         "above x0)")
    return value


def _percent(value: Decimal) -> str:
    return f"{'+' if value > 0 else ''}{decimal_text(value * 100)}%"


@dataclass(frozen=True)
class Scenario:
    """The parsed --what-if options."""

    what_if: WhatIf = WhatIf()
    prices: Path | None = None       # cards that replace those of the models they name
    model: str | None = None         # every request priced as this model

    def describe(self) -> list[str]:
        out = []
        if self.prices is not None:
            out.append(f"history repriced with the cards in {self.prices}")
        if self.model is not None:
            out.append(f"history repriced as if every request ran on {self.model}")
        return out


def parse_what_if(items: Sequence[str]) -> Scenario:
    """`growth=20%`, `reasoning=+50%`, `prices=FILE`, `model=NAME`, each at most once."""
    seen: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or not value:
            raise InputError(f"--what-if {item!r}: expected KEY=VALUE, e.g. growth=20%")
        if key not in WHAT_IF_KEYS:
            raise InputError(f"--what-if {item!r}: unknown key {key!r}; valid: "
                             + ", ".join(WHAT_IF_KEYS))
        if key in seen:
            raise InputError(f"--what-if {key} given twice")
        seen[key] = value
    what_if = WhatIf(
        growth=parse_percent(seen["growth"], "growth") if "growth" in seen else ZERO,
        reasoning=parse_percent(seen["reasoning"], "reasoning") if "reasoning" in seen
        else ZERO,
    )
    prices = Path(seen["prices"]) if "prices" in seen else None
    return Scenario(what_if, prices, seen.get("model"))


def scenario_book(book: PriceBook, scenario: Scenario, logged_models: Sequence[str]) -> PriceBook:
    """The cards a scenario prices the history with.

    `prices`: the file's cards replace every card of the models they name. `model`: each
    logged model name (`logged_models`, plus every name the book knows) gets a copy of that
    model's cards, so each request is priced as that model at its own time and size.
    """
    if scenario.prices is not None:
        extra = load_cards_path(scenario.prices)
        named = {card.model for card in extra}
        book = PriceBook([c for c in book.cards if c.model not in named] + extra)
    if scenario.model is None:
        return book
    target = book.cards_for(scenario.model)   # UnknownModelError lists the known models
    names = sorted(set(book.aliases()) | set(logged_models))
    copies: list[Card] = []
    for name in names:
        copies.extend(replace(card, model=name, aliases=(), display_name=card.display_name
                              or card.model) for card in target)
    return PriceBook(copies)
