"""What the store says was used, for an invoice audit: one model's token sums over a period
and their exact cost (`Logged`, from `costkit.spend.breakdown.spend(by=["model"])` rows), and
the quantity of each invoice charge in them, folding in what an invoice bills inside another
charge (reasoning inside output, cached and cache-write tokens inside input).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costkit.audit.findings import match_model
from costkit.core.components import COMPONENTS
from costkit.core.usage import COUNT_COLUMNS, Usage
from costkit.pricing.book import PriceBook
from costkit.pricing.cost import Cost

COST_OF = {
    "input_tokens": "input", "cached_input_tokens": "cached_input",
    "cache_write_tokens": "cache_write", "output_tokens": "output",
    "reasoning_tokens": "reasoning", "web_search_calls": "web_search",
}
# A charge with no line of its own is billed inside this one.
FOLDS_INTO = {
    "cached_input_tokens": "input_tokens",
    "cache_write_tokens": "input_tokens",
    "reasoning_tokens": "output_tokens",
}


# --- logged usage (what the store says was used) ---------------------------------------------

@dataclass(frozen=True)
class Logged:
    """One model's logged usage over a period: token sums and their exact cost (None when
    the model, or part of its usage, has no card)."""

    model: str
    requests: int
    usage: Usage
    cost: Cost | None


def logged_from_rows(rows: Iterable[Mapping[str, Any]], book: PriceBook) -> dict[str, Logged]:
    """Rows of `breakdown.spend(by=["model"])` keyed by the card model each prices as."""
    out: dict[str, Logged] = {}
    for row in rows:
        model = match_model(str(row["model"]), book) or str(row["model"])
        usage = Usage(**{column: int(row.get(column) or 0) for column in COUNT_COLUMNS})
        parts = {c.name: row.get(c.cost_column) for c in COMPONENTS}
        cost = None
        if all(p is not None for p in parts.values()):
            cost = Cost(**{name: Decimal(p) for name, p in parts.items()})
        requests = int(row.get("requests") or 0)
        if model in out:
            before = out[model]
            cost = None if cost is None or before.cost is None else _add_costs(before.cost, cost)
            out[model] = Logged(model, before.requests + requests, before.usage + usage, cost)
        else:
            out[model] = Logged(model, requests, usage, cost)
    return out


def _add_costs(a: Cost, b: Cost) -> Cost:
    return Cost(**{c.name: a.of(c) + b.of(c) for c in COMPONENTS}, currency=a.currency)


def logged_quantity(
    logged: Logged | None, charge: str, billed: set[str]
) -> tuple[Decimal, Decimal | None]:
    """Tokens or calls of `charge` and their exact cost, folding in what has no line."""
    if logged is None:
        return Decimal(0), Decimal(0)
    u, c = logged.usage, logged.cost
    quantity = {
        "input_tokens": u.uncached_input_tokens, "cached_input_tokens": u.cached_input_tokens,
        "cache_write_tokens": u.cache_write_tokens, "output_tokens": u.output_tokens,
        "reasoning_tokens": u.reasoning_tokens, "web_search_calls": u.search_calls,
    }
    total = Decimal(quantity[charge])
    cost = None if c is None else getattr(c, COST_OF[charge])
    for folded, into in FOLDS_INTO.items():
        if into == charge and folded not in billed:
            total += quantity[folded]
            if cost is not None:
                cost += getattr(c, COST_OF[folded])
    return total, cost


def require_usage(con: Any, path: object) -> None:
    """InputError when the store holds no usage: every charge of `path` would then read as
    unlogged, and the store, not the document, is what is wrong."""
    from costkit.core.errors import InputError
    from costkit.store.connection import file_of, held_requests

    if not held_requests(con):
        raise InputError(f"{file_of(con)}: the store holds no usage, so there is nothing "
                         f"to check {path} against; ingest the logs of its period first "
                         "(costkit ingest PATH)")
