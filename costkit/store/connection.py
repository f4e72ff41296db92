"""The usage store's connection: where it lives, opening it (waiting for a writer's lock,
refusing what is not a store, never creating one for a reader), migrating it on open, and
turning the machine's failures (damaged file, full disk, memory) into one-line errors.

The schema is `costkit.store.migrations`; the costed view over it, `costkit.store.costed`.
"""

from __future__ import annotations

import math
import os
import re
import time
from pathlib import Path

import duckdb
import platformdirs

from costkit.core.errors import InputError, NoStoreError, StoreError
from costkit.store.migrations import migrate, pending_migrations

ENV_DB = "COSTKIT_DB"
ENV_LOCK_WAIT = "COSTKIT_LOCK_WAIT"
ENV_MEMORY_LIMIT = "COSTKIT_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "1GB"
# A size DuckDB reads as meant: a number and a unit ("80%" or a bare "500" it misreads).
_MEMORY_SIZE = re.compile(r"\s*\d+(\.\d+)?\s*([KMGT]i?B)\s*", re.IGNORECASE)
# DuckDB's file starts with its main header and two database headers (4 KiB each); block N
# follows at DUCKDB_HEADER_BYTES + N * block_size, so N blocks in use need at least that.
DUCKDB_HEADER_BYTES = 3 * 4096


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
    size_row = con.execute(
        "SELECT block_size, used_blocks FROM pragma_database_size() "
        "WHERE database_name = current_database()"
    ).fetchone()
    if size_row is None:
        return
    block_size, used_blocks = size_row
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
    row = con.execute("SELECT count(*) FROM usage").fetchone()
    return int(row[0]) if row else 0


def file_of(con: duckdb.DuckDBPyConnection) -> str:
    """The file a store connection reads, to name it in messages."""
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return str(row[0]) if row and row[0] else "the store"
