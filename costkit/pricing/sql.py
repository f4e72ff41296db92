"""The arithmetic of `costkit.pricing.cost`, as DuckDB SQL over the store's costed rows.

- `register_prices` loads a price book into this connection's rate table (store.costed):
  one row per name a card answers to and per band of its tiers (`Card.bands`), each
  component's rate per token (or per call), so SQL never divides.
- `rate_join` matches a request to its row: name, the card's period (`Card.in_effect_sql`)
  and the input-token band (`Band.holds_sql`).
- `cost_expressions` prices one row (a request, or a row of summed tokens with rates), one
  column per component (core.components) and the total; `cost_sql` builds each one, also
  for the integer fast path of costkit.spend.costed.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

from costkit.core.components import COMPONENTS, TOTAL_COLUMN, Component
from costkit.core.usage import NULLABLE
from costkit.pricing.book import PriceBook
from costkit.pricing.cards import Band, Card
from costkit.store.costed import install_rates
from costkit.store.migrations import MONEY

Product = Callable[[str, str], str]  # (quantity SQL, rate column) -> their product in SQL


def register_prices(con: duckdb.DuckDBPyConnection, book: PriceBook) -> None:
    """(Re)create this connection's `price_rates` and `costed_usage` for `book`'s cards.

    The store's model names are resolved first (`PriceBook.learn`): a name that reaches a
    card by case, prefix, date suffix or the catalog gets its rows like an alias."""
    try:
        logged = [row[0] for row in con.execute("SELECT DISTINCT model FROM usage").fetchall()]
    except duckdb.CatalogException:  # a connection with no usage table: nothing to learn
        logged = []
    book.learn(logged)
    install_rates(con, rate_rows(book), rate_join("u.ts", "u.input_tokens", "u.model"))


def rate_rows(book: PriceBook) -> list[dict[str, object]]:
    """The rows of `price_rates` for `book`: per name, card and band, rates per unit."""
    rows: list[dict[str, object]] = []
    for card in book.cards:
        for band in card.bands:
            rates = {c.rate_column: _per_unit(c, band) for c in COMPONENTS}
            for name in book.names_of(card):
                rows.append({**_keys(card, band), "name": name, **rates})
    return rows


def rate_join(ts: str, input_tokens: str, model: str) -> str:
    """The join of a request to its `price_rates` row `r`: its name, period and tier band."""
    period = Card.in_effect_sql(ts, "r.effective_from", "r.effective_to")
    band = Band.holds_sql(input_tokens, "r.above_input_tokens", "r.upto_input_tokens")
    return f"r.name = {model} AND {period} AND {band}"


def quantity_sql(component: Component) -> str:
    """The component's quantity over a row's columns; an unreported count (NULL) is 0 here
    (reports say "search not reported" from the count itself)."""
    def column(name: str) -> str:
        return f"coalesce({name}, 0)" if name in NULLABLE else name

    return " - ".join(column(name) for name in (component.quantity, *component.less))


def cost_sql(component: Component, times: Product, zero: str) -> str:
    """A component's cost over a row with its rates: `times(quantity, rate column)`.

    NULL when the row is unpriced (NULL rates). A component a card may not offer (web
    search) prices no use as `zero` and any use as NULL (unpriced), never $0.
    """
    quantity = quantity_sql(component)
    product = times(quantity, component.rate_column)
    if component.offered_always:
        return product
    return (
        f"CASE WHEN card_id IS NULL THEN NULL WHEN {quantity} = 0 THEN {zero} "
        f"ELSE {product} END"
    )


def exact_product(quantity: str, rate: str) -> str:
    """Tokens times a per-token rate as DECIMAL(38,12): exact, as long as a card's per-1M
    rates have at most 6 decimal places (pricing.cards checks)."""
    return f"CAST(({quantity}) * {rate} AS {MONEY})"


def cost_expressions() -> dict[str, str]:
    """SQL for each cost column of ONE costed row, and `total_cost` (their sum)."""
    out = {c.cost_column: cost_sql(c, exact_product, f"0::{MONEY}") for c in COMPONENTS}
    out[TOTAL_COLUMN] = " + ".join(f"({sql})" for sql in out.values())
    return out


def _keys(card: Card, band: Band) -> dict[str, object]:
    return {
        "priced_model": card.model,
        "card_id": card.card_id,
        "currency": card.currency,
        "effective_from": card.effective_from,
        "effective_to": card.effective_to,
        "above_input_tokens": band.above,
        "upto_input_tokens": band.upto,
    }


def _per_unit(component: Component, band: Band) -> object:
    rate = band.rates.of(component)
    return None if rate is None else component.per_unit(rate)
