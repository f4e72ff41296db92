"""costkit.spend.coverage: how far a month is covered, how old the newest usage is, the threshold
option. Every expected value is worked out by hand in the test."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from costkit.core.errors import InputError
from costkit.spend.coverage import (
    Freshness,
    describe_age,
    duration_spec,
    month_coverage,
    parse_stale_after,
)

NOV = date(2026, 11, 1)
NOV_END = datetime(2026, 12, 1, tzinfo=UTC)
START = datetime(2026, 9, 1, tzinfo=UTC)


def nov(data_end: datetime, now: datetime, tz: str = "UTC", end: datetime = NOV_END):
    return month_coverage(NOV, tz, now, START, data_end, end)


# --- a month -----------------------------------------------------------------------------------

def test_data_reaching_the_last_day_covers_a_month_that_is_over():
    cov = nov(datetime(2026, 11, 30, 0, 10, tzinfo=UTC), datetime(2026, 12, 3, tzinfo=UTC))
    assert (cov.days, cov.covered, cov.missing) == (30, 30, 0)
    assert cov.over and cov.complete


def test_data_stopping_on_the_24th_leaves_six_days():
    cov = nov(datetime(2026, 11, 24, 23, 59, tzinfo=UTC), datetime(2026, 12, 3, tzinfo=UTC))
    assert (cov.covered, cov.missing) == (24, 6)
    assert cov.over and not cov.complete
    assert cov.last_covered() == date(2026, 11, 24)


def test_data_past_the_month_covers_it_and_data_before_it_covers_nothing():
    assert nov(datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC)).covered == 30
    assert nov(datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
               datetime(2026, 12, 3, tzinfo=UTC)).covered == 0


def test_a_month_not_over_is_covered_up_to_today_at_most():
    # Usage dated after now (a clock set back, a skewed log) does not cover the future.
    cov = nov(datetime(2026, 11, 20, tzinfo=UTC), datetime(2026, 11, 10, 8, tzinfo=UTC))
    assert not cov.over and not cov.complete
    assert cov.covered == 10


def test_the_newest_usage_day_is_local():
    # 2026-11-24 18:30 UTC is 2026-11-25 03:30 in Tokyo and 2026-11-24 13:30 in New York.
    when = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)
    after = datetime(2026, 12, 5, tzinfo=UTC)
    assert nov(when, after, "Asia/Tokyo").covered == 25
    assert nov(when, after, "America/New_York").covered == 24


def test_staleness_is_measured_from_now():
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert not nov(now - timedelta(days=2), now).stale          # exactly two days: not yet
    assert nov(now - timedelta(days=2, seconds=1), now).stale


# --- freshness of a forecast's history -----------------------------------------------------------

def test_freshness_is_stale_only_beyond_the_threshold():
    at = datetime(2026, 12, 3, 9, tzinfo=UTC)
    two_days = timedelta(days=2)
    assert not Freshness(at - two_days, at, two_days).stale
    assert Freshness(at - two_days - timedelta(minutes=1), at, two_days).stale
    assert Freshness(None, at, two_days).stale and Freshness(None, at, two_days).age is None
    fresh = Freshness(datetime(2026, 11, 24, 12, tzinfo=UTC), at, two_days)
    assert fresh.age == timedelta(days=8, hours=21)
    assert fresh.as_dict() == {"newest_usage": datetime(2026, 11, 24, 12, tzinfo=UTC),
                               "checked_at": at, "stale_after": "2d", "stale": True}


@pytest.mark.parametrize("text, span", [
    ("2d", timedelta(days=2)), ("36h", timedelta(hours=36)), (" 3D ", timedelta(days=3)),
    ("1h", timedelta(hours=1)), ("14 d", timedelta(days=14)),
])
def test_stale_after_values(text, span):
    assert parse_stale_after(text) == span


@pytest.mark.parametrize("text, message", [
    ("2", "--stale-after '2': expected a duration such as 2d or 36h; a bare number is "
          "ambiguous, write 2d (days) or 2h (hours)"),
    ("0h", "--stale-after '0h': must be more than zero"),
    ("-1d", "--stale-after '-1d': expected a duration such as 2d or 36h"),
    ("1.5d", "expected a duration"), ("2 days", "expected a duration"), ("", "expected a"),
])
def test_bad_stale_after_values(text, message):
    with pytest.raises(InputError) as caught:
        parse_stale_after(text)
    assert message in str(caught.value)


@pytest.mark.parametrize("span, text", [
    (timedelta(days=2), "2d"), (timedelta(hours=36), "36h"), (timedelta(hours=48), "2d"),
])
def test_duration_spec(span, text):
    assert duration_spec(span) == text


@pytest.mark.parametrize("span, text", [
    (timedelta(minutes=1), "1 minute"), (timedelta(minutes=40, seconds=59), "40 minutes"),
    (timedelta(hours=1), "1 hour"), (timedelta(hours=25), "1 day 1 hour"),
    (timedelta(days=2), "2 days"), (timedelta(days=8, hours=21, minutes=30), "8 days 21 hours"),
])
def test_describe_age(span, text):
    assert describe_age(span) == text
