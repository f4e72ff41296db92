"""The gateway ledger audit: each request's debit against its tokens x the card in effect.

Reads the gateway's account usage events (`object: usage_event`): a JSONL of events, a
JSONL of page objects, or one JSON page or list (gzipped when named `.gz`); numbers are
read as Decimal, never float.
Per request the expected debit is `price(Usage(...), card in effect at the event time)`
(token sums first, one multiplication per component), less `metadata.discount_amount`
when the gateway applied a discount (then `metadata.list_cost` should be the card's price
and `cost.amount` = list_cost - discount_amount).

- Whether `tokens.output` includes reasoning is undocumented: by default it does, and all
  output bills at the output rate ("includes, not split").
- A request id debited twice is a `duplicate_charge`: the second debit is not expected.
- A failed request (`status` / `status_code`) that was debited is compared like any other
  and listed in the summary; one debited nothing is not expected to be.
- The summary's difference is over the debits that could be checked; those of a model with
  no card in effect are counted apart (`unpriced`), never as matching or as $0.
- Rounding `line`: a debit may differ from the exact price by rounding at the ledger's own
  precision (the most decimal places any of its amounts shows, 2 to 9); `none`: exactly.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from costkit.audit.findings import (
    MAX_PLACES,
    ROUNDINGS,
    AuditResult,
    Finding,
    amounts_match,
    decimal_text,
    match_model,
    round_amount,
)
from costkit.audit.invoice import MAX_NUMBER, MAX_TEXT, parse_decimal, read_bytes, trim_fraction
from costkit.core.errors import CardError, InputError, NoCardInEffectError, UnknownModelError
from costkit.core.usage import Usage
from costkit.pricing.book import PriceBook
from costkit.pricing.cost import price

LEDGER_TIME_FIELDS = ("created_at", "created", "timestamp")
LEDGER_LIST_FIELDS = ("data", "events", "usage", "items", "results")
SUCCESS_STATUSES = {"success", "succeeded", "successful", "completed", "complete", "ok"}


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One gateway usage event: what was debited for one request, and its token counts.

    `input_tokens` includes cached tokens. `output_tokens` is all output the event
    reports; `reasoning_tokens` is what could be split from it (0 when not split).
    """

    source: str
    line: int
    where: str
    event_id: str
    ts: datetime
    model: str
    status: str | None
    status_code: int | None
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    search_calls: int
    amount: Decimal
    currency: str
    list_cost: Decimal | None = None
    billed_cost: Decimal | None = None
    discount_amount: Decimal | None = None

    @property
    def failed(self) -> bool:
        if self.status_code is not None and self.status_code >= 400:
            return True
        return self.status is not None and self.status.lower() not in SUCCESS_STATUSES


# --- reading ---------------------------------------------------------------------------------

def read_ledger(path: Path, output_includes_reasoning: bool = True) -> list[LedgerEvent]:
    """Every usage event in the file, in file order.

    With `output_includes_reasoning` false, reasoning is `tokens.total` minus input and
    output (when a total is given) and bills at the card's reasoning rate.
    """
    data = read_bytes(Path(path))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(f"{path}:{line}: not UTF-8 text") from None
    del data
    lines = text.splitlines()
    first = next((i for i, s in enumerate(lines) if s.strip()), None)
    if first is None:
        return []
    source = str(path)
    try:
        json.loads(lines[first])
        per_line = True
    except json.JSONDecodeError:
        per_line = False  # one JSON document over many lines
    events: list[LedgerEvent] = []
    with _no_gc():
        if per_line:
            for number, raw in enumerate(lines, start=1):
                if not raw.strip():
                    continue
                try:
                    value = json.loads(raw, parse_float=Decimal)
                except json.JSONDecodeError as exc:
                    raise InputError(f"{path}:{number}: not valid JSON ({exc.msg})") from None
                for record, line, where in _unpack(value, number, f"{source}:{number}"):
                    events.append(_event(record, source, line, where, output_includes_reasoning))
        else:
            try:
                value = json.loads(text, parse_float=Decimal)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
            for record, line, where in _unpack(value, 1, source):
                events.append(_event(record, source, line, where, output_includes_reasoning))
    return events


