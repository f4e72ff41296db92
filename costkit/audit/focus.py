"""Reading a FinOps FOCUS 1.x cost export into `InvoiceLine`s (`costkit.audit.statement`).

Required columns: BilledCost, ChargePeriodStart, ChargePeriodEnd, ChargeCategory. A Usage
row's model and charge come from custom `x_` columns or the SKU and resource fields
(FOCUS_MODEL_FIELDS, FOCUS_CHARGE_FIELDS); PricingQuantity x PricingUnit is its quantity,
ListUnitPrice its unit price, ListCost its stated amount and BilledCost what it charges;
ConsumedQuantity, when in the same base unit, is the quantity in tokens or calls. Rows of
other categories (Tax, Credit, ...) are kept, not reconciled; a ChargeClass `Correction` row
may lack a quantity. BillingPeriodStart/End, when given, state the invoice's period.

A cloud's export is mostly not LLM usage: `is_llm_row` tells the rows that are from the
row's own columns. The others, and Tax / Credit / Adjustment rows of other services, are
out of scope (`InvoiceLine.in_scope` False): counted and summed, never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
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


def read_focus(path: Path, names: list[str], rows, tz: ZoneInfo,
               known: Callable[[str], bool] | None = None) -> list[InvoiceLine]:
    """The lines of a FOCUS export whose header is `names` (`rows`: its records after the
    header, from `statement.csv_rows`). `known(text)`: whether a text names a model the
    price book prices (a row naming one is an LLM row whatever its units)."""
    index = {n.lower(): i for i, n in enumerate(names)}
    missing = [c for c in FOCUS_REQUIRED if c.lower() not in index]
    if missing:
        raise InputError(f"{path}:1: missing FOCUS column {missing[0]!r}")
    lines: list[InvoiceLine] = []
    others: list[tuple[InvoiceLine, bool]] = []  # non-usage rows, and whether they are LLM's
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
                    category=category, correction=correction, billing_period=billing,
                    service=get("ServiceName"))
        llm = is_llm_row(get, known)
        if category.lower() != "usage":
            others.append((InvoiceLine(**base, model=_focus_model(get) or "", charge=None,
                                       quantity=None, unit=None, unit_price=None, amount=None,
                                       billed=billed), llm))
            continue
        if not llm:
            lines.append(InvoiceLine(**base, model=_focus_model(get) or "", charge=None,
                                     quantity=None, unit=None, unit_price=None, amount=None,
                                     billed=billed, in_scope=False))
            continue
        lines.append(_usage_line(get, where, base, billed, correction))
    # A Tax, Credit or Adjustment row belongs to the audit when it is of an LLM service (a
    # service one of the LLM usage rows is of), or says nothing of its service.
    services = {ln.service for ln in lines if ln.in_scope and ln.service}
    for other, llm in others:
        in_scope = llm or not other.service or other.service in services
        lines.append(other if in_scope else replace(other, in_scope=False))
    lines.sort(key=lambda ln: ln.line)
    return lines


def _usage_line(get, where: str, base: dict, billed: Decimal, correction: bool) -> InvoiceLine:
    """An LLM usage row: its charge, quantity, unit, prices and amounts, checked."""
    charge = _focus_charge(get)
    if charge is None:
        stated = next((get(n) for n in ("x_Charge", "x_ChargeType") if get(n)), None)
        if stated is not None:
            raise InputError(
                f"{where}: {'x_Charge' if get('x_Charge') else 'x_ChargeType'} is {stated!r}: "
                "cannot tell the charge; expected input, cached input, cache write, output, "
                "reasoning or web search"
            )
        # The row bills a model's tokens without saying which charge (LiteLLM's export bills
        # a request's input and output in one row): a finding, since no card rate fits it.
        consumed = None
        if get("ConsumedQuantity") and get("ConsumedUnit"):
            consumed = parse_decimal(get("ConsumedQuantity"), where, "ConsumedQuantity")
        return InvoiceLine(**base, model=_focus_model(get) or get("SkuId"), charge=None,
                           quantity=consumed, unit=None, unit_price=None, amount=None,
                           billed=billed, unsplit=True)
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
    return InvoiceLine(
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


def _unit_base(text: str) -> str | None:
    """"tokens" or "calls" when `text` is a unit costkit reads, else None (GB, Hours, ...)."""
    if not text:
        return None
    try:
        return parse_unit(text, "", "").base
    except InputError:
        return None


def is_llm_row(get, known: Callable[[str], bool] | None = None) -> bool:
    """Whether a FOCUS row is LLM API usage, from its own columns (FOCUS 1.0 to 1.3 name
    these alike; SkuMeter and ServiceSubcategory exist from 1.1 and are read when present):
    - a custom x_ model or charge column has a value (the exporter says so); or
    - its PricingUnit or ConsumedUnit counts tokens; or
    - a model or SKU field names a model the price book prices (`known`); or
    - it is of an AI service (ServiceCategory `AI and Machine Learning`, or ServiceSubcategory
      `Generative AI`) and its SKU or description names a charge (input, output, web search,
      ...) in a unit costkit counts (tokens or calls); or
    - it names no service (ServiceName, mandatory in FOCUS, is empty or absent: an export
      written for the LLM bill alone) and its SKU or description names a charge.
    Anything else (a VM hour, a GB stored, a queue's requests) is outside the audit."""
    if any(get(n) for n in ("x_Model", "x_ModelId", "x_ModelName", "x_Charge", "x_ChargeType")):
        return True
    if "tokens" in (_unit_base(get("PricingUnit")), _unit_base(get("ConsumedUnit"))):
        return True
    if known is not None and any(get(n) and known(get(n)) for n in FOCUS_MODEL_FIELDS):
        return True
    if _focus_charge(get) is None:
        return False
    if not get("ServiceName"):
        return True
    ai = (get("ServiceCategory").lower() == "ai and machine learning"
          or get("ServiceSubcategory").lower() == "generative ai")
    return ai and _unit_base(get("PricingUnit")) is not None


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
