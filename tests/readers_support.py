"""What the reader tests share: staging a file through one whole-file reader, querying a
store, writing small inputs."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import duckdb

from costkit.pricing.book import load_price_book
from costkit.readers.lines import Source

BOOK = load_price_book()


def stage(select: Callable, path: Path, **options) -> list[dict]:
    """The staging rows a whole-file reader's SELECT gives for `path`, in line order."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        sql = select(con, Source(0, path, str(path)), **options)
        cursor = con.execute(f"SELECT * FROM ({sql}) ORDER BY line, kind, request_id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def good(rows: list[dict]) -> dict[str, dict]:
    """Accepted records by request id."""
    return {r["request_id"]: r for r in rows if r["kind"] == "record" and r["reason"] is None}


def reasons(rows: list[dict]) -> list[str]:
    return [r["reason"] for r in rows if r["reason"] is not None]


def query(db: Path, sql: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def write_lines(path: Path, lines: list) -> Path:
    """Lines of text or JSON objects (one per line) to `path`."""
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n",
                    encoding="utf-8")
    return path


def invariant(summary) -> None:
    """What every ingest promises: each record read is inserted, a duplicate, a conflict or
    rejected."""
    assert summary.read == (summary.inserted + summary.duplicates + summary.conflicts
                            + summary.rejected)


def real_formats() -> Path | None:
    """The shared folder of samples written by others (shared/data/real-formats, beside the
    checkout or above it), or None where it is not."""
    from conftest import ROOT

    for folder in (ROOT, *ROOT.parents):
        candidate = folder / "shared" / "data" / "real-formats"
        if candidate.is_dir():
            return candidate
    return None
