"""How the monthly report writes numbers, times and user text for people.

Money stays Decimal until here; these functions only round for display. Money itself is
written by `costkit.core.money` (`money` rounds, `exact` keeps every digit: the page shows it
in hovers and titles); they are re-exported here for the report's modules. `plot_text` makes
a user string safe for plotly, whose labels and hovers understand a subset of HTML.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from costkit.core.money import exact, money
from costkit.core.safe_output import escape_controls
from costkit.core.timezones import zone

__all__ = ["compact", "count", "exact", "money", "pct", "plot_text", "signed_money",
           "signed_pct", "when"]


def pct(share: Decimal | float | None, places: int = 1) -> str:
    """A fraction as a percentage: 0.4321 -> 43.2%."""
    if share is None:
        return "n/a"
    value = Decimal(str(share)) * 100
    return f"{value.quantize(Decimal(1).scaleb(-places)):,}%"


def signed_pct(value: Decimal | None, places: int = 1) -> str:
    """A change already in percent, with its sign: +12.3% / -4.0%."""
    if value is None:
        return "n/a"
    rounded = value.quantize(Decimal(1).scaleb(-places))
    return f"{'+' if rounded > 0 else ''}{rounded:,}%"


def signed_money(value: Decimal | None, currency: str | None = "USD") -> str:
    if value is None:
        return "n/a"
    text = money(value, currency)
    return text if text.startswith("-") or value == 0 else "+" + text


def count(value: int | None) -> str:
    return "n/a" if value is None else f"{value:,}"


def compact(value: int) -> str:
    """Token counts at a glance: 1.2M, 34.5k, 812."""
    for limit, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}{suffix}"
    return str(value)


def when(instant: datetime | None, tz: str, seconds: bool = True) -> str:
    """A UTC instant in the report's time zone: 2026-10-03 14:22:05."""
    if instant is None:
        return ""
    local = instant.astimezone(zone(tz))
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def plot_text(value: object, limit: int | None = None) -> str:
    """A user string for plotly: control characters written out, cut to `limit` characters,
    then its markup characters escaped.

    plotly draws a subset of HTML in labels and hovers but decodes entities in text, so an
    escaped `<img ...>` shows as those characters. Quotes need no escaping: with `<`
    escaped no tag can start.
    """
    text = "(none)" if value is None else escape_controls(str(value))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
