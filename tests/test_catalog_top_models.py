"""`costkit count`, `estimate` and `report` work for the 200+ most used model names
(tests/fixtures/catalog/top-models.txt), each naming the card that priced it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from costkit.pricing.book import load_price_book

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "catalog" / "top-models.txt"
NAMES = [line.strip() for line in FIXTURE.read_text(encoding="utf-8").splitlines()
         if line.strip() and not line.startswith("#")]
OPENAI_EXACT = {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3", "gpt-4", "gpt-3.5-turbo", "o4-mini"}


def test_the_list_has_two_hundred_distinct_names():
    assert len(NAMES) == len(set(NAMES)) >= 200


def test_count_works_for_every_name(cli):
    for name in NAMES:
        result = cli("count", "The quick brown fox.", "--model", name, "--format", "json")
        assert result.exit_code == 0, (name, result.stderr)
        data = json.loads(result.stdout)
        assert data["tokens"] > 0, name
        if name in OPENAI_EXACT:
            # OpenAI's own encodings, offline: "The quick brown fox." is 5 tokens in both
            assert (data["exact"], data["tokens"]) == (True, 5), name
        elif not data["exact"]:
            assert data["note"].startswith("approximate:"), name


def test_estimate_works_for_every_name_and_names_its_card(cli, tmp_path):
    book = load_price_book([])
    # one request per name, as a batch (one line per model), plus a few single estimates
    batch = tmp_path / "requests.jsonl"
    batch.write_text("".join(json.dumps({"custom_id": name, "body": {
        "model": name, "max_tokens": 100, "messages": [{"role": "user", "content": "Hi."}]}})
        + "\n" for name in NAMES))
    result = cli("estimate", "--batch", str(batch), "--no-history", "--format", "json")
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    rows = {row["custom_id"]: row for row in lines if "custom_id" in row}
    assert sorted(rows) == sorted(NAMES)
    for name, row in rows.items():
        card = book.card_for(name)
        assert row["card"] == card.card_id, name
        # the input cost is the prompt tokens at the card's input rate, worked here
        rate = card.rates_for(row["input_tokens"]).input
        assert Decimal(row["input_cost"]) == row["input_tokens"] * rate / Decimal(1_000_000), name
    for name in ("gpt-4o-2024-08-06", "claude-3-5-haiku-latest", "bedrock/amazon.nova-pro-v1:0"):
        single = cli("estimate", "Say hello.", "--model", name, "--no-history", "--format",
                     "json")
        assert single.exit_code == 0, (name, single.stderr)
        data = json.loads(single.stdout)
        assert data["card"] == book.card_for(name).card_id
        assert data["card_source"]["kind"] == "catalog" and data["matched"].startswith(name)


def _log(names: list[str]) -> str:
    created = int(datetime(2026, 11, 2, 12, tzinfo=UTC).timestamp())
    return "".join(json.dumps({
        "id": f"chatcmpl-top-{i}", "object": "chat.completion", "created": created + i,
        "model": name, "choices": [],
        "usage": {"prompt_tokens": 1000 + i, "completion_tokens": 100 + i,
                  "total_tokens": 1100 + 2 * i}}) + "\n" for i, name in enumerate(names))


@pytest.mark.filterwarnings("ignore")
def test_report_prices_every_name_under_its_card(cli, tmp_path):
    logs = tmp_path / "top.jsonl"
    logs.write_text(_log(NAMES))
    db = tmp_path / "store.duckdb"
    ingested = cli("ingest", str(logs), "--db", str(db), "--format", "json")
    assert ingested.exit_code == 0, ingested.stderr
    assert json.loads(ingested.stdout)["unpriced"] == {}
    result = cli("report", "--by", "model", "--db", str(db), "--format", "json")
    assert result.exit_code == 0 and "unpriced" not in result.stderr, result.stderr
    rows = json.loads(result.stdout)
    book = load_price_book([])
    at = datetime(2026, 11, 2, 12, tzinfo=UTC)
    # each request priced by hand from its card's rates: prompt x input + answer x output
    expected: dict[str, Decimal] = {}
    for i, name in enumerate(NAMES):
        card = book.card_for(name, at)
        rates = card.rates_for(1000 + i)
        cost = ((1000 + i) * rates.input + (100 + i) * rates.output) / Decimal(1_000_000)
        expected[card.model] = expected.get(card.model, Decimal(0)) + cost
    assert {row["model"]: Decimal(row["total_cost"]) for row in rows} == expected
