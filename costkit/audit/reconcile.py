"""Reconciliation of invoices and FOCUS exports against the usage in the store (issue 9).

Pure core: `reconcile_invoice(invoice lines, logged usage per period) -> AuditResult` (the
gateway ledger's is `costkit.audit.ledger.reconcile_ledger`). The edges read the files
(`costkit.audit.invoice`, `costkit.audit.focus`) and the store (`costkit.spend.breakdown`,
summed per model by `costkit.audit.logged`).

Rules
- An invoice's period is the span most of its lines fall in (FOCUS: BillingPeriodStart/End);
  a line dated outside it is `out_of_period` and is not reconciled with the period's usage.
- Charges are compared per (period, model, charge). An invoice with no reasoning line
  bills reasoning inside output; with no cached (or cache-write) line, inside input.
- Quantities: a difference within the tolerance (default 0.5% of the logged quantity or
  1,000 tokens, whichever is larger; calls get the percentage only) is not a finding.
- Unit prices: the rate of a card in effect during the line's period (any tier), per unit.
- Amounts: quantity x unit price, rounded half-up to the places the amount is written in
  (at least cents, at most 9 places: float noise is not a finding); `none` compares exactly.
Money is Decimal throughout; nothing is rounded except where an invoice's rule says so.
"""

from __future__ import annotations

import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from costkit.audit.findings import (
    KINDS,
    ROUNDINGS,
    AuditResult,
    ChargeRow,
    Finding,
    Tolerance,
    amounts_match,
    cards_during,
    decimal_text,
    match_model,
    model_label,
    round_amount,
    unit_rates,
)
from costkit.audit.invoice import read_invoice, unit_readings
from costkit.audit.logged import (
    FOLDS_INTO,
    Logged,
    logged_from_rows,
    logged_quantity,
    require_usage,
)
from costkit.audit.statement import CHARGES, InvoiceFile, InvoiceLine, Period, charge_base
from costkit.core.errors import InputError
from costkit.core.timezones import canonical
from costkit.core.timezones import zone as tz_zone
from costkit.core.usage import Usage
from costkit.pricing.book import PriceBook
from costkit.store.connection import open_store

# --- invoice periods ---------------------------------------------------------------------------

def invoice_periods(invoice: InvoiceFile, tz: ZoneInfo | None = None) -> dict[str, Period]:
    """Each invoice's period: its stated billing period (FOCUS), else the period that holds the
    most of its usage lines among their own periods and the calendar months they start in
    (ties: the later, then the shorter: an invoice carries late lines, not early ones)."""
    by_invoice: dict[str, list[InvoiceLine]] = defaultdict(list)
    for line in invoice.lines:
        if line.in_scope:  # a cloud's other services say nothing of the LLM invoice's period
            by_invoice[line.invoice_id].append(line)
    out: dict[str, Period] = {}
    for invoice_id, lines in by_invoice.items():
        stated = Counter(line.billing_period for line in lines if line.billing_period is not None)
        if stated:
            out[invoice_id] = max(stated, key=lambda p: (stated[p], p.start))
            continue
        regular = [ln for ln in lines if ln.is_usage and not ln.correction] or lines
        starts = [ln.period.start.astimezone(tz) if tz else ln.period.start for ln in regular]
        candidates = {ln.period for ln in regular} | {_month_of(at) for at in starts}

        def score(p: Period, regular=regular) -> tuple:
            held = sum(1 for ln in regular if p.contains(ln.period))
            return (held, p.start, -(p.end - p.start))

        out[invoice_id] = max(candidates, key=score)
    return out


def _month_of(at: datetime) -> Period:
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 \
        else start.replace(month=start.month + 1)
    return Period(start, end)


# --- the invoice reconciliation ---------------------------------------------------------------

