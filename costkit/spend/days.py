"""A request's local calendar day in a time zone, as SQL over `usage` (days since 1970).

On DuckDB the zone's UTC offsets over the data's range are read first, and the day is the
UTC time plus one of a few offsets (a CASE over the offset changes), which is much faster
than converting every row's time zone; when an offset changes inside a quarter hour (as
some zones did before 1980), the data spans decades, or the engine cannot scan first, every
row's time is converted instead. Both give the same day.
"""

from __future__ import annotations

import duckdb

from costkit.core.sql import quote as literal
from costkit.spend.engine import Engine, as_engine

QUARTER_HOUR_US = 900_000_000
DAY_US = 86_400_000_000
MAX_OFFSET_SCAN = 20 * 366 * 96  # quarter hours: past 20 years of data, convert every row
# IANA names of UTC itself (links to Etc/UTC or Etc/GMT): their day needs no look at the data
UTC_NAMES = frozenset({
    "UTC", "Etc/UTC", "UCT", "Etc/UCT", "Universal", "Etc/Universal", "Zulu", "Etc/Zulu",
    "GMT", "Etc/GMT", "GMT0", "Etc/GMT0", "GMT+0", "Etc/GMT+0", "GMT-0", "Etc/GMT-0",
    "Greenwich", "Etc/Greenwich",
})


def local_day_sql(
    con: duckdb.DuckDBPyConnection | Engine, tz: str, where: str, params: list
) -> str:
    """SQL for a request's local calendar day in `tz`, as days since 1970-01-01.

    From the zone's UTC offsets over the data's range: one CASE branch per offset change.
    In UTC itself the day is the UTC time's, without reading the data first.
    Each quarter hour's offset is read at its first and last second; if an offset changes
    inside a quarter hour (or the data spans decades), or the engine does not scan the data
    first, every row's time is converted.
    """
    if tz in UTC_NAMES:  # the default zone: no offsets to scan for
        return _floor_div("epoch_us(ts)", DAY_US)
    engine = as_engine(con)
    zone = literal(tz)
    exact = _floor_div(f"epoch_us(timezone({zone}, ts))", DAY_US)
    if not engine.scans_offsets:
        return exact
    lo, hi = engine.rows(
        f"SELECT min(epoch_us(ts)), max(epoch_us(ts)) FROM usage WHERE {where}", params
    )[0]
    if lo is None or (hi // QUARTER_HOUR_US - lo // QUARTER_HOUR_US) > MAX_OFFSET_SCAN:
        return exact
    quarter = QUARTER_HOUR_US // 1_000_000
    changes = engine.rows(
        f"""
        WITH q AS (
            SELECT q,
                   epoch_us(timezone({zone}, to_timestamp(q * {quarter}))) - q * {QUARTER_HOUR_US}
                       AS off,
                   epoch_us(timezone({zone}, to_timestamp(q * {quarter} + {quarter - 1})))
                       - (q * {quarter} + {quarter - 1}) * 1000000 AS off_end
            FROM range(?, ?) t(q)
        ),
        steps AS (SELECT q, off, off_end, lag(off) OVER (ORDER BY q) AS before FROM q)
        SELECT q, off, off = off_end FROM steps
        WHERE before IS NULL OR off <> before OR off <> off_end
        ORDER BY q
        """,
        [lo // QUARTER_HOUR_US, hi // QUARTER_HOUR_US + 1],
    )
    if not all(steady for _, _, steady in changes):
        return exact
    offset = str(changes[0][1])
    if len(changes) > 1:
        whens = " ".join(f"WHEN epoch_us(ts) >= {q * QUARTER_HOUR_US} THEN {off}"
                         for q, off, _ in reversed(changes[1:]))
        offset = f"(CASE {whens} ELSE {changes[0][1]} END)"
    return _floor_div(f"(epoch_us(ts) + {offset})", DAY_US)


def _floor_div(expr: str, divisor: int) -> str:
    """Integer floor division, also before 1970 (DuckDB's // truncates toward zero): shifted
    by 10^7 divisors (27,000 years of days) so the dividend is positive, `expr` once."""
    shift = 10_000_000
    return f"((({expr}) + {shift * divisor}) // {divisor} - {shift})"
