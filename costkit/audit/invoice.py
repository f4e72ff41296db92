"""Reading a line-item invoice CSV into `InvoiceLine`s (`costkit.audit.statement`), and
telling it from a FOCUS export (`costkit.audit.focus`) by its columns.

Columns (case-insensitive, `,` `;` or tab separated): `invoice_id, period_start, period_end,
model, charge, quantity, unit, unit_price, amount, currency`. A date-only `period_end` is the
last day billed (inclusive); a date-time one is the exclusive end instant. Dates without a
zone are read in the audit's time zone. A `quantity` against a unit of many tokens (`1M
tokens`) may be in those units or in tokens: each line is read the way its own quantity x
unit_price = amount agrees (`read_quantity`). Every value is exact Decimal, or an `InputError`
naming the file, the line and the field. Nothing here compares anything:
`costkit.audit.reconcile` does that. (The gateway ledger is read by `costkit.readers.ledger`.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from costkit.audit.findings import amounts_match, decimal_text
from costkit.audit.focus import read_focus
from costkit.audit.statement import (
    CHARGE_ALIASES,
    CHARGES,
    OTHER_CHARGES,
    InvoiceFile,
    InvoiceLine,
    Period,
    Row,
    Unit,
    charge_base,
    csv_rows,
    implied,
    parse_decimal,
    parse_instant,
    parse_unit,
)
from costkit.core.errors import InputError

INVOICE_COLUMNS = (
    "invoice_id", "period_start", "period_end", "model", "charge", "quantity", "unit",
    "unit_price", "amount", "currency",
)


def read_invoice(path: Path, tz: ZoneInfo,
                 known: Callable[[str], bool] | None = None) -> InvoiceFile:
    """A line-item invoice CSV or a FOCUS export (told apart by their columns). `known`:
    whether a text names a priced model (it tells a FOCUS export's LLM rows)."""
    rows = csv_rows(path)
    try:
        header, first_line = next(rows)
    except StopIteration:
        raise InputError(f"{path}: empty file; expected a CSV header") from None
    names = [h.strip() for h in header]
    lower = {n.lower(): i for i, n in enumerate(names)}
    if "billedcost" in lower:
        return InvoiceFile(str(path), "focus", tuple(read_focus(path, names, rows, tz, known)))
    if "charge" in lower and "amount" in lower:
        return InvoiceFile(str(path), "invoice", tuple(_read_line_items(path, lower, rows, tz)))
    raise InputError(
        f"{path}:{first_line}: header has neither the invoice columns "
        f"({', '.join(INVOICE_COLUMNS)}) nor FOCUS columns (BilledCost, ...)"
    )


def _read_line_items(
    path: Path, index: dict[str, int], rows, tz: ZoneInfo
) -> Iterator[InvoiceLine]:
    missing = [c for c in INVOICE_COLUMNS if c not in index and c != "invoice_id"]
    if missing:
        raise InputError(
            f"{path}:1: missing column {missing[0]!r}; expected {', '.join(INVOICE_COLUMNS)}"
        )
    for row, line in rows:
        where = f"{path}:{line}"
        if len(row) > len(index):
            raise InputError(f"{where}: {len(row)} fields but the header has {len(index)}")
        get = Row(row, index).get
        start = parse_instant(get("period_start"), where, "period_start", tz)
        end = parse_instant(get("period_end"), where, "period_end", tz, end=True)
        if end <= start:
            raise InputError(f"{where}: period_end {get('period_end')} is before period_start")
        charge_text = get("charge").lower().replace(" ", "_").replace("-", "_")
        amount = parse_decimal(get("amount"), where, "amount")
        base = dict(source=str(path), line=line, invoice_id=get("invoice_id") or path.stem,
                    period=Period(start, end), model=get("model"), currency=get("currency") or None)
        if charge_text in OTHER_CHARGES:
            yield InvoiceLine(**base, charge=None, quantity=None, unit=None, unit_price=None,
                              amount=amount, billed=amount, category=charge_text.capitalize())
            continue
        charge = CHARGE_ALIASES.get(charge_text)
        if charge is None:
            raise InputError(
                f"{where}: charge is {get('charge')!r}; expected one of {', '.join(CHARGES)} "
                f"(or {', '.join(OTHER_CHARGES)})"
            )
        if not base["model"]:
            raise InputError(f"{where}: model is empty")
        unit = parse_unit(get("unit"), where)
        if unit.base != charge_base(charge):
            raise InputError(
                f"{where}: unit is {get('unit')!r} but {charge} counts {charge_base(charge)}"
            )
        quantity = parse_decimal(get("quantity"), where, "quantity")
        price_text = get("unit_price")
        unit_price = parse_decimal(price_text, where, "unit_price") if price_text else None
        quantity, reading = read_quantity(quantity, unit, unit_price, amount)
        implied(quantity * unit.size, where, f"quantity x unit ({charge_base(charge)})")
        if unit_price is not None:
            implied(quantity * unit_price, where, "quantity x unit_price")
        yield InvoiceLine(**base, charge=charge, quantity=quantity, unit=unit,
                          unit_price=unit_price, amount=amount, billed=amount, reading=reading)


def read_quantity(stated: Decimal, unit: Unit, unit_price: Decimal | None,
                  amount: Decimal) -> tuple[Decimal, str | None]:
    """The quantity in `unit`s, and how the line's stated quantity was read.

    A unit of many tokens or calls (`1M tokens`, `per 1K tokens`) leaves the quantity open:
    invoices write `2.164852` (millions) or `2164852` (tokens). The line's own arithmetic
    decides: `units` when quantity x unit_price = amount (rounded to the places the amount
    is written in), else `base` when quantity / unit size x unit_price = amount (the quantity
    is then returned in units), else `neither` (read in units; the reconciliation reports
    the amount_mismatch). None: the unit is one token or call, or there is no unit price."""
    if unit.size == 1 or unit_price is None:
        return stated, None
    if amounts_match(amount, stated * unit_price, "line"):
        return stated, "units"
    in_units = stated / unit.size
    if amounts_match(amount, in_units * unit_price, "line"):
        return in_units, "base"
    return stated, "neither"


def unit_readings(lines: Iterable[InvoiceLine]) -> list[dict[str, Any]]:
    """How each line with a unit of many tokens or calls had its quantity read."""
    out = []
    for line in lines:
        if line.reading is None or line.unit is None or line.quantity is None:
            continue
        stated = line.quantity * line.unit.size if line.reading == "base" else line.quantity
        read_as = {"units": line.unit.text, "base": line.unit.base,
                   "neither": "neither"}[line.reading]
        out.append({"line": line.line, "unit": line.unit.text, "quantity": stated,
                    "read_as": read_as, "base_quantity": line.base_quantity,
                    "base": line.unit.base})
    return out


def reading_text(reading: Mapping[str, Any]) -> str:
    """`line 2: quantity 1500000 with unit '1M tokens' read in tokens (1,500,000 tokens)`."""
    text = (f"line {reading['line']}: quantity {decimal_text(reading['quantity'])} with unit "
            f"{reading['unit']!r} ")
    if reading["read_as"] == "neither":
        return text + ("agrees with its amount in neither reading (the amount_mismatch); "
                       f"taken in {reading['unit']}")
    return text + f"read in {reading['read_as']} ({reading['base_quantity']:,} {reading['base']})"
