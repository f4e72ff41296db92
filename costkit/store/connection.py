"""The usage store: DuckDB connection, migrations, the price-card table and the costed view.

The only module that writes SQL DDL. The store holds token counts, never costs: costs come
from joining the price cards in effect at each request's time (`register_prices`), so a
corrected card reprices history, and each request keeps its own period's rates.

Tables
- `usage`: one canonical row per API request (ARCHITECTURE.md's canonical usage row), or
  per aggregate of requests where a source only has aggregates (`request_count` > 1).
  `request_id` is unique (the ingest enforces it). `input_tokens` includes cached and
  cache-write tokens; `output_tokens` excludes reasoning; `reasoning_tokens` is NULL when a
  source bills reasoning inside output without splitting it (then `output_tokens` holds both,
  which bills the same at a card whose reasoning rate is the output rate).
- `rejects`: records set aside by an ingest, with file, line, reason and raw text.
- `ingests`: one row per ingest run with its counts.
Per connection (TEMP, from the price book of this run)
- `price_rates`: one row per (name, card, input-token band); rates per token, DECIMAL(38,12)
  (exact for every valid card).
- `costed_usage`: `usage` joined to its rate row (NULL rates when unpriced).
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import platformdirs

from costkit.core.errors import InputError, NoStoreError, StoreError
from costkit.pricing.book import MILLION, RATE_NAMES, PriceBook

ENV_DB = "COSTKIT_DB"
ENV_LOCK_WAIT = "COSTKIT_LOCK_WAIT"
ENV_MEMORY_LIMIT = "COSTKIT_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1GB"
# A size DuckDB reads as meant: a number and a unit ("80%" or a bare "500" it misreads).
_MEMORY_SIZE = re.compile(r"\s*\d+(\.\d+)?\s*([KMGT]i?B)\s*", re.IGNORECASE)
# DuckDB's file starts with its main header and two database headers (4 KiB each); block N
# follows at DUCKDB_HEADER_BYTES + N * block_size, so N blocks in use need at least that.
DUCKDB_HEADER_BYTES = 3 * 4096
MONEY = "DECIMAL(38,12)"
PER_TOKEN = MONEY  # exact: per-1M rates have at most 6 places (pricing checks)
TOKEN_COLUMNS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "search_calls",
)
# Cost column -> (token expression over costed_usage, rate column).
COST_COMPONENTS = {
    "input_cost": ("input_tokens - cached_input_tokens - cache_write_tokens", "rate_input"),
    "cached_input_cost": ("cached_input_tokens", "rate_cached_input"),
    "cache_write_cost": ("cache_write_tokens", "rate_cache_write"),
    "output_cost": ("output_tokens", "rate_output"),
    "reasoning_cost": ("coalesce(reasoning_tokens, 0)", "rate_reasoning"),
    # a count not reported (NULL) prices as 0 here; reports say "search not reported"
    "search_cost": ("coalesce(search_calls, 0)", "rate_web_search"),
}


def default_path() -> Path:
    """--db, else $COSTKIT_DB, else costkit.duckdb in the user's data directory."""
    env = os.environ.get(ENV_DB)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("costkit")) / "costkit.duckdb"


def store_path(path: Path | str | None = None) -> Path:
    """The store a command uses: `path` when given, else `default_path()`."""
    return Path(path) if path is not None else default_path()


