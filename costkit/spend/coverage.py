"""Where the store's usage ends, and what that means for a month or a forecast.

A store only knows what was ingested: when ingestion stops, the days after the newest
record look exactly like days without spend. So the report and the forecast ask this
module how far the data reaches, and say so, instead of reading missing days as $0:
a month is complete only when its usage reaches the month's last day, and a forecast's
history is stale when its newest usage is older than a threshold (`--stale-after`).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import duckdb

from costkit.core.errors import InputError
from costkit.core.timezones import zone

# How old the newest usage may be before a forecast (or a running month's projection)
# says its history is stale: a day of ingest delay is normal, two are not.
STALE_AFTER = timedelta(days=2)
_DURATION = re.compile(r"^(\d+)\s*([dh])$")


def usage_span(con: duckdb.DuckDBPyConnection,
               before: datetime | None = None) -> tuple[datetime, datetime] | None:
    """(oldest, newest) usage instant in the store, of usage before `before` if given."""
    if before is None:
        row = con.execute("SELECT min(ts), max(ts) FROM usage").fetchone()
    else:
        row = con.execute("SELECT min(ts), max(ts) FROM usage WHERE ts < $before",
                          {"before": before}).fetchone()
    return None if row is None or row[1] is None else (row[0], row[1])


# --- a month -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MonthCoverage:
    """How much of a month (local to `tz`) the store's usage covers.

    Days are the unit: days 1..`covered` have data (the last of them possibly only up to
    `data_end`), the rest of the month has none. A month is complete when it is over and
    its usage reaches its last day.
    """

    month: date                 # the first day
    days: int                   # days in the month
    covered: int                # days from the 1st through the newest usage's day (0..days)
    data_start: datetime        # oldest usage in the store (UTC)
    data_end: datetime          # newest usage in the store (UTC)
    over: bool                  # the month had ended when asked
    stale: bool                 # the newest usage is older than STALE_AFTER at that time

    @property
    def complete(self) -> bool:
        return self.over and self.covered == self.days

    @property
    def missing(self) -> int:
        """Days of the month after the data ends (for a month not over: up to today)."""
        return self.days - self.covered

    def last_covered(self) -> date:
        return self.month + timedelta(days=self.covered - 1)


def month_coverage(month: date, tz: str, now: datetime, data_start: datetime,
                   data_end: datetime, end: datetime,
                   stale_after: timedelta = STALE_AFTER) -> MonthCoverage:
    """The coverage of `month` [its first day, `end`) by usage from `data_start` to
    `data_end`, as seen at `now`. In a month not over, days after today are not counted as
    covered even when the store holds (oddly dated) usage for them."""
    local = zone(tz)
    days = calendar.monthrange(month.year, month.month)[1]
    last = data_end.astimezone(local).date()
    over = now >= end
    if not over:
        last = min(last, now.astimezone(local).date())
    covered = max(0, min(days, (last - month).days + 1))
    return MonthCoverage(month=month, days=days, covered=covered, data_start=data_start,
                         data_end=data_end, over=over,
                         stale=now - data_end > stale_after)


# --- a forecast's history ----------------------------------------------------------------------

@dataclass(frozen=True)
class Freshness:
    """How old the newest usage is at `checked_at` (the forecast's as-of instant)."""

    newest: datetime | None      # newest usage before checked_at (None: there is none)
    checked_at: datetime
    stale_after: timedelta

    @property
    def age(self) -> timedelta | None:
        return None if self.newest is None else self.checked_at - self.newest

    @property
    def stale(self) -> bool:
        age = self.age
        return age is None or age > self.stale_after

    def as_dict(self) -> dict:
        return {"newest_usage": self.newest, "checked_at": self.checked_at,
                "stale_after": duration_spec(self.stale_after), "stale": self.stale}


def freshness(con: duckdb.DuckDBPyConnection, checked_at: datetime,
              stale_after: timedelta = STALE_AFTER) -> Freshness:
    """The newest usage before `checked_at` and whether it is older than `stale_after`."""
    span = usage_span(con, before=checked_at)
    return Freshness(span[1] if span else None, checked_at, stale_after)


def parse_stale_after(text: str) -> timedelta:
    """'2d' or '36h' -> timedelta. A bare number is refused: days or hours would be a guess."""
    raw = text.strip().lower()
    match = _DURATION.match(raw)
    if not match:
        hint = (f"; a bare number is ambiguous, write {raw}d (days) or {raw}h (hours)"
                if raw.isdigit() else "")
        raise InputError(f"--stale-after {text!r}: expected a duration such as 2d or 36h{hint}")
    amount = int(match.group(1))
    if amount <= 0:
        raise InputError(f"--stale-after {text!r}: must be more than zero")
    return timedelta(days=amount) if match.group(2) == "d" else timedelta(hours=amount)


def duration_spec(span: timedelta) -> str:
    """A threshold as the option writes it: 2d, 36h."""
    hours = int(span.total_seconds() // 3600)
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


def describe_age(span: timedelta) -> str:
    """An age for people, to the hour (to the minute under an hour): '8 days 21 hours'."""
    minutes = int(span.total_seconds() // 60)
    if minutes < 60:
        return _plural(minutes, "minute")
    days, hours = divmod(minutes // 60, 24)
    parts = ([_plural(days, "day")] if days else []) + ([_plural(hours, "hour")] if hours else [])
    return " ".join(parts)


def _plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'' if n == 1 else 's'}"
