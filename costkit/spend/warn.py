"""The warning a breakdown gives when some of its groups have null costs: which logged
models hold unpriced usage and how many requests (or that currencies mix).

On DuckDB the counts come folded into the breakdown's own query (a list per group, summed
here); an engine without that reads them with a query of its own.
"""

from __future__ import annotations

import warnings

import polars as pl

from costkit.core.components import COMPONENTS
from costkit.spend.costed import UNPRICED, Scope, costed_sql
from costkit.spend.engine import Engine


class UnpricedUsageWarning(UserWarning):
    """Some usage in a breakdown has no price: its groups' costs are null, its tokens kept."""


def unpriced_counts(column: pl.Series) -> list[tuple[str, int]]:
    """(logged model, unpriced requests) summed over the groups' folded lists, by model."""
    # Vectorised: a breakdown by key and user can have 100k groups, each with a list.
    entries = column.explode().drop_nulls().struct.unnest()
    if not entries.height:
        return []
    sums = entries.group_by("model").agg(pl.col("requests").sum()).sort("model")
    return [(str(model), int(n)) for model, n in sums.iter_rows()]


def warn_unpriced(engine: Engine, scope: Scope, result: pl.DataFrame,
                  folded: list[tuple[str, int]] | None = None) -> None:
    """Warn about `result`'s null costs: `folded` counts per model, or read them."""
    rows = folded if folded is not None else unpriced_query(engine, scope)
    groups = result["total_cost"].null_count()
    held = f"{groups} group{'s' if groups != 1 else ''}"
    if rows:
        parts = ", ".join(f"{model} ({n:,} request{'s' if n != 1 else ''})" for model, n in rows)
        message = (f"unpriced usage: {parts}; costs are null in the {held} holding it "
                   "(add a price card with --prices)")
    else:
        message = f"costs are null in the {held} that mix currencies, which cannot be summed"
    warnings.warn(UnpricedUsageWarning(message), stacklevel=3)


def unpriced_query(engine: Engine, scope: Scope) -> list[tuple[str, int]]:
    """Unpriced requests per logged model, read from the store (engines without `fold`)."""
    where, params = maybe_unpriced(engine, scope)
    return [(str(model), int(n)) for model, n in engine.rows(
        f"SELECT model, sum(request_count) FROM {costed_sql()} WHERE ({where}) AND {UNPRICED} "
        "GROUP BY model ORDER BY model",
        params,
    )]


def maybe_unpriced(engine: Engine, scope: Scope) -> tuple[str, list]:
    """`scope`'s WHERE clause, also leaving out the models that can never be unpriced.

    A name with a card for all time, every input size and every component always prices:
    its rows are left out before the join, which then sees only the rest.
    """
    where, params = scope.where()
    always = [row[0] for row in engine.rows(
        "SELECT DISTINCT name FROM price_rates WHERE effective_from IS NULL AND "
        "effective_to IS NULL AND above_input_tokens < 0 AND upto_input_tokens IS NULL"
        + "".join(f" AND {c.rate_column} IS NOT NULL" for c in COMPONENTS), [])]
    if always:
        where += f" AND model NOT IN ({', '.join('?' for _ in always)})"
        params = [*params, *always]
    return where, params
