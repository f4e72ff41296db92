"""What an invoice or a FOCUS export says, read exactly: the billed line (`InvoiceLine`),
its period and unit, the charges and their names, and the numbers, units, dates and CSV
records both file kinds are made of. `costkit.audit.invoice` and `costkit.audit.focus` read
the two kinds into these lines; nothing here compares anything.

Every number a file states (an amount, a quantity, a price, a unit's count) and every number a
line implies (quantity x unit size in tokens or calls, quantity x unit price) is below
`MAX_NUMBER`, 10^15: past any real bill, and small enough that their sums and roundings stay
exact in Decimal's 28 digits (an amount like `1e400` would fail rounding instead).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from costkit.core.errors import InputError
from costkit.readers.mappings import detect_delimiter

CHARGES = (
    "input_tokens", "cached_input_tokens", "cache_write_tokens",
    "output_tokens", "reasoning_tokens", "web_search_calls",
)
CHARGE_ALIASES = {
    "input": "input_tokens", "input_tokens": "input_tokens", "prompt": "input_tokens",
    "prompt_tokens": "input_tokens", "uncached_input_tokens": "input_tokens",
    "cached_input": "cached_input_tokens", "cached_input_tokens": "cached_input_tokens",
    "cached": "cached_input_tokens", "cached_tokens": "cached_input_tokens",
    "cache_read": "cached_input_tokens", "cache_read_tokens": "cached_input_tokens",
    "cache_read_input_tokens": "cached_input_tokens",
    "cache_write": "cache_write_tokens", "cache_write_tokens": "cache_write_tokens",
    "cache_creation_input_tokens": "cache_write_tokens",
    "output": "output_tokens", "output_tokens": "output_tokens", "completion": "output_tokens",
    "completion_tokens": "output_tokens",
    "reasoning": "reasoning_tokens", "reasoning_tokens": "reasoning_tokens",
    "thinking_tokens": "reasoning_tokens",
    "web_search": "web_search_calls", "web_search_calls": "web_search_calls",
    "search_calls": "web_search_calls", "web_searches": "web_search_calls",
}
# Lines that are on an invoice but are not usage: summed apart, never reconciled.
OTHER_CHARGES = ("tax", "credit", "adjustment", "discount", "fee", "purchase")
MAX_NUMBER = Decimal(10) ** 15
MAX_TEXT = "10^15"


@dataclass(frozen=True)
class Unit:
    """How an invoice counts a quantity: `size` base units (tokens or calls) per unit."""

    text: str
    size: Decimal
    base: str  # "tokens" | "calls"


@dataclass(frozen=True)
class Period:
    """[start, end) as aware datetimes; `start.tzinfo` is the zone its dates were read in."""

    start: datetime
    end: datetime

    def contains(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end

    @property
    def label(self) -> str:
        """`2026-10-01..2026-10-31` (inclusive days) when whole days, else the two instants."""
        if _is_midnight(self.start) and _is_midnight(self.end):
            last = (self.end - timedelta(days=1)).date()
            return f"{self.start.date().isoformat()}..{last.isoformat()}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"


@dataclass(frozen=True)
class InvoiceLine:
    """One billed line of an invoice or FOCUS export.

    `quantity` is in `unit`s; `unit_price` is per unit; `amount` is the line's stated
    quantity x price result (a FOCUS row's ListCost) and `billed` what it charges (BilledCost).
    `consumed` is the base-unit quantity when the file states it apart (ConsumedQuantity).
    `charge` is one of CHARGES for usage; other lines keep `category` (Tax, Credit, ...).
    `in_scope` is False for a FOCUS row outside the audited models' services (a cloud's
    compute, storage, ...): counted and summed apart, never reconciled. `service` is the
    row's ServiceName. A FOCUS usage row of a model that does not say which charge it bills
    has `charge` None and `unsplit` True: it is a finding, not a reconciled line.
    `reading` says how a line-item invoice's quantity was read against its unit.
    """

    source: str
    line: int
    invoice_id: str
    period: Period
    model: str
    charge: str | None
    quantity: Decimal | None
    unit: Unit | None
    unit_price: Decimal | None
    amount: Decimal | None
    billed: Decimal
    currency: str | None
    consumed: Decimal | None = None
    category: str = "Usage"
    correction: bool = False
    billing_period: Period | None = None
    in_scope: bool = True
    service: str = ""
    unsplit: bool = False
    reading: str | None = None

    @property
    def is_usage(self) -> bool:
        return self.in_scope and self.category == "Usage" and self.charge is not None

    @property
    def base_quantity(self) -> Decimal | None:
        """The quantity in tokens or calls (ConsumedQuantity when stated, else quantity x unit)."""
        if self.consumed is not None:
            return _whole(self.consumed)
        if self.quantity is None or self.unit is None:
            return None
        return _whole(self.quantity * self.unit.size)


@dataclass(frozen=True)
class InvoiceFile:
    source: str
    kind: str  # "invoice" | "focus"
    lines: tuple[InvoiceLine, ...]


def _whole(value: Decimal) -> Decimal:
    """`237549.000000` (0.237549 x 1M) as `237549`; fractions stay."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


# --- scalars -----------------------------------------------------------------------------------

_PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def parse_decimal(text: Any, where: str, field: str) -> Decimal:
    """An exact number from text such as `1234.5`, `1,234.50`, `$0.57`, `(3.20)` (negative)."""
    if isinstance(text, Decimal):
        value = text
    elif isinstance(text, int) and not isinstance(text, bool):
        value = Decimal(text)
    elif isinstance(text, str) and _PLAIN_NUMBER.fullmatch(text):
        value = Decimal(text)
    elif isinstance(text, str):
        raw = text.strip()
        negative = raw.startswith("(") and raw.endswith(")")
        cleaned = raw.strip("()").replace("$", "").replace("_", "").strip()
        if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", cleaned):
            cleaned = cleaned.replace(",", "")
        try:
            value = Decimal(cleaned)
        except InvalidOperation:
            value = None
        if value is not None and negative:
            value = -value
        if value is None or not cleaned:
            raise InputError(f"{where}: {field} is {text!r}; expected a number")
    else:
        raise InputError(f"{where}: {field} is {text!r}; expected a number")
    shown = repr(text) if isinstance(text, str) else str(text)  # 1E+400, not Decimal('1E+400')
    if not value.is_finite():
        raise InputError(f"{where}: {field} is {shown}; expected a finite number")
    if abs(value) >= MAX_NUMBER:
        raise InputError(f"{where}: {field} is {shown}; expected a number below {MAX_TEXT} "
                         "in size")
    return value


def implied(value: Decimal, where: str, what: str) -> Decimal:
    """`value`, a product a line implies (`what`: e.g. "quantity x unit_price"), when it is
    below MAX_NUMBER in size; InputError otherwise."""
    if abs(value) >= MAX_NUMBER:
        raise InputError(f"{where}: {what} is {value:.3E}; it must be below {MAX_TEXT} in size")
    return value


_UNIT = re.compile(
    r"(?:per\s+)?(?P<num>\d[\d,_]*(?:\.\d+)?)?\s*"
    r"(?P<mult>thousand|million|billion|k|m|b)?\s*(?P<word>[a-z][a-z \-]*)"
)
_MULTIPLIERS = {None: 1, "k": 10**3, "thousand": 10**3, "m": 10**6, "million": 10**6,
                "b": 10**9, "billion": 10**9}


def parse_unit(text: str, where: str, field: str = "unit") -> Unit:
    """`1M tokens`, `1K tokens`, `1000 Tokens`, `token`, `per 1M tokens`, `MTok`, `call`,
    `1K requests`, `searches`: how many tokens or calls one unit is."""
    raw = (text or "").strip()
    match = _UNIT.fullmatch(raw.lower())
    word = match["word"].strip() if match else ""
    if "tok" in word:
        base = "tokens"
    elif any(w in word for w in ("call", "request", "search", "quer")):
        base = "calls"
    else:
        raise InputError(
            f"{where}: {field} is {text!r}; expected tokens or calls with an optional count, "
            "e.g. '1M tokens', '1000 Tokens', 'token', 'call'"
        )
    number = Decimal(match["num"].replace(",", "").replace("_", "")) if match["num"] else Decimal(1)
    size = number * _MULTIPLIERS[match["mult"]]
    if size <= 0:
        raise InputError(f"{where}: {field} is {text!r}; the unit count must be > 0")
    if size >= MAX_NUMBER:
        raise InputError(f"{where}: {field} is {text!r}; the unit count must be below "
                         f"{MAX_TEXT}")
    return Unit(raw, size, base)


def charge_base(charge: str) -> str:
    return "calls" if charge == "web_search_calls" else "tokens"


def parse_instant(text: str, where: str, field: str, tz: ZoneInfo, end: bool = False) -> datetime:
    """An ISO 8601 date or date-time. A naive value is in `tz`. A date-only `end` is the last
    day included, so the exclusive end is the next midnight."""
    raw = (text or "").strip()
    if not raw:
        raise InputError(f"{where}: {field} is empty; expected a date such as 2026-10-01")
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            day = date.fromisoformat(raw)
            if end:
                day += timedelta(days=1)
            return datetime.combine(day, time(), tzinfo=tz)
        value = datetime.fromisoformat(trim_fraction(re.sub(r"[Zz]$", "+00:00", raw)))
    except ValueError:
        raise InputError(
            f"{where}: {field} is {raw!r}; expected ISO 8601, "
            "e.g. 2026-10-01 or 2026-10-01T00:00:00Z"
        ) from None
    return value.replace(tzinfo=tz) if value.tzinfo is None else value


def trim_fraction(text: str) -> str:
    """Fractional seconds beyond microseconds (e.g. `.9799600`) cut to six digits."""
    return re.sub(r"(\.\d{6})\d+", r"\1", text)


def _is_midnight(at: datetime) -> bool:
    return at.time() == time()


# --- CSV records ------------------------------------------------------------------------------

def read_bytes(path: Path) -> bytes:
    """A file's bytes, gunzipped when its name ends in `.gz`."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from exc
    if path.name.endswith(".gz"):
        try:
            return gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: not a readable .gz file: {exc}") from None
    return data


def csv_rows(path: Path) -> Iterator[tuple[list[str], int]]:
    """Non-blank CSV records with the line each starts on; `,` `;` or tab, from the header."""
    data = read_bytes(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text") from None
    # the one CSV sniffer (costkit.readers.mappings): the header's most frequent delimiter
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(data[:65536]))
    start = 1
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield row, start
            start = reader.line_num + 1
    except csv.Error as exc:
        raise InputError(f"{path}:{reader.line_num}: not valid CSV: {exc}") from None


class Row:
    """One CSV record, its cells looked up by column name (case-insensitive)."""

    def __init__(self, row: list[str], index: dict[str, int]):
        self.row, self.index = row, index

    def get(self, name: str) -> str:
        i = self.index.get(name.lower())
        return self.row[i].strip() if i is not None and i < len(self.row) else ""
