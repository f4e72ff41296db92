"""The store's schema over time: a store made by the released code migrates when opened and
keeps its rows; the `usage` table itself refuses rows that break the canonical row's rules.

The released store is built with the migrations the 0.1.0 release shipped (named below by
hand, so editing or dropping a released migration fails here), filled through plain SQL
with the columns that release had, then opened with today's code.
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costkit.core.errors import InputError, StoreError
from costkit.core.usage import COUNT_COLUMNS, Usage
from costkit.store.connection import open_store
from costkit.store.migrations import MIGRATIONS, migrate, pending_migrations

RELEASED = ["001_initial", "002_conflicts_and_unknown_search"]
USAGE_COLUMNS = (
    "request_id, ts, provider, endpoint, model, input_tokens, cached_input_tokens, "
    "cache_write_tokens, output_tokens, reasoning_tokens, search_calls, project, api_key_id, "
    '"user", tags, billed_cost, billed_currency, status, source_format, source_file, '
    "source_line, ingest_id"
)
AT = datetime(2026, 10, 5, 12, 30, tzinfo=UTC)
# Rows as the released code stored them: every kind of value a column held.
ROWS = [
    ("r1", AT, "deepseek", "chat.completions", "deepseek-v3-2", 1000, 200, 100, 300, 50, 2,
     "search-bot", "key-1", "ana", '{"team":"growth"}', Decimal("0.001234567891"), "USD",
     "success", "ledger", "ledger.jsonl", 7, 1),
    # reasoning and searches not reported (NULL), nothing optional given
    ("r2", AT, None, None, "deepseek-v3-2", 10, 0, 0, 5, None, None,
     None, None, None, None, None, None, None, "chat", "chat.jsonl", 1, 1),
    # a request that used everything it was given: cached + cache-write = input
    ("r0", AT, "deepseek", "messages", "claude", 30, 20, 10, 0, 0, 0,
     None, None, None, None, None, None, None, "messages", "m.jsonl", 3, 1),
]
REJECT = (1, "bad.jsonl", 4, "chat", "missing model", "{}", AT)
INGEST = (1, AT, AT, "chat.jsonl", 4, 3, 0, 1, 0)


def released_store(path: Path, rows: list[tuple[object, ...]] = ROWS) -> None:
    con = duckdb.connect(str(path))
    assert migrate(con, MIGRATIONS[: len(RELEASED)]) == RELEASED
    placeholders = ", ".join("?" for _ in range(22))
    con.executemany(f"INSERT INTO usage ({USAGE_COLUMNS}) VALUES ({placeholders})", rows)
    con.execute("INSERT INTO rejects VALUES (?, ?, ?, ?, ?, ?, ?)", REJECT)
    con.execute("INSERT INTO ingests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", INGEST)
    con.close()


def usage_rows(con: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return con.execute(f"SELECT {USAGE_COLUMNS} FROM usage ORDER BY rowid").fetchall()


def insert(con: duckdb.DuckDBPyConnection, **counts: int | None) -> None:
    row = dict(zip(COUNT_COLUMNS, (10, 0, 0, 5, 0, 0), strict=True)) | counts
    con.execute(
        f"INSERT INTO usage (request_id, ts, model, source_format, {', '.join(row)}) "
        f"VALUES ('x', ?, 'm', 'test', {', '.join('?' for _ in row)})",
        [AT, *row.values()],
    )


def test_the_released_migrations_are_unchanged_and_first():
    assert [name for name, _ in MIGRATIONS[: len(RELEASED)]] == RELEASED
    assert len({name for name, _ in MIGRATIONS}) == len(MIGRATIONS)


def test_a_released_store_migrates_on_open_and_keeps_its_rows(tmp_path):
    path = tmp_path / "released.duckdb"
    released_store(path)
    con = open_store(path)
    assert pending_migrations(con) == []
    applied = [r[0] for r in con.execute("SELECT name FROM costkit_migrations").fetchall()]
    assert sorted(applied) == sorted(name for name, _ in MIGRATIONS)
    assert usage_rows(con) == ROWS
    assert con.execute("SELECT * FROM rejects").fetchall() == [REJECT]
    assert con.execute("SELECT * FROM ingests").fetchall() == [INGEST]
    # defaults survive the move: a row that names no cache or search counts gets 0
    con.execute("INSERT INTO usage (request_id, ts, model, input_tokens, output_tokens, "
                "source_format) VALUES ('new', ?, 'm', 1, 1, 'test')", [AT])
    assert con.execute("SELECT cached_input_tokens, cache_write_tokens, search_calls "
                       "FROM usage WHERE request_id = 'new'").fetchall() == [(0, 0, 0)]
    con.close()
    # and the next open has nothing left to do
    again = open_store(path)
    assert pending_migrations(again) == []
    assert len(usage_rows(again)) == len(ROWS) + 1


def test_a_released_store_opened_read_only_is_migrated_too(tmp_path):
    path = tmp_path / "released.duckdb"
    released_store(path)
    con = open_store(path, read_only=True)
    assert pending_migrations(con) == []
    assert usage_rows(con) == ROWS
    con.close()
    writer = duckdb.connect(str(path))
    with pytest.raises(duckdb.ConstraintException):
        insert(writer, input_tokens=1, cached_input_tokens=2)


@pytest.mark.parametrize(
    "counts",
    [
        {"cached_input_tokens": 6, "cache_write_tokens": 5},  # 11 > input 10
        {"cached_input_tokens": 11},
        {"cache_write_tokens": 11},
        {"input_tokens": -1, "output_tokens": 0},
        {"cached_input_tokens": -1},
        {"cache_write_tokens": -1},
        {"output_tokens": -1},
        {"reasoning_tokens": -1},
        {"search_calls": -1},
    ],
)
def test_the_table_refuses_rows_breaking_the_rules(tmp_path, counts):
    path = tmp_path / "released.duckdb"
    released_store(path)
    con = open_store(path)
    with pytest.raises(duckdb.ConstraintException, match="CHECK constraint failed"):
        insert(con, **counts)
    assert usage_rows(con) == ROWS  # nothing half-written


@pytest.mark.parametrize(
    "counts",
    [
        {"cached_input_tokens": 6, "cache_write_tokens": 4},  # exactly the input
        {"reasoning_tokens": None, "search_calls": None},  # not reported
        {"input_tokens": 0, "output_tokens": 0},
        {"reasoning_tokens": 99},  # canonical output excludes reasoning: no bound between them
    ],
)
def test_the_table_takes_rows_within_the_rules(tmp_path, counts):
    con = open_store(tmp_path / "fresh.duckdb")
    insert(con, **counts)
    assert con.execute("SELECT count(*) FROM usage").fetchall() == [(1,)]


def test_a_released_store_with_a_row_breaking_the_rules_is_refused_whole(tmp_path):
    path = tmp_path / "released.duckdb"
    bad = ("bad", AT, None, None, "m", 10, 8, 8, 1, 0, 0, None, None, None, None, None, None,
           None, "chat", "c.jsonl", 9, 1)
    released_store(path, [*ROWS, bad])
    with pytest.raises(StoreError) as caught:
        open_store(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: the store holds 1 usage rows that break")
    assert "cached_input_tokens + cache_write_tokens <= input_tokens" in message
    assert "'bad'" in message and "\n" not in message
    # the failed migration rolled back: the store is as the release left it
    con = duckdb.connect(str(path))
    assert pending_migrations(con) == [name for name, _ in MIGRATIONS[len(RELEASED):]]
    assert usage_rows(con) == [*ROWS, bad]


def test_a_store_the_rules_refuse_is_one_line_at_the_cli(tmp_path, cli):
    path = tmp_path / "released.duckdb"
    released_store(path, [("bad", AT, None, None, "m", 1, 2, 0, 1, 0, 0, None, None, None,
                           None, None, None, None, "chat", "c.jsonl", 9, 1)])
    result = cli("report", "--db", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "usage rows that break the usage rules" in lines[0]
    assert "Traceback" not in result.stderr


counts = st.integers(min_value=-2, max_value=12)


@pytest.fixture(scope="module")
def checked_table():
    con = duckdb.connect()
    migrate(con)
    yield con
    con.close()


@settings(deadline=None)
@given(st.tuples(counts, counts, counts, counts, st.none() | counts, st.none() | counts))
def test_the_table_and_usage_refuse_the_same_rows(checked_table, values):
    """Python's Usage and the table's CHECKs apply the same rules (NULL: not reported)."""
    con = checked_table
    row = dict(zip(COUNT_COLUMNS, values, strict=True))
    con.execute("BEGIN TRANSACTION")
    try:
        insert(con, **row)
        table_took = True
    except duckdb.ConstraintException:
        table_took = False
    finally:
        con.execute("ROLLBACK")
    reported = {k: (0 if v is None else v) for k, v in row.items()}
    try:
        Usage(**reported)
        usage_took = True
    except InputError:
        usage_took = False
    assert table_took == usage_took
    # and by hand: the two rules
    by_hand = (all(v >= 0 for v in reported.values())
               and reported["cached_input_tokens"] + reported["cache_write_tokens"]
               <= reported["input_tokens"])
    assert table_took == by_hand


def test_the_store_does_not_import_pricing():
    """The store knows token counts and the shape of a rate table, never price cards."""
    store = Path(__file__).resolve().parents[1] / "costkit" / "store"
    found = []
    for module in sorted(store.glob("*.py")):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            found += [f"{module.name}: {n}" for n in names if n.startswith("costkit.pricing")]
    assert found == []
