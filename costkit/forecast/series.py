"""The daily spend series a forecast reads: exact costs per component and day.

Pure: built from breakdown rows (`day` plus cost columns), never from the store itself
(`costkit.forecast.history` reads the store).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from costkit.core import components as cost_components

COMPONENTS = cost_components.NAMES
# The breakdown's cost column for each component.
COST_COLUMNS = {c.name: c.cost_column for c in cost_components.COMPONENTS}
ZERO = Decimal(0)


@dataclass(frozen=True)
class DailyHistory:
    """Exact daily costs per component for consecutive days ending the day before `as_of`.

    Days without usage are zeros; the series starts at the first day with any.
    """

    days: tuple[date, ...]
    components: Mapping[str, tuple[Decimal, ...]]   # component -> one cost per day
    requests: int = 0

    @property
    def total(self) -> tuple[Decimal, ...]:
        cols = [self.components[c] for c in COMPONENTS]
        return tuple(sum(day, ZERO) for day in zip(*cols, strict=True)) if self.days else ()

    @property
    def spend_days(self) -> int:
        return sum(1 for value in self.total if value > 0)


def daily_history(rows: Iterable[Mapping], as_of: date) -> DailyHistory:
    """Build the zero-filled daily history from breakdown rows (`day` plus cost columns).

    Rows on or after `as_of` are ignored; so are unpriced rows (null `total_cost`).
    """
    sums: dict[date, dict[str, Decimal]] = {}
    requests = 0
    for row in rows:
        day = row["day"]
        day = date.fromisoformat(day) if isinstance(day, str) else day
        if day >= as_of or row.get("total_cost") is None:
            continue
        requests += int(row.get("requests") or 0)
        slot = sums.setdefault(day, dict.fromkeys(COMPONENTS, ZERO))
        for component, column in COST_COLUMNS.items():
            slot[component] += Decimal(row.get(column) or 0)
    if not sums:
        return DailyHistory((), {c: () for c in COMPONENTS}, 0)
    first = min(sums)
    days = tuple(first + timedelta(days=i) for i in range((as_of - first).days))
    empty = dict.fromkeys(COMPONENTS, ZERO)
    components = {c: tuple(sums.get(d, empty)[c] for d in days) for c in COMPONENTS}
    return DailyHistory(days, components, requests)
