"""Where a price card came from: the catalog package and version, or a file and line.

Every card keeps its `origin` ("catalog:openai.toml", "builtin:deepseek-v3-2.toml" or the
path of a user's file); this module turns it into what `costkit prices show` and
`costkit estimate` print: the kind of card (your cards, built-in, catalog), the file, the
line of its `[[card]]` table, and for the catalog the package and version it was built from.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from costkit.core.errors import CardError
from costkit.pricing.cards import Card, parse_cards
from costkit.pricing.catalog import ORIGIN_PREFIX, manifest

_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*card[ \t]*\]\]", re.MULTILINE)
BUILTIN_PREFIX = "builtin:"


def provenance(card: Card) -> dict[str, Any]:
    """{"kind", "file", "line", and for catalog cards "package", "version", "license"}."""
    if card.origin.startswith(ORIGIN_PREFIX):
        name = card.origin[len(ORIGIN_PREFIX):]
        info = manifest()
        out: dict[str, Any] = {
            "kind": "catalog",
            "package": info.get("package"),
            "version": _card_version(card) or info.get("version"),
            "license": info.get("license"),
            "file": f"costkit/pricing/catalog/{name}",
        }
        text = _read(resources.files("costkit.pricing") / "catalog" / name)
    elif card.origin.startswith(BUILTIN_PREFIX):
        name = card.origin[len(BUILTIN_PREFIX):]
        out = {"kind": "built-in", "file": f"costkit/pricing/cards/{name}"}
        text = _read(resources.files("costkit.pricing") / "cards" / name)
    else:
        out = {"kind": "your cards", "file": card.origin}
        text = _read(Path(card.origin))
    out["line"] = card_line(text, card.origin, card) if text is not None else None
    return out


def describe(card: Card) -> str:
    """One phrase: 'catalog genai-prices 0.2.3 (MIT), costkit/pricing/catalog/openai.toml
    line 673' or 'your cards, /path/cards.toml line 2'."""
    p = provenance(card)
    where = p["file"] + (f" line {p['line']}" if p.get("line") else "")
    if p["kind"] == "catalog":
        return f"catalog {p['package']} {p['version']} ({p['license']}), {where}"
    return f"{p['kind']}, {where}"


def card_line(text: str, origin: str, card: Card) -> int | None:
    """The line of `card`'s `[[card]]` header in `text` (1-based), or None."""
    return _lines(text, origin).get((card.model, card.effective_from))


@lru_cache(maxsize=32)
def _lines(text: str, origin: str) -> dict[tuple[str, Any], int]:
    headers = [text.count("\n", 0, m.start()) + 1 for m in _HEADER.finditer(text)]
    try:
        cards = parse_cards(text, origin)
    except CardError:
        return {}
    if len(cards) != len(headers):
        return {}
    return {(c.model, c.effective_from): line for c, line in zip(cards, headers, strict=True)}


def _card_version(card: Card) -> str | None:
    # A card kept through catalog updates names the package version it was built from.
    package = re.escape(str(manifest().get("package", "genai-prices")))
    found = re.search(package + r" (\d[\w.]*)", card.source)
    return found.group(1) if found else None


def _read(entry: Any) -> str | None:
    try:
        return str(entry.read_text(encoding="utf-8"))
    except OSError:
        return None
