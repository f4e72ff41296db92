"""A model name as a log writes it -> the cards that price it, saying how it matched.

Logs write `gpt-4o-2024-08-06`, `DeepSeek-V3.2`, `deepseek/deepseek-v3.2`, `bedrock/anthropic.
claude-3-5-sonnet-20241022-v2:0`. A name is matched against every card's model id and
aliases by these rules, each saying so in the match:
- exact: the model id or an alias as written;
- spelling: the same ignoring case and `.` / `_` / `-` (`DeepSeek-V3.2` = `deepseek-v3-2`);
- pattern: an alias ending or starting with `*` (`claude-sonnet-4-5*`), ignoring case only;
  the longest matching pattern is the most specific;
- provider prefix: `azure/gpt-4o` is `gpt-4o` among the cards of provider (or gateway)
  azure; `models/` (Google's REST form) is dropped;
- date suffix: `-2024-08-06`, `-20240806`, `@20240806` dropped when nothing matches with it;
- version suffix: Bedrock's `-v2:0` dropped likewise; tier suffix: `gpt-4o:batch` is the
  `:batch` card of what `gpt-4o` matches.
Among the matches the highest authority wins: your cards (--prices, $COSTKIT_PRICES), then
the built-in cards (costkit/pricing/cards/), then the catalog. Among cards of equal
authority, a maker's card (no `gateway`) wins over a host's, then the stronger rule. If
still more than one model is left, the name is ambiguous: unpriced, the candidates listed,
never one of them picked by a guess.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from costkit.core.errors import CostkitError, UnknownModelError
from costkit.pricing.cards import Card
from costkit.pricing.catalog import Entry, describe, is_catalog, left_out, manifest

# A card, or a catalog model not parsed yet (catalog.Entry): matching reads only their
# model, aliases, provider, gateway, origin and builtin.
Named = Card | Entry

AUTHORITY = {2: "your cards", 1: "built-in card", 0: "catalog"}
# How logs prefix a provider, as the catalog's provider ids.
PROVIDER_SYNONYMS = {
    "bedrock": "aws", "amazon": "aws", "aws-bedrock": "aws", "vertex_ai": "google",
    "vertex": "google", "gemini": "google", "google-vertex": "google", "azure_ai": "azure",
    "azure-openai": "azure", "azure_openai": "azure", "xai": "x-ai", "grok": "x-ai",
    "mistralai": "mistral", "together_ai": "together", "togetherai": "together",
    "fireworks_ai": "fireworks", "moonshot": "moonshotai", "zhipu": "zhipuai",
    "cohere_chat": "cohere", "deepseek-ai": "deepseek",
}
NOISE_PREFIXES = ("models/",)
TIERS = ("batch", "flex", "priority", "cache-1h")
_DATE = re.compile(r"(?:-|@)(\d{4})-?(\d{2})-?(\d{2})$")
_VERSION = re.compile(r"(?:-v\d+(?::\d+)?|:\d+)$")
_SPELLING = str.maketrans({".": "-", "_": "-"})


def key(name: str) -> str:
    """A name as compared by the spelling rule: lower case, `.` and `_` read as `-`."""
    return name.strip().lower().translate(_SPELLING)


def authority(card: Named) -> int:
    if is_catalog(card):
        return 0
    return 1 if card.builtin else 2


@dataclass(frozen=True)
class Match:
    """How a name resolved: the model whose cards price it, and by which rule."""

    name: str
    model: str
    how: str
    authority: int

    def describe(self) -> str:
        """'gpt-4o-2024-08-06 -> openai/gpt-4o (catalog, alias)'."""
        return f"{self.name} -> {self.model} ({AUTHORITY[self.authority]}, {self.how})"


class AmbiguousModelError(UnknownModelError):
    """A name several models' cards answer to equally: unpriced until one is named."""

    def __init__(self, name: str, candidates: Sequence[str]):
        dropped = left_out(name)
        maker = (f" (the catalog leaves {dropped[0]['provider']}'s own card out: "
                 f"{dropped[0]['reason']})" if dropped else "")
        CostkitError.__init__(
            self,
            f"model {name!r} is ambiguous: cards of {len(candidates)} models answer to it "
            f"({', '.join(candidates)}){maker}; name one of them (e.g. {candidates[0]!r}) or "
            "give your own card that lists the name in its aliases",
        )
        self.model = name
        self.known = list(candidates)
        self.candidates = list(candidates)


