"""A file that is one JSON document, pretty-printed over many lines (as API docs print a
response), or a JSON array of records: its records, read as the line formats read them.

Without this every line of a pretty-printed response is a reject of its own ("not JSON").
Here the file is parsed whole (`documents.load_documents`: a JSONL of arrays works too),
each record (the document, or each element of an array) is written compactly as one line,
and those lines go through the same composed SQL as any JSONL (`records.records_sql`), so
formats, envelopes, streams and rejects are detected per record exactly as there. A
record's `line` is its 1-based position in the document.

Recognised by its start: a first non-blank character `[`, or a first line that is not a
complete JSON value (`{` alone, as pretty-printers write). Files that the readers of a
source's own fields recognise (usage pages, exports) go to them instead.
"""

from __future__ import annotations

import json

import duckdb

from costkit.readers.base import RecordFormat
from costkit.readers.documents import load_documents, peek
from costkit.readers.lines import BOM, Source
from costkit.readers.records import records_sql

NAME = "json"


def recognises(source: Source) -> bool:
    """A file that starts as an array, or as a JSON value spread over lines."""
    head = peek(source)
    head = head[len(BOM):] if head.startswith(BOM) else head
    text = head.lstrip(b" \t\r\n")
    if not text:
        return False
    if text[:1] == b"[":
        return True
    if text[:1] != b"{":
        return False
    first, newline, _ = text.partition(b"\n")
    if not newline:
        return False  # one line (or one longer than we looked at): a JSONL's line
    try:
        json.loads(first)
    except ValueError:
        return True
    return False


def select_sql(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    project: str | None = None,
    tags: dict[str, str] | None = None,
    formats: tuple[RecordFormat, ...] = (),
    **_: object,
) -> str:
    """SELECT of staging rows for the records of `source` (see the module docstring), read
    as `formats` read lines (the registry passes its FORMATS)."""
    table = f"costkit_json_{source.file_id}"
    docs = load_documents(con, source, NAME)
    # One row per record, as the line reader's batches look: the record's compact text.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {table} AS
        WITH parsed AS (
            SELECT *, CASE WHEN NOT bad_utf8 THEN TRY_CAST(doc AS JSON) END AS j FROM ({docs})
        ), records AS (
            SELECT file_id, line, whole, unnest(json_extract(j, '$[*]')) AS item,
                   generate_subscripts(json_extract(j, '$[*]'), 1) AS pos, bad_utf8, doc
            FROM parsed WHERE json_type(j) = 'ARRAY'
            UNION ALL
            SELECT file_id, line, whole, j, 1, bad_utf8, doc
            FROM parsed WHERE j IS NULL OR json_type(j) <> 'ARRAY'
        )
        SELECT file_id::INTEGER AS file_id,
               (CASE WHEN whole THEN pos ELSE line END)::BIGINT AS line,
               coalesce(json(item)::VARCHAR, doc) AS text, bad_utf8,
               starts_with(coalesce(json(item)::VARCHAR, ''), '{{') AS braced
        FROM records
    """)
    return records_sql(formats, table, None, project, tags)
