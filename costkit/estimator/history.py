"""What past requests of a model produced, learned from the usage store for `expected` estimates.

`learn(con, names)` reads the store's `usage` table with plain SELECTs: the median visible
output of past requests of the model (under any of its names), the median reasoning of those
that reasoned, and the median search calls of those that searched. Requests that produced
nothing (failed calls) are left out. Rows whose reasoning count is unknown (NULL: the source
billed it inside output) give their output only when no row splits the two.
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


_QUERY = """
SELECT
    count(*) AS n,
    count(*) FILTER (WHERE reasoning_tokens IS NOT NULL) AS n_split,
    median(output_tokens::DOUBLE) FILTER (WHERE reasoning_tokens IS NOT NULL) AS out_split,
    median(output_tokens::DOUBLE) AS out_all,
    count(*) FILTER (WHERE reasoning_tokens > 0) AS n_reasoning,
    median(reasoning_tokens::DOUBLE) FILTER (WHERE reasoning_tokens > 0) AS reasoning,
    count(*) FILTER (WHERE search_calls > 0) AS n_search,
    median(search_calls::DOUBLE) FILTER (WHERE search_calls > 0) AS search
FROM usage
WHERE model IN ({placeholders})
  AND (output_tokens > 0 OR coalesce(reasoning_tokens, 0) > 0)
"""


def learn(con: duckdb.DuckDBPyConnection, names: Sequence[str]) -> History | None:
    """Medians of past usage of a model known by `names`, or None when there is none."""
    import duckdb

    if not names:
        return None
    try:
        row = con.execute(
            _QUERY.format(placeholders=", ".join("?" for _ in names)), list(names)
        ).fetchone()
    except duckdb.CatalogException:
        return None  # no usage table: nothing ingested yet
    n, n_split, out_split, out_all, n_reasoning, reasoning, n_search, search = row
    if not n:
        return None
    split = bool(n_split)
    return History(
        requests=int(n_split if split else n),
        output_tokens=_round(out_split if split else out_all),
        reasoning_tokens=_round(reasoning) if n_reasoning else None,
        reasoning_requests=int(n_reasoning),
        search_calls=_round(search) if n_search else None,
        search_requests=int(n_search),
        output_includes_reasoning=not split,
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
