"""The gateway ledger audit: each debit against tokens x the card in effect."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import FIXTURES

from costkit.audit.ledger import audit_ledger, ledger_places, read_ledger, reconcile_ledger
from costkit.core.errors import InputError
from costkit.core.usage import Usage
from costkit.pricing.book import load_price_book
from costkit.pricing.cost import price

AUDIT = FIXTURES / "audit"


@pytest.fixture(scope="module")
def book():
    return load_price_book([AUDIT / "cards.toml"])


def test_clean_ledgers_yield_nothing(book):
    for name in ("ledger-clean.jsonl", "ledger-page.json"):
        result = audit_ledger(AUDIT / name, book)
        assert result.findings == [], name
        s = result.summary
        assert (s["events"], s["requests"]) == (61, 61)
        assert s["billed_total"] == s["expected_total"] and s["difference"] == 0
        assert s["discount_total"] > 0
        assert s["failed_billed"] == {"requests": 0, "billed": Decimal(0), "ids": []}
        assert s["rounding"] == "line (8 decimal places)"
        assert s["output_includes_reasoning"] is True


def test_each_planted_discrepancy_is_found_exactly_once(book):
    import test_audit  # the fixture generator, loaded once there

    result = audit_ledger(AUDIT / "ledger-planted.jsonl", book)
    planted = test_audit.fixtures.PLANTED["ledger-planted.jsonl"]
    assert sorted(f.kind for f in result.findings) == sorted(planted)
    by_kind = {f.kind: f for f in result.findings}
    for kind, (model, _) in planted.items():
        assert by_kind[kind].model == model
    over = by_kind["ledger_overcharge"]
    assert (over.difference, over.impact, over.ref) == \
        (Decimal("0.001"), Decimal("0.001"), "ledger-planted.jsonl:4")
    assert over.expected + over.difference == over.billed
    under = by_kind["ledger_undercharge"]
    assert under.difference == Decimal("-0.0005") and under.model == "acme-mini"
    dup = by_kind["duplicate_charge"]
    assert dup.expected == 0 and dup.billed == dup.difference > 0
    assert "an identical record; first at ledger-planted.jsonl:15" in dup.detail
    s = result.summary
    assert (s["events"], s["requests"]) == (63, 62)
    # the failed request that was debited is visible in the summary (and priced correctly)
    assert s["failed_billed"] == {"requests": 1, "billed": Decimal("0.000513"),
                                  "ids": ["req_failed_billed"]}
    assert s["difference"] == sum(f.impact for f in result.findings)


def test_expected_debit_is_the_card_price_of_the_tokens(book):
    events = read_ledger(AUDIT / "ledger-clean.jsonl").events
    plain = next(e for e in events if e.model == "deepseek-v3-2" and e.discount_amount is None
                 and not e.failed)
    cost = price(Usage(input_tokens=plain.input_tokens, cached_input_tokens=plain.cached_tokens,
                       output_tokens=plain.output_tokens, search_calls=plain.search_calls),
                 book.card_for("deepseek-v3-2", plain.ts))
    assert plain.amount == cost.total.quantize(Decimal("1E-8"))


def event(**over):
    base = {"id": "req_1", "object": "usage_event", "model": "deepseek-v3-2",
            "created_at": "2026-10-02T10:00:00Z", "status": "success", "status_code": 200,
            "tokens": {"input": 1000, "output": 100, "cached": 0, "total": 1100},
            "cost": {"amount": 0.000741, "currency": "USD"}}
    base.update(over)
    return base


def ledger(tmp_path, *records, **options):
    path = tmp_path / "l.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return audit_ledger(path, load_price_book([AUDIT / "cards.toml"]), **options)


def test_a_correct_debit(tmp_path):
    # 1,000 x 0.57/1M + 100 x 1.71/1M = 0.00057 + 0.000171
    assert ledger(tmp_path, event()).findings == []


def test_discounts(tmp_path):
    good = event(cost={"amount": 0.000667, "currency": "USD"},
                 metadata={"list_cost": 0.000741, "billed_cost": 0.000667,
                           "discount_amount": 0.000074})
    result = ledger(tmp_path, good)
    assert result.findings == []
    assert result.summary["discount_total"] == Decimal("0.000074")
    # list_cost above the card's price: the debit is over by as much
    wrong_list = event(cost={"amount": 0.000767, "currency": "USD"},
                       metadata={"list_cost": 0.000841, "billed_cost": 0.000767,
                                 "discount_amount": 0.000074})
    (finding,) = ledger(tmp_path, wrong_list).findings
    assert finding.kind == "ledger_overcharge" and finding.difference == Decimal("0.0001")
    assert "the ledger's list_cost is 0.000841" in finding.detail
    # cost.amount that ignores the discount
    ignored = event(cost={"amount": 0.000741, "currency": "USD"},
                    metadata={"list_cost": 0.000741, "billed_cost": 0.000667,
                              "discount_amount": 0.000074})
    (finding,) = ledger(tmp_path, ignored).findings
    assert finding.kind == "ledger_overcharge" and finding.difference == Decimal("0.000074")
    assert "metadata.billed_cost 0.000667 differs from cost.amount" in finding.detail


def test_search_calls_are_billed_per_call(tmp_path):
    searched = event(metadata={"tool_usage": {"web_search": 2}},
                     cost={"amount": 0.030741, "currency": "USD"})
    assert ledger(tmp_path, searched).findings == []
    unbilled = event(metadata={"tool_usage": {"web_search": 2}})
    (finding,) = ledger(tmp_path, unbilled).findings
    assert finding.kind == "ledger_undercharge" and finding.difference == Decimal("-0.03")


def test_duplicates_and_different_records(tmp_path):
    again = event(cost={"amount": 0.000742, "currency": "USD"})
    result = ledger(tmp_path, event(), event(), again)
    kinds = [(f.kind, f.ref) for f in result.findings]
    assert kinds == [("duplicate_charge", "l.jsonl:2"), ("duplicate_charge", "l.jsonl:3")]
    assert "an identical record" in result.findings[0].detail
    assert "a different record" in result.findings[1].detail


def test_failed_requests(tmp_path):
    not_billed = event(id="f1", status="failed", status_code=500,
                       cost={"amount": 0, "currency": "USD"})
    billed_tokens = event(id="f2", status="error", status_code=None)
    billed_nothing_used = event(id="f3", status_code=502, status=None,
                                tokens={"input": 0, "output": 0, "cached": 0},
                                cost={"amount": 0.01, "currency": "USD"})
    result = ledger(tmp_path, not_billed, billed_tokens, billed_nothing_used)
    assert [(f.kind, f.request_id) for f in result.findings] == [("ledger_overcharge", "f3")]
    failed = result.summary["failed_billed"]
    assert failed["ids"] == ["f2", "f3"] and failed["billed"] == Decimal("0.010741")


def test_card_in_effect_at_the_event_time(tmp_path):
    cards = tmp_path / "cards.toml"
    cards.write_text("""
