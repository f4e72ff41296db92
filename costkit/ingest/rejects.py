"""Rejected records: writing an ingest's rejects (secrets in reason and raw text masked, each
recorded once) and listing them (`costkit rejects`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from costkit.core.errors import InputError
from costkit.core.secrets import mask_secrets
from costkit.readers import resolve_format
from costkit.store.connection import open_store


def write_rejects(con, ingest_id: int) -> None:
    """Rejected records, secrets in their reason and raw text masked; one already recorded
    (same file, line and raw text, by an earlier run) is not recorded twice."""
    con.execute(f"""
        INSERT INTO rejects
        SELECT ?, f.name, s.line, s.format, {mask_secrets('s.reason')}, {mask_secrets('s.raw')},
               now()
        FROM stage s JOIN files f USING (file_id)
        WHERE s.kind = 'record' AND s.reason IS NOT NULL
          AND NOT EXISTS (
              SELECT 1 FROM rejects x
              WHERE x.source_file = f.name AND x.line = s.line
                AND x.raw IS NOT DISTINCT FROM {mask_secrets('s.raw')})
    """, [ingest_id])


def list_rejects(
    db: Path | str | None = None,
    since: date | datetime | None = None,
    limit: int | None = 50,
    ingest_id: int | None = None,
    input_format: str | None = None,
) -> list[dict]:
    """Rejected records, newest first: ingest, file, line, format, reason, raw, rejected_at."""
    where, params = ["TRUE"], []
    if since is not None:
        if not isinstance(since, datetime):
            since = datetime(since.year, since.month, since.day, tzinfo=UTC)
        where.append("rejected_at >= ?")
        params.append(since)
    if ingest_id is not None:
        where.append("ingest_id = ?")
        params.append(ingest_id)
    if input_format is not None:
        where.append("regexp_replace(format, '^(envelope|batch)/', '') = ?")
        params.append(resolve_format(input_format))
    if limit is not None and limit < 0:
        raise InputError(f"--limit {limit}: must be >= 0")
    sql = f"""
        SELECT ingest_id, source_file, line, format, reason, raw, rejected_at
        FROM rejects WHERE {' AND '.join(where)}
        ORDER BY rejected_at DESC, ingest_id DESC, source_file, line
        {'LIMIT ' + str(int(limit)) if limit is not None else ''}
    """
    con = open_store(db, read_only=True)
    try:
        con.execute("SET TimeZone = 'UTC'")
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
