"""The built-in catalog: price cards for thousands of models, shipped as generated TOML.

costkit/pricing/catalog/ holds one PROVIDER.toml of cards per provider, made by
tools/build_catalog.py from the genai-prices package (never fetched at run time), and
manifest.json saying which package and version they came from and what was left out. The
catalog is the lowest authority: the seed gateway's built-in cards (costkit/pricing/cards/)
and a user's cards win over it wherever both price a name (see costkit.pricing.names).
Catalog cards carry `origin` "catalog:PROVIDER.toml"; the files are read only when a name
the other cards do not know is looked up.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from pathlib import Path
from typing import Any

from costkit.pricing.cards import Card, parse_cards

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"
MANIFEST = "manifest.json"
ORIGIN_PREFIX = "catalog:"


def is_catalog(card: Card) -> bool:
    return card.origin.startswith(ORIGIN_PREFIX)


def load_catalog_dir(path: Path) -> list[Card]:
    """Every card of a catalog directory (the shipped one, or a new build to compare)."""
    cards: list[Card] = []
    for file in sorted(Path(path).glob("*.toml")):
        cards += parse_cards(file.read_text(encoding="utf-8"), ORIGIN_PREFIX + file.name, True)
    return cards


@functools.cache
def catalog_cards() -> tuple[Card, ...]:
    """The shipped catalog's cards, parsed once per process."""
    folder = resources.files("costkit.pricing") / "catalog"
    cards: list[Card] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            cards += parse_cards(entry.read_text(encoding="utf-8"), ORIGIN_PREFIX + entry.name,
                                 True)
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
