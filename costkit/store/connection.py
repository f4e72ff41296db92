"""The usage store's connection: where it lives, opening it (waiting for a writer's lock),
migrating it on open.

The schema is `costkit.store.migrations`; the costed view over it, `costkit.store.costed`.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import duckdb
import platformdirs

from costkit.core.errors import StoreError
from costkit.store.migrations import migrate, pending_migrations

ENV_DB = "COSTKIT_DB"


def default_path() -> Path:
    """--db, else $COSTKIT_DB, else costkit.duckdb in the user's data directory."""
    env = os.environ.get(ENV_DB)
    if env:
        return Path(env)
    return Path(platformdirs.user_data_dir("costkit")) / "costkit.duckdb"


def open_store(
    path: Path | str | None = None, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating as needed) the store at `path` or the default path.

    A store held by another writing process is waited for up to $COSTKIT_LOCK_WAIT seconds
    (default 30), then refused with a clear message; DuckDB's file lock keeps it uncorrupted.
    A missing store opened read-only is an empty in-memory store: reading creates no files.
    """
    path = Path(path) if path is not None else default_path()
    if read_only and not path.exists():
        con = duckdb.connect(":memory:")
        migrate(con)
        return con
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    con = _connect(path, read_only)
    if pending_migrations(con):
        if read_only:
            con.close()
            migrate_con = _connect(path, False)
            migrate(migrate_con)
            migrate_con.close()
            con = _connect(path, True)
        else:
            migrate(con)
    return con


def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    wait = float(os.environ.get("COSTKIT_LOCK_WAIT", "30"))
    deadline = time.monotonic() + wait
    delay = 0.05
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            text = str(exc)
            if "lock" not in text.lower():
                raise StoreError(f"{path}: cannot open the store: {text.splitlines()[0]}") from exc
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"{path}: the store is in use by another costkit process; waited "
                    f"{wait:g}s. Try again when it finishes (or set COSTKIT_LOCK_WAIT)."
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
        except duckdb.Error as exc:
            raise StoreError(f"{path}: cannot open the store: {str(exc).splitlines()[0]}") from exc
