"""What changed from one month to the next: the change in spend per project, API key, model
and cost component, largest first, each with the component that drove it and how much more
(or less) of its quantity was used.

Pure polars and Decimal over two `costkit.spend.breakdown` frames grouped by project, API
key, endpoint and model (the month, and the previous month's compared days), summed with
the page's own `rollup`, so every amount is a sum of exact breakdown rows. Which days are
compared is the headline's decision (`costkit.report.headline.same_days`), made once.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import polars as pl

from costkit.core.components import COMPONENTS, Component
from costkit.report.data import NONE_LABEL, Change, Variance
from costkit.report.rollups import rollup

# The dimensions a change is explained by, in the section's order (components last: every
# group's sentence already names its own).
DIMENSIONS = ("project", "api_key", "model")


def month_variance(before: pl.DataFrame, after: pl.DataFrame, currency: str | None,
                   since: date, until: date, compared_days: int | None) -> Variance:
    """Changes per project, API key, model and component between two breakdown frames
    (each grouped by at least project, api_key and model)."""
    totals = [rollup(frame, None, currency) for frame in (before, after)]
    total_before, total_after = (_row(t) for t in totals)
    by = {dim: _changes(dim, rollup(before, dim, currency), rollup(after, dim, currency))
          for dim in DIMENSIONS}
    by["component"] = _component_changes(total_before, total_after)
    b, a = _cost(total_before), _cost(total_after)
    return Variance(since=since, until=until, compared_days=compared_days, before=b, after=a,
                    change=None if a is None or b is None else a - b, by=by)


def _changes(dim: str, before: pl.DataFrame, after: pl.DataFrame) -> list[Change]:
    rows_before = {_key(r[dim]): r for r in before.iter_rows(named=True)}
    rows_after = {_key(r[dim]): r for r in after.iter_rows(named=True)}
    changes = []
    for key in sorted(rows_before.keys() | rows_after.keys()):
        b, a = rows_before.get(key), rows_after.get(key)
        status = "new" if b is None else "gone" if a is None else ""
        changes.append(_change(dim, key, b, a, status))
    return _largest_first(changes)


def _change(dim: str, key: str, b: dict | None, a: dict | None, status: str) -> Change:
    """One group's change; a side without usage spent exactly nothing (a side with usage
    and no price is unpriced, never $0)."""
    cost_b, cost_a = _cost(b), _cost(a)
    change = None if cost_b is None or cost_a is None else cost_a - cost_b
    moved = [(c, _component(a, c) - _component(b, c)) for c in COMPONENTS
             if _component(a, c) is not None and _component(b, c) is not None]
    driver, driver_change = max(moved, key=lambda m: (abs(m[1]), -COMPONENTS.index(m[0])),
                                default=(None, None))
    if driver_change == 0:
        driver, driver_change = None, None
    quantity = 0 if driver is None else _quantity(a, driver) - _quantity(b, driver)
    unpriced = any(r is not None and r["unpriced_requests"] for r in (b, a))
    return Change(dim=dim, key=key, before=cost_b, after=cost_a, change=change, status=status,
                  requests=_requests(a) - _requests(b), driver=driver,
                  driver_change=driver_change, quantity=quantity, unpriced=unpriced)


def _component_changes(b: dict | None, a: dict | None) -> list[Change]:
    changes = []
    for component in COMPONENTS:
        before, after = _component(b, component), _component(a, component)
        change = None if before is None or after is None else after - before
        quantity = _quantity(a, component) - _quantity(b, component)
        if change == 0 and quantity == 0:
            continue  # a component neither month used says nothing
        changes.append(Change(
            dim="component", key=component.label, before=before, after=after, change=change,
            status="", requests=0, driver=component, driver_change=change, quantity=quantity))
    return _largest_first(changes)


def _largest_first(changes: list[Change]) -> list[Change]:
    """Largest absolute change first; unpriced changes (unknown size) last; ties by name."""
    return sorted(changes, key=lambda c: (c.change is None,
                                          -abs(c.change) if c.change is not None else 0, c.key))


def _row(frame: pl.DataFrame) -> dict | None:
    return frame.row(0, named=True) if frame.height and frame["requests"][0] else None


def _key(value: object) -> str:
    return NONE_LABEL if value is None else str(value)


def _cost(row: dict | None) -> Decimal | None:
    return Decimal(0) if row is None else row["total_cost"]


def _component(row: dict | None, component: Component) -> Decimal | None:
    return Decimal(0) if row is None else row[component.cost_column]


def _quantity(row: dict | None, component: Component) -> int:
    if row is None:
        return 0
    return component.quantity_of({k: int(v or 0) for k, v in row.items()
                                  if k.endswith("_tokens") or k == "search_calls"})


def _requests(row: dict | None) -> int:
    return 0 if row is None else int(row["requests"])