def open_store(
    path: Path | str | None = None, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open the store at `path` (else the default path): the one way in, for writers and readers.

    Writers (`ingest`, `demo`) create the store and migrate it as needed. Readers
    (`read_only`: every other command) open an existing store only: a missing path raises
    NoStoreError and creates nothing, so a mistyped --db is an error, never an empty report.
    Both refuse a file that is not a costkit store (not DuckDB, or a DuckDB database with
    other tables) and a truncated one. An older costkit store is migrated before reading.

    A store held by another writing process is waited for up to $COSTKIT_LOCK_WAIT seconds
    (default 30), then refused with a clear message; DuckDB's file lock keeps it uncorrupted.
    """
    path = store_path(path)
    if path.is_dir():
        raise NoStoreError(f"no store at {path}: it is a directory; --db names the store file")
    if read_only and not path.exists():
        raise NoStoreError(f"no store at {path}; check --db and ${ENV_DB}, or create it with "
                           "`costkit ingest LOGS`")
    if not read_only:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{path}: cannot create its folder: {exc.strerror or exc}") from None
    con = _connect(path, read_only)
    try:
        _check_whole(con, path)
        pending = pending_migrations(con)
        if pending:
            _check_costkit(con, path, read_only)
    except BaseException:
        con.close()
        raise
    if pending:
        if read_only:
            con.close()
            migrate_con = _connect(path, False)
            migrate(migrate_con)
            migrate_con.close()
            con = _connect(path, True)
        else:
            migrate(con)
    return con


def lock_wait() -> float:
    """Seconds to wait for a store another process holds: $COSTKIT_LOCK_WAIT, default 30."""
    raw = os.environ.get(ENV_LOCK_WAIT) or "30"
    try:
        wait = float(raw)
    except ValueError:
        wait = math.nan
    if not (math.isfinite(wait) and wait >= 0):
        raise InputError(f"${ENV_LOCK_WAIT} is {raw!r}; expected the seconds to wait for a busy "
                         "store, a number >= 0 such as 30")
    return wait


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    wait = lock_wait()
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            text = _first_line(exc)
            if "lock" not in text.lower():
                raise _unopenable(path, text) from None
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"{path}: the store is in use by another costkit process; waited "
                    f"{wait:g}s. Try again when it finishes (or set {ENV_LOCK_WAIT})."
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        except duckdb.Error as exc:
            raise _unopenable(path, _first_line(exc)) from None


def _unopenable(path: Path, text: str) -> StoreError:
    if "not a valid DuckDB database" in text:
        return NoStoreError(f"no store at {path}: the file is not a DuckDB database")
    return StoreError(f"{path}: cannot open the store (a damaged or truncated file?): {text}")


def _check_whole(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """StoreError when the file is too short to hold the blocks in use (a cut copy, a full
    disk): caught here by its size, not later by a query reading a missing block.

    Used, not total, blocks: DuckDB shortens the file when its last blocks are free. A cut
    that only the free list would notice is left to the queries (`environment_error`), as is
    everything beside a write-ahead log, where the file may legitimately lag the log."""
    if Path(f"{path}.wal").exists():
        return
    block_size, used_blocks = con.execute(
        "SELECT block_size, used_blocks FROM pragma_database_size() "
        "WHERE database_name = current_database()"
    ).fetchone()
    needed = DUCKDB_HEADER_BYTES + int(block_size) * int(used_blocks)
    size = path.stat().st_size
    if size < needed:
        raise StoreError(
            f"{path}: the store is truncated: the file has {size:,} bytes, the blocks in use need "
            f"{needed:,}; restore it from a copy, or ingest the logs again into a new store"
        )


def _check_costkit(con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
    """Before migrating: a DuckDB database with tables but no costkit migrations is someone
    else's; it is never written into. An empty one is a store only once something writes."""
    tables = [row[0] for row in con.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() ORDER BY table_name"
    ).fetchall()]
    known = ", ".join(tables[:3]) + (", ..." if len(tables) > 3 else "")
    if tables and "costkit_migrations" not in tables:
        raise NoStoreError(f"no store at {path}: a DuckDB database without costkit's tables "
                           f"(it holds {known}); costkit does not read or write it")
    if read_only and not tables:
        raise NoStoreError(f"no store at {path}: an empty DuckDB database; "
                           "`costkit ingest LOGS` fills it")


def memory_limit() -> str:
    """DuckDB's memory cap for an ingest: $COSTKIT_MEMORY_LIMIT (default 1GB), a size such as
    512MB or 2GiB, checked here because DuckDB reads some other text as a few bytes."""
    raw = os.environ.get(ENV_MEMORY_LIMIT) or DEFAULT_MEMORY_LIMIT
    if not _MEMORY_SIZE.fullmatch(raw):
        raise InputError(f"${ENV_MEMORY_LIMIT} is {raw!r}; expected a size such as 512MB, 1GB "
                         "or 2GiB (units KB, MB, GB, TB, KiB, MiB, GiB, TiB)")
    return raw.strip()


def environment_error(exc: BaseException) -> StoreError | None:
    """A DuckDB failure that comes from the machine or the file rather than from costkit,
    as a one-line StoreError: a store damaged past what opening it checks (a block that
    fails its checksum or cannot be read), a full disk, memory running out. Anything else
    is None: a bug, which keeps its traceback."""
    text = _first_line(exc)
    if isinstance(exc, duckdb.OutOfMemoryException):
        return StoreError(f"DuckDB ran out of memory: {text}; raise ${ENV_MEMORY_LIMIT} "
                          f"(now {os.environ.get(ENV_MEMORY_LIMIT) or DEFAULT_MEMORY_LIMIT}) "
                          "or free memory")
    corrupt = type(exc) is duckdb.Error and text.startswith("Corrupt database file")
    if isinstance(exc, duckdb.IOException) or corrupt:
        return StoreError(f"cannot read or write the store: {text} (a damaged or truncated "
                          "store file, or a full disk?)")
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def held_requests(con: duckdb.DuckDBPyConnection) -> int:
    """How many requests the store holds."""
    return int(con.execute("SELECT count(*) FROM usage").fetchone()[0])


def file_of(con: duckdb.DuckDBPyConnection) -> str:
    """The file a store connection reads, to name it in messages."""
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return str(row[0]) if row and row[0] else "the store"


# --- migrations: an ordered list; each runs once, in its own transaction --------------------


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


def _m004_request_count(con: duckdb.DuckDBPyConnection) -> None:
    """How many requests a row stands for: 1 for a logged request (every row before this
    migration), the bucket's count for an aggregate source (an OpenAI usage bucket's
    num_model_requests, a LiteLLM daily activity's api_requests)."""
    con.execute("ALTER TABLE usage ADD COLUMN request_count BIGINT DEFAULT 1")
    con.execute("UPDATE usage SET request_count = 1 WHERE request_count IS NULL")


