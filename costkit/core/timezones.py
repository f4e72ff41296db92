"""The one check of a user's `--tz`: an IANA zone name, or a one-line InputError naming it."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from costkit.core.errors import InputError


def zone(tz: str) -> ZoneInfo:
    """The IANA zone `tz`, or InputError naming it."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, KeyError):
        raise InputError(unknown(tz)) from None


def unknown(tz: str) -> str:
    """The message for a zone nobody knows (also used where DuckDB's ICU is the judge)."""
    return (
        f"unknown time zone {tz!r}; use an IANA name such as UTC, Europe/Berlin "
        "or America/New_York"
    )