@contextlib.contextmanager
def _no_gc():
    """Many small live objects and no cycles: the cyclic GC would rescan them all, again and
    again, as the list grows (3x slower on 200k events). Reference counting still frees."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _unpack(value: Any, line: int, where: str) -> list[tuple[Any, int, str]]:
    if isinstance(value, list):
        return [(item, line, f"{where} [{i}]") for i, item in enumerate(value)]
    if not isinstance(value, dict):
        raise InputError(f"{where}: expected a usage_event object or a page of them")
    if value.get("object") == "usage_event" or "tokens" in value or "cost" in value:
        return [(value, line, where)]
    for name in LEDGER_LIST_FIELDS:
        items = value.get(name)
        if isinstance(items, list):
            return [(item, line, f"{where} {name}[{i}]") for i, item in enumerate(items)]
    raise InputError(
        f"{where}: neither a usage_event (object, tokens, cost) nor a page with a list field "
        f"({', '.join(LEDGER_LIST_FIELDS)})"
    )


def _event(
    raw: Any, source: str, line: int, where: str, output_includes_reasoning: bool
) -> LedgerEvent:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a usage_event object")
    event_id = raw.get("id")
    if not isinstance(event_id, str) or not event_id:
        raise InputError(f"{where}: id is missing; a usage event needs its request id")
    where = f"{where} ({event_id})" if "[" in where else where
    model = raw.get("model")
    if not isinstance(model, str) or not model:
        raise InputError(f"{where}: model is missing")
    tokens = raw.get("tokens")
    if not isinstance(tokens, dict):
        raise InputError(f"{where}: tokens is missing; expected {{input, output, cached, total}}")
    input_tokens = _count(tokens.get("input"), where, "tokens.input")
    output_tokens = _count(tokens.get("output"), where, "tokens.output")
    cached = _count(tokens.get("cached", 0), where, "tokens.cached")
    total = tokens.get("total")
    total = None if total is None else _count(total, where, "tokens.total")
    if cached > input_tokens:
        # Input that excludes cached tokens: the total says so when it adds up that way.
        if total is not None and total >= input_tokens + cached + output_tokens:
            input_tokens += cached
        else:
            raise InputError(
                f"{where}: tokens.cached ({cached}) exceeds tokens.input ({input_tokens})"
            )
    reasoning = 0
    if not output_includes_reasoning and total is not None:
        reasoning = max(total - input_tokens - output_tokens, 0)
    cost = raw.get("cost")
    if not isinstance(cost, dict) or cost.get("amount") is None:
        raise InputError(f"{where}: cost.amount is missing; it is what was debited")
    amount = _money(cost["amount"], where, "cost.amount")
    metadata = raw.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise InputError(f"{where}: metadata is {metadata!r}; expected an object")
    tools = metadata.get("tool_usage") or {}
    if not isinstance(tools, dict):
        raise InputError(f"{where}: metadata.tool_usage is {tools!r}; expected {{tool: count}}")
    searches = _count(tools.get("web_search", 0), where, "metadata.tool_usage.web_search")
    status_code = raw.get("status_code")
    if status_code is not None:
        status_code = _count(status_code, where, "status_code")
    status = raw.get("status")
    return LedgerEvent(
        source=source, line=line, where=where, event_id=event_id, ts=_event_time(raw, where),
        model=model, status=None if status is None else str(status), status_code=status_code,
        input_tokens=input_tokens, cached_tokens=cached, output_tokens=output_tokens,
        reasoning_tokens=reasoning, search_calls=searches, amount=amount,
        currency=str(cost.get("currency") or "USD"),
        list_cost=_optional_money(metadata, "list_cost", where),
        billed_cost=_optional_money(metadata, "billed_cost", where),
        discount_amount=_optional_money(metadata, "discount_amount", where),
    )


def _count(value: Any, where: str, field: str) -> int:
    if isinstance(value, Decimal) and not (value.is_finite() and abs(value) < MAX_NUMBER):
        raise InputError(f"{where}: {field} is {value}; expected a count below {MAX_TEXT}")
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{where}: {field} is {value!r}; expected a whole number")
    if value < 0:
        raise InputError(f"{where}: {field} is {value}; counts must be >= 0")
    if value >= MAX_NUMBER:
        raise InputError(f"{where}: {field} is {value}; expected a count below {MAX_TEXT}")
    return value


def _money(value: Any, where: str, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise InputError(f"{where}: {field} is {value!r}; expected a number")
    return parse_decimal(value, where, field)


def _optional_money(metadata: dict, name: str, where: str) -> Decimal | None:
    value = metadata.get(name)
    return None if value is None else _money(value, where, f"metadata.{name}")


def _event_time(raw: dict, where: str) -> datetime:
    for name in LEDGER_TIME_FIELDS:
        value = raw.get(name)
        if value is None:
            continue
        if isinstance(value, int) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, tz=UTC)
        if isinstance(value, Decimal):
            return _from_unix(value)
        if isinstance(value, str):
            text = value.strip()
            if re.fullmatch(r"\d+(\.\d+)?", text):
                return _from_unix(Decimal(text))
            try:
                at = datetime.fromisoformat(trim_fraction(text.replace("Z", "+00:00")))
            except ValueError:
                raise InputError(
                    f"{where}: {name} is {value!r}; expected ISO 8601 or unix seconds"
                ) from None
            return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        raise InputError(f"{where}: {name} is {value!r}; expected ISO 8601 or unix seconds")
    raise InputError(f"{where}: no time field; expected one of {', '.join(LEDGER_TIME_FIELDS)}")


def _from_unix(seconds: Decimal) -> datetime:
    whole = int(seconds)
    micros = int((seconds - whole) * 1_000_000)
    return datetime.fromtimestamp(whole, tz=UTC) + timedelta(microseconds=micros)


# --- reconciling ------------------------------------------------------------------------------

def ledger_places(events: list[LedgerEvent]) -> int:
    """The ledger's precision: the most decimal places any of its amounts shows (2 to 9)."""
    places = 2
    for ev in events:
        for value in (ev.amount, ev.list_cost, ev.billed_cost, ev.discount_amount):
            if value is not None:
                places = max(places, -value.as_tuple().exponent)
    return min(places, MAX_PLACES)


