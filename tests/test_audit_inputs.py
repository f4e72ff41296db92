"""Reading invoices, FOCUS exports and gateway ledgers: exact values, clear errors."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from conftest import FIXTURES
from hypothesis import given
from hypothesis import strategies as st

from costkit.audit.focus import charge_from_text
from costkit.audit.invoice import read_invoice
from costkit.audit.ledger import read_ledger
from costkit.audit.statement import CHARGES, Period, parse_decimal, parse_instant, parse_unit
from costkit.core.errors import InputError

AUDIT = FIXTURES / "audit"
UTC_ZONE = ZoneInfo("UTC")
HEADER = ("invoice_id,period_start,period_end,model,charge,quantity,unit,unit_price,amount,"
          "currency\n")


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- units, numbers, dates ---------------------------------------------------------------------

@pytest.mark.parametrize("text, size, base", [
    ("1M tokens", 1_000_000, "tokens"),
    ("1m Tokens", 1_000_000, "tokens"),
    ("per 1M tokens", 1_000_000, "tokens"),
    ("MTok", 1_000_000, "tokens"),
    ("million tokens", 1_000_000, "tokens"),
    ("1K tokens", 1_000, "tokens"),
    ("1000 Tokens", 1_000, "tokens"),
    ("1,000,000 tokens", 1_000_000, "tokens"),
    ("token", 1, "tokens"),
    ("Tokens", 1, "tokens"),
    ("call", 1, "calls"),
    ("calls", 1, "calls"),
    ("Requests", 1, "calls"),
    ("1K calls", 1_000, "calls"),
    ("1000 Requests", 1_000, "calls"),
    ("searches", 1, "calls"),
    ("web search call", 1, "calls"),
])
def test_units(text, size, base):
    unit = parse_unit(text, "f.csv:2")
    assert unit.size == Decimal(size)
    assert unit.base == base
    assert unit.text == text


@pytest.mark.parametrize("text", ["", "GB", "1M", "hours", "0 tokens"])
def test_bad_units_name_the_place(text):
    with pytest.raises(InputError, match=r"^f\.csv:2: unit is"):
        parse_unit(text, "f.csv:2")


@pytest.mark.parametrize("text, value", [
    ("0.57", "0.57"), ("  12 ", "12"), ("1,234.50", "1234.50"), ("$0.015", "0.015"),
    ("(3.20)", "-3.20"), ("-0.0000005", "-0.0000005"), ("1_000", "1000"),
])
def test_decimals_are_exact(text, value):
    parsed = parse_decimal(text, "f.csv:3", "amount")
    assert isinstance(parsed, Decimal)
    assert parsed == Decimal(value)


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "NaN", "Infinity", "12,34"])
def test_bad_decimals_name_file_line_and_field(text):
    with pytest.raises(InputError, match=r"^f\.csv:3: amount is"):
        parse_decimal(text, "f.csv:3", "amount")


@pytest.mark.parametrize("text, shown", [
    ("1e400", "'1e400'"), ("-1E+400", "'-1E+400'"), ("1000000000000000", "'1000000000000000'"),
    ("1,000,000,000,000,000.00", "'1,000,000,000,000,000.00'"), (Decimal("1E+400"), "1E+400"),
    (10**15, "1000000000000000"),
])
def test_numbers_past_the_bound_name_file_line_and_field(text, shown):
    with pytest.raises(InputError) as raised:
        parse_decimal(text, "f.csv:3", "amount")
    assert str(raised.value) == f"f.csv:3: amount is {shown}; expected a number below 10^15 in size"


@pytest.mark.parametrize("text", ["999999999999999.999999", "-999999999999999", "1e-400",
                                  "0.000000000000000000000001"])
def test_numbers_inside_the_bound_are_kept_exactly(text):
    assert parse_decimal(text, "f.csv:3", "amount") == Decimal(text)


def test_unit_counts_past_the_bound():
    assert parse_unit("999999999 million tokens", "f.csv:2").size == Decimal(999999999 * 10**6)
    with pytest.raises(InputError, match=r"^f\.csv:2: unit is '1000000000 million tokens'; the "
                                         r"unit count must be below 10\^15$"):
        parse_unit("1000000000 million tokens", "f.csv:2")


@pytest.mark.parametrize("row, message", [
    # 1,000,000,000 x 1M tokens = 10^15 tokens
    ("i,2026-10-01,2026-10-31,m,input_tokens,1000000000,1M tokens,0.57,570000000000,USD",
     "f.csv:2: quantity x unit (tokens) is 1.000E+15; it must be below 10^15 in size"),
    # 2 x 5e14 per token = 10^15
    ("i,2026-10-01,2026-10-31,m,input_tokens,2,token,500000000000000,1,USD",
     "f.csv:2: quantity x unit_price is 1.000E+15; it must be below 10^15 in size"),
])
def test_invoice_lines_implying_too_much(tmp_path, row, message):
    with pytest.raises(InputError) as raised:
        read_invoice(write(tmp_path, "f.csv", HEADER + row + "\n"), UTC_ZONE)
    assert str(raised.value).endswith(message)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=8,
                   min_value=-10**9, max_value=10**9))
def test_decimal_text_round_trips(value):
    assert parse_decimal(format(value, "f"), "x", "amount") == value


def test_instants():
    berlin = ZoneInfo("Europe/Berlin")
    assert parse_instant("2026-10-01", "w", "period_start", UTC_ZONE) == \
        datetime(2026, 10, 1, tzinfo=UTC)
    # A date-only end is the last day billed: the exclusive end is the next midnight.
    assert parse_instant("2026-10-31", "w", "period_end", UTC_ZONE, end=True) == \
        datetime(2026, 11, 1, tzinfo=UTC)
    assert parse_instant("2026-11-01T00:00:00Z", "w", "period_end", UTC_ZONE, end=True) == \
        datetime(2026, 11, 1, tzinfo=UTC)
    local = parse_instant("2026-10-01", "w", "period_start", berlin)
    assert local == datetime(2026, 9, 30, 22, tzinfo=UTC)
    assert parse_instant("2026-10-01T12:00:00.1234567+02:00", "w", "x", UTC_ZONE) == \
        datetime(2026, 10, 1, 10, 0, 0, 123456, tzinfo=UTC)
    with pytest.raises(InputError, match=r"^w: period_start is '01/10/2026'; expected ISO 8601"):
        parse_instant("01/10/2026", "w", "period_start", UTC_ZONE)


def test_period_labels_and_containment():
    october = Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    day = Period(datetime(2026, 10, 31, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    late = Period(datetime(2026, 10, 31, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    assert october.label == "2026-10-01..2026-10-31"
    assert october.contains(day) and not october.contains(late) and not day.contains(october)


@pytest.mark.parametrize("text, charge", [
    ("deepseek-v3-2-input-tokens", "input_tokens"),
    ("deepseek-v3-2-cached-input-tokens", "cached_input_tokens"),
    ("Cache Read Tokens", "cached_input_tokens"),
    ("acme-cache-write-tokens", "cache_write_tokens"),
    ("acme-reasoning-tokens", "reasoning_tokens"),
    ("acme-thinking", "reasoning_tokens"),
    ("acme-web-search", "web_search_calls"),
    ("Prompt tokens", "input_tokens"),
    ("completion", "output_tokens"),
    ("output_tokens", "output_tokens"),
    ("1000 Tokens", None),
])
def test_charge_words(text, charge):
    assert charge_from_text(text) == charge


# --- line-item invoices ------------------------------------------------------------------------

def test_reads_the_fixture_invoice():
    invoice = read_invoice(AUDIT / "invoice-clean.csv", UTC_ZONE)
    assert invoice.kind == "invoice"
    usage = [line for line in invoice.lines if line.is_usage]
    assert len(usage) == 9 and {line.charge for line in usage} <= set(CHARGES)
    first = usage[0]
    assert (first.line, first.invoice_id, first.model, first.charge) == \
        (2, "INV-2026-10", "deepseek-v3-2", "input_tokens")
    assert first.quantity == Decimal("2.164852") and first.unit.size == 1_000_000
    assert first.base_quantity == Decimal(2_164_852)
    assert first.unit_price == Decimal("0.57") and first.amount == Decimal("1.23")
    assert first.period.label == "2026-10-01..2026-10-31"
    tax = [line for line in invoice.lines if not line.is_usage]
    assert [(t.category, t.billed) for t in tax] == [("Tax", Decimal("0.38"))]


def test_semicolons_bom_quotes_and_charge_aliases(tmp_path):
    text = ("\ufeffInvoice_ID;Period_Start;Period_End;Model;Charge;Quantity;Unit;Unit_Price;"
            "Amount;Currency\n"
            'A-1;2026-10-01;2026-10-31;deepseek-v3-2;Prompt Tokens;"1,500,000";1M tokens;'
            "0.57;0.86;USD\n\n"
            "A-1;2026-10-01;2026-10-31;deepseek-v3-2;web-search;3;call;0.015;0.05;USD\n")
    invoice = read_invoice(write(tmp_path, "inv.csv", text), UTC_ZONE)
    # "1,500,000" at 1M tokens agrees with its amount only in tokens: 1,500,000 / 1M x 0.57 =
    # 0.855 -> 0.86 (in millions it would be 855,000.00), so it is read in tokens.
    assert [(ln.line, ln.charge, ln.base_quantity, ln.reading) for ln in invoice.lines] == [
        (2, "input_tokens", Decimal(1_500_000), "base"),
        (4, "web_search_calls", Decimal(3), None),
    ]


def test_quoted_newline_keeps_line_numbers(tmp_path):
    text = HEADER + ('X,2026-10-01,2026-10-31,"deepseek-\nv3-2",input_tokens,1,token,0.00000057,'
                     "0,USD\nX,2026-10-01,2026-10-31,deepseek-v3-2,output_tokens,oops,token,1,1,USD\n")
    with pytest.raises(InputError, match=r"inv\.csv:4: quantity is 'oops'; expected a number"):
        read_invoice(write(tmp_path, "inv.csv", text), UTC_ZONE)


@pytest.mark.parametrize("row, message", [
    ("X,2026-10-01,2026-10-31,deepseek-v3-2,input_tokens,1,1M tokens,0.57,x,USD",
     r"inv\.csv:2: amount is 'x'; expected a number"),
    ("X,2026-10-01,2026-10-31,deepseek-v3-2,egress,1,1M tokens,0.57,1,USD",
     r"inv\.csv:2: charge is 'egress'; expected one of input_tokens"),
    ("X,2026-10-01,2026-10-31,deepseek-v3-2,web_search_calls,1,1M tokens,0.57,1,USD",
     r"inv\.csv:2: unit is '1M tokens' but web_search_calls counts calls"),
    ("X,2026-10-01,2026-10-31,,input_tokens,1,1M tokens,0.57,1,USD",
     r"inv\.csv:2: model is empty"),
    ("X,2026-10-31,2026-10-01,deepseek-v3-2,input_tokens,1,1M tokens,0.57,1,USD",
     r"inv\.csv:2: period_end 2026-10-01 is before period_start"),
    ("X,Oct 1,2026-10-31,deepseek-v3-2,input_tokens,1,1M tokens,0.57,1,USD",
     r"inv\.csv:2: period_start is 'Oct 1'; expected ISO 8601"),
    ("X,2026-10-01,2026-10-31,deepseek-v3-2,input_tokens,1,1M tokens,0.57,1,USD,extra",
     r"inv\.csv:2: 11 fields but the header has 10"),
])
def test_invoice_errors_name_file_line_and_field(tmp_path, row, message):
    with pytest.raises(InputError, match=message):
        read_invoice(write(tmp_path, "inv.csv", HEADER + row + "\n"), UTC_ZONE)


def test_invoice_header_errors(tmp_path):
    with pytest.raises(InputError, match=r"inv\.csv:1: missing column 'unit_price'"):
        read_invoice(write(tmp_path, "inv.csv", HEADER.replace("unit_price,", "")
                           .replace("charge", "charge") + "\n"), UTC_ZONE)
    with pytest.raises(InputError, match=r"x\.csv:1: header has neither the invoice columns"):
        read_invoice(write(tmp_path, "x.csv", "a,b,c\n1,2,3\n"), UTC_ZONE)
    with pytest.raises(InputError, match=r"e\.csv: empty file"):
        read_invoice(write(tmp_path, "e.csv", ""), UTC_ZONE)
    with pytest.raises(InputError, match=r"nope\.csv: cannot read"):
        read_invoice(tmp_path / "nope.csv", UTC_ZONE)
    bad = tmp_path / "latin.csv"
    bad.write_bytes(HEADER.encode() + "X,2026-10-01,2026-10-31,caf\xe9".encode("latin-1") + b"\n")
    with pytest.raises(InputError, match=r"latin\.csv:2: not UTF-8 text"):
        read_invoice(bad, UTC_ZONE)


# --- FOCUS ---------------------------------------------------------------------------------------

def test_reads_the_fixture_focus_export():
    focus = read_invoice(AUDIT / "focus-clean.csv", UTC_ZONE)
    assert focus.kind == "focus"
    first = focus.lines[0]
    assert first.charge == "input_tokens" and first.model == "deepseek-v3-2-input-tokens"
    assert first.unit.text == "1000 Tokens" and first.quantity == Decimal("40.064")
    assert first.consumed == Decimal(40064) and first.base_quantity == Decimal(40064)
    assert first.unit_price == Decimal("0.00057") and first.amount == Decimal("0.02283648")
    assert first.billed == Decimal("0.021694656")  # BilledCost, after the negotiated discount
    assert first.billing_period.label == "2026-10-01..2026-10-31"
    assert first.period.label == "2026-10-01..2026-10-01"
    corrections = [ln for ln in focus.lines if ln.correction]
    assert len(corrections) == 1 and corrections[0].billed < 0
    assert [ln.category for ln in focus.lines if not ln.is_usage] == ["Tax"]


FOCUS_HEADER = ("BilledCost,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ChargeClass,SkuId,"
                "PricingUnit,PricingQuantity,ListUnitPrice,ListCost,BillingCurrency\n")


@pytest.mark.parametrize("row, message", [
    ("1,2026-10-01,2026-10-02,Usage,,m-input,Hours,1,1,1,USD",
     r"f\.csv:2: PricingUnit is 'Hours'; expected tokens or calls"),
    ("1,2026-10-01,2026-10-02,Usage,,m-web-search,1000 Tokens,1,1,1,USD",
     r"f\.csv:2: PricingUnit is '1000 Tokens' but web_search_calls counts calls"),
    ("1,2026-10-01,2026-10-02,Usage,,m-input,1000 Tokens,,1,1,USD",
     r"f\.csv:2: PricingQuantity is empty on a Usage row"),
    ("one,2026-10-01,2026-10-02,Usage,,m-input,1000 Tokens,1,1,1,USD",
     r"f\.csv:2: BilledCost is 'one'; expected a number"),
    ("1,2026-10-02,2026-10-01,Usage,,m-input,1000 Tokens,1,1,1,USD",
     r"f\.csv:2: ChargePeriodEnd is before ChargePeriodStart"),
])
def test_focus_errors(tmp_path, row, message):
    with pytest.raises(InputError, match=message):
        read_invoice(write(tmp_path, "f.csv", FOCUS_HEADER + row + "\n"), UTC_ZONE)


@pytest.mark.parametrize("row, message", [
    ("1e400,2026-10-01,2026-10-02,Usage,,m-input,1000 Tokens,1,1,1,USD",
     "f.csv:2: BilledCost is '1e400'; expected a number below 10^15 in size"),
    ("1,2026-10-01,2026-10-02,Usage,,m-input,1000 Tokens,1e400,1,1,USD",
     "f.csv:2: PricingQuantity is '1e400'; expected a number below 10^15 in size"),
    ("1,2026-10-01,2026-10-02,Usage,,m-input,1000 Tokens,1000000000000,1,1,USD",
     "f.csv:2: PricingQuantity x PricingUnit (tokens) is 1.000E+15; it must be below 10^15 "
     "in size"),
    ("1,2026-10-01,2026-10-02,Usage,,m-input,1000 Tokens,100000000,10000000,1,USD",
     "f.csv:2: PricingQuantity x ListUnitPrice is 1.000E+15; it must be below 10^15 in size"),
    ("1,2026-10-01,2026-10-02,Usage,,m-input,1000 Tokens,1,1,1e400,USD",
     "f.csv:2: ListCost is '1e400'; expected a number below 10^15 in size"),
])
def test_focus_numbers_past_the_bound(tmp_path, row, message):
    with pytest.raises(InputError) as raised:
        read_invoice(write(tmp_path, "f.csv", FOCUS_HEADER + row + "\n"), UTC_ZONE)
    assert str(raised.value).endswith(message)


def test_focus_consumed_quantity_past_the_bound(tmp_path):
    header = FOCUS_HEADER.rstrip("\n") + ",ConsumedQuantity,ConsumedUnit\n"
    row = "1,2026-10-01,2026-10-02,Usage,,m-input,1000 Tokens,1,1,1,USD,2000,1M Tokens\n"
    (line,) = read_invoice(write(tmp_path, "f.csv", header + row), UTC_ZONE).lines
    assert line.consumed == 2000 * 10**6
    row = "1,2026-10-01,2026-10-02,Usage,,m-input,1000 Tokens,1,1,1,USD,2000000000,1M Tokens\n"
    with pytest.raises(InputError) as raised:
        read_invoice(write(tmp_path, "f.csv", header + row), UTC_ZONE)
    assert str(raised.value).endswith("f.csv:2: ConsumedQuantity x ConsumedUnit (tokens) is "
                                      "2.000E+15; it must be below 10^15 in size")


def test_focus_missing_column(tmp_path):
    with pytest.raises(InputError, match=r"f\.csv:1: missing FOCUS column 'ChargeCategory'"):
        read_invoice(write(tmp_path, "f.csv", "BilledCost,ChargePeriodStart,ChargePeriodEnd\n"),
                     UTC_ZONE)


def test_focus_correction_may_have_no_quantity(tmp_path):
    row = "-0.5,2026-09-01,2026-10-01,Usage,Correction,m-output,,,,,USD\n"
    (line,) = read_invoice(write(tmp_path, "f.csv", FOCUS_HEADER + row), UTC_ZONE).lines
    assert line.correction and line.quantity is None and line.base_quantity is None
    assert line.billed == Decimal("-0.5") and line.charge == "output_tokens"


# --- gateway ledger (read through costkit.readers.ledger) -----------------------------------------

def test_reads_the_fixture_ledger_exactly():
    ledger = read_ledger(AUDIT / "ledger-clean.jsonl")
    events = ledger.events
    assert len(events) == 61 and ledger.unread == []
    first = events[0]
    assert first.event_id == "req_35d64a5ee5b729267f8aa3a1" and first.model == "acme-mini"
    assert (first.input_tokens, first.cached_tokens, first.output_tokens) == (14186, 4096, 3268)
    assert first.amount == Decimal("0.0091609") and isinstance(first.amount, Decimal)
    assert first.ts == datetime(2026, 10, 1, 0, 39, 9, tzinfo=UTC)
    # created (unix seconds) and timestamp are read too
    assert events[1].ts == datetime.fromtimestamp(1790828546, tz=UTC)
    assert events[2].ts == datetime(2026, 10, 1, 9, 38, tzinfo=UTC)
    discounted = [e for e in events if e.discount_amount is not None]
    assert discounted and all(e.amount == e.list_cost - e.discount_amount for e in discounted)
    assert all(e.amount == e.billed_cost for e in discounted)
    failed = [e for e in events if e.failed]
    assert [(e.event_id, e.status, e.amount) for e in failed] == \
        [("req_failed_not_billed", "failed", Decimal(0))]
    # the most places any amount is written with (0.03283986 has 8)
    assert max(e.places for e in events) == 8


def test_page_objects_give_the_same_events():
    jsonl = read_ledger(AUDIT / "ledger-clean.jsonl").events
    page = read_ledger(AUDIT / "ledger-page.json").events
    strip = ("source", "line", "pos", "where")

    def content(e):
        return {f.name: getattr(e, f.name) for f in fields(e) if f.name not in strip}

    assert [content(e) for e in page] == [content(e) for e in jsonl]
    assert page[3].where.endswith("ledger-page.json data[3] (" + page[3].event_id + ")")
    # one document: an event's line is its position in the page, as the ingest stores it
    assert [e.line for e in page] == list(range(1, 62))


def event(**over):
    base = {"id": "req_1", "object": "usage_event", "model": "deepseek-v3-2",
            "created_at": "2026-10-02T10:00:00Z", "status": "success", "status_code": 200,
            "tokens": {"input": 1000, "output": 100, "cached": 0, "total": 1100},
            "cost": {"amount": 0.000741, "currency": "USD"}}
    base.update(over)
    return base


def test_jsonl_of_pages_and_lists(tmp_path):
    lines = [json.dumps({"object": "list", "data": [event(id="a"), event(id="b")]}),
             json.dumps([event(id="c")]), json.dumps(event(id="d", created=1791000000))]
    events = read_ledger(write(tmp_path, "l.jsonl", "\n".join(lines) + "\n")).events
    assert [(e.event_id, e.line, e.pos) for e in events] == \
        [("a", 1, 1), ("b", 1, 2), ("c", 2, 1), ("d", 3, 1)]
    assert [e.where.split("/")[-1] for e in events] == \
        ["l.jsonl:1 data[0] (a)", "l.jsonl:1 data[1] (b)", "l.jsonl:2 [0] (c)", "l.jsonl:3"]


# Each bad record is not read, with the reason the ingest gives it (tests/test_readers_ledger
# holds the reader's own list); the records around it are read.
@pytest.mark.parametrize("record, reason", [
    (event(created_at=None), "no time field (created_at, created or timestamp)"),
    (event(created_at="yesterday"), "unparseable time: created_at is yesterday"),
    (event(model=""), "missing model"),
    (event(tokens=None), "missing usage: no tokens.input"),
    (event(tokens={"input": -1, "output": 1}),
     "tokens.input is -1; token counts must be whole numbers >= 0"),
    (event(tokens={"input": 1.5, "output": 1}),
     "tokens.input is 1.5; token counts must be whole numbers >= 0"),
    (event(tokens={"input": 10, "output": 1, "cached": 50}),
     "tokens.cached (50) > tokens.input (10)"),
    (event(cost={"currency": "USD"}), "missing cost.amount (what was debited)"),
    (event(cost={"amount": "lots"}), "cost.amount is lots; expected a number"),
    (event(metadata={"tool_usage": {"web_search": "two"}}),
     "metadata.tool_usage.web_search is two; token counts must be whole numbers >= 0"),
    (event(metadata={"discount_amount": "some"}),
     "metadata.discount_amount is some; expected a number"),
    (event(metadata={"list_cost": 0.1234567890123}),
     "metadata.list_cost 0.1234567890123 has more than 12 decimal places"),
    ({"object": "list", "has_more": False}, "not a usage_event (object, tokens, cost) nor a page"),
])
def test_a_bad_record_is_not_read_and_says_why(tmp_path, record, reason):
    path = write(tmp_path, "l.jsonl", "\n".join(json.dumps(r) for r in (
        event(id="before"), record, event(id="after"))) + "\n")
    ledger = read_ledger(path)
    assert [e.event_id for e in ledger.events] == ["before", "after"]
    (unread,) = ledger.unread
    assert unread.line == 2 and unread.reason.startswith(reason)


def test_an_event_without_id_is_read_under_a_stable_hash(tmp_path):
    record = event(id=None)
    (e,) = read_ledger(write(tmp_path, "l.jsonl", json.dumps(record) + "\n")).events
    (again,) = read_ledger(write(tmp_path, "m.jsonl", json.dumps(record) + "\n")).events
    assert e.event_id.startswith("sha256:") and e.event_id == again.event_id


@pytest.mark.parametrize("text, read", [
    ('{"amount": 1e400, "currency": "USD"}', None),  # out of any range: not read
    ('{"amount": -2e15, "currency": "USD"}', Decimal("-2E+15")),
    ('{"amount": 12345678901234567890.123456789012, "currency": "USD"}',
     Decimal("12345678901234567890.123456789012")),  # 32 digits, kept whole
])
def test_ledger_amounts_are_read_exactly_or_not_at_all(tmp_path, text, read):
    record = json.dumps(event()).replace('{"amount": 0.000741, "currency": "USD"}', text)
    assert text in record
    ledger = read_ledger(write(tmp_path, "l.jsonl", record + "\n"))
    if read is None:
        (unread,) = ledger.unread
        assert unread.reason == ("cost.amount 1e400 is out of range (at most 26 digits before "
                                 "the point)")
    else:
        (e,) = ledger.events
        assert e.amount == read


@pytest.mark.parametrize("count, read", [("1e400", False), ("99999999999999999999999", False),
                                         ("9000000000000000", False),
                                         ("8999999999999999", True)])
def test_ledger_counts_at_the_readers_bound(tmp_path, count, read):
    record = json.dumps(event()).replace('"input": 1000', f'"input": {count}')
    ledger = read_ledger(write(tmp_path, "l.jsonl", record + "\n"))
    if read:
        assert ledger.events[0].input_tokens == int(count)
    else:
        (unread,) = ledger.unread
        assert unread.reason.startswith("tokens.input is ")
        assert unread.reason.endswith("; token counts must be whole numbers >= 0")


def test_ledger_bad_json_line(tmp_path):
    text = json.dumps(event()) + "\n\n" + '{"id": "req_2", "tokens": \n' + \
        json.dumps(event(id="req_3")) + "\n"
    ledger = read_ledger(write(tmp_path, "l.jsonl", text))
    assert [e.event_id for e in ledger.events] == ["req_1", "req_3"]
    assert [(u.line, u.reason) for u in ledger.unread] == [(3, "not JSON")]
    # mostly not JSON lines: the reader takes the file for one (broken) document
    broken = write(tmp_path, "m.jsonl", json.dumps(event()) + "\n" + '{"id": "req_2", \n')
    assert [(u.line, u.reason) for u in read_ledger(broken).unread] == [(1, "not JSON")]


def test_input_that_excludes_cache_is_read_from_the_total(tmp_path):
    record = event(tokens={"input": 200, "output": 50, "cached": 800, "total": 1050})
    (e,) = read_ledger(write(tmp_path, "l.jsonl", json.dumps(record) + "\n")).events
    assert (e.input_tokens, e.cached_tokens) == (1000, 800)


def test_reasoning_from_total_only_when_asked(tmp_path):
    record = event(tokens={"input": 1000, "output": 100, "cached": 0, "total": 1400})
    path = write(tmp_path, "l.jsonl", json.dumps(record) + "\n")
    (included,) = read_ledger(path).events
    (split,) = read_ledger(path, output_includes_reasoning=False).events
    assert (included.output_tokens, included.reasoning_tokens) == (100, 0)
    assert (split.output_tokens, split.reasoning_tokens) == (100, 300)


def test_empty_ledger_file(tmp_path):
    ledger = read_ledger(write(tmp_path, "l.jsonl", "\n\n"))
    assert (ledger.events, ledger.unread) == ([], [])


def test_gzipped_files(tmp_path):
    import gzip

    for name in ("invoice-clean.csv", "ledger-clean.jsonl"):
        packed = tmp_path / f"{name}.gz"
        packed.write_bytes(gzip.compress((AUDIT / name).read_bytes()))
    assert read_invoice(tmp_path / "invoice-clean.csv.gz", UTC_ZONE).lines == tuple(
        line.__class__(**{**vars(line), "source": str(tmp_path / "invoice-clean.csv.gz")})
        for line in read_invoice(AUDIT / "invoice-clean.csv", UTC_ZONE).lines)
    assert len(read_ledger(tmp_path / "ledger-clean.jsonl.gz").events) == 61
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(gzip.compress(b'{"id": 1}\n')[:12])
    with pytest.raises(InputError, match=r"broken\.jsonl\.gz: cannot read: .*\(a truncated or "
                                         r"corrupt \.gz\?\)"):
        read_ledger(broken)


def test_ledger_not_utf8(tmp_path):
    path = tmp_path / "l.jsonl"
    path.write_bytes((json.dumps(event(id="a")) + "\n" + json.dumps(event(id="b")) + "\n")
                     .encode() + b'{"id": "caf\xe9"}\n')
    ledger = read_ledger(path)
    assert [e.event_id for e in ledger.events] == ["a", "b"]
    assert [(u.line, u.reason) for u in ledger.unread] == [(3, "not UTF-8 text")]
