"""The per-request sections (most expensive requests, cost percentiles, concentration) over
single requests only.

A usage row with request_count > 1 is an aggregate (an OpenAI usage bucket of 40 requests):
its cost is many requests' cost, so as "one request" it would top the most-expensive list
and stretch the percentiles. Those rows count in every total and breakdown; the per-request
queries read the store through a second connection on which `usage` is a temporary view of
the single-request rows, so `costkit.spend.breakdown`'s own queries run unchanged on it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import duckdb


def aggregate_rows(con: duckdb.DuckDBPyConnection, start: datetime,
                   end: datetime) -> tuple[int, int]:
    """(rows, requests) of aggregate rows in [start, end)."""
    rows, requests = con.execute(
        "SELECT count(*), coalesce(sum(request_count), 0) FROM usage "
        "WHERE ts >= ? AND ts < ? AND request_count > 1", [start, end]).fetchone()
    return int(rows), int(requests)


@contextmanager
def single_requests(con: duckdb.DuckDBPyConnection, any_aggregate: bool
                    ) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection whose `usage` holds single-request rows only (`con` itself when the
    period has no aggregate row). The view is temporary: the store is not changed."""
    if not any_aggregate:
        yield con
        return
    catalog = con.execute("SELECT current_database()").fetchone()[0]
    cursor = con.cursor()
    try:
        name = '"' + catalog.replace('"', '""') + '"'
        # Qualified by catalog: an unqualified name would resolve to the view itself.
        cursor.execute(f"CREATE TEMP VIEW usage AS SELECT * FROM {name}.main.usage "
                       "WHERE request_count = 1")
        yield cursor
    finally:
        cursor.close()
