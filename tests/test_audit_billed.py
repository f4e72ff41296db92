"""Billed amounts from other sources, reconciled by `costkit audit --ledger` (issue 15):
LiteLLM spend logs (`spend`) and OpenRouter generation stats (`total_cost`) per request, read
by their own readers like the gateway ledger; OpenAI Costs API pages per day and project
against the store. Card: deepseek-v3-2 at $0.57 / 1M input (cached and cache-write alike),
$1.71 / 1M output and reasoning."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import FIXTURES
from readers_support import real_formats

from costkit.ingest.run import ingest

AUDIT = FIXTURES / "audit"
SHARED = real_formats()


def audit(cli, *args):
    result = cli("audit", *args, "--format", "json")
    return result, (json.loads(result.stdout) if result.stdout else None)


def test_litellm_spend_is_checked_per_request(cli):
    result, data = audit(cli, "--ledger", str(AUDIT / "litellm-spend.jsonl"))
    assert result.exit_code == 1, result.stderr
    s = data["summary"]
    assert (s["reader"], s["events"], s["requests"]) == ("litellm-spend", 4, 4)  # req-e: a
    # LiteLLM cache hit, no provider request: skipped as ingest skips it
    # req-a: 10000 x 0.57/1M + 2000 x 1.71/1M = 0.0057 + 0.00342 = 0.00912 (billed so);
    # req-b: 4000 x 0.57/1M (3000 cached, same rate) + 1000 x 1.71/1M + 500 reasoning x
    # 1.71/1M = 0.00228 + 0.00171 + 0.000855 = 0.004845 (billed so);
    # req-c: 20000 x 0.57/1M + 1000 x 1.71/1M = 0.0114 + 0.00171 = 0.01311, billed 0.02311.
    (finding,) = data["findings"]
    assert (finding["kind"], finding["request_id"], finding["ref"]) == (
        "ledger_overcharge", "req-c", "litellm-spend.jsonl:3")
    assert (finding["expected"], finding["billed"], finding["difference"]) == (
        "0.01311", "0.02311", "0.01")
    # 0.00912 + 0.004845 + 0.01311 = 0.027075; ghost-llm-1 has no card: apart, not $0
    assert s["expected_total"] == "0.027075"
    assert s["unpriced"] == {"events": 1, "billed": "0.5", "models": ["ghost-llm-1"]}
    assert s["difference"] == "0.01"


def test_openrouter_total_cost_is_checked_per_generation(cli):
    result, data = audit(cli, "--ledger", str(AUDIT / "openrouter-generations.jsonl"))
    assert result.exit_code == 1, result.stderr
    s = data["summary"]
    assert (s["reader"], s["events"]) == ("openrouter", 2)
    # gen 1: 8000 x 0.57/1M + 500 x 1.71/1M = 0.00456 + 0.000855 = 0.005415 (billed so);
    # gen 2: 1000 x 0.57/1M + (3000 - 2000) x 1.71/1M + 2000 x 1.71/1M = 0.0057, billed 0.0047
    (finding,) = data["findings"]
    assert (finding["kind"], finding["expected"], finding["billed"]) == (
        "ledger_undercharge", "0.0057", "0.0047")
    # gen 3 is bring-your-own-key: total_cost is OpenRouter's fee, not the model's price
    assert s["byok"] == {"events": 1, "billed": "0.0001"}
    table = cli("audit", "--ledger", str(AUDIT / "openrouter-generations.jsonl"))
    assert "Audit of openrouter-generations.jsonl: OpenRouter generations, 2 events" in \
        table.stdout


def test_the_gateway_ledger_still_reads_as_before(cli):
    result, data = audit(cli, "--ledger", str(AUDIT / "ledger-clean.jsonl"), "--prices",
                         str(AUDIT / "cards.toml"))
    assert result.exit_code == 0 and "reader" not in data["summary"]


@pytest.fixture(scope="module")
def usage_store(tmp_path_factory):
    """The usage page fixture: 2026-10-01 proj_search deepseek-v3-2 170,000 input (80,000
    cached, 10,000 cache write) and 29,000 output; 2026-10-02 proj_support gpt-4o-mini
    3,000 input (1,000 cached) and 700 output."""
    path = tmp_path_factory.mktemp("costs-store") / "usage.duckdb"
    ingest([FIXTURES / "logs" / "openai-usage" / "completions-by-model.json"], db=path)
    return str(path)


def test_costs_pages_are_checked_per_day_and_project(cli, usage_store, tmp_path):
    result, data = audit(cli, "--ledger", str(AUDIT / "openai-costs.json"), "--db",
                         usage_store)
    assert result.exit_code == 1, result.stderr
    s = data["summary"]
    assert (s["kind"], s["results"], s["groups"]) == ("costs", 5, 3)
    # 2026-10-01 proj_search: 170000 x 0.57/1M + 29000 x 1.71/1M = 0.0969 + 0.04959 =
    # 0.14649, billed 0.0969 + 0.04959. 2026-10-02 proj_support at gpt-4o-mini's published
    # $0.15 / 1M input, $0.075 cached, $0.60 output: 2000 x 0.15/1M + 1000 x 0.075/1M + 700
    # x 0.60/1M = 0.0003 + 0.000075 + 0.00042 = 0.000795, billed 0.000375 + 0.00042. The
    # 0.05 billed to proj_search on 2026-10-02 has no usage behind it.
    (finding,) = data["findings"]
    assert (finding["kind"], finding["ref"], finding["billed"], finding["expected"]) == (
        "ledger_overcharge", "openai-costs.json:1 2026-10-02 proj_search", "0.05", "0")
    assert s["expected_total"] == "0.147285"
    assert Decimal(s["billed_total"]) == Decimal("0.197285")
    cli("audit", "--ledger", str(AUDIT / "openai-costs.json"), "--db", usage_store, "--html",
        "--out", str(tmp_path))
    page = (tmp_path / "costkit-audit-openai-costs.html").read_text(encoding="utf-8")
    assert "OpenAI Costs API pages: 5 cost results in 3 day-project groups" in page


def test_a_costs_page_with_a_bad_amount_is_one_line_error(cli, usage_store, tmp_path):
    text = (AUDIT / "openai-costs.json").read_text(encoding="utf-8").replace(
        "0.04959", '"lots"')
    bad = tmp_path / "costs.json"
    bad.write_text(text, encoding="utf-8")
    result = cli("audit", "--ledger", str(bad), "--db", usage_store)
    assert result.exit_code == 2
    assert result.stderr.strip().endswith(
        f"{bad}:1: data[0].results[1].amount.value is \"lots\"; expected a number")
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name, reader", [("litellm_spendlogs_row_docs.json", "litellm-spend"),
                                          ("openrouter_generation_docs.json", "openrouter")])
def test_the_shared_samples_are_billed_sources(name, reader):
    if SHARED is None:
        pytest.skip("no shared real-formats samples here")
    from costkit.readers.billed import billed_source

    assert billed_source(SHARED / name) == reader
