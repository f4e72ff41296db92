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
from costkit.pricing.book import Cost, PriceBook, Usage

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
        usage = Usage(
            input_tokens=int(row.get("input_tokens") or 0),
            cached_input_tokens=int(row.get("cached_input_tokens") or 0),
            cache_write_tokens=int(row.get("cache_write_tokens") or 0),
            output_tokens=int(row.get("output_tokens") or 0),
            reasoning_tokens=int(row.get("reasoning_tokens") or 0),
            search_calls=int(row.get("search_calls") or 0),
        )
        parts = [row.get(c) for c in ("input_cost", "cached_input_cost", "cache_write_cost",
                                      "output_cost", "reasoning_cost", "search_cost")]
        cost = None
        if all(p is not None for p in parts):
            cost = Cost(*(Decimal(p) for p in parts))
        requests = int(row.get("requests") or 0)
        if model in out:
            before = out[model]
            cost = None if cost is None or before.cost is None else _add_costs(before.cost, cost)
            out[model] = Logged(model, before.requests + requests, before.usage + usage, cost)
        else:
            out[model] = Logged(model, requests, usage, cost)
    return out


def _add_costs(a: Cost, b: Cost) -> Cost:
    return Cost(a.input + b.input, a.cached_input + b.cached_input, a.cache_write + b.cache_write,
                a.output + b.output, a.reasoning + b.reasoning, a.web_search + b.web_search,
                a.currency)


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
