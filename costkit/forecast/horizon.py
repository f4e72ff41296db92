"""The horizon of a forecast: the calendar days from the as-of date to its end, split into
periods (calendar months for `eom` and `Nm`, the whole span for `Nd` or an end date)."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

from costkit.core.errors import InputError


@dataclass(frozen=True)
class Period:
    """A span of calendar days, both ends inclusive, e.g. a month ('2026-10')."""

    label: str
    start: date
    end: date


@dataclass(frozen=True)
class Horizon:
    """What the user asked to forecast: the days from `as_of` to `end`, and how to split them."""

    spec: str
    as_of: date
    end: date
    periods: tuple[Period, ...]
    monthly: bool = False

    @property
    def start(self) -> date:
        return self.periods[0].start

    @property
    def days(self) -> int:
        return (self.end - self.as_of).days + 1


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def parse_horizon(spec: str, as_of: date) -> Horizon:
    """`eom` (this month), `Nm` (this month and the next N-1), `Nd` (N days from as_of),
    or an end date YYYY-MM-DD (inclusive)."""
    text = spec.strip().lower()
    if text in ("eom", "month", "1m"):
        text = "1m"
    if m := re.fullmatch(r"(\d+)m", text):
        count = int(m.group(1))
        if not 1 <= count <= 36:
            raise InputError(f"--horizon {spec!r}: months must be 1..36")
        periods = []
        for i in range(count):
            first = _add_months(as_of.replace(day=1), i)
            periods.append(Period(first.strftime("%Y-%m"), first, month_end(first)))
        label = "eom" if count == 1 else f"{count}m"
        return Horizon(label, as_of, periods[-1].end, tuple(periods), monthly=True)
    if m := re.fullmatch(r"(\d+)d", text):
        count = int(m.group(1))
        if not 1 <= count <= 1100:
            raise InputError(f"--horizon {spec!r}: days must be 1..1100")
        end = as_of + timedelta(days=count - 1)
        return Horizon(f"{count}d", as_of, end,
                       (Period(f"{as_of.isoformat()}..{end.isoformat()}", as_of, end),))
    try:
        end = date.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"--horizon {spec!r}: use eom, a number of months (3m), of days (90d) "
            f"or an end date (YYYY-MM-DD)"
        ) from None
    if end < as_of:
        raise InputError(f"--horizon {spec}: the end date is before the as-of date {as_of}")
    if (end - as_of).days >= 1100:
        raise InputError(f"--horizon {spec!r}: at most 1100 days ahead")
    return Horizon(end.isoformat(), as_of, end,
                   (Period(f"{as_of.isoformat()}..{end.isoformat()}", as_of, end),))
