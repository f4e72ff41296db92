"""The rejected records a monthly page shows: those whose record states a time in the
month, and those without a readable time from ingests that loaded the month's usage."""

from __future__ import annotations

from datetime import datetime

import duckdb

from costkit.report.data import Rejects

REJECT_SAMPLES = 20


def month_rejects(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime, samples: int = REJECT_SAMPLES
) -> Rejects:
    """Rejected records of the month [start, end).

    A reject counts for the month when its raw record states a time in it (an envelope's
    `timestamp`, a response's `created` / `created_at`). One with no readable time counts
    for every month its ingest loaded usage into: the gap is shown, if more than once.
    """
    sql = f"""
        WITH covering AS (
            SELECT DISTINCT ingest_id FROM usage WHERE ts >= $start AND ts < $end
        ),
        timed AS (
            SELECT *, {_RECORD_TIME_SQL} AS record_ts FROM rejects
        ),
        picked AS (
            SELECT *, CASE WHEN record_ts IS NOT NULL THEN 'record time'
                           ELSE 'ingest' END AS attributed
            FROM timed
            WHERE (record_ts >= $start AND record_ts < $end)
               OR (record_ts IS NULL AND ingest_id IN (SELECT ingest_id FROM covering))
        )
    """
    params = {"start": start, "end": end}
    by_reason = con.sql(sql + """
        SELECT reason,
               count(*) FILTER (WHERE attributed = 'record time')::BIGINT AS by_time,
               count(*) FILTER (WHERE attributed = 'ingest')::BIGINT AS by_ingest,
               count(*)::BIGINT AS total
        FROM picked GROUP BY reason ORDER BY total DESC, reason
    """, params=params).pl()
    sample_frame = con.sql(sql + f"""
        SELECT source_file, line, format, reason, raw, attributed
        FROM picked ORDER BY source_file, line, reason LIMIT {int(samples)}
    """, params=params).pl()
    return Rejects(
        by_reason=by_reason,
        samples=sample_frame,
        by_time=int(by_reason["by_time"].sum()) if by_reason.height else 0,
        by_ingest=int(by_reason["by_ingest"].sum()) if by_reason.height else 0,
    )


# The time a rejected record states about itself, read from its raw text: an envelope's
# ISO `timestamp`, else the unix `created` / `created_at` of a chat completion, a stream's
# chunks or a response (a regex, since a reject is by definition often not valid JSON).
_RECORD_TIME_SQL = """coalesce(
    TRY_CAST(nullif(regexp_extract(raw, '"timestamp"\\s*:\\s*"([^"]+)"', 1), '')
             AS TIMESTAMPTZ),
    to_timestamp(TRY_CAST(nullif(regexp_extract(raw, '"created(_at)?"\\s*:\\s*([0-9]{9,11})\\b',
                                                2), '') AS BIGINT))
)"""