def reconcile_ledger(
    events: list[LedgerEvent], book: PriceBook, rounding: str = "line", source: str = ""
) -> AuditResult:
    """Each event's debit against tokens x the card in effect at its time (less its discount)."""
    if rounding not in ROUNDINGS:
        raise InputError(f"--rounding {rounding!r}: expected line or none")
    places = ledger_places(events)
    findings: list[Finding] = []
    first_seen: dict[str, LedgerEvent] = {}
    billed_total = expected_total = discount_total = Decimal(0)
    failed: list[LedgerEvent] = []
    unpriced: list[LedgerEvent] = []
    currencies: set[str] = set()
    for ev in events:
        billed_total += ev.amount
        currencies.add(ev.currency.upper())
        if ev.event_id in first_seen:
            first = first_seen[ev.event_id]
            same = "an identical record" if _same(first, ev) else "a different record"
            findings.append(Finding(
                kind="duplicate_charge", **_about(ev), expected=Decimal(0), billed=ev.amount,
                difference=ev.amount, impact=ev.amount,
                detail=f"request {ev.event_id} debited again ({same}; first at "
                       f"{first.where.replace(first.source, _name(first.source), 1)})",
            ))
            continue
        first_seen[ev.event_id] = ev
        if ev.failed and ev.amount:
            failed.append(ev)
        if ev.failed and not ev.amount:
            continue  # not billed, so nothing is expected either
        model = match_model(ev.model, book)
        try:
            if model is None:
                raise UnknownModelError(ev.model, book.models())
            card = book.card_for(model, at=ev.ts)
            cost = price(Usage(
                input_tokens=ev.input_tokens, cached_input_tokens=ev.cached_tokens,
                output_tokens=ev.output_tokens, reasoning_tokens=ev.reasoning_tokens,
                search_calls=ev.search_calls,
            ), card)
        except (UnknownModelError, NoCardInEffectError, CardError):
            unpriced.append(ev)
            continue
        if card.currency.upper() != ev.currency.upper():
            raise InputError(
                f"{ev.where}: debited in {ev.currency} but the card {card.card_id} is in "
                f"{card.currency}; costkit does not convert currencies"
            )
        discount = ev.discount_amount or Decimal(0)
        discount_total += discount
        expected = cost.total - discount
        expected_total += expected
        if amounts_match(ev.amount, expected, rounding, places):
            continue
        shown = round_amount(expected, None, rounding, places)
        diff = ev.amount - shown
        findings.append(Finding(
            kind="ledger_overcharge" if diff > 0 else "ledger_undercharge", **_about(ev),
            expected=shown, billed=ev.amount, difference=diff, impact=diff,
            detail=_debit_detail(ev, card.card_id, cost.total, discount),
        ))
    if len(currencies) > 1:
        raise InputError(f"{source}: debits in {', '.join(sorted(currencies))}; "
                         "audit one currency at a time")
    times = [ev.ts for ev in events]
    unchecked = sum((ev.amount for ev in unpriced), Decimal(0))
    summary: dict[str, Any] = {
        "kind": "ledger",
        "source": source,
        "currency": currencies.pop() if currencies else "USD",
        "events": len(events),
        "requests": len(first_seen),
        "first_event": min(times).isoformat() if times else None,
        "last_event": max(times).isoformat() if times else None,
        "billed_total": billed_total,
        "expected_total": expected_total,
        # Over the debits that could be checked: an unpriced model's are reported apart.
        "difference": billed_total - unchecked - expected_total,
        "discount_total": discount_total,
        "rounding": rounding if rounding == "none" else f"line ({places} decimal places)",
        "failed_billed": {
            "requests": len(failed),
            "billed": sum((ev.amount for ev in failed), Decimal(0)),
            "ids": [ev.event_id for ev in failed],
        },
    }
    if unpriced:
        summary["unpriced"] = {
            "events": len(unpriced),
            "billed": unchecked,
            "models": sorted({ev.model for ev in unpriced}),
        }
    return AuditResult("ledger", source, summary["currency"], summary, findings)


