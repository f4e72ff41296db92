"""The catalog's files and its history, for tools/build_catalog.py.

`merge` is how an update keeps history: every existing card keeps its rates before the
update's effective day, new prices start that day, models the package dropped stay, names
only accumulate. `write_catalog` writes the cards as costkit's TOML (one file per provider),
the manifest and the licence.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path

from costkit.core.components import NAMES as RATE_NAMES
from costkit.pricing.cards import Card, Rates
from costkit.pricing.catalog import MANIFEST

PACKAGE = "genai-prices"


# --- updates: history is never repriced -------------------------------------------------------

def merge(old: list[Card], new: list[Card], effective: datetime) -> list[Card]:
    """The catalog after an update from `effective`: old cards keep every day before it, new
    prices apply from it, models the package dropped stay, names only accumulate."""
    if not old:
        return new
    olds = _group(old)
    news = _group(new)
    merged: list[Card] = []
    for model in sorted(set(olds) | set(news)):
        before, after = olds.get(model, []), news.get(model, [])
        if not before or not after:
            merged += before or after
            continue
        kept = [_clip(c, None, effective) for c in before if _starts_before(c, effective)]
        added = [_clip(c, effective, None) for c in after if _ends_after(c, effective)]
        kept = [c for c in kept if c is not None]
        added = [c for c in added if c is not None]
        if kept and added and kept[-1].effective_to == effective and _same_price(kept[-1],
                                                                                 added[0]):
            # Nothing changed at the update: the old card runs on.
            kept[-1] = dataclasses.replace(kept[-1], effective_to=added[0].effective_to)
            added = added[1:]
        names = tuple(dict.fromkeys(a for c in before + after for a in c.aliases))
        merged += [dataclasses.replace(c, aliases=names) for c in kept + added]
    return merged


def _group(cards: list[Card]) -> dict[str, list[Card]]:
    out: dict[str, list[Card]] = {}
    for card in cards:
        out.setdefault(card.model, []).append(card)
    for group in out.values():
        group.sort(key=lambda c: c.effective_from or datetime.min.replace(tzinfo=UTC))
    return out


def _starts_before(card: Card, at: datetime) -> bool:
    return card.effective_from is None or card.effective_from < at


def _ends_after(card: Card, at: datetime) -> bool:
    return card.effective_to is None or card.effective_to > at


def _clip(card: Card, start: datetime | None, end: datetime | None) -> Card | None:
    lo = card.effective_from
    if start is not None and (lo is None or lo < start):
        lo = start
    hi = card.effective_to
    if end is not None and (hi is None or hi > end):
        hi = end
    if lo is not None and hi is not None and hi <= lo:
        return None
    return dataclasses.replace(card, effective_from=lo, effective_to=hi)


def _same_price(a: Card, b: Card) -> bool:
    return (a.rates, a.tiers, a.currency) == (b.rates, b.tiers, b.currency)


# --- writing ----------------------------------------------------------------------------------

def card_toml(card: Card) -> str:
    lines = ["[[card]]", f"model = {_s(card.model)}", f"provider = {_s(card.provider)}"]
    if card.gateway:
        lines.append(f"gateway = {_s(card.gateway)}")
    lines += [f"display_name = {_s(card.display_name)}", f"currency = {_s(card.currency)}"]
    if card.tokenizer:
        lines.append(f"tokenizer = {_s(card.tokenizer)}")
    if card.aliases:
        lines.append("aliases = [" + ", ".join(_s(a) for a in card.aliases) + "]")
    lines.append(f"source = {_s(card.source)}")
    if card.notes:
        lines.append("notes = [" + ", ".join(_s(n) for n in card.notes) + "]")
    if card.effective_from:
        lines.append(f"effective_from = {_t(card.effective_from)}")
    if card.effective_to:
        lines.append(f"effective_to = {_t(card.effective_to)}")
    lines += ["[card.rates]", *_rate_lines(card.rates, None)]
    if card.context_window:
        lines += ["[card.limits]", f"context_window = {card.context_window}"]
    for tier in card.tiers:
        lines += ["[[card.tiers]]", f"above_input_tokens = {tier.above_input_tokens}",
                  "[card.tiers.rates]", *_rate_lines(tier.rates, card.rates)]
    return "\n".join(lines) + "\n"


def _rate_lines(rates: Rates, base: Rates | None) -> list[str]:
    out = []
    for name in RATE_NAMES:
        value = getattr(rates, name)
        if value is None or (base is not None and getattr(base, name) == value):
            continue
        out.append(f"{name} = {_s(format(value.normalize(), 'f'))}")
    return out


def _s(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _t(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_catalog(out: Path, cards: list[Card], manifest: dict, licence: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.toml"):
        old.unlink()
    by_provider: dict[str, list[Card]] = {}
    for card in cards:
        by_provider.setdefault(card.provider, []).append(card)
    for provider, group in sorted(by_provider.items()):
        group.sort(key=lambda c: (c.model, c.effective_from or datetime.min.replace(tzinfo=UTC)))
        header = (f"# Generated by tools/build_catalog.py from {PACKAGE} (MIT); do not edit.\n"
                  f"# Provider {provider}: {len(group)} cards.\n\n")
        (out / f"{provider}.toml").write_text(
            header + "\n".join(card_toml(c) for c in group), encoding="utf-8")
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n",
                                encoding="utf-8")
    (out / f"LICENSE-{PACKAGE}.txt").write_text(licence, encoding="utf-8")