def reconcile_invoice(
    invoice: InvoiceFile,
    periods: Mapping[str, Period],
    logged: Mapping[Period, Mapping[str, Logged]],
    book: PriceBook,
    tolerance: Tolerance | None = None,
    rounding: str = "line",
) -> AuditResult:
    """Findings and reconciliation rows for an invoice against the usage logged in its
    period(s). `logged[period]` maps card model -> Logged (see `logged_from_rows`)."""
    tolerance = tolerance or Tolerance()
    if rounding not in ROUNDINGS:
        raise InputError(f"--rounding {rounding!r}: expected line or none")
    currency = _currency(invoice, book)
    findings: list[Finding] = []
    groups: dict[tuple[Period, str, str], list[InvoiceLine]] = defaultdict(list)
    other: Counter = Counter()
    elsewhere: list[InvoiceLine] = []
    billed_total = Decimal(0)
    list_total = Decimal(0)
    outside: Counter = Counter()  # out-of-scope rows: billed per currency
    outside_rows: Counter = Counter()  # and their count
    for line in invoice.lines:
        if not line.in_scope:
            outside_rows[(line.currency or "USD").upper()] += 1
            outside[(line.currency or "USD").upper()] += line.billed
            continue
        if line.unsplit:
            billed_total += line.billed
            list_total += line.billed
            findings.append(_unsplit(line, match_model(line.model, book) or line.model))
            continue
        if not line.is_usage:
            other[line.category] += line.billed
            continue
        period = periods[line.invoice_id]
        model = match_model(line.model, book) or model_label(line.model)
        if line.correction:
            target = next((p for p in sorted(set(periods.values()), key=lambda p: p.start)
                           if p.contains(line.period)), None)
            if target is None:
                elsewhere.append(line)
                continue
            groups[(target, model, line.charge)].append(line)
            billed_total += line.billed
            continue
        billed_total += line.billed
        list_total += line.amount if line.amount is not None else line.billed
        findings.extend(_line_checks(line, model, book, rounding, currency))
        if not period.contains(line.period):
            findings.append(Finding(
                kind="out_of_period", ref=_ref(line.source, [line.line]), source=line.source,
                lines=(line.line,), invoice_id=line.invoice_id, model=model, charge=line.charge,
                period=line.period.label, expected=Decimal(0), billed=line.billed,
                difference=line.billed, impact=line.billed,
                detail=f"charged for {line.period.label}, outside the invoice period "
                       f"{period.label}",
            ))
            continue
        groups[(period, model, line.charge)].append(line)

    rows: list[ChargeRow] = []
    expected_total = Decimal(0)
    unpriced: set[str] = set()
    for period in sorted(set(periods.values()), key=lambda p: p.start):
        in_period = {k: v for k, v in groups.items() if k[0] == period}
        period_logged = logged.get(period, {})
        for lg in period_logged.values():
            if lg.cost is None:
                unpriced.add(lg.model)
            else:
                expected_total += lg.cost.total
        found, period_rows = _reconcile_period(period, in_period, period_logged, tolerance)
        findings.extend(found)
        rows.extend(period_rows)

    findings.sort(key=lambda f: (f.lines[0] if f.lines else 0, KINDS.index(f.kind), f.ref))
    summary: dict[str, Any] = {
        "kind": invoice.kind,
        "source": invoice.source,
        "currency": currency,
        "invoices": sorted({line.invoice_id for line in invoice.lines}),
        "periods": [p.label for p in sorted(set(periods.values()), key=lambda p: p.start)],
        "lines": sum(1 for line in invoice.lines if line.is_usage or line.unsplit),
        "billed_total": billed_total,
        "expected_total": expected_total,
        "difference": billed_total - expected_total,
        "tolerance": tolerance.describe(),
        "rounding": rounding,
    }
    if invoice.kind == "focus":
        summary["list_total"] = list_total
    if other:
        summary["other_charges"] = dict(sorted(other.items()))
    summary["invoice_total"] = billed_total + sum(other.values(), Decimal(0)) + sum(
        (line.billed for line in elsewhere), Decimal(0))
    if elsewhere:
        summary["corrections_to_other_periods"] = {
            "lines": [line.line for line in elsewhere],
            "billed": sum((line.billed for line in elsewhere), Decimal(0)),
        }
    if unpriced:
        summary["unpriced_models"] = sorted(unpriced)
    readings = unit_readings(invoice.lines)
    if readings:
        summary["unit_readings"] = readings
    if outside_rows:
        summary["out_of_scope"] = {"rows": sum(outside_rows.values()),
                                   "billed": dict(sorted(outside.items())),
                                   "rows_by_currency": dict(sorted(outside_rows.items()))}
    return AuditResult(invoice.kind, invoice.source, currency, summary, findings, rows)


