"""Repeats of a request_id within an ingest or against the store: an identical record is a
duplicate and dropped; one with other values is a conflict, set aside in `rejects` with what
differs. The stored (or first) row always stays; nothing is silently merged."""

from __future__ import annotations

from costkit.core.secrets import mask_secrets
from costkit.readers.documents import BILLED_COLUMNS, REQUEST_COUNT

# What makes two records of one request_id the same request: its time, model, endpoint,
# usage and what was billed. Two that differ in any of these are a conflict, never silently
# one of them. Who-columns (project, key, user, tags, status) are not the request's usage:
# a copy ingested again with another --project is a duplicate, and the stored row stays.
CONTENT_COLUMNS = ("ts", "model", "endpoint", "input_tokens", "cached_input_tokens",
                   "cache_write_tokens", "output_tokens", "reasoning_tokens", "search_calls",
                   *BILLED_COLUMNS, *REQUEST_COUNT)


def settle_repeats(con, ingest_id: int) -> tuple[int, int]:
    """This run's rows whose request_id is already stored, or repeats an earlier row of the
    run (in input order): an identical one is a duplicate and dropped; one with other
    values is a conflict, set aside in `rejects` with what differs, and dropped. The stored
    (or first) row stays. Returns (duplicates, conflicts)."""
    same = " AND ".join(f'n."{c}" IS NOT DISTINCT FROM o."{c}"' for c in CONTENT_COLUMNS)
    differs = "CASE " + " ".join(
        f"""WHEN n."{c}" IS DISTINCT FROM o."{c}" THEN '{c} ' || """
        f"""coalesce(CAST(n."{c}" AS VARCHAR), 'NULL') || ' here, ' || """
        f"""coalesce(CAST(o."{c}" AS VARCHAR), 'NULL') || ' there'"""
        for c in CONTENT_COLUMNS) + " END"
    where = "o.source_file || coalesce(':' || o.source_line, '')"
    con.execute("CREATE OR REPLACE TEMP TABLE repeats (rid BIGINT, same BOOLEAN, reason VARCHAR)")
    older = con.execute("SELECT EXISTS (SELECT 1 FROM usage WHERE ingest_id <> ?)",
                        [ingest_id]).fetchone()[0]
    if older:
        con.execute(f"""
            INSERT INTO repeats
            SELECT n.rowid, {same},
                   'conflict: request_id ' || n.request_id || ' is already stored (' ||
                   {where} || ', ingest ' || o.ingest_id || ') with other values: ' || {differs}
            FROM usage n JOIN usage o ON o.request_id = n.request_id AND o.ingest_id <> $1
            WHERE n.ingest_id = $1
        """, [ingest_id])
    # Repeats within the run: grouping 64-bit hashes is much cheaper than grouping the ids;
    # only a hash seen twice (rare) is then checked on the ids themselves.
    twice = [h for (h,) in con.execute(
        "SELECT hash(request_id) FROM usage WHERE ingest_id = ? GROUP BY 1 HAVING count(*) > 1",
        [ingest_id]).fetchall()]
    if twice:
        con.execute("CREATE OR REPLACE TEMP TABLE twice AS SELECT unnest(?::UBIGINT[]) AS h",
                    [twice])
        con.execute(f"""
            INSERT INTO repeats
            WITH ranked AS (
                SELECT u.rowid AS rid, u.*, row_number() OVER (
                    PARTITION BY u.request_id ORDER BY f.file_id, u.source_line) AS rank
                FROM usage u JOIN files f ON f.name = u.source_file
                WHERE u.ingest_id = $1 AND hash(u.request_id) IN (SELECT h FROM twice)
                  AND u.rowid NOT IN (SELECT rid FROM repeats)
            )
            SELECT n.rid, {same},
                   'conflict: request_id ' || n.request_id || ' was read before (' ||
                   {where} || ') with other values: ' || {differs}
            FROM ranked n JOIN ranked o ON o.request_id = n.request_id AND o.rank = 1
            WHERE n.rank > 1
        """, [ingest_id])
        con.execute("DROP TABLE twice")
    duplicates, conflicts = con.execute(
        "SELECT count(*) FILTER (same), count(*) FILTER (NOT same) FROM repeats").fetchone()
    if conflicts:
        row = ", ".join(f"'{c}', n.\"{c}\"" for c in ("request_id", *CONTENT_COLUMNS))
        raw = f"to_json(json_object({row}))::VARCHAR"
        con.execute(f"""
            INSERT INTO rejects
            SELECT $1, n.source_file, n.source_line, n.source_format,
                   {mask_secrets('r.reason')}, {mask_secrets(raw)}, now()
            FROM usage n JOIN repeats r ON r.rid = n.rowid
            WHERE NOT r.same AND NOT EXISTS (
                SELECT 1 FROM rejects x WHERE x.source_file = n.source_file
                  AND x.line IS NOT DISTINCT FROM n.source_line AND x.reason = r.reason)
        """, [ingest_id])
    if duplicates or conflicts:
        con.execute("DELETE FROM usage WHERE rowid IN (SELECT rid FROM repeats)")
    con.execute("DROP TABLE repeats")
    return duplicates, conflicts
