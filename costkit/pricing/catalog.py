"""The built-in catalog: price cards for thousands of models, shipped as generated TOML.

costkit/pricing/catalog/ holds one PROVIDER.toml of cards per provider, made by
tools/build_catalog.py from the genai-prices package (never fetched at run time), and
manifest.json saying which package and version they came from and what was left out. The
catalog is the lowest authority: the seed gateway's built-in cards (costkit/pricing/cards/)
and a user's cards win over it wherever both price a name (see costkit.pricing.names).
Catalog cards carry `origin` "catalog:PROVIDER.toml"; the files are read only when a name
the other cards do not know is looked up, and then only the file of the card it matched:
index.json (written by the same build, from the TOML files) lists each file's models with
the names, provider and gateway that name matching reads, so a process pricing a Claude
name parses anthropic.toml, not all 2,562 cards.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from costkit.pricing.cards import Card, parse_cards

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
MANIFEST = "manifest.json"
INDEX = "index.json"
ORIGIN_PREFIX = "catalog:"


def is_catalog(card: Card | Entry) -> bool:
    return card.origin.startswith(ORIGIN_PREFIX)


@dataclass(frozen=True)
class Entry:
    """A catalog model as name matching sees it (costkit.pricing.names reads only these
    fields of a card), standing for its cards until they are asked for (`cards`)."""

    model: str
    provider: str | None
    gateway: str | None
    aliases: tuple[str, ...]
    origin: str
    builtin: bool = True

    def cards(self) -> list[Card]:
        """The model's cards, parsed from its file (once per process)."""
        return [c for c in _file_cards(self.origin[len(ORIGIN_PREFIX):]) if c.model == self.model]


def index_of(cards: Iterable[Card]) -> dict[str, list[list[Any]]]:
    """file -> [[model, provider, gateway, [aliases]], ...]: each model once, at its first
    card, with that card's names (name matching reads a model's names from its first card),
    in the order the cards are loaded. What tools/build_catalog.py writes as index.json."""
    out: dict[str, list[list[Any]]] = {}
    seen: set[tuple[str, str]] = set()
    for card in cards:
        file = card.origin[len(ORIGIN_PREFIX):]
        if (file, card.model) in seen:
            continue
        seen.add((file, card.model))
        out.setdefault(file, []).append(
            [card.model, card.provider, card.gateway, list(card.aliases)])
    return out


@functools.cache
def catalog_entries() -> tuple[Entry, ...]:
    """The shipped catalog's models from index.json, in load order (no TOML parsed)."""
    entry = resources.files("costkit.pricing") / "catalog" / INDEX
    index = json.loads(entry.read_text(encoding="utf-8"))
    return tuple(Entry(model, provider, gateway, tuple(aliases), ORIGIN_PREFIX + file)
                 for file in sorted(index)
                 for model, provider, gateway, aliases in index[file])


def expand(found: Iterable[Card | Entry]) -> list[Card]:
    """Cards, with each Entry replaced by the cards it stands for."""
    return [c for item in found for c in (item.cards() if isinstance(item, Entry) else [item])]


@functools.cache
def _file_cards(name: str) -> tuple[Card, ...]:
    entry = resources.files("costkit.pricing") / "catalog" / name
    return tuple(parse_cards(entry.read_text(encoding="utf-8"), ORIGIN_PREFIX + name, True))


def load_catalog_dir(path: Path) -> list[Card]:
    """Every card of a catalog directory (the shipped one, or a new build to compare)."""
    cards: list[Card] = []
    for file in sorted(Path(path).glob("*.toml")):
        cards += parse_cards(file.read_text(encoding="utf-8"), ORIGIN_PREFIX + file.name, True)
    return cards


@functools.cache
def catalog_cards() -> tuple[Card, ...]:
    """The shipped catalog's cards, every file parsed (once per process). Pricing never needs
    them all: it matches names against `catalog_entries` and parses one file."""
    folder = resources.files("costkit.pricing") / "catalog"
    cards: list[Card] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            cards += _file_cards(entry.name)
    return tuple(cards)


@functools.cache
def manifest() -> dict[str, Any]:
    """The shipped catalog's manifest: package, version, licence, providers, left-out models."""
    entry = resources.files("costkit.pricing") / "catalog" / MANIFEST
    try:
        info: dict[str, Any] = json.loads(entry.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return info


def describe() -> str:
    """'genai-prices 0.2.3' (the package the shipped catalog was built from)."""
    info = manifest()
    return f"{info.get('package', 'catalog')} {info.get('version', '?')}".strip()


def left_out(name: str) -> list[dict[str, str]]:
    """Models of that name the catalog left out, with the reason (for an unpriced name)."""
    key = name.strip().lower()
    return [s for s in manifest().get("skipped", [])
            if s["model"].lower() == key or f"{s['provider']}/{s['model']}".lower() == key]
