"""Per connection: the rate table of this run's price cards, and the costed view over usage.

The store holds token counts, never costs: a cost comes from joining each request to the
rates of the price card in effect at its time, so a corrected card reprices history and
each request keeps its own period's rates. The store knows the shape of that table, not
price cards: the rows and the join condition come from `costkit.pricing.sql`.

Both objects are TEMP (this connection only), made again for each run's price book:
- `price_rates`: one row per (name, card, input-token band); rates per token or call,
  DECIMAL(38,12) (exact for every valid card), one column per cost component.
- `costed_usage`: every `usage` row with its rate row's columns (NULL when unpriced).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from decimal import Decimal

import duckdb

from costkit.core.components import RATE_COLUMNS
from costkit.store.migrations import MONEY

PER_UNIT = MONEY  # exact: per-1M rates have at most 6 places (pricing.cards checks)
KEY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "VARCHAR"),  # a name the model is logged under (the card's model or an alias)
    ("priced_model", "VARCHAR"),
    ("card_id", "VARCHAR"),
    ("currency", "VARCHAR"),
    ("effective_from", "TIMESTAMPTZ"),
    ("effective_to", "TIMESTAMPTZ"),
    ("above_input_tokens", "BIGINT"),
    ("upto_input_tokens", "BIGINT"),
)
PRICE_RATE_COLUMNS: tuple[tuple[str, str], ...] = (
    *KEY_COLUMNS,
    *((column, PER_UNIT) for column in RATE_COLUMNS),
)
# What a costed row adds to its usage row.
JOINED_COLUMNS: tuple[str, ...] = ("priced_model", "card_id", "currency", *RATE_COLUMNS)
# What each connection was last given (the join and the rows): every spend query installs
# its book's rates first, a monthly report runs a dozen with one book, and making the same
# table and view again cost 10-25 ms each time. Weak: a closed connection drops out.
_INSTALLED: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, tuple[object, ...]] = (
    weakref.WeakKeyDictionary())


def install_rates(
    con: duckdb.DuckDBPyConnection, rows: Iterable[Mapping[str, object]], join: str
) -> None:
    """(Re)create `price_rates` holding `rows` and `costed_usage` joining usage `u` to rate
    row `r` where `join` holds."""
    values = [[_bindable(row[name]) for name, _ in PRICE_RATE_COLUMNS] for row in rows]
    given = (join, *(tuple(v) for v in values))
    if _INSTALLED.get(con) == given and _still_there(con):
        return
    columns = ", ".join(f"{name} {kind}" for name, kind in PRICE_RATE_COLUMNS)
    con.execute(f"CREATE OR REPLACE TEMP TABLE price_rates ({columns})")
    if values:
        placeholders = ", ".join("?" for _ in PRICE_RATE_COLUMNS)
        con.executemany(f"INSERT INTO price_rates VALUES ({placeholders})", values)
    con.execute(f"CREATE OR REPLACE TEMP VIEW costed_usage AS {costed_select('price_rates', join)}")
    _INSTALLED[con] = given


def _still_there(con: duckdb.DuckDBPyConnection) -> bool:
    """Both temp objects exist (a rolled-back transaction would have taken them along)."""
    found = con.execute(
        "SELECT (SELECT count(*) FROM duckdb_tables() WHERE temporary "
        "AND table_name = 'price_rates') + (SELECT count(*) FROM duckdb_views() "
        "WHERE temporary AND view_name = 'costed_usage')").fetchall()
    return bool(found[0][0] == 2)  # fetchall: a result left unread would block con.sql


def costed_select(rates: str, join: str, usage: str = "usage") -> str:
    """Usage rows `u` (of `usage`, or a relation shaped like it) joined to their row `r` of
    `rates` (a relation shaped as price_rates)."""
    columns = ", ".join(f"r.{c}" for c in JOINED_COLUMNS)
    return f"SELECT u.*, {columns} FROM {usage} u LEFT JOIN {rates} r ON {join}"


def _bindable(value: object) -> object:
    # A Decimal goes in as text: DuckDB reads it into the column's DECIMAL exactly, whatever
    # the Decimal's own width.
    return str(value) if isinstance(value, Decimal) else value