class NoSuchModelError(UnknownModelError):
    """No card of any authority answers to a name.

    The message (with the closest names, a fuzzy search over the whole catalog) is written
    only when it is read: most misses are never shown (an audit asks whether each of a FOCUS
    export's SKU and resource fields names a model, and thousands do not)."""

    def __init__(self, name: str, known: Sequence[str],
                 closest: Callable[[], Sequence[str]]):
        CostkitError.__init__(self, name)
        self.model = name
        self.known = sorted(known)
        self._closest = closest
        self._message: str | None = None

    def __str__(self) -> str:
        if self._message is None:
            message = (f"unknown model {self.model!r}: no price card for it; known models: "
                       f"{', '.join(self.known) or 'none'}; the catalog ({describe()}) has no "
                       "card of that name either")
            dropped = left_out(self.model)
            if dropped:
                message += f" (it leaves {dropped[0]['model']} out: {dropped[0]['reason']})"
            elif closest := self._closest():
                message += f" (closest: {', '.join(closest)})"
            self._message = message
        return self._message


@dataclass(frozen=True)
class _Hit:
    card: Named
    rank: int  # which rule: lower is stronger
    how: str
    length: int = 0  # of the pattern that matched: the longer, the more specific


class NameIndex:
    """Every card's names by spelling key, and its `*` patterns, for `resolve`."""

    def __init__(self, cards: Iterable[Named]):
        self.by_model: dict[str, list[Named]] = {}
        self.exact: dict[str, list[tuple[Named, str]]] = {}
        self.by_key: dict[str, list[tuple[Named, str]]] = {}
        self.patterns: list[tuple[str, str, Named]] = []  # (lower-cased, as written, card)
        self.providers: set[str] = set()
        for card in cards:
            first = card.model not in self.by_model
            self.by_model.setdefault(card.model, []).append(card)
            if not first:
                continue
            self.providers.update(p for p in (card.provider, card.gateway) if p)
            for name in (card.model, *card.aliases):
                kind = "model id" if name == card.model else "alias"
                if "*" in name:
                    self.patterns.append((name.lower(), name, card))
                    continue
                self.exact.setdefault(name, []).append((card, kind))
                self.by_key.setdefault(key(name), []).append((card, kind))
        self.patterns.sort(key=lambda p: -len(p[0]))

    def resolve(self, name: str, known: Sequence[str] = ()) -> Match:
        """The model `name` prices as. NoSuchModelError / AmbiguousModelError otherwise."""
        hits = self._hits(name.strip(), None, 0)
        if not hits:
            raise NoSuchModelError(name, known, lambda: self.closest(name))
        best = max(hits, key=_strength)
        top = {h.card.model for h in hits if _strength(h) == _strength(best)}
        if len(top) > 1:
            raise AmbiguousModelError(name, sorted(top))
        return Match(name, best.card.model, best.how, authority(best.card))

    def closest(self, name: str, n: int = 5) -> list[str]:
        keys = difflib.get_close_matches(key(name), list(self.by_key), n=n, cutoff=0.75)
        return list(dict.fromkeys(self.by_key[k][0][0].model for k in keys))

    def _hits(self, name: str, provider: str | None, depth: int) -> list[_Hit]:
        if not name or depth > 4:
            return []
        hits = [_Hit(c, 0, kind) for c, kind in self.exact.get(name, [])]
        base, colon, tier = name.rpartition(":")
        if colon and tier.lower() in TIERS:
            # `gpt-4o:batch`: the batch card of what `gpt-4o` matches, never a pattern of
            # the standard card that happens to match the whole name
            for h in self._hits(base, provider, depth + 1):
                variant = f"{h.card.model}:{tier.lower()}"
                for card in self.by_model.get(variant, [])[:1]:
                    hits.append(_Hit(card, 7, f"tier suffix ':{tier}', {h.how}", h.length))
            return hits
        spelled = key(name)
        hits += [_Hit(c, 1, f"{kind}, spelled differently") for c, kind in
                 self.by_key.get(spelled, []) if not any(h.card is c for h in hits)]
        lowered = name.lower()
        for pattern, written, card in self.patterns:
            if _fits(lowered, pattern):
                hits.append(_Hit(card, 2, f"pattern {written!r}", len(pattern.strip("*"))))
        head, slash, rest = name.partition("/")
        wanted = PROVIDER_SYNONYMS.get(head.lower(), head.lower()) if slash else None
        if wanted in self.providers:
            own = [_Hit(h.card, 3, f"provider prefix '{head}/', {h.how}", h.length)
                   for h in self._hits(rest, wanted, depth + 1)]
            hits += own
            for other in [] if own else fallbacks(wanted):
                hits += [_Hit(h.card, 4, f"provider prefix '{head}/': {wanted} bills "
                                         f"{other}'s models at {other}'s price, {h.how}",
                              h.length)
                         for h in self._hits(rest, other, depth + 1)]
            # A named provider is a statement: only its cards (and the providers whose
            # models it serves at their price) may price the name.
            allowed = {wanted, *fallbacks(wanted)}
            hits = [h for h in hits if allowed & {h.card.provider, h.card.gateway}]
        for noise in NOISE_PREFIXES:
            if name.lower().startswith(noise):
                hits += [_Hit(h.card, 3, f"prefix {noise!r} dropped, {h.how}", h.length)
                         for h in self._hits(name[len(noise):], provider, depth + 1)]
        found = _DATE.search(name)
        if found and _is_date(*found.groups()):
            hits += [_Hit(h.card, 5, f"date suffix {found.group(0)!r} dropped, {h.how}", h.length)
                     for h in self._hits(name[: found.start()], provider, depth + 1)]
        version = _VERSION.search(name)
        if version:
            hits += [_Hit(h.card, 6, f"version suffix {version.group(0)!r} dropped, {h.how}",
                          h.length)
                     for h in self._hits(name[: version.start()], provider, depth + 1)]
        if provider is not None:
            hits = [h for h in hits if provider in (h.card.provider, h.card.gateway)]
        return hits


def fallbacks(provider: str) -> list[str]:
    """Providers whose models `provider` serves at their price when the catalog lists no card
    of its own (the catalog's word: azure -> openai, anthropic, ...)."""
    info = manifest().get("providers", {}).get(provider, {})
    return list(info.get("fallback", []))


def _strength(hit: _Hit) -> tuple[int, bool, int, int]:
    return authority(hit.card), not hit.card.gateway, -hit.rank, hit.length


def _fits(name: str, pattern: str) -> bool:
    core = pattern.strip("*")
    if pattern.startswith("*") and pattern.endswith("*"):
        return core in name
    if pattern.startswith("*"):
        return name.endswith(core)
    return name.startswith(core)


def _is_date(year: str, month: str, day: str) -> bool:
    try:
        date(int(year), int(month), int(day))
    except ValueError:
        return False
    return True


def build_index(cards: Iterable[Card],
                catalog: Callable[[], Iterable[Named]] | Iterable[Named]) -> NameIndex:
    """The index over a book's own cards and its catalog (called only when first needed)."""
    extra = catalog() if callable(catalog) else catalog
    return NameIndex([*cards, *extra])
