"""What an audit reports, and the rules it judges by: findings, reconciliation rows, the
result, the quantity tolerance, the amount rounding, and the card rates a line may bill at.

Shared by the invoice audit (`costkit.audit.reconcile`) and the ledger audit
(`costkit.audit.ledger`).
"""

from __future__ import annotations

import io
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from costkit.audit.statement import Period
from costkit.core.components import BY_NAME
from costkit.core.errors import InputError, UnknownModelError
from costkit.core.money import decimal_text  # the one Decimal-to-text (ledger, reconcile, html)
from costkit.core.safe_output import CsvWriter
from costkit.pricing.book import PriceBook
from costkit.pricing.cards import Card
from costkit.pricing.cost import component_cost

KINDS = (
    "quantity_mismatch", "unit_price_mismatch", "amount_mismatch", "unbilled_usage",
    "unlogged_charge", "out_of_period", "ledger_overcharge", "ledger_undercharge",
    "duplicate_charge", "unreadable_event", "unsplit_charge",
)
ROUNDINGS = ("line", "none")
# What `costkit audit --ledger` calls a billed source other than the gateway ledger (by the
# reader that read it: costkit.readers.billed).
READER_NAMES = {"litellm-spend": "LiteLLM spend log", "openrouter": "OpenRouter generations"}
# The card rate(s) an invoice line of each charge may be priced at.
CHARGE_RATES = {
    "input_tokens": ("input",),
    "cached_input_tokens": ("cached_input",),
    "cache_write_tokens": ("cache_write",),
    "output_tokens": ("output", "reasoning"),
    "reasoning_tokens": ("reasoning",),
    "web_search_calls": ("web_search",),
}
MAX_PLACES = 9


@dataclass(frozen=True)
class Tolerance:
    """Quantities may differ by up to max(percent of the logged quantity, `tokens` tokens)."""

    percent: Decimal = Decimal("0.5")
    tokens: Decimal = Decimal(1000)

    @classmethod
    def parse(cls, text: str) -> Tolerance:
        """`0.5%`, `1000` (tokens), or both: `0.5%,1000`."""
        percent, tokens = Decimal(0), Decimal(0)
        parts = [p.strip().lower() for p in text.split(",") if p.strip()]
        if not parts:
            raise InputError(f"--tolerance {text!r}: expected e.g. 0.5%, 1000 or 0.5%,1000")
        for part in parts:
            match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*(%|tokens?)?", part)
            if not match:
                raise InputError(f"--tolerance {text!r}: expected e.g. 0.5%, 1000 or 0.5%,1000")
            if match[2] == "%":
                percent = Decimal(match[1])
            else:
                tokens = Decimal(match[1])
        return cls(percent, tokens)

    def limit(self, logged: Decimal, base: str) -> Decimal:
        relative = abs(logged) * self.percent / 100
        return max(relative, self.tokens) if base == "tokens" else relative

    def allows(self, logged: Decimal, billed: Decimal, base: str) -> bool:
        return abs(billed - logged) <= self.limit(logged, base)

    def describe(self) -> str:
        percent = decimal_text(self.percent.normalize())
        return f"{percent}% or {self.tokens:,} tokens, whichever is larger"


def round_amount(exact: Decimal, stated: Decimal | None, rounding: str,
                 places: int | None = None) -> Decimal:
    """`exact` as the invoice would state it: rounded half-up to the places `stated` is
    written in (or `places`), clamped to [2, 9]; unchanged with rounding `none`."""
    if rounding == "none":
        return exact
    if places is None:
        places = -stated.as_tuple().exponent if stated is not None else 2
    places = min(max(places, 2), MAX_PLACES)
    return exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def amounts_match(stated: Decimal, exact: Decimal, rounding: str,
                  places: int | None = None) -> bool:
    if rounding == "none":
        return stated == exact
    expected = round_amount(exact, stated, rounding, places)
    return round_amount(stated, stated, rounding, places) == expected


@dataclass(frozen=True)
class Finding:
    """One discrepancy: what kind, what it concerns, and expected vs billed.

    `unit` says what `expected`, `billed` and `difference` count (tokens, calls, USD or a
    price unit); `impact` is the money effect in the billing currency (billed - expected).
    """

    kind: str
    ref: str
    detail: str
    source: str | None = None
    lines: tuple[int, ...] = ()
    invoice_id: str | None = None
    request_id: str | None = None
    model: str | None = None
    charge: str | None = None
    period: str | None = None
    unit: str = "USD"
    expected: Decimal | None = None
    billed: Decimal | None = None
    difference: Decimal | None = None
    impact: Decimal | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "ref": self.ref, "source": self.source,
            "lines": list(self.lines), "invoice_id": self.invoice_id,
            "request_id": self.request_id, "model": self.model, "charge": self.charge,
            "period": self.period, "unit": self.unit,
            "expected": decimal_text(self.expected), "billed": decimal_text(self.billed),
            "difference": decimal_text(self.difference), "impact": decimal_text(self.impact),
            "detail": self.detail,
        }