def _currency(invoice: InvoiceFile, book: PriceBook) -> str:
    stated = {line.currency.upper() for line in invoice.lines if line.currency and line.in_scope}
    if len(stated) > 1:
        raise InputError(
            f"{invoice.source}: lines in {', '.join(sorted(stated))}; audit one currency at a time"
        )
    currency = stated.pop() if stated else "USD"
    for line in invoice.lines:
        if not line.is_usage:
            continue
        model = match_model(line.model, book)
        if model is None:
            continue
        for card in book.cards_for(model):
            if card.currency.upper() != currency:
                raise InputError(
                    f"{line.source}:{line.line}: billed in {currency} but the card "
                    f"{card.card_id} is in {card.currency}; costkit does not convert currencies"
                )
    return currency


def _ref(source: str, lines: Iterable[int]) -> str:
    """`invoice.csv:4`, `focus.csv:3,7,166-195` (runs of consecutive lines joined)."""
    runs: list[list[int]] = []
    for n in sorted(set(lines)):
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    text = ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)
    return f"{Path(source).name}:{text}"


def _other_reading(line: InvoiceLine) -> str:
    """For a line that fits neither reading of its unit: what the other reading gives."""
    if line.reading != "neither" or line.unit is None or line.unit_price is None:
        return ""
    assert line.quantity is not None
    other = line.quantity / line.unit.size * line.unit_price
    return (f"; read in {line.unit.base} ({decimal_text(line.quantity)} {line.unit.base}) it "
            f"would be {decimal_text(other)}: neither reading of the unit "
            f"{line.unit.text!r} agrees")


def _unsplit(line: InvoiceLine, model: str) -> Finding:
    """A FOCUS usage row of a model that does not say which charge it bills."""
    tokens = "" if line.quantity is None else f" for {decimal_text(line.quantity)} tokens"
    return Finding(
        kind="unsplit_charge", ref=_ref(line.source, [line.line]), source=line.source,
        lines=(line.line,), invoice_id=line.invoice_id, model=model,
        period=line.period.label, billed=line.billed,
        detail=f"{model} billed {decimal_text(line.billed)}{tokens} in one row that does not "
               "say which charge it is (input, output, ...: no SkuId, SkuMeter, x_Charge or "
               "PricingUnit names one), so no card rate can check it",
    )


def _line_checks(line: InvoiceLine, model: str, book: PriceBook, rounding: str,
                 currency: str) -> list[Finding]:
    """The per-line facts: the unit price is a card's, and quantity x price = amount."""
    out: list[Finding] = []
    common = dict(ref=_ref(line.source, [line.line]), source=line.source, lines=(line.line,),
                  invoice_id=line.invoice_id, model=model, charge=line.charge,
                  period=line.period.label)
    if line.unit_price is not None and line.unit is not None:
        allowed = unit_rates(cards_during(book, model, line.period), line.charge, line.unit.size)
        if allowed and line.unit_price not in allowed:
            expected = allowed[0]
            quantity = line.quantity or Decimal(0)
            out.append(Finding(
                kind="unit_price_mismatch", **common, unit=f"{currency} per {line.unit.text}",
                expected=expected, billed=line.unit_price, difference=line.unit_price - expected,
                impact=(line.unit_price - expected) * quantity,
                detail=f"unit price {decimal_text(line.unit_price)} per {line.unit.text}; the card "
                       f"rate in effect is {decimal_text(expected)}",
            ))
    if line.unit_price is not None and line.quantity is not None and line.amount is not None:
        exact = line.quantity * line.unit_price
        if not amounts_match(line.amount, exact, rounding):
            expected = round_amount(exact, line.amount, rounding)
            out.append(Finding(
                kind="amount_mismatch", **common, expected=expected, billed=line.amount,
                difference=line.amount - expected, impact=line.amount - expected,
                detail=f"{decimal_text(line.quantity)} x {decimal_text(line.unit_price)} = "
                       f"{decimal_text(exact)}, stated as {decimal_text(line.amount)}"
                       + _other_reading(line),
            ))
    return out


