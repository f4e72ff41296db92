"""Reading a FinOps FOCUS 1.x cost export into `InvoiceLine`s (`costkit.audit.statement`).

Required columns: BilledCost, ChargePeriodStart, ChargePeriodEnd, ChargeCategory. A Usage
row's model and charge come from custom `x_` columns or the SKU and resource fields
(FOCUS_MODEL_FIELDS, FOCUS_CHARGE_FIELDS); PricingQuantity x PricingUnit is its quantity,
ListUnitPrice its unit price, ListCost its stated amount and BilledCost what it charges;
ConsumedQuantity, when in the same base unit, is the quantity in tokens or calls. Rows of
other categories (Tax, Credit, ...) are kept, not reconciled; a ChargeClass `Correction` row
may lack a quantity. BillingPeriodStart/End, when given, state the invoice's period.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

from costkit.audit.statement import (
    CHARGE_ALIASES,
    InvoiceLine,
    Period,
    Row,
    charge_base,
    implied,
    parse_decimal,
    parse_instant,
    parse_unit,
)
from costkit.core.errors import InputError

FOCUS_REQUIRED = ("BilledCost", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory")
# Where a FOCUS row names its model and its charge (custom x_ columns first).
FOCUS_MODEL_FIELDS = ("x_Model", "x_ModelId", "x_ModelName", "SkuMeter", "SkuId", "SkuPriceId",
                      "ResourceName", "ResourceId", "ChargeDescription")
FOCUS_CHARGE_FIELDS = ("x_Charge", "x_ChargeType", "SkuMeter", "SkuId", "SkuPriceId",
                       "ChargeDescription", "PricingUnit", "ConsumedUnit")


def read_focus(path: Path, names: list[str], rows, tz: ZoneInfo) -> Iterator[InvoiceLine]:
    """The lines of a FOCUS export whose header is `names` (`rows`: its records after the
    header, from `statement.csv_rows`)."""
    index = {n.lower(): i for i, n in enumerate(names)}
    missing = [c for c in FOCUS_REQUIRED if c.lower() not in index]
    if missing:
        raise InputError(f"{path}:1: missing FOCUS column {missing[0]!r}")
    for row, line in rows:
        where = f"{path}:{line}"
        if len(row) > len(names):
            raise InputError(f"{where}: {len(row)} fields but the header has {len(names)}")
        get = Row(row, index).get
        category = get("ChargeCategory") or "Usage"
        correction = get("ChargeClass").lower() == "correction"
        billed = parse_decimal(get("BilledCost"), where, "BilledCost")
        start = parse_instant(get("ChargePeriodStart"), where, "ChargePeriodStart", tz)
        end = parse_instant(get("ChargePeriodEnd"), where, "ChargePeriodEnd", tz)
        if end < start:
            raise InputError(f"{where}: ChargePeriodEnd is before ChargePeriodStart")
        billing = None
        if get("BillingPeriodStart") and get("BillingPeriodEnd"):
            billing = Period(
                parse_instant(get("BillingPeriodStart"), where, "BillingPeriodStart", tz),
                parse_instant(get("BillingPeriodEnd"), where, "BillingPeriodEnd", tz),
            )
        base = dict(source=str(path), line=line, invoice_id=get("InvoiceId") or path.stem,
                    period=Period(start, end), currency=get("BillingCurrency") or None,
                    category=category, correction=correction, billing_period=billing)
        if category.lower() != "usage":
            yield InvoiceLine(**base, model=_focus_model(get) or "", charge=None, quantity=None,
                              unit=None, unit_price=None, amount=None, billed=billed)
            continue
        charge = _focus_charge(get)
        if charge is None:
            raise InputError(
                f"{where}: SkuId {get('SkuId')!r}: cannot tell the charge; expected SkuId, "
                "SkuMeter or x_Charge naming input, cached input, cache write, output, "
                "reasoning or web search"
            )
        unit = None
        unit_text = get("PricingUnit")
        if unit_text:
            unit = parse_unit(unit_text, where, "PricingUnit")
            if unit.base != charge_base(charge):
                raise InputError(
                    f"{where}: PricingUnit is {unit_text!r} but {charge} counts "
                    f"{charge_base(charge)}"
                )
        quantity_text = get("PricingQuantity")
        quantity = parse_decimal(quantity_text, where, "PricingQuantity") if quantity_text else None
        if quantity is None and not correction:
            raise InputError(f"{where}: PricingQuantity is empty on a Usage row")
        if unit is None and quantity is not None:
            raise InputError(f"{where}: PricingUnit is empty on a Usage row")
        if unit is not None and quantity is not None:
            implied(quantity * unit.size, where,
                    f"PricingQuantity x PricingUnit ({charge_base(charge)})")
        consumed = None
        if get("ConsumedQuantity") and get("ConsumedUnit"):
            consumed_unit = parse_unit(get("ConsumedUnit"), where, "ConsumedUnit")
            if consumed_unit.base == charge_base(charge):
                stated = parse_decimal(get("ConsumedQuantity"), where, "ConsumedQuantity")
                consumed = implied(stated * consumed_unit.size, where,
                                   f"ConsumedQuantity x ConsumedUnit ({charge_base(charge)})")
        price_text, list_text = get("ListUnitPrice"), get("ListCost")
        unit_price = parse_decimal(price_text, where, "ListUnitPrice") if price_text else None
        if unit_price is not None and quantity is not None:
            implied(quantity * unit_price, where, "PricingQuantity x ListUnitPrice")
        yield InvoiceLine(
            **base,
            model=_focus_model(get) or get("SkuId"),
            charge=charge,
            quantity=quantity,
            unit=unit,
            unit_price=unit_price,
            amount=parse_decimal(list_text, where, "ListCost") if list_text else None,
            billed=billed,
            consumed=consumed,
        )


def _focus_model(get) -> str | None:
    """The text naming a row's model: an x_Model column, else the first SKU or resource field
    with a value. `costkit.audit.reconcile` finds the price book's model name inside it."""
    for name in FOCUS_MODEL_FIELDS:
        if get(name):
            return get(name)
    return None


# Most specific first: "cached input" must not read as "input".
_CHARGE_WORDS = (
    ("cache_write_tokens", ("cache write", "cache_write", "cachewrite", "cache creation",
                            "cache_creation")),
    ("cached_input_tokens", ("cached", "cache read", "cache_read", "cacheread", "cache hit")),
    ("reasoning_tokens", ("reasoning", "thinking")),
    ("web_search_calls", ("search",)),
    ("input_tokens", ("input", "prompt")),
    ("output_tokens", ("output", "completion", "generated")),
)


def charge_from_text(text: str) -> str | None:
    low = text.lower().replace("-", " ")
    if low.strip().replace(" ", "_") in CHARGE_ALIASES:
        return CHARGE_ALIASES[low.strip().replace(" ", "_")]
    for charge, words in _CHARGE_WORDS:
        if any(w in low for w in words):
            return charge
    return None


def _focus_charge(get) -> str | None:
    for name in FOCUS_CHARGE_FIELDS:
        value = get(name)
        if value:
            charge = charge_from_text(value)
            if charge is not None:
                return charge
    return None
