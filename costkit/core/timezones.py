"""The one authority on time zones: every `--tz`, and every zone costkit hands DuckDB.

A zone is an IANA key (`Europe/Berlin`, `Etc/GMT-5`, `UTC`), checked once by `canonical`:
- Python reads it from the `tzdata` package costkit depends on, not from the OS copy, which
  can be years older or newer than DuckDB's: one install gives one answer on any machine.
- DuckDB reads zones from ICU's own copy of the IANA data. It is given only the IANA key,
  and only after checking that it gives that key the same UTC offsets as Python from 1900
  to 2100 (where they differ, the names are refused rather than one of them trusted).
- Names outside IANA's list are refused, not guessed: DuckDB accepts abbreviations (`IST`
  is India to ICU, Israel or Ireland to others) and `GMT+5`, which it reads as UTC+5 where
  IANA's `Etc/GMT+5` is UTC-5. The refusal says what to write instead.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from importlib import resources
from operator import itemgetter
from zoneinfo import ZoneInfo

import duckdb

from costkit.core.errors import InputError

# The instants a zone must mean the same to Python and DuckDB over (usage data is checked
# to lie in 2000..2099; older history, such as a 1972 offset change, is still compared).
CHECK_FROM = datetime(1900, 1, 1, tzinfo=UTC)
CHECK_TO = datetime(2100, 1, 1, tzinfo=UTC)
DAY_S = 86_400

# Common abbreviations (none is an IANA key) and the IANA zones they are used for.
ABBREVIATIONS = {
    "IST": ("Asia/Kolkata", "Asia/Jerusalem", "Europe/Dublin"),
    "BST": ("Europe/London", "Asia/Dhaka"),
    "CST": ("America/Chicago", "Asia/Shanghai", "America/Havana"),
    "CDT": ("America/Chicago",),
    "EDT": ("America/New_York",),
    "MDT": ("America/Denver",),
    "PST": ("America/Los_Angeles", "Asia/Manila"),
    "PDT": ("America/Los_Angeles",),
    "AKST": ("America/Anchorage",),
    "AKDT": ("America/Anchorage",),
    "AST": ("America/Halifax", "Asia/Riyadh"),
    "ADT": ("America/Halifax",),
    "BRT": ("America/Sao_Paulo",),
    "ART": ("America/Argentina/Buenos_Aires",),
    "CEST": ("Europe/Berlin", "Europe/Paris"),
    "EEST": ("Europe/Athens", "Europe/Helsinki"),
    "WEST": ("Europe/Lisbon",),
    "MSK": ("Europe/Moscow",),
    "SAST": ("Africa/Johannesburg",),
    "WAT": ("Africa/Lagos",),
    "CAT": ("Africa/Maputo",),
    "EAT": ("Africa/Nairobi",),
    "PKT": ("Asia/Karachi",),
    "ICT": ("Asia/Bangkok",),
    "WIB": ("Asia/Jakarta",),
    "SGT": ("Asia/Singapore",),
    "HKT": ("Asia/Hong_Kong",),
    "PHT": ("Asia/Manila",),
    "JST": ("Asia/Tokyo",),
    "KST": ("Asia/Seoul",),
    "AEST": ("Australia/Sydney", "Australia/Brisbane"),
    "AEDT": ("Australia/Sydney",),
    "ACST": ("Australia/Adelaide", "Australia/Darwin"),
    "AWST": ("Australia/Perth",),
    "NZST": ("Pacific/Auckland",),
    "NZDT": ("Pacific/Auckland",),
}
# A fixed offset written as a name: GMT+5, UTC-03:00, +0530.
OFFSET = re.compile(r"(?:GMT|UTC|UT)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)
EXAMPLES = "UTC, Europe/Berlin or America/New_York"


def canonical(tz: str) -> str:
    """The IANA key `tz` names (letter case corrected: `utc` is `UTC`), checked to mean the
    same to DuckDB as to Python; InputError saying what to write instead otherwise."""
    return _canonical(tz.strip())


def zone(tz: str) -> ZoneInfo:
    """The zone `tz` names (see `canonical`), from the tzdata package."""
    return _load(canonical(tz))


def local_instant(value: date | datetime, tz: str) -> datetime:
    """A date (its local midnight) or a naive datetime (local time) in `tz` as a UTC instant;
    an aware datetime is already one. A local time that happens twice (clocks going back) is
    its first occurrence, and one skipped by clocks going forward is read at the offset
    before the change (Python's `fold=0`); DuckDB's `timezone()` would take the second, so
    costkit never asks it."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        local = value
    elif isinstance(value, date):
        local = datetime(value.year, value.month, value.day)
    else:
        raise InputError(f"{value!r} is not a date or datetime")
    return local.replace(tzinfo=zone(tz)).astimezone(UTC)


def unknown(tz: str) -> str:
    """The message for a zone nobody knows."""
    return f"unknown time zone {tz!r}; use an IANA name such as {EXAMPLES}"


def tzdata_version() -> str:
    from tzdata import IANA_VERSION  # type: ignore[import-untyped]

    return str(IANA_VERSION)


# --- the checks -------------------------------------------------------------------------------

@lru_cache(maxsize=64)
def _canonical(tz: str) -> str:
    key = tz if tz in _keys() else _folded().get(tz.casefold())
    if key is None:
        raise InputError(_not_iana(tz))
    problem = disagreement(_load(key), key)
    if problem:
        raise InputError(problem)
    return key


def disagreement(python_zone: ZoneInfo, name: str) -> str | None:
    """Why DuckDB must not be given `name` for `python_zone`: it does not know the name, or
    its UTC offset differs at some instant of 1900-2099; None when they agree.

    Compared at every day's 00:00 UTC and on both sides of each of Python's offset changes
    (found to the second), so a change DuckDB makes at another time of day is caught too.
    Each side's daily offsets are a step function; two step functions on the same days first
    differ at a day where one of them steps, so only those days are compared (and DuckDB
    returns only its steps, not 73,000 rows). This runs at the start of every command given
    a zone."""
    start, end = int(CHECK_FROM.timestamp()), int(CHECK_TO.timestamp())

    def offset(second: int) -> int:
        delta = datetime.fromtimestamp(second, python_zone).utcoffset()
        assert delta is not None  # an aware datetime always has an offset
        return int(delta.total_seconds())

    ours = _daily_steps(python_zone, start, end)
    edges: dict[int, int] = {}
    for (_, before), (day, after) in zip(ours, ours[1:], strict=False):
        lo, hi = day - DAY_S, day
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if offset(mid) == before else (lo, mid)
        edges[lo], edges[hi] = before, after
    sql = "SELECT s, epoch_us(timezone(?, to_timestamp(s))) // 1000000 - s AS o FROM {}"
    con = duckdb.connect()
    try:
        theirs = con.execute(
            f"SELECT s, o FROM ({sql.format('range(?, ?, ?) t(s)')}) "
            "QUALIFY s = ? OR o IS DISTINCT FROM lag(o) OVER (ORDER BY s) ORDER BY s",
            [name, start, end, DAY_S, start]).fetchall()
        at_edges = dict(con.execute(sql.format("unnest(?::BIGINT[]) t(s)"),
                                    [name, list(edges)]).fetchall())
    except duckdb.Error:
        return (f"time zone {name!r} is in IANA's list but DuckDB does not know it; use an "
                f"IANA name such as {EXAMPLES}")
    finally:
        con.close()
    for second in sorted({d for d, _ in ours} | {d for d, _ in theirs} | set(edges)):
        if second in edges:
            mine, other = edges[second], at_edges.get(second)
        else:
            python_side = _step_at(ours, second)
            assert python_side is not None  # Python's steps begin at `start`
            mine, other = python_side, _step_at(theirs, second)
        if other != mine:
            when = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%d %H:%M:%S")
            theirs_text = "missing" if other is None else _utc(other)
            return (f"time zone {name!r} means different things to DuckDB and to Python: at "
                    f"{when} UTC DuckDB's offset is {theirs_text}, Python's "
                    f"(tzdata {tzdata_version()}) {_utc(mine)}; update the older of "
                    "the duckdb and tzdata packages, or use another zone")
    return None


def _daily_steps(python_zone: ZoneInfo, start: int, end: int) -> list[tuple[int, int]]:
    """Python's offset at each day's 00:00 UTC from `start` to `end`, as (day, offset) at the
    first day and at each day it changes. `fromutc` on a running UTC time is what
    `datetime.fromtimestamp(day, zone)` does, at half the cost of 73,000 calls of it."""
    steps: list[tuple[int, int]] = []
    day, one = datetime.fromtimestamp(start, UTC).replace(tzinfo=python_zone), timedelta(days=1)
    last = None
    for second in range(start, end, DAY_S):
        delta = python_zone.fromutc(day).utcoffset()
        if delta != last:
            assert delta is not None  # an aware datetime always has an offset
            steps.append((second, int(delta.total_seconds())))
            last = delta
        day += one
    return steps


def _step_at(steps: list[tuple[int, int]], second: int) -> int | None:
    """The value of a step function (its steps sorted by day) at `second`."""
    at = bisect_right(steps, second, key=itemgetter(0)) - 1
    return steps[at][1] if at >= 0 else None


def _not_iana(tz: str) -> str:
    """The refusal of a name that is not an IANA key, with what to write instead."""
    fixed = OFFSET.fullmatch(tz)
    if fixed:
        sign, hours, minutes = fixed[1], int(fixed[2]), int(fixed[3] or 0)
        wanted = f"UTC{sign}{hours:02d}:{minutes:02d}"
        if minutes == 0 and hours <= (14 if sign == "+" else 12):
            name = "UTC" if hours == 0 else f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
            return (f"time zone {tz!r} is an offset, not an IANA name; for {wanted} use "
                    f"{name} (IANA's Etc/GMT signs are inverted: Etc/GMT+5 is UTC-05:00), "
                    "or better the IANA name of the place (Area/City)")
        return (f"time zone {tz!r} is an offset, not an IANA name, and no IANA zone is fixed "
                f"at {wanted}; use the IANA name of a place on that offset (Area/City, e.g. "
                "Asia/Kolkata for UTC+05:30)")
    places = ABBREVIATIONS.get(tz.upper())
    if places:
        listed = places[0] if len(places) == 1 else \
            f"{', '.join(places[:-1])} or {places[-1]}"
        return (f"time zone {tz!r} is an abbreviation, not an IANA name (abbreviations are "
                f"ambiguous); use the IANA name of the place, e.g. {listed}")
    return unknown(tz)


def _utc(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}" + (f":{secs:02d}" if secs else "")


# --- the data ---------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _keys() -> frozenset[str]:
    """IANA's zone keys, as the tzdata package lists them."""
    return frozenset(resources.files("tzdata").joinpath("zones").read_text("utf-8").split())


@lru_cache(maxsize=1)
def _folded() -> dict[str, str]:
    """Keys by their case-folded spelling (only spellings that name one key)."""
    out: dict[str, str | None] = {}
    for key in _keys():
        folded = key.casefold()
        out[folded] = None if folded in out else key
    return {k: v for k, v in out.items() if v is not None}


@lru_cache(maxsize=64)
def _load(key: str) -> ZoneInfo:
    """The zone from the tzdata package (one object per key, as ZoneInfo's own cache does)."""
    path = resources.files("tzdata.zoneinfo").joinpath(*key.split("/"))
    with path.open("rb") as data:
        return ZoneInfo.from_file(data, key=key)