def _reconcile_period(
    period: Period,
    groups: Mapping[tuple[Period, str, str], list[InvoiceLine]],
    logged: Mapping[str, Logged],
    tolerance: Tolerance,
) -> tuple[list[Finding], list[ChargeRow]]:
    findings: list[Finding] = []
    rows: list[ChargeRow] = []
    billed_by_model: dict[str, dict[str, list[InvoiceLine]]] = defaultdict(dict)
    for (_, model, charge), lines in groups.items():
        billed_by_model[model][charge] = lines
    used = {m for m, lg in logged.items() if _any_usage(lg)}
    for model in sorted(set(billed_by_model) | used):
        billed = billed_by_model.get(model, {})
        lg = logged.get(model) if model in used else None
        charges_billed = set(billed)
        for charge in CHARGES:
            lines = billed.get(charge, [])
            if not lines and charge in FOLDS_INTO and charge not in charges_billed:
                continue
            logged_q, expected = logged_quantity(lg, charge, charges_billed)
            billed_q = sum((ln.base_quantity or Decimal(0) for ln in lines), Decimal(0))
            if not lines and not logged_q:
                continue
            rows.append(ChargeRow(
                period=period.label, model=model, charge=charge, unit=charge_base(charge),
                billed_quantity=billed_q, logged_quantity=logged_q,
                billed_amount=sum((ln.billed for ln in lines), Decimal(0)),
                expected_amount=expected, lines=tuple(ln.line for ln in lines),
            ))
        if not billed:
            found = [_unbilled_model(period, model, lg, tolerance)]
        elif lg is None:
            found = [_unlogged_model(period, model, billed, tolerance)]
        else:
            found = _per_charge(period, model, billed, lg, tolerance)
        findings.extend(f for f in found if f is not None)
    return findings, rows


def _any_usage(lg: Logged) -> bool:
    u = lg.usage
    return bool(u.input_tokens or u.output_tokens or u.reasoning_tokens or u.search_calls)


def _unbilled_model(period: Period, model: str, lg: Logged,
                    tolerance: Tolerance) -> Finding | None:
    """A model with logged usage and no line on the invoice at all: one finding."""
    quantities = {c: logged_quantity(lg, c, set())[0]
                  for c in ("input_tokens", "output_tokens", "web_search_calls")}
    if all(tolerance.allows(q, Decimal(0), charge_base(c)) for c, q in quantities.items()):
        return None
    expected = None if lg.cost is None else lg.cost.total
    return Finding(
        kind="unbilled_usage", ref="usage log", model=model, period=period.label,
        expected=expected, billed=Decimal(0),
        difference=None if expected is None else -expected,
        impact=None if expected is None else -expected,
        detail=f"{lg.requests:,} logged requests of {model} ({_usage_text(lg.usage)}) "
               f"and no line for the model on the invoice",
    )


def _unlogged_model(period: Period, model: str, billed: Mapping[str, list[InvoiceLine]],
                    tolerance: Tolerance) -> Finding | None:
    """A model on the invoice with no logged usage at all: one finding for all its lines."""
    quantities = {c: sum((ln.base_quantity or Decimal(0) for ln in lines), Decimal(0))
                  for c, lines in billed.items()}
    if all(tolerance.allows(Decimal(0), q, charge_base(c)) for c, q in quantities.items()):
        return None
    lines = sorted((ln for group in billed.values() for ln in group), key=lambda ln: ln.line)
    amount = sum((ln.billed for ln in lines), Decimal(0))
    return Finding(
        kind="unlogged_charge", ref=_ref(lines[0].source, [ln.line for ln in lines]),
        source=lines[0].source, lines=tuple(ln.line for ln in lines),
        invoice_id=lines[0].invoice_id, model=model, period=period.label,
        expected=Decimal(0), billed=amount, difference=amount, impact=amount,
        detail=f"{model} is billed ({', '.join(sorted(billed))}) but no usage of it is logged "
               f"in {period.label}",
    )


