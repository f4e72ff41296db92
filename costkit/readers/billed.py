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

from costkit.readers import DOCUMENT_READERS, document_reader
from costkit.readers.documents import readable, staged_rows

# Readers whose rows carry one request's billed_cost (besides the gateway ledger, whose
# audit reads extra columns through `costkit.readers.ledger.read_events`).
PER_REQUEST = ("litellm-spend", "openrouter")


def billed_source(path: Path | str) -> str | None:
    """The reader that recognises the file at `path`, when it is a billed source."""
    name = document_reader(readable(path))
    return name if name in PER_REQUEST else None


def read_billed(path: Path | str, name: str) -> list[dict[str, Any]]:
    """The staging rows (`records.STAGE_COLUMNS` and `documents.BILLED_COLUMNS`) the reader
    `name` makes of the file at `path`, in file order; rows of kind `skip` left out."""
    return staged_rows(path, DOCUMENT_READERS[name][1], where="kind <> 'skip'")
