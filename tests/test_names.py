"""Model names as logs write them: case, provider prefixes, date and version suffixes, aliases,
the order of authority (your cards > built-in > catalog), and ambiguity (never a guess)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costkit.core.errors import NoCardInEffectError, UnknownModelError
from costkit.pricing.book import load_price_book
from costkit.pricing.catalog import expand
from costkit.pricing.names import AmbiguousModelError, NameIndex, key


@pytest.fixture
def book():
    return load_price_book([])


@pytest.mark.parametrize("logged, model, how", [
    # exact names and the catalog's aliases
    ("gpt-4o", "openai/gpt-4o", "alias"),
    ("gpt-4o-2024-08-06", "openai/gpt-4o", "alias"),
    ("openai/gpt-4o", "openai/gpt-4o", "model id"),
    # case and punctuation
    ("GPT-4o", "openai/gpt-4o", "alias, spelled differently"),
    ("claude-sonnet-4.5", "anthropic/claude-sonnet-4-5", "alias, spelled differently"),
    # the catalog's starts-with rules, as patterns
    ("claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5", "pattern 'claude-sonnet-4-5*'"),
    # provider prefixes, and a host that bills a maker's model at the maker's price
    ("azure/gpt-4o", "openai/gpt-4o",
     "provider prefix 'azure/': azure bills openai's models at openai's price, alias"),
    ("models/gemini-2.5-pro", "google/gemini-2.5-pro", "prefix 'models/' dropped, alias"),
    ("openrouter/openai/gpt-4o", "openrouter/openai/gpt-4o", "model id"),
    ("groq/llama-3.3-70b-versatile", "groq/llama-3.3-70b-versatile", "model id"),
    # a tier suffix picks the catalog's batch card of the same model
    ("gpt-4o:batch", "openai/gpt-4o:batch", "tier suffix ':batch', alias"),
])
def test_names_resolve_and_say_how(book, logged, model, how):
    assert book.resolve(logged) == model
    match = book.matches.get(logged)
    if match is None:  # the name was already listed on the card: an exact alias
        assert logged in book.cards_for(logged)[0].aliases or logged == model
        assert how in ("alias", "model id")
    else:
        assert match.how == how
        assert match.describe() == f"{logged} -> {model} (catalog, {how})"


def test_a_date_suffix_is_dropped_only_when_the_dated_name_is_unknown(book):
    # gpt-4o-2024-05-13 is a snapshot priced on its own ($5 / $15), never as gpt-4o
    assert book.resolve("gpt-4o-2024-05-13") == "openai/gpt-4o-2024-05-13"
    assert book.card_for("gpt-4o-2024-05-13").rates.input == 5
    # o1-mini has no card of its dated name: the suffix is dropped, and the match says so
    assert book.resolve("o1-mini-2024-09-12") == "openai/o1-mini"
    index = NameIndex([c for c in book._names.by_model["openai/o1-mini"]])
    match = index.resolve("o1-mini-2099-01-31")
    assert match.model == "openai/o1-mini" and match.how.startswith("date suffix '-2099-01-31'")
    # not a date: not dropped
    with pytest.raises(UnknownModelError):
        index.resolve("o1-mini-2024-13-45")


def test_bedrock_names_reach_the_bedrock_cards(book):
    # bedrock/ names the provider aws: only aws cards may price the name (anthropic's own
    # card would match the same model name)
    name = "bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0"
    assert book.resolve(name).startswith("aws/")
    assert book.card_for(name).provider == "aws"
    # an inference-profile id says Bedrock without a prefix: the longest rule wins
    assert book.resolve("us.anthropic.claude-sonnet-4-5-20250929-v1:0").startswith("aws/")


def test_the_seed_card_wins_over_the_catalogs_deepseek_prices(book):
    # The catalog has DeepSeek's own V3.2 card; every spelling of the name the seed gateway
    # serves is priced by the seed card (built-in authority over the catalog).
    for logged in ("deepseek-v3-2", "DeepSeek-V3.2", "deepseek-v3.2", "deepseek/deepseek-v3.2"):
        card = book.card_for(logged)
        assert card.model == "deepseek-v3-2" and card.gateway == "empiriolabs", logged
        assert card.rates.input == Decimal("0.57") and card.rates.output == Decimal("1.71")
    assert "spelled differently" in book.matches["DeepSeek-V3.2"].how
    assert book.matches["deepseek/deepseek-v3.2"].how.startswith("provider prefix 'deepseek/'")
    # another gateway named explicitly is not the seed's
    assert book.resolve("openrouter/deepseek/deepseek-v3.2") == "openrouter/deepseek/deepseek-v3.2"


def test_user_cards_win_and_can_declare_aliases(tmp_path):
    cards = tmp_path / "cards.toml"
    cards.write_text("""