def _per_charge(period, model, billed, lg: Logged, tolerance) -> list[Finding]:
    out: list[Finding] = []
    charges_billed = set(billed)
    for charge in CHARGES:
        lines = billed.get(charge)
        logged_q, expected_cost = logged_quantity(lg, charge, charges_billed)
        base = charge_base(charge)
        if not lines:
            if charge in FOLDS_INTO or not logged_q or tolerance.allows(logged_q, Decimal(0), base):
                continue
            out.append(Finding(
                kind="unbilled_usage", ref="usage log", model=model, charge=charge,
                period=period.label, unit=base, expected=logged_q, billed=Decimal(0),
                difference=-logged_q, impact=None if expected_cost is None else -expected_cost,
                detail=f"{logged_q:,} {base} of {charge} logged for {model}; the invoice has "
                       f"no {charge} line for it",
            ))
            continue
        billed_q = sum((ln.base_quantity or Decimal(0) for ln in lines), Decimal(0))
        amount = sum((ln.billed for ln in lines), Decimal(0))
        common = dict(ref=_ref(lines[0].source, [ln.line for ln in lines]), source=lines[0].source,
                      lines=tuple(sorted(ln.line for ln in lines)), invoice_id=lines[0].invoice_id,
                      model=model, charge=charge, period=period.label)
        if not logged_q:
            if tolerance.allows(Decimal(0), billed_q, base):
                continue
            out.append(Finding(
                kind="unlogged_charge", **common, unit=base, expected=Decimal(0), billed=billed_q,
                difference=billed_q, impact=amount,
                detail=f"{billed_q:,} {base} of {charge} billed for {model}; none logged",
            ))
            continue
        if tolerance.allows(logged_q, billed_q, base):
            continue
        diff = billed_q - logged_q
        impact = None if expected_cost is None else diff * expected_cost / logged_q
        out.append(Finding(
            kind="quantity_mismatch", **common, unit=base, expected=logged_q, billed=billed_q,
            difference=diff, impact=impact,
            detail=f"billed {billed_q:,} {base}, logged {logged_q:,} ({_percent(diff, logged_q)}); "
                   f"tolerance {decimal_text(tolerance.limit(logged_q, base))} {base}",
        ))
    return out


def _percent(diff: Decimal, base: Decimal) -> str:
    value = (diff * 100 / base).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{'+' if value > 0 else ''}{value}%"


def _usage_text(u: Usage) -> str:
    output = u.output_tokens + u.reasoning_tokens
    text = f"{u.input_tokens:,} input tokens, {output:,} output tokens"
    return text + (f", {u.search_calls:,} searches" if u.search_calls else "")


# --- the edge: files and the store -----------------------------------------------------------

def audit_invoice(
    path: Path,
    db: Path | str | None,
    book: PriceBook,
    tz: str = "UTC",
    tolerance: Tolerance | None = None,
    rounding: str = "line",
) -> AuditResult:
    """Read an invoice CSV or FOCUS export and reconcile it with the usage in the store at
    `db` (else the default store). The invoice is read first, so its mistakes are reported
    before anything about the store; the store must exist and hold usage."""
    from costkit.spend.breakdown import UnpricedUsageWarning, spend

    tz = canonical(tz)
    zone = tz_zone(tz)
    invoice = read_invoice(Path(path), zone, known=lambda text: match_model(text, book)
                           is not None)
    if not any(line.is_usage or line.unsplit for line in invoice.lines):
        if any(not line.in_scope for line in invoice.lines):
            # A cloud's export without LLM usage: only the out-of-scope summary to show.
            return reconcile_invoice(invoice, {}, {}, book, tolerance, rounding)
        raise InputError(f"{path}: no usage lines to audit")
    periods = invoice_periods(invoice, zone)
    logged: dict[Period, dict[str, Logged]] = {}
    con = open_store(db, read_only=True)
    try:
        require_usage(con, path)
        for period in set(periods.values()):
            # Aware instants: the period is exactly what the invoice states, in any zone.
            with warnings.catch_warnings():
                # Unpriced usage is in the result's summary (`unpriced_models`), not a warning.
                warnings.simplefilter("ignore", UnpricedUsageWarning)
                frame = spend(con, by=["model"], since=period.start, until=period.end, tz=tz,
                              book=book)
            logged[period] = logged_from_rows(frame.iter_rows(named=True), book)
    finally:
        con.close()
    return reconcile_invoice(invoice, periods, logged, book, tolerance, rounding)
