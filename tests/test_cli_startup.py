"""Start-up (issue 17): a command loads what it needs and no more. `costkit --help`,
`costkit count` and `costkit estimate --no-history` run in a fresh interpreter and load none
of DuckDB, polars, numpy or Arrow (checked on sys.modules, never on time; bench/startup.py
prints the times). The built-in price cards are parsed once per process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from decimal import Decimal

import pytest
from conftest import ROOT

HEAVY = ("duckdb", "polars", "numpy", "pyarrow")
# The console script's path, in a fresh interpreter: run the command, then report on stderr
# (last line) whether it read the built-in catalog (its index, or all 2,562 cards: read only
# for a name the built-in cards lack) and which heavy modules it loaded.
PROBE = (
    "import sys\n"
    "from costkit.cli import main\n"
    "sys.argv = ['costkit', *sys.argv[1:]]\n"
    "try:\n    main()\n"
    "except SystemExit as exc:\n    code = exc.code\n"
    "else:\n    code = 0\n"
    "catalog = sys.modules.get('costkit.pricing.catalog')\n"
    "read = bool(catalog and (catalog.catalog_cards.cache_info().currsize\n"
    "                         or catalog.catalog_entries.cache_info().currsize))\n"
    f"print('LOADED', code, read, *sorted(m for m in {HEAVY!r} if m in sys.modules),\n"
    "      file=sys.stderr)\n"
)
CATALOG_READ: dict[tuple[str, ...], bool] = {}  # each probe's answer: did it read the catalog


def run(*args: str) -> tuple[str, int, set[str]]:
    """stdout, exit code and the heavy modules loaded by `costkit ARGS`."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                          text=True, cwd=ROOT, env=os.environ, timeout=120)
    last = done.stderr.strip().splitlines()[-1].split()
    assert last[0] == "LOADED", done.stderr
    CATALOG_READ[args] = last[2] == "True"
    return done.stdout, int(last[1]), set(last[3:])


def test_help_loads_no_heavy_module():
    stdout, code, loaded = run("--help")
    assert code == 0 and "Commands:" in stdout and "estimate" in stdout
    assert loaded == set()


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_count_loads_no_heavy_module(fmt):
    stdout, code, loaded = run("count", "hello", "--format", fmt)
    assert code == 0
    if fmt == "json":
        assert json.loads(stdout)["tokens"] == 1  # "hello" is one DeepSeek V3.2 token
    else:
        assert "deepseek-v3-2 tokens (exact)" in stdout
    assert loaded == set()
    assert not CATALOG_READ[("count", "hello", "--format", fmt)]


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_estimate_without_history_loads_no_heavy_module(fmt):
    stdout, code, loaded = run("estimate", "--no-history", "Write a haiku about the ocean.",
                               "--format", fmt)
    assert code == 0
    assert "0.00000684" in stdout  # 12 prompt tokens at $0.57 / 1M (tests/test_estimate_cli.py)
    assert loaded == set()
    assert not CATALOG_READ[("estimate", "--no-history", "Write a haiku about the ocean.",
                             "--format", fmt)]


def test_a_name_only_the_catalog_prices_reads_the_catalog_and_nothing_heavy():
    """gpt-4o is no built-in card: the catalog is read for it (the probe does see a read),
    still without DuckDB or polars. Its prompt is priced at OpenAI's published $2.50 / 1M
    input tokens."""
    args = ("estimate", "--no-history", "--model", "gpt-4o", "hello", "--format", "json")
    stdout, code, loaded = run(*args)
    assert code == 0
    result = json.loads(stdout)
    assert result["model"] == "openai/gpt-4o" and result["input_tokens"] > 0
    assert Decimal(result["input_cost"]) == result["input_tokens"] * Decimal("2.50") / 10**6
    assert CATALOG_READ[args] and loaded == set()


def test_a_secret_in_the_output_is_still_masked_with_duckdb(tmp_path):
    """Masking runs where a printed string may hold a secret (here a file named like a
    Stripe key): the rules are DuckDB SQL, so DuckDB loads, and the probe sees it."""
    secret = "sk_live_51HxAbCdEfGhIjKlMnOpQr"
    path = tmp_path / f"{secret}.txt"
    path.write_text("hello", encoding="utf-8")
    stdout, code, loaded = run("count", "--file", str(path), "--format", "json")
    assert code == 0
    assert secret not in stdout and "sk_…OpQr#" in stdout
    assert "duckdb" in loaded


def test_ingest_help_loads_the_readers_for_their_names():
    """The format list in `ingest --help` is read from costkit.readers when help is shown
    (and only then: `costkit --help` above loads none of it)."""
    from costkit.readers import format_names

    stdout, code, loaded = run("ingest", "--help")
    assert code == 0
    # the help is wrapped to the terminal, at spaces and after hyphens (messages-|stream)
    shown = re.sub(r"-\s+", "-", " ".join(stdout.split()))
    assert ", ".join(format_names()) in shown
    assert "duckdb" in loaded


def test_the_built_in_cards_are_parsed_once_per_process(tmp_path):
    from costkit.pricing.book import load_price_book

    first, second = load_price_book([]), load_price_book([])
    assert first.cards and all(a is b for a, b in zip(first.cards, second.cards, strict=True))
    # a user's cards are read again on each call: a file may change between two calls
    card = tmp_path / "acme.toml"
    for rate in ("1", "2"):
        card.write_text(
            '[[card]]\nmodel = "acme-1"\nprovider = "acme"\ncurrency = "USD"\n'
            f'[card.rates]\ninput = {rate}\noutput = {rate}\n', encoding="utf-8")
        [acme] = load_price_book([card]).cards_for("acme-1")
        assert str(acme.rates.input) == rate
