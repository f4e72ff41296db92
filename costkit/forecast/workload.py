"""A planned workload for a forecast: a JSONL of request bodies priced by the estimator
(`--workload FILE --per-day N`), added to every future day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from costkit.core.errors import InputError
from costkit.forecast.series import COMPONENTS, ZERO
from costkit.pricing.book import PriceBook


@dataclass(frozen=True)
class Workload:
    """A JSONL of request bodies priced by the estimator, at `per_day` requests a day."""

    path: str
    per_day: int
    requests: int                           # lines estimated
    skipped: int                            # bad lines (reported, not priced)
    first_error: str | None
    per_request: Decimal                    # expected cost of the mean request
    daily: dict[str, Decimal]               # component -> expected cost per day
    currency: str
    exact: bool                             # every prompt counted with its model's tokenizer

    @property
    def per_day_total(self) -> Decimal:
        return sum(self.daily.values(), ZERO)


def price_workload(path: Path, per_day: int, book: PriceBook, db: Path | None,
                   at: datetime) -> Workload:
    """Estimate every body in `path` (expected scenario) and scale the mean to `per_day`."""
    from costkit.estimator.batch import BatchEstimator, read_lines
    from costkit.estimator.history import HistorySource

    if per_day < 0:
        raise InputError(f"--per-day {per_day}: must be 0 or more requests a day")
    first_error = None
    with HistorySource(db) as history:
        batch = BatchEstimator(book=book, history=history, source=str(path), at=at)
        for result in batch.run(read_lines(path)):
            if result.error and first_error is None:
                first_error = result.error
        totals = batch.totals
    if totals.requests == 0:
        reason = f"; first: {first_error}" if first_error else ""
        raise InputError(f"{path}: no request could be estimated{reason}")
    expected = totals.expected
    sums = {"input": expected.input_cost, "output": expected.output_cost,
            "reasoning": expected.reasoning_cost, "web_search": expected.web_search_cost}
    daily = {c: sums.get(c, ZERO) * per_day / totals.requests for c in COMPONENTS}
    return Workload(
        path=str(path), per_day=per_day, requests=totals.requests, skipped=totals.bad_lines,
        first_error=first_error, per_request=expected.total_cost / totals.requests,
        daily=daily, currency=totals.currency, exact=totals.exact,
    )