@dataclass(frozen=True)
class ChargeRow:
    """One (period, model, charge) of an invoice set against the logged usage."""

    period: str
    model: str
    charge: str
    unit: str
    billed_quantity: Decimal
    logged_quantity: Decimal
    billed_amount: Decimal
    expected_amount: Decimal | None
    lines: tuple[int, ...] = ()

    @property
    def difference(self) -> Decimal | None:
        return None if self.expected_amount is None else self.billed_amount - self.expected_amount

    def as_dict(self) -> dict[str, Any]:
        diff = self.difference
        return {
            "period": self.period, "model": self.model, "charge": self.charge, "unit": self.unit,
            "billed_quantity": decimal_text(self.billed_quantity),
            "logged_quantity": decimal_text(self.logged_quantity),
            "billed_amount": decimal_text(self.billed_amount),
            "expected_amount": decimal_text(self.expected_amount),
            "difference": decimal_text(diff), "lines": list(self.lines),
        }


@dataclass
class AuditResult:
    kind: str  # "invoice" | "focus" | "ledger"
    source: str
    currency: str
    summary: dict[str, Any]
    findings: list[Finding]
    charges: list[ChargeRow] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        summary = dict(self.summary)
        summary["findings"] = len(self.findings)
        summary["by_kind"] = dict(Counter(f.kind for f in self.findings))
        if self.charges:
            summary["charges"] = [row.as_dict() for row in self.charges]
        return {"summary": _plain(summary), "findings": [f.as_dict() for f in self.findings]}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


FINDING_COLUMNS = ("kind", "ref", "source", "lines", "invoice_id", "request_id", "model",
                   "charge", "period", "unit", "expected", "billed", "difference", "impact",
                   "detail")


def findings_csv(result: AuditResult) -> str:
    """The findings as CSV, one row each (lines joined with spaces); exact decimals. Text
    cells a spreadsheet would run as formulas are quoted (safe_output.csv_cell). A FOCUS
    export's out-of-scope rows follow as one `out_of_scope` row per currency (not a finding:
    `billed` is their sum, `detail` their count)."""
    out = io.StringIO()
    writer = CsvWriter(out)
    writer.writerow(FINDING_COLUMNS)
    for finding in result.findings:
        row = finding.as_dict()
        row["lines"] = " ".join(str(n) for n in finding.lines)
        for amount in ("expected", "billed", "difference", "impact"):  # numbers, not text
            row[amount] = getattr(finding, amount)
        writer.writerow([row[c] for c in FINDING_COLUMNS])
    outside = result.summary.get("out_of_scope")
    for currency, amount in (outside or {}).get("billed", {}).items():
        cells = dict.fromkeys(FINDING_COLUMNS, "")
        rows = outside["rows_by_currency"][currency]
        cells.update(kind="out_of_scope", ref=Path(result.source).name, source=result.source,
                     unit=currency, billed=amount,
                     detail=f"{rows} rows outside the audited models' services")
        writer.writerow([cells[c] for c in FINDING_COLUMNS])
    return out.getvalue()



# --- models and cards ------------------------------------------------------------------------

def match_model(text: str, book: PriceBook) -> str | None:
    """The card model `text` names: itself or an alias, else the longest known name inside it
    (e.g. a FOCUS SkuId `deepseek-v3-2-input-tokens`)."""
    try:
        return book.resolve(text)
    except UnknownModelError:
        pass
    low = text.lower()
    for name in sorted(book.aliases(), key=len, reverse=True):
        for found in re.finditer(re.escape(name.lower()), low):
            before = low[found.start() - 1] if found.start() else " "
            after = low[found.end()] if found.end() < len(low) else " "
            if not (before.isalnum() or after.isalnum() or after == "."):
                return book.resolve(name)
    return None


_CHARGE_WORDS = {"input", "output", "cached", "cache", "read", "write", "creation", "reasoning",
                 "thinking", "web", "search", "searches", "tokens", "token", "calls", "call",
                 "requests", "request", "prompt", "completion"}


def model_label(text: str) -> str:
    """A model name for a SKU no card knows: `ghost-1-input-tokens` -> `ghost-1`."""
    parts = re.split(r"([-_ ])", text.strip())
    while len(parts) > 2 and parts[-1].lower() in _CHARGE_WORDS:
        parts = parts[:-2]
    return "".join(parts) or text


def cards_during(book: PriceBook, model: str, period: Period) -> list[Card]:
    try:
        cards = book.cards_for(model)
    except UnknownModelError:
        return []
    start, end = period.start, max(period.end, period.start + timedelta(microseconds=1))
    return [
        c for c in cards
        if (c.effective_from is None or c.effective_from < end)
        and (c.effective_to is None or c.effective_to > start)
    ]


def unit_rates(cards: list[Card], charge: str, unit_size: Decimal) -> list[Decimal]:
    """Every price per invoice unit the cards allow for `charge` (base rates and tiers)."""
    out: list[Decimal] = []
    for card in cards:
        for band in card.bands:
            for name in CHARGE_RATES[charge]:
                component = BY_NAME[name]
                if band.rates.of(component) is None:
                    continue
                per_unit = component_cost(component, unit_size, band.rates)
                if per_unit not in out:
                    out.append(per_unit)
    return out
