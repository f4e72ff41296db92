"""What a new set of cards would change: `costkit prices diff` and tools/build_catalog.py.

Two card sets (today's catalog and a new build, or any two card files) are compared model by
model over time: a model only in the new set is added, one only in the old set would be
dropped, and for a model in both every period where the rates in effect differ is listed
with both prices. A difference in a period that starts before `as_of` (default: now) would
reprice usage already ingested: it is marked, because an update must never do that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from costkit.core import clock
from costkit.core.components import NAMES as RATE_NAMES
from costkit.core.money import decimal_text
from costkit.pricing.cards import Card

_MIN = datetime.min.replace(tzinfo=UTC)
_SHORT = {"input": "in", "cached_input": "cached", "cache_write": "cache write",
          "output": "out", "reasoning": "reasoning", "web_search": "search/call"}


@dataclass(frozen=True)
class Change:
    """One model's difference over one period [start, end) (None: open-ended)."""

    model: str
    kind: str  # "added", "dropped" or "changed"
    start: datetime | None
    end: datetime | None
    before: str  # the old price in effect ("-" when none)
    after: str  # the new price in effect ("-" when none)
    reprices_history: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "model": self.model, "kind": self.kind,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "before": self.before, "after": self.after,
            "reprices_history": self.reprices_history,
        }


def price_summary(card: Card | None) -> str:
    """A card's rates in one line: 'in 2.5, cached 1.25, out 10 per 1M; search/call 0.01'."""
    if card is None:
        return "-"
    parts = []
    for name in RATE_NAMES:
        value = getattr(card.rates, name)
        if value is None:
            continue
        parts.append(f"{_SHORT[name]} {decimal_text(value)}")
    text = ", ".join(parts)
    if card.tiers:
        text += f" (+{len(card.tiers)} long-context tier{'s' if len(card.tiers) > 1 else ''})"
    return f"{text} {card.currency}"


def _key(card: Card | None) -> tuple[Any, ...] | None:
    return None if card is None else (card.rates, card.tiers, card.currency)


def _at(cards: list[Card], at: datetime) -> Card | None:
    for card in cards:
        if card.in_effect(at):
            return card
    return None


def _group(cards: Iterable[Card]) -> dict[str, list[Card]]:
    out: dict[str, list[Card]] = {}
    for card in cards:
        out.setdefault(card.model, []).append(card)
    return out


def diff_cards(old: Iterable[Card], new: Iterable[Card],
               as_of: datetime | None = None) -> list[Change]:
    """Every period where `new` prices a model differently from `old`, oldest first."""
    as_of = as_of or clock.now()
    olds, news = _group(old), _group(new)
    changes: list[Change] = []
    for model in sorted(set(olds) | set(news)):
        before, after = olds.get(model, []), news.get(model, [])
        points = sorted({_MIN} | {t for c in before + after
                                  for t in (c.effective_from, c.effective_to) if t})
        segments: list[list[Any]] = []
        for i, start in enumerate(points):
            end = points[i + 1] if i + 1 < len(points) else None
            a, b = _at(before, start), _at(after, start)
            if _key(a) == _key(b):
                continue
            if segments and segments[-1][1] == start and (
                _key(segments[-1][2]), _key(segments[-1][3])) == (_key(a), _key(b)):
                segments[-1][1] = end
                continue
            segments.append([start, end, a, b])
        kind = "added" if not before else "dropped" if not after else "changed"
        for start, end, a, b in segments:
            begins = None if start == _MIN else start
            changes.append(Change(model, kind, begins, end, price_summary(a), price_summary(b),
                                  kind != "added" and (begins is None or begins < as_of)))
    return changes


def format_diff(changes: list[Change]) -> str:
    """The changes as lines of text, history-repricing ones flagged."""
    if not changes:
        return "no changes"
    lines = []
    for c in changes:
        start = c.start.date().isoformat() if c.start else "always"
        end = c.end.date().isoformat() if c.end else "open"
        flag = "  REPRICES HISTORY" if c.reprices_history else ""
        lines.append(f"{c.kind:8} {c.model}  [{start} .. {end})  {c.before}  ->  {c.after}{flag}")
    added = len({c.model for c in changes if c.kind == "added"})
    changed = len({c.model for c in changes if c.kind == "changed"})
    dropped = len({c.model for c in changes if c.kind == "dropped"})
    past = sum(c.reprices_history for c in changes)
    lines.append(f"{added} models added, {changed} changed, {dropped} dropped; "
                 f"{past} change(s) to periods already begun")
    return "\n".join(lines)
