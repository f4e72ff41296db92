"""Rollups of breakdown rows for the monthly page: per key or in total, priced and unpriced
kept apart, the top N plus "other", and every calendar day of the month.

Pure polars over `costkit.spend.breakdown` rows, so the page's sums are the CLI's rows added up.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from decimal import Decimal

import polars as pl

from costkit.spend import breakdown


def main_currency(frame: pl.DataFrame) -> str | None:
    """The currency the page reports in: the one most priced rows are in (None if none)."""
    counts = (frame.filter(pl.col("currency").is_not_null())
              .group_by("currency").agg(pl.col("requests").sum())
              .sort(["requests", "currency"], descending=[True, False]))
    return counts["currency"][0] if counts.height else None


def rollup(frame: pl.DataFrame, key: str | None, currency: str | None) -> pl.DataFrame:
    """Sum breakdown rows per `key` (None: one row), keeping priced and unpriced apart.

    Requests and tokens count all usage; the costs sum the rows priced in `currency` only,
    and `unpriced_requests` counts the rest (a row is unpriced when the breakdown gave it a
    null cost, or priced it in another currency). Costs are null when nothing was priced.
    """
    priced = pl.col("total_cost").is_not_null() & (pl.col("currency") == pl.lit(currency))
    # Token sums stay DECIMAL(38,0) as the breakdown gives them: 64 bits can overflow.
    aggs = [pl.col(c).sum().cast(pl.Int64) if c == "requests" else pl.col(c).sum()
            for c in breakdown.REQUEST_COLUMNS]
    aggs += [pl.col(c).filter(priced).sum() for c in breakdown.COST_COLUMNS]
    aggs.append(pl.col("requests").filter(~priced.fill_null(False)).sum().cast(pl.Int64)
                .alias("unpriced_requests"))
    if key is None:
        out = frame.select(aggs) if frame.height else frame.head(0).select(aggs)
    else:
        out = frame.group_by(key, maintain_order=True).agg(aggs)
    nothing_priced = pl.col("requests") == pl.col("unpriced_requests")
    return out.with_columns(
        [pl.when(nothing_priced).then(None).otherwise(pl.col(c)).alias(c)
         for c in breakdown.COST_COLUMNS]
    ).with_columns(currency=pl.lit(currency, dtype=pl.Utf8))


def top_with_other(frame: pl.DataFrame, key: str, n: int, noun: str = "rows") -> pl.DataFrame:
    """The first `n` rows of a ranked rollup, the rest summed into one "other" row.

    Adds `keys`: how many keys a row stands for (1, or how many were folded). The other
    row's key reads e.g. "other (14 API keys)"; its costs sum its priced part, like every
    row of a rollup.
    """
    frame = frame.with_columns(keys=pl.lit(1, dtype=pl.Int64))
    if frame.height <= n + 1:
        return frame
    head, rest = frame.head(n), frame.slice(n)
    row: dict = {key: f"other ({rest.height} {noun})", "keys": rest.height}
    for column in (*breakdown.REQUEST_COLUMNS, "unpriced_requests"):
        row[column] = int(rest[column].sum())
    for column in breakdown.COST_COLUMNS:
        values = [v for v in rest[column].to_list() if v is not None]
        row[column] = sum(values, Decimal(0)) if values else None
    row["currency"] = rest["currency"][0]
    other = pl.DataFrame([row], schema=frame.schema)
    return pl.concat([head, other])


def ranked(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """Most spend first (wholly unpriced rows last, by requests), ties by name."""
    return frame.sort(
        ["total_cost", "requests", key], descending=[True, True, False], nulls_last=True
    )


def every_day(daily: pl.DataFrame, month: date, covered: int) -> pl.DataFrame:
    """One row per calendar day of the month. A day without usage has zero tokens and cost;
    a day after the first `covered` has no data at all: its costs are null, never $0."""
    days = [month + timedelta(days=i)
            for i in range(calendar.monthrange(month.year, month.month)[1])]
    calendar_frame = pl.DataFrame({"day": [f"{d:%Y-%m-%d}" for d in days],
                                   "covered": [i < covered for i in range(len(days))]})
    joined = calendar_frame.join(daily, on="day", how="left")
    absent = joined["requests"].is_null()
    fills = [pl.col(c).fill_null(0) for c in (*breakdown.REQUEST_COLUMNS, "unpriced_requests")]
    fills += [
        pl.when(absent & pl.col("covered")).then(pl.lit(Decimal(0), dtype=joined.schema[c]))
        .otherwise(pl.col(c)).alias(c)
        for c in breakdown.COST_COLUMNS
    ]
    return joined.with_columns(fills).with_columns(has_usage=~absent)
