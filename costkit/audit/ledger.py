"""The gateway ledger audit: each request's debit against its tokens x the card in effect.

Reconciliation only. The ledger is read by `costkit.readers.ledger`, the reader `costkit
ingest` stages it with (the same statement), so the audit and the ingest read any file
alike: the same requests with the same tokens and debits, the same records rejected for the
same reasons. Field meanings (times, cached input, reasoning, search calls, what counts as
failed, exact amounts) are that module's; none is restated here.

Per request the expected debit is `price(Usage(...), card in effect at the event time)`
(token sums first, one multiplication per component), less `metadata.discount_amount`
when the gateway applied a discount (then `metadata.list_cost` should be the card's price
and `cost.amount` = list_cost - discount_amount).

- A record the reader rejects is an `unreadable_event` finding, with the reader's reason
  (what `costkit rejects` shows after an ingest): its debit is not checked, and never
  counted as matching. A file none of whose records can be read is an input error.
- A request id debited twice is a `duplicate_charge`: the second debit is not expected.
  "An identical record" when it repeats the first in what the ingest compares
  (`costkit.ingest.dedupe.CONTENT_COLUMNS`: the ingest counts it a duplicate), else "a
  different record" (the ingest sets it aside as a conflict).
- A failed request that was debited is compared like any other and listed in the summary;
  one debited nothing is not expected to be.
- The summary's difference is over the debits that could be checked; those of a model with
  no card in effect are counted apart (`unpriced`), never as matching or as $0.
- Rounding `line`: a debit may differ from the exact price by rounding at the ledger's own
  precision (the most decimal places any of its amounts is written with, 2 to 9); `none`:
  exactly.
Arithmetic runs with enough Decimal digits for any amount the reader accepts (38), so no
sum or difference is ever rounded.
"""

from __future__ import annotations

import contextlib
import decimal
import functools
import gc
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
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
from costkit.core.errors import CardError, InputError, NoCardInEffectError, UnknownModelError
from costkit.core.usage import Usage
from costkit.ingest.dedupe import CONTENT_COLUMNS
from costkit.pricing.book import PriceBook
from costkit.pricing.cost import price
from costkit.readers import ledger as reader
from costkit.readers.billed import billed_source, read_billed

# What the audit reads of each record the reader returns.
COLUMNS = tuple(dict.fromkeys((
    "line", "pos", "whole", "item", "request_id", "ts", "model", "status", "failed",
    "input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens", "search_calls",
    "billed_cost", "billed_currency", "list_cost", "stated_cost", "discount_amount", "places",
    "reason", *CONTENT_COLUMNS)))
