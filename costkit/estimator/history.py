"""What past requests of a model produced, learned from the usage store for `expected` estimates.

`learn(con, names)` reads the store's `usage` table with plain SELECTs: the median visible
output of past requests of the model (under any of its names), the median reasoning of those
that reasoned, and the median search calls of those that searched. Requests that produced
nothing (failed calls) are left out. Rows whose reasoning count is unknown (NULL: the source
billed it inside output) give their output only when no row splits the two.
Aggregate rows (`request_count` other than 1, e.g. an OpenAI usage bucket of 40 requests)
are left out too: their tokens are a sum over many requests, and a median needs one request
per row. They are counted (`aggregate_rows`, `aggregate_requests`) so the estimate can say
what it did not learn from.
A store without a `usage` table (or an empty one) yields None: the caller uses its defaults.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from costkit.core.errors import NoStoreError, StoreError

if TYPE_CHECKING:  # duckdb loads only when history is read: `estimate --no-history` needs none
    import duckdb


@dataclass(frozen=True)
class History:
    requests: int  # requests the medians come from
    output_tokens: int
    reasoning_tokens: int | None  # None when no past request reasoned
    reasoning_requests: int
    search_calls: int | None  # None when no past request searched
    search_requests: int
    output_includes_reasoning: bool  # True when learned from rows that do not split them
    aggregate_rows: int = 0  # rows of many requests each, left out of the medians
    aggregate_requests: int = 0  # the requests those rows sum over

    def learned_from(self) -> str:
        """`learned from 4 requests in the store` (and what was left out, when anything)."""
        text = f"learned from {self.requests:,} requests in the store"
        if self.aggregate_rows:
            rows = "row" if self.aggregate_rows == 1 else "rows"
            text += (f" (skipped {self.aggregate_rows:,} aggregate {rows} of "
                     f"{self.aggregate_requests:,} requests: a bucket's tokens are a sum, "
                     "not one request's)")
        return text


# `one`: the row is one request (`request_count` = 1; {single} is TRUE for a store from
# before migration 004, where every row was one).
_QUERY = """
SELECT
    count(*) FILTER (WHERE one) AS n,
    count(*) FILTER (WHERE one AND reasoning_tokens IS NOT NULL) AS n_split,
    median(output_tokens::DOUBLE) FILTER (WHERE one AND reasoning_tokens IS NOT NULL) AS out_split,
    median(output_tokens::DOUBLE) FILTER (WHERE one) AS out_all,
    count(*) FILTER (WHERE one AND reasoning_tokens > 0) AS n_reasoning,
    median(reasoning_tokens::DOUBLE) FILTER (WHERE one AND reasoning_tokens > 0) AS reasoning,
    count(*) FILTER (WHERE one AND search_calls > 0) AS n_search,
    median(search_calls::DOUBLE) FILTER (WHERE one AND search_calls > 0) AS search,
    count(*) FILTER (WHERE NOT one) AS n_aggregate,
    coalesce(sum(requests) FILTER (WHERE NOT one), 0) AS aggregate_requests
FROM (SELECT *, {single} AS one, {count} AS requests FROM usage
      WHERE model IN ({placeholders})
        AND (output_tokens > 0 OR coalesce(reasoning_tokens, 0) > 0))
"""


def learn(con: duckdb.DuckDBPyConnection, names: Sequence[str]) -> History | None:
    """Medians of past usage of a model known by `names`, or None when there is none."""
    import duckdb

    if not names:
        return None
    try:
        counted = con.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'usage' AND column_name = 'request_count'"
        ).fetchone()
        if counted and counted[0]:
            single, count = "coalesce(request_count, 1) = 1", "request_count"
        else:
            single, count = "TRUE", "1"
        row = con.execute(
            _QUERY.format(placeholders=", ".join("?" for _ in names), single=single,
                          count=count), list(names)
        ).fetchone()
    except duckdb.CatalogException:
        return None  # no usage table: nothing ingested yet
    (n, n_split, out_split, out_all, n_reasoning, reasoning, n_search, search, n_aggregate,
     aggregate_requests) = row
    if not n:
        return None  # nothing per request (at most buckets): the defaults apply
    split = bool(n_split)
    return History(
        requests=int(n_split if split else n),
        output_tokens=_round(out_split if split else out_all),
        reasoning_tokens=_round(reasoning) if n_reasoning else None,
        reasoning_requests=int(n_reasoning),
        search_calls=_round(search) if n_search else None,
        search_requests=int(n_search),
        output_includes_reasoning=not split,
        aggregate_rows=int(n_aggregate),
        aggregate_requests=int(aggregate_requests),
    )


def _round(value: float | int) -> int:
    """Half up: a median of 2 and 3 tokens is 3 (a cost estimate errs upwards)."""
    return int(math.floor(float(value) + 0.5))


class HistorySource:
    """Learned history per model for one run, from the store at `db` (opened read-only once)."""

    def __init__(self, db: Path | str | None = None, enabled: bool = True):
        self.db = db
        self.enabled = enabled
        self.problem: str | None = None  # why history could not be read, for a warning
        self._con: duckdb.DuckDBPyConnection | None = None
        self._opened = False
        self._cache: dict[tuple[str, ...], History | None] = {}

    def for_model(self, names: Sequence[str]) -> History | None:
        if not self.enabled:
            return None
        key = tuple(sorted(set(names)))
        if key not in self._cache:
            con = self._connection()
            self._cache[key] = learn(con, key) if con is not None else None
        return self._cache[key]

    def _connection(self) -> duckdb.DuckDBPyConnection | None:
        if not self._opened:
            self._opened = True
            from costkit.store.connection import open_store

            try:
                self._con = open_store(self.db, read_only=True)
            except NoStoreError:
                if self.db is not None:
                    raise  # a store the user named (--db) must exist: a typo is an error
                # no store at the default path yet: nothing learned, the defaults apply
            except StoreError as exc:
                self.problem = f"usage history not read ({exc}); expected uses the defaults"
        return self._con

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> HistorySource:
        if self.enabled and self.db is not None:
            self._connection()  # a store the user named is checked before any request
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