[[card]]
model = "our-gpt-4o"
aliases = ["gpt-4o", "prod-chat"]
[card.rates]
input = "2.00"
output = "8.00"
""")
    book = load_price_book([cards])
    assert book.resolve("gpt-4o") == "our-gpt-4o"  # your cards over the catalog's openai/gpt-4o
    assert book.resolve("prod-chat") == "our-gpt-4o"
    assert book.resolve("GPT-4o") == "our-gpt-4o"
    assert book.matches["GPT-4o"].describe() == (
        "GPT-4o -> our-gpt-4o (your cards, alias, spelled differently)")
    # a name only the catalog knows still resolves there
    assert book.resolve("gpt-4o-mini") == "openai/gpt-4o-mini"


def test_an_ambiguous_name_is_unpriced_with_the_candidates(book):
    # Several hosts serve this name and no maker does: none is picked.
    with pytest.raises(AmbiguousModelError) as info:
        book.resolve("meta-llama/llama-4-scout-17b-16e-instruct")
    assert "groq/meta-llama/llama-4-scout-17b-16e-instruct" in info.value.candidates
    assert len(info.value.candidates) > 1
    assert str(info.value).startswith(
        "model 'meta-llama/llama-4-scout-17b-16e-instruct' is ambiguous: cards of")
    # an AmbiguousModelError is an UnknownModelError: every caller treats it as unpriced
    assert isinstance(info.value, UnknownModelError)


def test_two_user_cards_sharing_an_alias_make_it_ambiguous(tmp_path):
    cards = tmp_path / "cards.toml"
    cards.write_text("""
[[card]]
model = "a"
aliases = ["shared"]
[card.rates]
input = "1"
output = "1"

[[card]]
model = "b"
aliases = ["shared"]
[card.rates]
input = "2"
output = "2"
""")
    book = load_price_book([cards])
    with pytest.raises(AmbiguousModelError, match="'shared' is ambiguous.*a, b"):
        book.card_for("shared")
    assert book.names_of(book.cards_for("a")[0]) == ["a"]  # no rate rows for "shared"


def test_unknown_names_say_what_the_catalog_has(book):
    with pytest.raises(UnknownModelError) as info:
        book.resolve("gpt-9")
    text = str(info.value)
    assert text.startswith("unknown model 'gpt-9': no price card for it; known models: "
                           "deepseek-v3-2; the catalog (genai-prices 0.2.3)")
    assert "closest: openai/gpt-5" in text
    # a model the catalog leaves out says why
    with pytest.raises(UnknownModelError, match="leaves deepseek-flash out: priced by the time "
                                                "of day"):
        book.resolve("deepseek-flash")
    # hosts serve deepseek-v4-pro at their prices; DeepSeek's own card is left out: ambiguous,
    # and the message says why the maker's card is missing
    with pytest.raises(AmbiguousModelError, match="leaves deepseek's own card out: priced by "
                                                  "the time of day"):
        book.resolve("deepseek-v4-pro")


def test_deepseek_chat_is_the_model_deepseek_served_under_that_name_then(book):
    # DeepSeek's change log: deepseek-chat served V3.1-Terminus from 2025-09-22, V3.2-Exp from
    # 2025-09-29, V3.2 from 2025-12-01; the name was retired 2026-07-24 15:59 UTC.
    def card_at(text):
        return book.card_for("deepseek-chat", datetime.fromisoformat(text).replace(tzinfo=UTC))

    exp = book.card_for("deepseek-v3.2-exp")
    v32 = expand(book._names.by_model["deepseek/deepseek-v3.2"])  # the catalog's own cards
    assert card_at("2025-10-15T00:00:00").rates == exp.rates
    assert card_at("2025-12-15T00:00:00").rates == v32[0].rates
    assert "served as DeepSeek V3.2" in card_at("2025-12-15T00:00:00").display_name
    with pytest.raises(NoCardInEffectError):  # V3.1, before the catalog has a card for it
        card_at("2025-09-01T00:00:00")
    with pytest.raises(NoCardInEffectError):  # retired
        card_at("2026-08-01T00:00:00")


def test_spelling_key():
    assert key(" DeepSeek-V3.2 ") == key("deepseek_v3_2") == "deepseek-v3-2"


def test_ingest_says_an_unpriced_name_is_ambiguous(cli, tmp_path):
    name = "meta-llama/llama-4-scout-17b-16e-instruct"
    logs = tmp_path / "usage.jsonl"
    logs.write_text('{"id": "chatcmpl-1", "object": "chat.completion", "created": 1790000000, '
                    f'"model": "{name}", "choices": [], "usage": {{"prompt_tokens": 10, '
                    '"completion_tokens": 2, "total_tokens": 12}}\n')
    result = cli("ingest", str(logs), "--db", str(tmp_path / "s.duckdb"))
    assert result.exit_code == 0
    assert (f"costkit: warning: 1 request of model '{name}' is unpriced (model '{name}' is "
            "ambiguous: cards of") in result.stderr
    assert "groq/meta-llama/llama-4-scout-17b-16e-instruct" in result.stderr


def test_report_model_filter_matches_every_logged_spelling(cli, tmp_path):
    # --model gpt-4o reaches usage logged as gpt-4o-2024-08-06 and OpenAI/GPT-4o: all three
    # names resolve to the catalog's openai/gpt-4o
    logs = tmp_path / "usage.jsonl"
    logs.write_text("".join(json.dumps({
        "id": f"chatcmpl-{i}", "object": "chat.completion", "created": 1790000000,
        "model": name, "choices": [],
        "usage": {"prompt_tokens": 1000, "completion_tokens": 100, "total_tokens": 1100}}) + "\n"
        for i, name in enumerate(["gpt-4o-2024-08-06", "OpenAI/GPT-4o", "o3"])))
    db = tmp_path / "s.duckdb"
    assert cli("ingest", str(logs), "--db", str(db)).exit_code == 0
    result = cli("report", "--by", "model", "--model", "gpt-4o", "--db", str(db),
                 "--format", "json")
    rows = json.loads(result.stdout)
    # 2 x (1,000 x $2.50 + 100 x $10.00) per 1M = $0.007
    assert [(r["model"], r["requests"], r["total_cost"]) for r in rows] == [
        ("openai/gpt-4o", 2, "0.007")]