[[card]]
model = "deepseek-v3-2"
effective_to = 2026-10-15T00:00:00Z
[card.rates]
input = "0.57"
output = "1.71"
[[card]]
model = "deepseek-v3-2"
effective_from = 2026-10-15T00:00:00Z
[card.rates]
input = "0.50"
output = "1.71"
""")
    book = load_price_book([cards])
    before = event(id="a", created_at="2026-10-14T23:59:59Z")
    after = event(id="b", created_at="2026-10-15T00:00:00Z")
    path = tmp_path / "l.jsonl"
    path.write_text(json.dumps(before) + "\n" + json.dumps(after) + "\n")
    (finding,) = audit_ledger(path, book).findings
    assert finding.request_id == "b" and finding.kind == "ledger_overcharge"
    assert finding.difference == Decimal("0.00007")  # 1,000 x (0.57 - 0.50) / 1M


def test_unpriced_models_are_counted_apart(tmp_path):
    result = ledger(tmp_path, event(), event(id="x", model="mystery-1"))
    assert result.findings == []
    s = result.summary
    assert s["unpriced"] == {"events": 1, "billed": Decimal("0.000741"), "models": ["mystery-1"]}
    assert s["billed_total"] == Decimal("0.001482") and s["difference"] == 0


def test_rounding_at_the_ledgers_precision(tmp_path):
    # 1234 x 0.57/1M = 0.00070338; a gateway writing 6 places debits 0.000703
    six = event(tokens={"input": 1234, "output": 0, "cached": 0},
                cost={"amount": 0.000703, "currency": "USD"})
    assert ledger(tmp_path, six).findings == []
    (exact,) = ledger(tmp_path, six, rounding="none").findings
    assert exact.kind == "ledger_undercharge" and exact.difference == Decimal("-0.00000038")
    # nine places or more: compared at nine
    nine = event(cost={"amount": "0.000741000", "currency": "USD"})
    assert ledger(tmp_path, nine).findings == []
    assert ledger_places(read_ledger(tmp_path / "l.jsonl").events) == 9
    # float noise past the store's 12 places: the reader rejects the event (as the ingest
    # does), so the audit says it was not read rather than matching it or calling it wrong
    noisy = event(cost={"amount": 0.0007409999999999999, "currency": "USD"})
    (unread,) = ledger(tmp_path, event(id="ok"), noisy).findings
    assert (unread.kind, unread.ref) == ("unreadable_event", "l.jsonl:2")
    assert unread.detail.startswith("cost.amount 0.0007409999999999999 has more than 12 "
                                    "decimal places")
    with pytest.raises(InputError, match="--rounding"):
        ledger(tmp_path, event(), rounding="up")


def test_reasoning_from_total(tmp_path):
    cards = tmp_path / "cards.toml"
    cards.write_text('[[card]]\nmodel = "r1"\n[card.rates]\ninput = "1"\noutput = "2"\n'
                     'reasoning = "4"\n')
    book = load_price_book([cards])
    # 100 input, 50 output, total 450: 300 reasoning tokens when not inside output
    record = event(model="r1", tokens={"input": 100, "output": 50, "total": 450},
                   cost={"amount": 0.0014, "currency": "USD"})  # 100x1 + 50x2 + 300x4 per 1M
    path = tmp_path / "l.jsonl"
    path.write_text(json.dumps(record) + "\n")
    (finding,) = audit_ledger(path, book).findings  # read as output-only: 0.0002 expected
    assert finding.kind == "ledger_overcharge" and finding.expected == Decimal("0.0002")
    split = audit_ledger(path, book, output_includes_reasoning=False)
    assert split.findings == [] and split.summary["output_includes_reasoning"] is False


def test_currency_errors(tmp_path):
    with pytest.raises(InputError, match=r"l\.jsonl:1: debited in EUR but the card "
                                         r"deepseek-v3-2@start is in USD"):
        ledger(tmp_path, event(cost={"amount": 0.000741, "currency": "EUR"}))


def test_empty_ledger_is_an_error(tmp_path):
    path = tmp_path / "l.jsonl"
    path.write_text("")
    with pytest.raises(InputError, match=r"l\.jsonl: no usage events to audit"):
        audit_ledger(path, load_price_book())


def test_reconcile_keeps_file_order():
    events = read_ledger(AUDIT / "ledger-planted.jsonl").events
    result = reconcile_ledger(events, load_price_book([AUDIT / "cards.toml"]), source="x")
    assert [f.lines[0] for f in result.findings] == sorted(f.lines[0] for f in result.findings)


def test_sums_stay_exact_past_28_digits(tmp_path):
    # The reader keeps amounts up to DECIMAL(38,12); Python's default 28 digits would round
    # their sum (24691357802469135780.24691358) and the difference from the card price.
    big = "12345678901234567890.123456789012"
    records = [json.dumps(event(id=i)).replace("0.000741", big) for i in ("a", "b")]
    path = tmp_path / "l.jsonl"
    path.write_text("\n".join(records) + "\n")
    result = audit_ledger(path, load_price_book([AUDIT / "cards.toml"]), rounding="none")
    assert result.summary["billed_total"] == Decimal("24691357802469135780.246913578024")
    # each debit less the card's 0.000741 (by hand: ...890.123456789012 - 0.000741)
    assert [f.difference for f in result.findings] == \
        [Decimal("12345678901234567890.122715789012")] * 2
