"""The store: migrations, the default path, locking, and costs joined from the price cards."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from costkit.core.errors import NoStoreError, StoreError
from costkit.pricing.book import load_price_book
from costkit.pricing.sql import cost_expressions, register_prices
from costkit.store.connection import default_path, open_store
from costkit.store.migrations import MIGRATIONS, migrate, pending_migrations

INSERT = (
    "INSERT INTO usage (request_id, ts, model, input_tokens, cached_input_tokens, "
    "cache_write_tokens, output_tokens, reasoning_tokens, search_calls, source_format) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'test')"
)


def costs(con):
    exprs = cost_expressions()
    select = ", ".join(f"{sql} AS {name}" for name, sql in exprs.items())
    return con.execute(
        f"SELECT request_id, {select} FROM costed_usage ORDER BY request_id"
    ).fetchall()


def test_migrations_run_once(tmp_path):
    con = open_store(tmp_path / "s.duckdb")
    assert pending_migrations(con) == []
    assert migrate(con) == []
    names = [r[0] for r in con.execute("SELECT name FROM costkit_migrations").fetchall()]
    assert names == [name for name, _ in MIGRATIONS]


def test_default_path_follows_env(tmp_path, monkeypatch):
    monkeypatch.setenv("COSTKIT_DB", str(tmp_path / "x.duckdb"))
    assert default_path() == tmp_path / "x.duckdb"
    monkeypatch.delenv("COSTKIT_DB")
    assert default_path().name == "costkit.duckdb"


def test_reading_a_missing_store_is_an_error_and_creates_nothing(tmp_path):
    path = tmp_path / "nowhere" / "missing.duckdb"
    with pytest.raises(NoStoreError) as raised:
        open_store(path, read_only=True)
    assert str(raised.value) == (f"no store at {path}; check --db and $COSTKIT_DB, or create it "
                                 "with `costkit ingest LOGS`")
    assert not path.exists() and not path.parent.exists()
    # the default path is read the same way: $COSTKIT_DB (conftest) names a file not made yet
    with pytest.raises(NoStoreError, match="^no store at .*costkit-test.duckdb; "):
        open_store(read_only=True)


def test_costs_match_python_pricing_exactly(tmp_path):
    con = open_store(tmp_path / "s.duckdb")
    at = datetime(2026, 10, 5, tzinfo=UTC)
    con.execute(INSERT, ["a", at, "deepseek-v3-2", 1_000_000, 200_000, 0, 300_000, 100_000, 3])
    con.execute(INSERT, ["b", at, "deepseek-v3-2", 0, 0, 0, 1_234_567, 0, 0])
    con.execute(INSERT, ["c", at, "unknown-model", 10, 0, 0, 5, 0, 0])
    register_prices(con, load_price_book([]))
    rows = {r[0]: r[1:] for r in costs(con)}
    assert rows["a"] == (
        Decimal("0.456"),
        Decimal("0.114"),
        0,
        Decimal("0.513"),
        Decimal("0.171"),
        Decimal("0.045"),
        Decimal("1.299"),
    )
    assert rows["b"][-1] == Decimal("2.11110957")
    assert rows["c"] == (None,) * 7  # unpriced: never $0


def test_effective_periods_and_tiers_in_sql(tmp_path):
    cards = tmp_path / "cards.toml"
    cards.write_text(
        textwrap.dedent("""
        [[card]]
        model = "m"
        aliases = ["m-alias"]
        effective_to = 2026-03-01
        [card.rates]
        input = 1
        output = 2
        [[card.tiers]]
        above_input_tokens = 1000
        [card.tiers.rates]
        input = 10
        output = 20

        [[card]]
        model = "m"
        effective_from = 2026-03-01
        [card.rates]
        input = 3
        output = 4
        web_search = 0.5
    """)
    )
    con = open_store(tmp_path / "s.duckdb")
    before = datetime(2026, 2, 28, 23, 59, 59, tzinfo=UTC)
    boundary = datetime(2026, 3, 1, tzinfo=UTC)
    con.execute(INSERT, ["1", before, "m", 1000, 0, 0, 1_000_000, 0, 0])
    con.execute(INSERT, ["2", before, "m-alias", 1001, 0, 0, 1_000_000, 0, 0])
    con.execute(INSERT, ["3", boundary, "m", 1000, 0, 0, 1_000_000, 0, 2])
    con.execute(INSERT, ["4", before, "m", 0, 0, 0, 0, 0, 1])  # no search rate then
    register_prices(con, load_price_book([cards]))
    rows = {r[0]: r[1:] for r in costs(con)}
    assert rows["1"][3] == Decimal("2")  # base output rate
    assert rows["2"][3] == Decimal("20")  # tier: all tokens at the tier's rates
    assert rows["2"][0] == Decimal("0.01001")
    assert rows["3"][3] == Decimal("4") and rows["3"][5] == Decimal("1.0")
    assert rows["4"][5] is None and rows["4"][6] is None


def test_second_writer_waits_then_fails_clearly(tmp_path, monkeypatch):
    path = tmp_path / "locked.duckdb"
    open_store(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, sys; c = duckdb.connect({str(path)!r}); "
            "print('held', flush=True); "
            "sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("COSTKIT_LOCK_WAIT", "0.3")
        with pytest.raises(StoreError, match="in use by another costkit process"):
            open_store(path)
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    open_store(path).close()  # free again once the holder is gone
