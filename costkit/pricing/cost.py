"""The Decimal arithmetic of a cost: one multiplication per component, no rounding.

Each component (core.components) costs its quantity times the card's rate, divided by how
many units the rate prices (1M tokens, or 1 call); the rates are those of the card's band
the request's input tokens fall in (`Card.rates_for`). The SQL form of the same arithmetic
is `costkit.pricing.sql`; a test holds the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from costkit.core.components import COMPONENTS, NAMES, SEARCH, Component
from costkit.core.errors import CardError
from costkit.core.usage import Usage
from costkit.pricing.cards import Card, Rates

ZERO = Decimal(0)


@dataclass(frozen=True)
class Cost:
    """The cost of each component (core.components), exact, in the card's currency."""

    input: Decimal = ZERO
    cached_input: Decimal = ZERO
    cache_write: Decimal = ZERO
    output: Decimal = ZERO
    reasoning: Decimal = ZERO
    web_search: Decimal = ZERO
    currency: str = "USD"

    def of(self, component: Component) -> Decimal:
        amount: Decimal = getattr(self, component.name)
        return amount

    @property
    def total(self) -> Decimal:
        first, *rest = (self.of(c) for c in COMPONENTS)
        return sum(rest, first)

    def as_dict(self) -> dict[str, str]:
        """Every component and the total as decimal strings (JSON-safe, never floats)."""
        out = {name: str(getattr(self, name)) for name in NAMES}
        out["total"] = str(self.total)
        return out


def component_cost(component: Component, quantity: int | Decimal, rates: Rates) -> Decimal:
    """`quantity` tokens (or calls) of `component` at `rates`: the one multiplication.

    A component the card does not offer (no web_search rate) prices no use as 0 and refuses
    any use: it is never billed as $0.
    """
    rate = rates.of(component)
    if rate is None:
        if quantity:
            raise CardError(f"no {component.name} rate; cannot price {quantity} {component.unit}")
        return ZERO
    if component.per == 1:
        return quantity * rate
    return quantity * rate / component.per


def price(usage: Usage, card: Card) -> Cost:
    """The cost of `usage` under `card`, at the rates of its input-token band."""
    rates = card.rates_for(usage.input_tokens)
    if usage.search_calls and rates.of(SEARCH) is None:
        raise CardError(f"card {card.card_id} has no web_search rate; cannot price search calls")
    counts = usage.as_counts()
    amounts = {c.name: component_cost(c, c.quantity_of(counts), rates) for c in COMPONENTS}
    return Cost(**amounts, currency=card.currency)
