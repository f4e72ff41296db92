"""Sources that state what each request was billed, read for `costkit audit --ledger`: the
gateway's usage events (`ledger`), LiteLLM spend logs (`spend`) and OpenRouter generation
stats (`total_cost`). Each is read by its own reader's statement, the one `costkit ingest`
stages with, so the audit and the ingest read a file alike (same rows, same rejects).

`billed_source(path)` names the reader of a file (None when the file is none of these);
`read_billed(path, name)` runs that reader's SELECT in a DuckDB of its own, in memory, and
returns its staging rows in file order. Nothing is stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from costkit.core.errors import InputError
from costkit.readers import DOCUMENT_READERS, document_reader
from costkit.readers.lines import Source

# Readers whose rows carry one request's billed_cost (besides the gateway ledger, whose
# audit reads extra columns through `costkit.readers.ledger.read_events`).
PER_REQUEST = ("litellm-spend", "openrouter")


def billed_source(path: Path | str) -> str | None:
    """The reader that recognises the file at `path`, when it is a billed source."""
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:  # before any work, in the words `readers.lines` uses
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    name = document_reader(Source(0, Path(path), str(path)))
    return name if name in PER_REQUEST else None


def read_billed(path: Path | str, name: str) -> list[dict[str, Any]]:
    """The staging rows (`records.STAGE_COLUMNS` and `documents.BILLED_COLUMNS`) the reader
    `name` makes of the file at `path`, in file order; rows of kind `skip` left out."""
    select = DOCUMENT_READERS[name][1]
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")  # as the ingest's: naive ISO times are UTC
        sql = select(con, Source(0, Path(path), str(path)))
        cursor = con.execute(f"SELECT * FROM ({sql}) WHERE kind <> 'skip' ORDER BY line")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
