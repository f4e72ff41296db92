"""Price cards that take effect inside a forecast's horizon, applied from their date.

The model forecasts spend as the history was priced; a card that starts (or ends) on a future
day changes what the same usage will cost from that day on. For each such day, the last
`RECENT_DAYS` days of usage are priced twice by the store's own pricing (tiers, cache,
search calls, per request): once under the cards in effect when the forecast starts, once
under those in effect from the change. Each component's ratio of the two is what the change
does to that component's spend, and it multiplies the component's forecast from that day
on (a component the old cards priced at nothing, and the new ones do not, adds its recent
share of the spend instead). The usage mix is the recent one: a model whose share is
changing fast is repriced at its recent share.

A change applies from the first local day (in `--tz`) that starts at or after its instant.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np

from costkit.forecast.projection import SpendSimulation
from costkit.forecast.series import COMPONENTS, COST_COLUMNS, ZERO
from costkit.pricing.book import PriceBook
from costkit.pricing.cards import utc

RECENT_DAYS = 28

Key = tuple[str, ...]


@dataclass(frozen=True)
class PriceStep:
    """From horizon day `index` on, each component's spend is `ratio` times the forecast
    (or `share` of the whole day's, for a component the old cards did not charge)."""

    index: int
    day: date
    cards: tuple[str, ...]                      # the changes, told to people
    ratio: Mapping[str, float]
    share: Mapping[str, float]


def change_days(book: PriceBook, starts: Sequence[datetime]) -> dict[int, list[str]]:
    """Horizon day index -> the card changes that apply from it (`starts`: each horizon
    day's first instant, UTC). Day 0 is excluded: the history is already priced so."""
    out: dict[int, list[str]] = {}
    first, last = starts[0], starts[-1]
    starting = {(c.model, utc(c.effective_from)) for c in book.cards if c.effective_from}
    for card in book.cards:
        for instant, what in ((card.effective_from, "from"), (card.effective_to, "until")):
            if instant is None or not first < utc(instant) <= last:
                continue
            if what == "until" and (card.model, utc(instant)) in starting:
                continue                 # told as the next card's start
            when = utc(instant).isoformat().replace("+00:00", "Z")
            index = next(i for i, s in enumerate(starts) if s >= utc(instant))
            out.setdefault(index, []).append(
                f"the {card.model} card effective {when}" if what == "from"
                else f"no {card.model} card after {when}")
    return dict(sorted(out.items()))


def pinned_book(book: PriceBook, at: datetime) -> PriceBook:
    """The cards in effect at `at`, made to apply at every instant (no catalog below: the
    run's book has already learned every logged name)."""
    cards = [replace(c, effective_from=None, effective_to=None)
             for c in book.cards if c.in_effect(at)]
    return PriceBook(cards)


def component_sums(rows: Sequence[Mapping], dims: Sequence[str]) -> dict[Key, dict[str, Decimal]]:
    """Cost per component of spend rows, in total (key ()) and per group of `dims`."""
    out: dict[Key, dict[str, Decimal]] = {}
    for row in rows:
        if row.get("total_cost") is None:
            continue
        keys: list[Key] = [()]
        if dims:
            keys.append(tuple("(none)" if row[d] is None else str(row[d]) for d in dims))
        for key in keys:
            slot = out.setdefault(key, dict.fromkeys(COMPONENTS, ZERO))
            for c, column in COST_COLUMNS.items():
                slot[c] += Decimal(row.get(column) or 0)
    return out


def step_for(index: int, day: date, cards: Sequence[str], old: Mapping[str, Decimal] | None,
             new: Mapping[str, Decimal] | None) -> PriceStep:
    """One series' step from its recent spend under the old and the new cards."""
    old = old or dict.fromkeys(COMPONENTS, ZERO)
    new = new or dict.fromkeys(COMPONENTS, ZERO)
    old_total = sum(old.values(), ZERO)
    ratio, share = {}, {}
    for c in COMPONENTS:
        if old[c] > 0:
            ratio[c] = float(new[c] / old[c])
        else:
            ratio[c] = 0.0
            share[c] = float(new[c] / old_total) if old_total > 0 else 0.0
    return PriceStep(index, day, tuple(cards), ratio, share)


def apply_steps(sim: SpendSimulation, steps: Sequence[PriceStep]) -> SpendSimulation:
    """`sim` with each step's ratios applied from its day to the next step's."""
    if not steps:
        return sim
    h = len(sim.point)
    comp = {c: sim.components[c].copy() for c in COMPONENTS}
    for k, step in enumerate(steps):
        end = steps[k + 1].index if k + 1 < len(steps) else h
        span = slice(step.index, end)
        whole = sim.point[span]
        for c in COMPONENTS:
            comp[c][span] = sim.components[c][span] * step.ratio[c] \
                + whole * step.share.get(c, 0.0)
    point = np.sum([comp[c] for c in COMPONENTS], axis=0)
    factor = np.divide(point, sim.point, out=np.ones(h), where=sim.point > 0)
    paths = sim.paths * factor[None, :] if sim.paths.size else sim.paths
    notes = tuple(f"from {s.day.isoformat()}, " + "; ".join(s.cards) for s in steps)
    return replace(sim, point=point, paths=paths, components=comp,
                   notes=sim.notes + notes)


def day_starts(as_of: date, days: int, tz: str) -> list[datetime]:
    from costkit.core.timezones import local_instant

    return [local_instant(as_of + timedelta(days=i), tz) for i in range(days)]
