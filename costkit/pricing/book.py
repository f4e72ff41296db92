"""The price book of a run: which card prices a model at a time, and the names it answers to.

The book is the built-in cards plus the user's (`--prices` or `COSTKIT_PRICES`): a user's
cards add models, and replace every built-in card of a model they name. Cards themselves
(the TOML format and its checks) are `costkit.pricing.cards`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from costkit.core import clock
from costkit.core.errors import NoCardInEffectError, UnknownModelError
from costkit.pricing.cards import (
    EARLIEST,
    Card,
    builtin_cards,
    check_overlaps,
    load_cards_path,
    utc,
)

ENV_PRICES = "COSTKIT_PRICES"


class PriceBook:
    """All cards in effect for this run: built-ins, overridden model by model by the user's."""

    def __init__(self, cards: Iterable[Card]):
        self.cards: tuple[Card, ...] = tuple(
            sorted(cards, key=lambda c: (c.model, c.effective_from or EARLIEST))
        )
        check_overlaps(self.cards)
        self._by_name: dict[str, list[Card]] = {}
        for card in self.cards:
            for name in (card.model, *card.aliases):
                self._by_name.setdefault(name, []).append(card)

    def models(self) -> list[str]:
        return sorted({card.model for card in self.cards})

    def resolve(self, name: str) -> str:
        """The card model a log's model name (or alias) prices as."""
        cards = self._by_name.get(name)
        if not cards:
            raise UnknownModelError(name, self.models())
        return cards[0].model

    def cards_for(self, model: str) -> list[Card]:
        cards = self._by_name.get(model)
        if not cards:
            raise UnknownModelError(model, self.models())
        return list(cards)

    def card_for(self, model: str, at: datetime | None = None) -> Card:
        """The card of `model` in effect at `at` (default: now)."""
        at = utc(at or clock.now())
        for card in self.cards_for(model):
            if card.in_effect(at):
                return card
        raise NoCardInEffectError(f"no card for {model!r} is in effect at {at.isoformat()}")

    def aliases(self) -> dict[str, str]:
        """Every name a card answers to, mapped to the card's model."""
        return {name: cards[0].model for name, cards in self._by_name.items()}


def load_price_book(paths: Iterable[str | os.PathLike[str]] | None = None) -> PriceBook:
    """Built-in cards plus the user's (`paths`, else `COSTKIT_PRICES`, os.pathsep-separated)."""
    builtin = builtin_cards()
    if paths is None:
        env = os.environ.get(ENV_PRICES, "")
        paths = [p for p in env.split(os.pathsep) if p]
    user: list[Card] = []
    for path in paths:
        user.extend(load_cards_path(Path(path)))
    named = {card.model for card in user}
    return PriceBook([c for c in builtin if c.model not in named] + user)