# Decimal digits for the audit's sums: a DECIMAL(38,12) amount, many times over, exactly.
PRECISION = 60


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One usage event the reader read: what was debited for one request, its tokens.

    `input_tokens` includes cached tokens; `output_tokens` is all output the event reports
    unless the reader split `reasoning_tokens` off it (`--ledger-reasoning from-total`).
    `where` names it in messages (file:line, or its place in a page); `same_as` is what the
    ingest compares to tell a repeated request from a conflicting one.
    """

    source: str
    line: int
    pos: int  # its position in the page on that line (1 for an event on its own)
    where: str
    event_id: str
    ts: datetime
    model: str
    status: str | None
    failed: bool
    input_tokens: int
    cached_tokens: int
    output_tokens: int
    reasoning_tokens: int
    search_calls: int
    amount: Decimal
    currency: str
    list_cost: Decimal | None
    billed_cost: Decimal | None  # metadata.billed_cost, when stated
    discount_amount: Decimal | None
    places: int
    same_as: tuple
    cache_write_tokens: int = 0  # inside input_tokens (LiteLLM's Anthropic cache writes)


@dataclass(frozen=True, slots=True)
class UnreadRecord:
    """A record the reader rejected, and why (the reason `costkit rejects` shows)."""

    source: str
    line: int
    pos: int
    reason: str
    request_id: str | None
    model: str | None
    amount: Decimal | None


@dataclass(frozen=True)
class Ledger:
    """A ledger file as read: its events and the records that could not be read, each in
    file order."""

    source: str
    events: list[LedgerEvent]
    unread: list[UnreadRecord]
    reader: str = "ledger"  # the reader that read it (costkit.readers.billed)
    byok: tuple[int, Decimal] = (0, Decimal(0))  # OpenRouter BYOK rows: count, fees billed


def read_ledger(path: Path | str, output_includes_reasoning: bool = True) -> Ledger:
    """The events of a ledger file, through `costkit.readers.ledger`. With
    `output_includes_reasoning` false, the reader's `from-total` reading. A LiteLLM spend
    log or OpenRouter generation stats (`costkit.readers.billed`) are read by their own
    readers: each row is one request with what was billed for it."""
    name = billed_source(path)
    if name is not None:
        return _read_billed(path, name)
    source = str(path)
    mode = "in-output" if output_includes_reasoning else "from-total"
    events: list[LedgerEvent] = []
    unread: list[UnreadRecord] = []
    with _no_gc():
        for row in reader.read_events(Path(path), mode, COLUMNS):
            if row["reason"] is None:
                events.append(_event(row, source))
            else:
                unread.append(UnreadRecord(source, row["line"], row["pos"] or 0, row["reason"],
                                           row["request_id"], row["model"], row["billed_cost"]))
    return Ledger(source, events, unread)


# The field each per-request source states its billed amount in (for messages).
BILLED_FIELD = {"litellm-spend": "spend", "openrouter": "total_cost"}


def _read_billed(path: Path | str, name: str) -> Ledger:
    """A LiteLLM spend log's or OpenRouter's requests as ledger events: `billed_cost` is the
    debit; the token columns are the store's (input includes cached and cache-write tokens,
    output excludes reasoning). A row the reader rejects, or one without a billed amount,
    is an unread record (its reason is the reader's, as `costkit rejects` shows it)."""
    source = str(path)
    events: list[LedgerEvent] = []
    unread: list[UnreadRecord] = []
    byok, fees = 0, Decimal(0)
    for row in read_billed(path, name):
        if row["reason"] is None and row["tags"] and json.loads(row["tags"]).get("byok"):
            # bring-your-own-key: total_cost is OpenRouter's fee, the provider bills the model
            byok, fees = byok + 1, fees + (row["billed_cost"] or 0)
            continue
        reason = row["reason"]
        if reason is None and row["billed_cost"] is None:
            reason = f"no billed amount ({BILLED_FIELD[name]})"
        if reason is not None:
            unread.append(UnreadRecord(source, row["line"], 1, reason, row["request_id"],
                                       row["model"], row["billed_cost"]))
            continue
        status = row["status"]
        amount: Decimal = row["billed_cost"].normalize()
        events.append(LedgerEvent(
            source=source, line=row["line"], pos=1, where=f"{source}:{row['line']}",
            event_id=row["request_id"], ts=row["ts"], model=row["model"], status=status,
            failed=status is not None and status.lower() not in reader.SUCCESS_STATUSES,
            input_tokens=row["input_tokens"], cached_tokens=row["cached_input_tokens"] or 0,
            output_tokens=row["output_tokens"], reasoning_tokens=row["reasoning_tokens"] or 0,
            search_calls=row["search_calls"] or 0, amount=amount,
            currency=row["billed_currency"] or "USD", list_cost=None, billed_cost=None,
            discount_amount=None, places=max(-amount.as_tuple().exponent, 0),
            same_as=tuple(map(row.get, CONTENT_COLUMNS)),
            cache_write_tokens=row["cache_write_tokens"] or 0,
        ))
    return Ledger(source, events, unread, name, (byok, fees))


def _event(row: dict[str, Any], source: str) -> LedgerEvent:
    where = source if row["whole"] else f"{source}:{row['line']}"
    if row["item"] is not None:
        where += f" {row['item']} ({row['request_id']})"
    return LedgerEvent(
        source=source, line=row["line"], pos=row["pos"], where=where, event_id=row["request_id"],
        ts=row["ts"], model=row["model"], status=row["status"], failed=row["failed"],
        input_tokens=row["input_tokens"], cached_tokens=row["cached_input_tokens"],
        output_tokens=row["output_tokens"], reasoning_tokens=row["reasoning_tokens"] or 0,
        search_calls=row["search_calls"], amount=row["billed_cost"],
        currency=row["billed_currency"], list_cost=row["list_cost"],
        billed_cost=row["stated_cost"], discount_amount=row["discount_amount"],
        places=row["places"], same_as=tuple(map(row.__getitem__, CONTENT_COLUMNS)),
    )


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Many small live objects and no cycles: the cyclic GC would rescan them all, again and
    again, as the list grows (3x slower on 200k events). Reference counting still frees."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- reconciling ------------------------------------------------------------------------------

def ledger_places(events: Sequence[LedgerEvent]) -> int:
    """The ledger's precision: the most decimal places any of its amounts shows (2 to 9)."""
    places = max((ev.places for ev in events), default=2)
    return min(max(places, 2), MAX_PLACES)


def reconcile_ledger(
    events: Sequence[LedgerEvent], book: PriceBook, rounding: str = "line", source: str = "",
    unread: Sequence[UnreadRecord] = (),
) -> AuditResult:
    """Each event's debit against tokens x the card in effect at its time (less its discount);
    each record in `unread` is a finding of its own."""
    if rounding not in ROUNDINGS:
        raise InputError(f"--rounding {rounding!r}: expected line or none")
    with decimal.localcontext(prec=PRECISION):
        return _reconcile(events, book, rounding, source, unread)


def _reconcile(events: Sequence[LedgerEvent], book: PriceBook, rounding: str, source: str,
               unread: Sequence[UnreadRecord]) -> AuditResult:
    places = ledger_places(events)
    found: list[tuple[tuple[int, int], Finding]] = [
        ((record.line, record.pos), _unread_finding(record)) for record in unread]
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
            same = "an identical record" if first.same_as == ev.same_as else "a different record"
            found.append(((ev.line, ev.pos), Finding(
                kind="duplicate_charge", **_about(ev), expected=Decimal(0), billed=ev.amount,
                difference=ev.amount, impact=ev.amount,
                detail=f"request {ev.event_id} debited again ({same}; first at "
                       f"{_ref(first)})",
            )))
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
                cache_write_tokens=ev.cache_write_tokens, output_tokens=ev.output_tokens,
                reasoning_tokens=ev.reasoning_tokens, search_calls=ev.search_calls,
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
        found.append(((ev.line, ev.pos), Finding(
            kind="ledger_overcharge" if diff > 0 else "ledger_undercharge", **_about(ev),
            expected=shown, billed=ev.amount, difference=diff, impact=diff,
            detail=_debit_detail(ev, card.card_id, cost.total, discount),
        )))
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
    if unread:
        summary["not_read"] = {"records": len(unread)}
    # In file order: by line, then position in the page on that line.
    findings = [f for _, f in sorted(found, key=lambda pair: pair[0])]
    return AuditResult("ledger", source, summary["currency"], summary, findings)


def _unread_finding(record: UnreadRecord) -> Finding:
    return Finding(
        kind="unreadable_event", ref=f"{_name(record.source)}:{record.line}",
        source=record.source, lines=(record.line,), request_id=record.request_id,
        model=record.model, billed=record.amount,
        detail=f"{record.reason}; not read, so its debit is not checked",
    )


def _about(ev: LedgerEvent) -> dict[str, Any]:
    """What a finding about `ev` concerns: its file line, request id, model and time."""
    return dict(ref=_ref(ev), source=ev.source, lines=(ev.line,), request_id=ev.event_id,
                model=ev.model, period=ev.ts.isoformat())


def _ref(ev: LedgerEvent) -> str:
    return ev.where.replace(ev.source, _name(ev.source), 1)


@functools.lru_cache(maxsize=64)
def _name(source: str) -> str:
    return Path(source).name


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
    path: Path | str, book: PriceBook, rounding: str = "line",
    output_includes_reasoning: bool = True,
) -> AuditResult:
    """Read a gateway ledger file and check every debit against the cards."""
    ledger = read_ledger(path, output_includes_reasoning)
    if not ledger.events:
        if not ledger.unread:
            raise InputError(f"{path}: no usage events to audit")
        first = ledger.unread[0]
        many = len(ledger.unread)
        raise InputError(
            f"{path}: no usage event could be read ({many} record{'s' if many != 1 else ''} "
            f"rejected; the first, at line {first.line}: {first.reason}); is it a gateway "
            "ledger (usage_event JSONL or pages), a LiteLLM spend log or OpenRouter "
            "generation stats?")
    with _no_gc():
        result = reconcile_ledger(ledger.events, book, rounding, str(path), ledger.unread)
    result.summary["output_includes_reasoning"] = output_includes_reasoning
    if ledger.reader != "ledger":
        result.summary["reader"] = ledger.reader
    if ledger.byok[0]:
        result.summary["byok"] = {"events": ledger.byok[0], "billed": ledger.byok[1]}
    return result
