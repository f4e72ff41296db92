"""UTC's local day is computed without looking at the data (issue 17: the default zone pays
no offset scan), and is the UTC calendar day, also before 1970."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pytest

from costkit.spend.days import UTC_NAMES, local_day_sql


@pytest.mark.parametrize("name", sorted(UTC_NAMES))
def test_every_utc_name_is_utc_all_year(name: str) -> None:
    # independent of the code: Python's tz database says each name is offset 0, no DST
    zone = ZoneInfo(name)
    for month in range(1, 13):
        at = datetime(2026, month, 15, tzinfo=UTC)
        assert zone.utcoffset(at) == timedelta(0)


def test_utc_day_reads_no_table() -> None:
    # a connection without a `usage` table: a scan for offsets would raise CatalogException
    con = duckdb.connect()
    sql = local_day_sql(con, "UTC", "TRUE", [])
    cases = {
        "2026-03-29 23:59:59.999999+00": 20541,  # 2026-03-29 is day 20,541 since 1970-01-01
        "2026-03-30 00:00:00+00": 20542,
        "1969-12-31 23:59:59+00": -1,  # floor, not truncation toward zero
        "1970-01-01 00:00:00+00": 0,
    }
    for ts, day in cases.items():
        got = con.execute(f"SELECT {sql} FROM (SELECT TIMESTAMPTZ '{ts}' AS ts)").fetchone()[0]
        assert got == day, ts
    assert (datetime(2026, 3, 29).date() - datetime(1970, 1, 1).date()).days == 20541
