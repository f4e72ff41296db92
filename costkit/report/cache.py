"""What prompt caching saved: per model whose card bills cached input below its input rate,
the cached tokens at the input rate minus what they cost. A card that bills cached input at
the full rate (deepseek-v3-2's built-in card) saves nothing, so its model is not listed and
the page shows no cache figure for it: a hit rate there would suggest a saving that is not.
"""

from __future__ import annotations

import polars as pl

from costkit.core.components import INPUT
from costkit.pricing.cards import Card
from costkit.pricing.cost import component_cost
from costkit.report.data import CacheSaving


def discounts_cache(card: Card) -> bool:
    """The card (or one of its tiers) bills cached input below the input rate."""
    rates = [card.rates, *(tier.rates for tier in card.tiers)]
    return any(r.cached_input is not None and r.input is not None and r.cached_input < r.input
               for r in rates)


def cache_savings(by_model: pl.DataFrame, cards: list[Card]) -> list[CacheSaving]:
    """One entry per model of `by_model` (a rollup per model) with cached tokens and a
    discounting card in effect. The saving is priced with `pricing.cost.component_cost`
    when one card without tiers priced the whole month; otherwise `why_not` says why not."""
    out = []
    for row in by_model.iter_rows(named=True):
        cached = int(row["cached_input_tokens"] or 0)
        own = [c for c in cards if c.model == row["model"]]
        if not cached or not any(discounts_cache(c) for c in own):
            continue
        cost = row["cached_input_cost"]
        if cost is None or row["unpriced_requests"]:
            why = "some of its usage is unpriced"
        elif len(own) > 1:
            why = "its price card changed during the month"
        elif own[0].tiers:
            why = "its card prices input in tiers by prompt length"
        else:
            why = ""
        saved = None
        if not why:
            # The one multiplication per component, by the pricing module: what the cached
            # tokens would have cost as plain input, less what they did cost.
            saved = component_cost(INPUT, cached, own[0].rates) - cost
        out.append(CacheSaving(model=str(row["model"]), cached_tokens=cached, cost=cost,
                               saved=saved, why_not=why))
    return out
