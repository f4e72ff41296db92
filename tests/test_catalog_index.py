"""The catalog's index (costkit/pricing/catalog/index.json): it says what the TOML files say,
name matching over it answers as over every parsed card, and a run pricing Claude names
parses anthropic.toml only, not the 44 files of 2,562 cards."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from costkit.core.errors import UnknownModelError
from costkit.pricing import catalog
from costkit.pricing.book import PriceBook, load_price_book
from costkit.pricing.catalog import CATALOG_DIR, INDEX, catalog_cards, load_catalog_dir

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("build_catalog",
                                                  ROOT / "tools" / "build_catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_shipped_index_says_what_the_toml_files_say():
    index = json.loads((CATALOG_DIR / INDEX).read_text(encoding="utf-8"))
    cards = load_catalog_dir(CATALOG_DIR)
    # every file and every model of it, once, with the names of its first card
    assert set(index) == {p.name for p in CATALOG_DIR.glob("*.toml")}
    assert sum(len(models) for models in index.values()) == len({c.model for c in cards})
    first = {}
    for card in cards:
        first.setdefault(card.model, card)
    for file, models in index.items():
        for model, provider, gateway, aliases in models:
            card = first[model]
            assert card.origin == "catalog:" + file
            assert (provider, gateway, tuple(aliases)) == (card.provider, card.gateway,
                                                           card.aliases)


def test_the_build_writes_the_index_from_the_files_it_wrote(tmp_path):
    out = tmp_path / "catalog"
    out.mkdir()
    # one provider's file, as the build writes it, and the index written from it
    (out / "anthropic.toml").write_text((CATALOG_DIR / "anthropic.toml").read_text())
    _tool().write_index(out)
    index = json.loads((out / INDEX).read_text())
    assert list(index) == ["anthropic.toml"]
    shipped = json.loads((CATALOG_DIR / INDEX).read_text())
    assert index["anthropic.toml"] == shipped["anthropic.toml"]


# Names as logs write them, one per matching rule, plus unknown and ambiguous ones.
NAMES = [
    "claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805", "claude-3-5-haiku-20241022",
    "claude-haiku-4-5-20251001", "claude-sonnet-4.5", "gpt-4o", "GPT-4o", "gpt-4o-2024-08-06",
    "openai/gpt-4o", "azure/gpt-4o", "models/gemini-2.5-pro", "openrouter/openai/gpt-4o",
    "groq/llama-3.3-70b-versatile", "gpt-4o:batch", "gpt-4o-mini:flex",
    "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0", "deepseek-chat", "DeepSeek-V3.2",
    "mistral-large-latest", "no-such-model-xyz", "gpt-4", "llama-3.1-8b-instruct",
]


def _answer(book: PriceBook, name: str):
    try:
        cards = book.cards_for(name)
    except UnknownModelError as exc:
        return type(exc).__name__, str(exc)
    match = book.matches.get(name)  # None: a name an earlier answer made a card's own
    return match and match.describe(), [(c.model, c.effective_from, c.rates, c.tiers)
                                           for c in cards]


@pytest.mark.parametrize("name", NAMES)
def test_the_index_matches_names_as_every_parsed_card_does(name):
    # the reference: the same book over the whole catalog, every file parsed
    eager = PriceBook(load_price_book([]).cards, catalog=catalog_cards)
    assert _answer(load_price_book([]), name) == _answer(eager, name)


def test_every_catalog_name_resolves_alike_through_the_index():
    eager = PriceBook(load_price_book([]).cards, catalog=catalog_cards)
    lazy = load_price_book([])
    names = sorted({n for c in catalog_cards() for n in (c.model, *c.aliases) if "*" not in n})
    assert len(names) > 2000
    for name in names[::7]:  # a seventh of them: every rule is met many times over
        assert _answer(lazy, name) == _answer(eager, name), name


def test_pricing_claude_names_parses_only_anthropic_toml():
    catalog._file_cards.cache_clear()
    book = load_price_book([])
    book.learn(["claude-sonnet-4-5-20250929", "claude-opus-4-1-20250805",
                "claude-haiku-4-5-20251001"])
    assert book.card_for("claude-sonnet-4-5-20250929").origin == "catalog:anthropic.toml"
    parsed = catalog._file_cards.cache_info().currsize
    assert parsed == 1  # of 44 files