def _about(ev: LedgerEvent) -> dict[str, Any]:
    """What a finding about `ev` concerns: its file line, request id, model and time."""
    return dict(ref=ev.where.replace(ev.source, _name(ev.source), 1), source=ev.source,
                lines=(ev.line,), request_id=ev.event_id, model=ev.model,
                period=ev.ts.isoformat())


@functools.lru_cache(maxsize=64)
def _name(source: str) -> str:
    return Path(source).name


def _same(a: LedgerEvent, b: LedgerEvent) -> bool:
    skip = {"line", "where"}
    return all(getattr(a, f) == getattr(b, f) for f in a.__dataclass_fields__ if f not in skip)


def _debit_detail(ev: LedgerEvent, card_id: str, list_price: Decimal, discount: Decimal) -> str:
    tokens = f"{ev.input_tokens:,} input ({ev.cached_tokens:,} cached), {ev.output_tokens:,} output"
    if ev.reasoning_tokens:
        tokens += f", {ev.reasoning_tokens:,} reasoning"
    if ev.search_calls:
        tokens += f", {ev.search_calls} search{'' if ev.search_calls == 1 else 'es'}"
    text = f"debited {decimal_text(ev.amount)} for {tokens}; {card_id} prices it at " \
           f"{decimal_text(list_price)}"
    if discount:
        text += f" less discount {decimal_text(discount)}"
        if ev.list_cost is not None and ev.list_cost != list_price:
            text += f" (the ledger's list_cost is {decimal_text(ev.list_cost)})"
    if ev.billed_cost is not None and ev.billed_cost != ev.amount:
        text += f"; metadata.billed_cost {decimal_text(ev.billed_cost)} differs from cost.amount"
    return text


def audit_ledger(
    path: Path, book: PriceBook, rounding: str = "line", output_includes_reasoning: bool = True
) -> AuditResult:
    """Read a gateway ledger file and check every debit against the cards."""
    events = read_ledger(Path(path), output_includes_reasoning)
    if not events:
        raise InputError(f"{path}: no usage events to audit")
    with _no_gc():
        result = reconcile_ledger(events, book, rounding, source=str(path))
    result.summary["output_includes_reasoning"] = output_includes_reasoning
    return result
