"""The store's schema: an ordered, append-only list of named migrations (the only DDL).

Each migration runs once per store, in its own transaction, and is recorded by name in
`costkit_migrations`; a store made by an older release migrates when it is opened. A
migration, once released, is never edited: a change to the schema (or to the row rules of
core.usage that the `usage` table checks) is a new migration at the end of the list.

Tables
- `usage`: one canonical row per API request (ARCHITECTURE.md's canonical usage row).
  `request_id` is unique (the ingest enforces it). `input_tokens` includes cached and
  cache-write tokens; `output_tokens` excludes reasoning; `reasoning_tokens` is NULL when a
  source bills reasoning inside output without splitting it (then `output_tokens` holds both,
  which bills the same at a card whose reasoning rate is the output rate). Its counts obey
  the rules of core.usage, as CHECK constraints.
- `rejects`: records set aside by an ingest, with file, line, reason and raw text.
- `ingests`: one row per ingest run with its counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import duckdb

from costkit.core.errors import StoreError
from costkit.core.usage import check_sql

MONEY = "DECIMAL(38,12)"
Migration = tuple[str, Callable[[duckdb.DuckDBPyConnection], None]]


def _m001_initial(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"""
        CREATE TABLE usage (
            request_id VARCHAR NOT NULL,
            ts TIMESTAMPTZ NOT NULL,
            provider VARCHAR,
            endpoint VARCHAR,
            model VARCHAR NOT NULL,
            input_tokens BIGINT NOT NULL,
            cached_input_tokens BIGINT NOT NULL DEFAULT 0,
            cache_write_tokens BIGINT NOT NULL DEFAULT 0,
            output_tokens BIGINT NOT NULL,
            reasoning_tokens BIGINT,
            search_calls BIGINT NOT NULL DEFAULT 0,
            project VARCHAR,
            api_key_id VARCHAR,
            "user" VARCHAR,
            tags JSON,
            billed_cost {MONEY},
            billed_currency VARCHAR,
            status VARCHAR,
            source_format VARCHAR NOT NULL,
            source_file VARCHAR,
            source_line BIGINT,
            ingest_id BIGINT
        )
    """)
    con.execute("""
        CREATE TABLE rejects (
            ingest_id BIGINT,
            source_file VARCHAR,
            line BIGINT,
            format VARCHAR,
            reason VARCHAR NOT NULL,
            raw VARCHAR,
            rejected_at TIMESTAMPTZ NOT NULL
        )
    """)
    con.execute("""
        CREATE TABLE ingests (
            ingest_id BIGINT PRIMARY KEY,
            started_at TIMESTAMPTZ NOT NULL,
            finished_at TIMESTAMPTZ,
            sources VARCHAR,
            read BIGINT,
            inserted BIGINT,
            duplicates BIGINT,
            rejected BIGINT
        )
    """)
    con.execute("CREATE SEQUENCE ingest_ids START 1")


def _m002_conflicts_and_unknown_search(con: duckdb.DuckDBPyConnection) -> None:
    """Ingests count conflicts (same id, other values); a request whose search count is
    not reported (it enabled search, the response says nothing) stores NULL, never 0."""
    con.execute("ALTER TABLE ingests ADD COLUMN conflicts BIGINT DEFAULT 0")
    con.execute("ALTER TABLE usage ALTER COLUMN search_calls DROP NOT NULL")


def _m003_usage_row_checks(con: duckdb.DuckDBPyConnection) -> None:
    """`usage` refuses rows breaking the canonical row's rules (core.usage): counts >= 0,
    cached + cache-write within input. DuckDB cannot add a CHECK to a table, so the table
    is made again with them and its rows copied over, in their order."""
    rules = check_sql()
    broken = " OR ".join(f"NOT coalesce({rule}, TRUE)" for rule in rules)
    found = con.execute(
        f"SELECT count(*), min(request_id) FROM usage WHERE {broken}"
    ).fetchall()[0]
    if found[0]:
        [(path,)] = con.execute(
            "SELECT coalesce(path, ':memory:') FROM duckdb_databases() "
            "WHERE database_name = current_database()"
        ).fetchall()
        raise StoreError(
            f"{path}: the store holds {found[0]:,} usage rows that break the usage rules "
            f"({'; '.join(rules)}), e.g. request {found[1]!r}; delete them, then open it again"
        )
    checks = "".join(f",\n            CHECK ({rule})" for rule in rules)
    con.execute(f"""
        CREATE TABLE usage_checked (
            request_id VARCHAR NOT NULL,
            ts TIMESTAMPTZ NOT NULL,
            provider VARCHAR,
            endpoint VARCHAR,
            model VARCHAR NOT NULL,
            input_tokens BIGINT NOT NULL,
            cached_input_tokens BIGINT NOT NULL DEFAULT 0,
            cache_write_tokens BIGINT NOT NULL DEFAULT 0,
            output_tokens BIGINT NOT NULL,
            reasoning_tokens BIGINT,
            search_calls BIGINT DEFAULT 0,
            project VARCHAR,
            api_key_id VARCHAR,
            "user" VARCHAR,
            tags JSON,
            billed_cost {MONEY},
            billed_currency VARCHAR,
            status VARCHAR,
            source_format VARCHAR NOT NULL,
            source_file VARCHAR,
            source_line BIGINT,
            ingest_id BIGINT{checks}
        )
    """)
    con.execute("INSERT INTO usage_checked SELECT * FROM usage ORDER BY rowid")
    con.execute("DROP TABLE usage")
    con.execute("ALTER TABLE usage_checked RENAME TO usage")


def _m004_request_count(con: duckdb.DuckDBPyConnection) -> None:
    """How many requests a row stands for: 1 for a logged request (every row before this
    migration), the bucket's count for an aggregate source (an OpenAI usage bucket's
    num_model_requests, a LiteLLM daily activity's api_requests)."""
    con.execute("ALTER TABLE usage ADD COLUMN request_count BIGINT DEFAULT 1")
    con.execute("UPDATE usage SET request_count = 1 WHERE request_count IS NULL")


MIGRATIONS: list[Migration] = [
    ("001_initial", _m001_initial),
    ("002_conflicts_and_unknown_search", _m002_conflicts_and_unknown_search),
    ("003_usage_row_checks", _m003_usage_row_checks),
    ("004_request_count", _m004_request_count),
]


def _ensure_migrations_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS costkit_migrations "
        "(name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)"
    )


def pending_migrations(
    con: duckdb.DuckDBPyConnection, migrations: Sequence[Migration] = MIGRATIONS
) -> list[str]:
    """Names of the migrations (of `migrations`, default all) not yet applied, in order."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'costkit_migrations'"
    ).fetchall()[0][0]
    done: set[str] = set()
    if exists:
        done = {row[0] for row in con.execute("SELECT name FROM costkit_migrations").fetchall()}
    return [name for name, _ in migrations if name not in done]


def migrate(
    con: duckdb.DuckDBPyConnection, migrations: Sequence[Migration] = MIGRATIONS
) -> list[str]:
    """Apply pending migrations in order, each in one transaction; returns their names.

    `migrations` is a prefix of `MIGRATIONS` only to build a store as an older release
    made it (tests of migrating on open)."""
    _ensure_migrations_table(con)
    applied = []
    for name, step in migrations:
        if name not in pending_migrations(con, migrations):
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            step(con)
            con.execute("INSERT INTO costkit_migrations VALUES (?, ?)", [name, datetime.now(UTC)])
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        applied.append(name)
    return applied
