"""The built-in catalog: prices as the providers publish them, where each card came from,
names matched as genai-prices itself matches them, and updates that never reprice history."""

from __future__ import annotations

import importlib.util
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from costkit.core.usage import Usage
from costkit.pricing.book import PriceBook, load_price_book
from costkit.pricing.catalog import CATALOG_DIR, catalog_cards, load_catalog_dir, manifest
from costkit.pricing.catalog_diff import diff_cards, format_diff
from costkit.pricing.cost import price

ROOT = Path(__file__).resolve().parents[1]
M = Decimal(1_000_000)


def _tool():
    spec = importlib.util.spec_from_file_location("build_catalog", ROOT / "tools" /
                                                  "build_catalog.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def book():
    return load_price_book([])


# --- prices as published ----------------------------------------------------------------------

def test_gpt_4o_as_openai_publishes_it(book):
    # openai.com/api/pricing: GPT-4o $2.50 input, $1.25 cached input, $10.00 output per 1M;
    # Batch API: $1.25 input, $5.00 output.
    card = book.card_for("gpt-4o")
    assert (card.rates.input, card.rates.cached_input, card.rates.output) == (
        Decimal("2.50"), Decimal("1.25"), Decimal("10.00"))
    batch = book.card_for("gpt-4o:batch")
    assert (batch.rates.input, batch.rates.output) == (Decimal("1.25"), Decimal("5.00"))
    # 1,200 prompt tokens of which 1,000 cached, 300 answer tokens, worked by hand:
    # 200 x 2.50 + 1,000 x 1.25 + 300 x 10 = 500 + 1,250 + 3,000 = 4,750 per 1M = $0.00475
    cost = price(Usage(input_tokens=1200, cached_input_tokens=1000, output_tokens=300), card)
    assert cost.total == Decimal("0.00475")


def test_o3_history_keeps_the_price_before_the_cut(book):
    # OpenAI cut o3 by 80% on 2025-06-10: $10 / $40 per 1M before, $2 / $8 from that day
    # (openai.com/api/pricing; OpenAI's announcement of 2025-06-10).
    before = book.card_for("o3", at("2025-05-01T00:00:00"))
    after = book.card_for("o3", at("2025-06-10T00:00:00"))
    assert (before.rates.input, before.rates.output) == (Decimal("10"), Decimal("40"))
    assert (after.rates.input, after.rates.output) == (Decimal("2"), Decimal("8"))
    assert before.effective_to == after.effective_from == at("2025-06-10T00:00:00")


def test_claude_sonnet_4_5_as_anthropic_publishes_it(book):
    # docs.anthropic.com/en/docs/about-claude/pricing: Sonnet 4.5 $3 input, $3.75 5-minute
    # cache writes, $6 1-hour cache writes, $0.30 cache hits, $15 output; prompts over 200K
    # tokens $6 input and $22.50 output.
    card = book.card_for("claude-sonnet-4-5-20250929")
    r = card.rates
    assert (r.input, r.cache_write, r.cached_input, r.output) == (
        Decimal("3"), Decimal("3.75"), Decimal("0.30"), Decimal("15"))
    assert book.card_for("claude-sonnet-4-5:cache-1h").rates.cache_write == Decimal("6")
    (tier,) = card.tiers
    assert tier.above_input_tokens == 200_000
    assert (tier.rates.input, tier.rates.output) == (Decimal("6"), Decimal("22.50"))
    # by hand: 10,000 prompt tokens = 7,000 uncached + 2,000 cache hits + 1,000 cache writes,
    # 500 answer: 7,000 x 3 + 2,000 x 0.30 + 1,000 x 3.75 + 500 x 15 = 32,850 per 1M
    cost = price(Usage(input_tokens=10_000, cached_input_tokens=2_000, cache_write_tokens=1_000,
                       output_tokens=500), card)
    assert cost.total == Decimal("0.03285")


def test_gemini_2_5_pro_long_context_tier(book):
    # ai.google.dev/gemini-api/docs/pricing: Gemini 2.5 Pro $1.25 / $10.00 per 1M for prompts
    # up to 200K tokens, $2.50 / $15.00 above.
    card = book.card_for("gemini-2.5-pro")
    assert (card.rates.input, card.rates.output) == (Decimal("1.25"), Decimal("10"))
    assert card.rates_for(200_001).input == Decimal("2.50")
    assert card.rates_for(200_001).output == Decimal("15")
    assert card.rates_for(200_000).input == Decimal("1.25")


# --- what ships ------------------------------------------------------------------------------

def test_the_catalog_is_broad_and_says_what_it_left_out():
    info = manifest()
    assert (info["package"], info["version"], info["license"]) == ("genai-prices", "0.2.3", "MIT")
    models = {c.model for c in catalog_cards()}
    assert len(models) == info["models"] > 2000
    providers = {c.provider for c in catalog_cards()}
    assert {"openai", "anthropic", "google", "deepseek", "mistral", "x-ai", "aws", "azure",
            "groq", "together", "openrouter"} <= providers
    assert info["skipped"] and all(s["reason"] for s in info["skipped"])
    assert "Copyright (c) Pydantic Services Inc." in (CATALOG_DIR /
                                                      "LICENSE-genai-prices.txt").read_text()


def test_every_catalog_card_is_at_the_lowest_authority(book):
    assert all(c.origin.startswith("catalog:") and c.builtin for c in catalog_cards())
    assert [c.model for c in book.cards] == ["deepseek-v3-2"]  # nothing learned yet


def test_names_match_as_genai_prices_matches_them(book):
    """The reference implementation: for every exact name and every dated form of a
    starts-with rule of the makers' models, genai-prices' own lookup and costkit's agree."""
    snapshot = pytest.importorskip("genai_prices.data_snapshot").get_snapshot()
    makers = {"openai", "anthropic", "google", "mistral", "x-ai", "cohere", "moonshotai"}
    names = set()
    for card in catalog_cards():
        if card.provider in makers:
            for alias in card.aliases:
                if "*" not in alias:
                    names.add(alias)
                elif not alias.startswith("*"):
                    names.add(alias[:-1] + "-20250101")
    checked = 0
    for name in sorted(names):
        try:
            provider, model = snapshot.find_provider_model(name, None, None, None)
        except LookupError:
            continue
        assert book.resolve(name) == f"{provider.id}/{model.id}", name
        checked += 1
    assert checked > 500


# --- provenance ------------------------------------------------------------------------------

def _header_line(path: Path, model: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    where = lines.index(f'model = "{model}"')
    while lines[where] != "[[card]]":
        where -= 1
    return where + 1


def test_prices_show_prints_where_each_card_came_from(cli, tmp_path):
    result = cli("prices", "show", "gpt-4o-2024-08-06")
    assert result.exit_code == 0
    line = _header_line(CATALOG_DIR / "openai.toml", "openai/gpt-4o")
    assert "matched: gpt-4o-2024-08-06 -> openai/gpt-4o (catalog, alias)" in result.stdout
    assert (f"from: catalog genai-prices 0.2.3 (MIT), costkit/pricing/catalog/openai.toml "
            f"line {line}") in result.stdout
    seed = cli("prices", "show", "deepseek-v3-2")
    seed_line = _header_line(ROOT / "costkit" / "pricing" / "cards" / "deepseek-v3-2.toml",
                             "deepseek-v3-2")
    assert f"from: built-in, costkit/pricing/cards/deepseek-v3-2.toml line {seed_line}" in (
        seed.stdout)
    cards = tmp_path / "cards.toml"
    cards.write_text('# mine\n\n[[card]]\nmodel = "a"\n[card.rates]\ninput = "1"\noutput = "1"\n'
                     '\n[[card]]\nmodel = "b"\n[card.rates]\ninput = "2"\noutput = "2"\n')
    mine = cli("prices", "show", "b", "--prices", str(cards), "--format", "json")
    assert json.loads(mine.stdout)[0]["provenance"] == {
        "kind": "your cards", "file": str(cards), "line": 9}


def test_estimate_names_its_card_and_where_it_came_from(cli):
    result = cli("estimate", "Hi", "--model", "claude-sonnet-4-5-20250929", "--no-history",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["card"] == "anthropic/claude-sonnet-4-5@start"
    assert data["card_source"]["kind"] == "catalog"
    assert data["card_source"]["package"] == "genai-prices"
    assert data["matched"] == ("claude-sonnet-4-5-20250929 -> anthropic/claude-sonnet-4-5 "
                               "(catalog, pattern 'claude-sonnet-4-5*')")
    assert data["exact"] is False  # no offline Claude tokenizer: o200k_base stands in


def test_the_seed_example_is_unchanged_by_the_catalog(cli):
    # The seed's example: 12 prompt tokens at $0.57 per 1M = $0.00000684 (seed card wins).
    result = cli("estimate", "Write a haiku about the ocean.", "--no-history", "--format", "json")
    data = json.loads(result.stdout)
    assert (data["input_tokens"], data["input_cost"], data["card"]) == (
        12, "0.00000684", "deepseek-v3-2@start")
    assert data["card_source"]["kind"] == "built-in"


# --- updates never reprice history -----------------------------------------------------------

def _usage_lines(model: str) -> str:
    def line(i: int, ts: str, prompt: int, answer: int) -> str:
        created = int(datetime.fromisoformat(ts).replace(tzinfo=UTC).timestamp())
        return json.dumps({"id": f"chatcmpl-{i}", "object": "chat.completion", "created": created,
                           "model": model, "choices": [],
                           "usage": {"prompt_tokens": prompt, "completion_tokens": answer,
                                     "total_tokens": prompt + answer}})
    return "\n".join([line(1, "2026-10-05T10:00:00", 100_000, 20_000),
                      line(2, "2026-10-20T10:00:00", 300_000, 40_000),
                      line(3, "2026-12-02T10:00:00", 100_000, 10_000)]) + "\n"


def _monthly(db: Path, book: PriceBook) -> dict[str, Decimal]:
    from costkit.spend.breakdown import spend
    from costkit.store.connection import open_store

    con = open_store(db, read_only=True)
    try:
        frame = spend(con, ["month"], book=book)
    finally:
        con.close()
    return {row["month"]: row["total_cost"] for row in frame.iter_rows(named=True)}


def test_a_catalog_update_never_changes_an_ingested_months_cost(tmp_path):
    from costkit.ingest.run import ingest

    tool = _tool()
    old = list(catalog_cards())
    book_before = PriceBook(load_price_book([]).cards, catalog=old)
    logs = tmp_path / "usage.jsonl"
    logs.write_text(_usage_lines("gpt-4o-2024-08-06"))
    db = tmp_path / "store.duckdb"
    ingest([logs], db=db, prices=book_before)
    # by hand at $2.50 / $10.00: October 400,000 x 2.50 + 60,000 x 10 = 1,600,000 per 1M
    assert _monthly(db, book_before) == {"2026-10": Decimal("1.6"), "2026-12": Decimal("0.35")}

    # The package now says gpt-4o costs $2.00 / $8.00, without a date: the update starts on
    # 2026-12-01 and keeps every day before it.
    changed = [c if c.model != "openai/gpt-4o" else c.__class__(**{
        **c.__dict__, "rates": c.rates.__class__(**{**c.rates.__dict__, "input": Decimal("2"),
                                                    "output": Decimal("8")})})
        for c in old]
    merged = tool.merge(old, changed, at("2026-12-01T00:00:00"))
    out = tmp_path / "catalog"
    tool.write_catalog(out, merged, {**manifest()}, "licence")
    book_after = PriceBook(load_price_book([]).cards, catalog=load_catalog_dir(out))
    # October as before; December at the new price: 100,000 x 2 + 10,000 x 8 = 280,000 per 1M
    assert _monthly(db, book_after) == {"2026-10": Decimal("1.6"), "2026-12": Decimal("0.28")}

    # What the update changes: one model, from 2026-12-01, nothing before
    changes = [c for c in diff_cards(old, load_catalog_dir(out), as_of=at("2026-12-05T00:00:00"))]
    assert [(c.model, c.kind, c.start, c.end) for c in changes] == [
        ("openai/gpt-4o", "changed", at("2026-12-01T00:00:00"), None)]
    assert changes[0].before.startswith("in 2.5, cached 1.25") and changes[0].after.startswith(
        "in 2, cached 1.25")
    # Taking the package's word as is would have repriced October: the diff says so
    naive = diff_cards(old, changed, as_of=at("2026-12-05T00:00:00"))
    assert [c.reprices_history for c in naive if c.model == "openai/gpt-4o"] == [True]
    assert "REPRICES HISTORY" in format_diff(naive)
    assert _monthly(db, PriceBook(load_price_book([]).cards, catalog=changed))["2026-10"] == (
        Decimal("1.28"))


def test_prices_diff_cli(cli, tmp_path):
    tool = _tool()
    old = list(catalog_cards())
    changed = [c if c.model != "anthropic/claude-sonnet-4-5" else c.__class__(**{
        **c.__dict__, "rates": c.rates.__class__(**{**c.rates.__dict__, "output": Decimal("12")})})
        for c in old]
    out = tmp_path / "new"
    tool.write_catalog(out, tool.merge(old, changed, at("2026-12-01T00:00:00")), {"x": 1}, "l")
    result = cli("prices", "diff", str(out))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("changed  anthropic/claude-sonnet-4-5  [2026-12-01 .. open)  "
                               "in 3, cached 0.3, cache write 3.75, out 15,")
    assert "->  in 3, cached 0.3, cache write 3.75, out 12," in lines[0]
    assert "REPRICES HISTORY" not in result.stdout  # the pinned now is 2026-11-15
    assert lines[-1] == "0 models added, 1 changed, 0 dropped; 0 change(s) to periods already begun"
    same = cli("prices", "diff", str(CATALOG_DIR))
    assert same.stdout == "no changes\n"
    # a card file (not a whole catalog) is compared for the models it names only
    cards = tmp_path / "cards.toml"
    cards.write_text('[[card]]\nmodel = "openai/gpt-4o"\neffective_from = 2027-01-01\n'
                     '[card.rates]\ninput = "2"\noutput = "8"\n')
    mine = cli("prices", "diff", str(cards), "--format", "json")
    assert [(c["model"], c["from"], c["to"]) for c in json.loads(mine.stdout)] == [
        ("openai/gpt-4o", None, "2027-01-01T00:00:00+00:00"),
        ("openai/gpt-4o", "2027-01-01T00:00:00+00:00", None)]
    assert json.loads(mine.stdout)[0]["reprices_history"] is True


def test_rebuilding_from_the_same_package_changes_nothing(tmp_path):
    pytest.importorskip("genai_prices")
    tool = _tool()
    out = tmp_path / "catalog"
    tool.build(out, None)
    first = sorted((c.model, c.effective_from or datetime.min.replace(tzinfo=UTC))
                   for c in load_catalog_dir(out))
    assert tool.build(out, date(2026, 12, 1)) == "no changes"
    assert sorted((c.model, c.effective_from or datetime.min.replace(tzinfo=UTC))
                  for c in load_catalog_dir(out)) == first
    # the build in the package is the one this tool makes from genai-prices 0.2.3
    assert diff_cards(catalog_cards(), load_catalog_dir(out)) == []
    assert json.loads((out / "manifest.json").read_text())["updates"][-1] == {
        "package": "genai-prices", "version": "0.2.3", "effective": "2026-12-01"}
    assert re.search(r"genai-prices 0\.2\.3", (out / "openai.toml").read_text())