MIGRATIONS: list[tuple[str, Callable[[duckdb.DuckDBPyConnection], None]]] = [
    ("001_initial", _m001_initial),
    ("002_conflicts_and_unknown_search", _m002_conflicts_and_unknown_search),
    ("004_request_count", _m004_request_count),
]


def _ensure_migrations_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS costkit_migrations "
        "(name VARCHAR PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL)"
    )


def pending_migrations(con: duckdb.DuckDBPyConnection) -> list[str]:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'costkit_migrations'"
    ).fetchone()[0]
    done = set()
    if exists:
        done = {row[0] for row in con.execute("SELECT name FROM costkit_migrations").fetchall()}
    return [name for name, _ in MIGRATIONS if name not in done]


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations in order, each in one transaction; returns their names."""
    _ensure_migrations_table(con)
    applied = []
    for name, step in MIGRATIONS:
        if name not in pending_migrations(con):
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


# --- price cards as a table, and the costed view ---------------------------------------------


def register_prices(con: duckdb.DuckDBPyConnection, book: PriceBook) -> None:
    """(Re)create the TEMP `price_rates` table and `costed_usage` view for this run's cards.

    One row per name a card answers to (model and aliases) and per input-token band: the
    base rates cover input_tokens in (-1, first tier threshold], each tier up to the next.
    Rates are per token (per-1M rate / 1,000,000, exact in Python), so SQL never divides.
    """
    rows = []
    for card in book.cards:
        bands = [(-1, card.rates)] + [
            (t.above_input_tokens, t.rates)
            for t in sorted(card.tiers, key=lambda t: t.above_input_tokens)
        ]
        for i, (above, rates) in enumerate(bands):
            upto = bands[i + 1][0] if i + 1 < len(bands) else None
            per_token = [
                (getattr(rates, name) / MILLION) if name != "web_search" else rates.web_search
                for name in RATE_NAMES
            ]
            for name in (card.model, *card.aliases):
                rows.append(
                    (
                        name,
                        card.model,
                        card.card_id,
                        card.currency,
                        card.effective_from,
                        card.effective_to,
                        above,
                        upto,
                        *per_token,
                    )
                )
    rate_columns = ", ".join(f"rate_{name} {PER_TOKEN}" for name in RATE_NAMES)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE price_rates (
            name VARCHAR, priced_model VARCHAR, card_id VARCHAR, currency VARCHAR,
            effective_from TIMESTAMPTZ, effective_to TIMESTAMPTZ,
            above_input_tokens BIGINT, upto_input_tokens BIGINT, {rate_columns}
        )
    """)
    if rows:
        placeholders = ", ".join("?" for _ in rows[0])
        con.executemany(
            f"INSERT INTO price_rates VALUES ({placeholders})",
            [[_decimal_or_value(v) for v in row] for row in rows],
        )
    rates = ", ".join(f"r.rate_{name}" for name in RATE_NAMES)
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW costed_usage AS
        SELECT u.*, r.priced_model, r.card_id, r.currency, {rates}
        FROM usage u
        LEFT JOIN price_rates r ON {rate_join("u.ts", "u.input_tokens", "u.model")}
    """)


def rate_join(ts: str, input_tokens: str, model: str) -> str:
    """The join of a request to its `price_rates` row `r`: its name, period and tier band."""
    return (
        f"r.name = {model}"
        f" AND {ts} >= coalesce(r.effective_from, '-infinity'::TIMESTAMPTZ)"
        f" AND {ts} < coalesce(r.effective_to, 'infinity'::TIMESTAMPTZ)"
        f" AND {input_tokens} > r.above_input_tokens"
        f" AND (r.upto_input_tokens IS NULL OR {input_tokens} <= r.upto_input_tokens)"
    )


def cost_expressions() -> dict[str, str]:
    """SQL for each cost column of ONE row (a request, or a row of summed tokens with rates).

    Tokens times a per-token rate, cast to DECIMAL(38,12): exact, as long as a card's per-1M
    rates have at most 6 decimal places (pricing validates this). NULL when unpriced. A card
    with no web_search rate prices zero calls at 0 and any calls as NULL (unpriced), never $0.
    """
    out = {}
    for column, (tokens, rate) in COST_COMPONENTS.items():
        if column == "search_cost":
            out[column] = (
                f"CASE WHEN card_id IS NULL THEN NULL WHEN {tokens} = 0 THEN 0::{MONEY} "
                f"ELSE CAST({tokens} * {rate} AS {MONEY}) END"
            )
        else:
            out[column] = f"CAST(({tokens}) * {rate} AS {MONEY})"
    out["total_cost"] = " + ".join(f"({sql})" for sql in out.values())
    return out


def _decimal_or_value(value):
    if isinstance(value, Decimal):
        return str(value)
    return value
