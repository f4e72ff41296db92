"""The price book of a run: which card prices a model at a time, and the names it answers to.

The book is the built-in cards plus the user's (`--prices` or `COSTKIT_PRICES`): a user's
cards add models, and replace every built-in card of a model they name. Below both sits the
catalog (`costkit.pricing.catalog`), consulted only for a name no card lists; how a logged
name resolves (case, prefixes, date suffixes, ambiguity) is `costkit.pricing.names`. Cards
themselves (the TOML format and its checks) are `costkit.pricing.cards`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

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

    def __init__(self, cards: Iterable[Card], catalog: Any = ()):
        self.cards: tuple[Card, ...] = tuple(
            sorted(cards, key=lambda c: (c.model, c.effective_from or EARLIEST))
        )
        check_overlaps(self.cards)
        self._index_names()
        # The lowest authority (cards or a function returning them), consulted only for a
        # name `cards` do not know; see costkit.pricing.names for how names resolve.
        self._catalog = catalog
        self._names: Any = None
        self.matches: dict[str, Any] = {}
        # Names `learn` found no card for: resolving one again gives the same answer (the
        # index is built once) and costs a fuzzy search, which every spend query repeated.
        self._unknown: dict[str, UnknownModelError] = {}

    def _index_names(self) -> None:
        self._by_name: dict[str, list[Card]] = {}
        for card in self.cards:
            for name in (card.model, *card.aliases):
                self._by_name.setdefault(name, []).append(card)

    def _learn(self, name: str) -> list[Card]:
        """Resolve a name no card lists (costkit.pricing.names) and make it one more alias
        of the cards it resolves to, which join `cards` if they came from the catalog."""
        from costkit.pricing import names

        missed = self._unknown.get(name)
        if missed is not None:  # the same answer as before, without the fuzzy search again
            raise missed.with_traceback(None)
        if self._names is None:
            self._names = names.build_index(self.cards, self._catalog)
        own = sorted({c.model for c in self.cards if names.authority(c) > 0})
        try:
            match = self._names.resolve(name, own)
        except UnknownModelError as error:
            self._unknown[name] = error
            raise
        self.matches[name] = match
        mine = [c for c in self.cards if c.model == match.model]
        # A catalog card joins with the names it was asked by, not all the catalog's aliases
        # (those stay with the resolver, where they cannot shadow another card's name).
        if not mine:  # a catalog model: only now are its cards parsed (its file only)
            from costkit.pricing.catalog import expand

            mine = [replace(c, aliases=()) for c in expand(self._names.by_model[match.model])]
        chosen = mine
        others = [c for c in self.cards if c.model != match.model]
        added = [c if name in c.aliases else replace(c, aliases=(*c.aliases, name))
                 for c in chosen]
        self.cards = tuple(
            sorted(others + added, key=lambda c: (c.model, c.effective_from or EARLIEST))
        )
        self._index_names()
        return self._by_name[name]

    def learn(self, names: Iterable[str | None]) -> None:
        """Resolve each logged name now (unknown or ambiguous ones stay unpriced), so the
        store's rate table and every name lookup see them."""
        for name in names:
            if name is not None and name not in self._by_name and name not in self._unknown:
                try:
                    self._learn(name)
                except UnknownModelError:
                    pass  # remembered in _unknown by _learn

    def models(self) -> list[str]:
        return sorted({card.model for card in self.cards})

    def resolve(self, name: str) -> str:
        """The card model a log's model name (or alias) prices as."""
        return self.cards_for(name)[0].model

    def cards_for(self, model: str) -> list[Card]:
        cards = self._by_name.get(model)
        if not cards:
            cards = self._learn(model)
        if model in self.matches:  # resolved once: always the same model
            return [c for c in cards if c.model == self.matches[model].model]
        models = sorted({c.model for c in cards})
        if len(models) > 1 and model not in models:
            # Two models' cards list the same alias: never price it as one of them.
            from costkit.pricing.names import AmbiguousModelError

            raise AmbiguousModelError(model, models)
        return [c for c in cards if c.model == model] if len(models) > 1 else list(cards)

    def card_for(self, model: str, at: datetime | None = None) -> Card:
        """The card of `model` in effect at `at` (default: now)."""
        at = utc(at or clock.now())
        for card in self.cards_for(model):
            if card.in_effect(at):
                return card
        raise NoCardInEffectError(f"no card for {model!r} is in effect at {at.isoformat()}")

    def names_of(self, card: Card) -> list[str]:
        """The names `card` prices: its model id, and each alias no other model's card lists
        (a shared alias is ambiguous, priced by neither)."""
        out = []
        for name in dict.fromkeys((card.model, *card.aliases)):
            match = self.matches.get(name)
            if match is not None:
                if match.model == card.model:
                    out.append(name)
            elif name == card.model or {c.model for c in self._by_name[name]} == {card.model}:
                out.append(name)
        return out

    def aliases(self) -> dict[str, str]:
        """Every name a card answers to, mapped to the card's model."""
        return {name: cards[0].model for name, cards in self._by_name.items()}


def load_price_book(paths: Iterable[str | os.PathLike[str]] | None = None) -> PriceBook:
    """Built-in cards plus the user's (`paths`, else `COSTKIT_PRICES`, os.pathsep-separated),
    over the catalog (costkit.pricing.catalog) as the lowest authority: its index of names,
    a file's cards parsed only when a name matches one of them."""
    from costkit.pricing.catalog import catalog_entries

    builtin = builtin_cards()
    if paths is None:
        env = os.environ.get(ENV_PRICES, "")
        paths = [p for p in env.split(os.pathsep) if p]
    user: list[Card] = []
    for path in paths:
        user.extend(load_cards_path(Path(path)))
    named = {card.model for card in user}
    return PriceBook([c for c in builtin if c.model not in named] + user, catalog=catalog_entries)
