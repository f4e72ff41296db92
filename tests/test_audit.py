"""The invoice reconciliation (pure): planted discrepancies found exactly once, clean ones
yield nothing, and the rules (folding, tolerance, rounding, periods) hold."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from conftest import FIXTURES
from hypothesis import given, settings
from hypothesis import strategies as st

from costkit.audit.findings import (
    KINDS,
    Tolerance,
    amounts_match,
    decimal_text,
    findings_csv,
    match_model,
    model_label,
    round_amount,
)
from costkit.audit.invoice import read_invoice
from costkit.audit.logged import Logged, logged_from_rows
from costkit.audit.reconcile import invoice_periods, reconcile_invoice
from costkit.audit.statement import InvoiceFile, InvoiceLine, Period, parse_unit
from costkit.core.errors import InputError
from costkit.core.usage import Usage
from costkit.pricing.book import load_price_book
from costkit.pricing.cost import price

AUDIT = FIXTURES / "audit"
UTC_ZONE = ZoneInfo("UTC")
OCTOBER = Period(datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))


def _load_generator():
    spec = importlib.util.spec_from_file_location("audit_fixtures", AUDIT / "make_fixtures.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["audit_fixtures"] = module
    spec.loader.exec_module(module)
    return module


fixtures = _load_generator()


@pytest.fixture(scope="module")
def book():
    return load_price_book([AUDIT / "cards.toml"])


def logged_for(period: Period, book) -> dict[str, Logged]:
    """The generator's own sums for `period`, priced by the cards: what the store holds."""
    out = {}
    for model, t in fixtures.totals(fixtures.requests(), period.start, period.end).items():
        usage = Usage(t["input"], t["cached"], t["cache_write"], t["output"], t["reasoning"],
                      t["searches"])
        out[model] = Logged(model, t["requests"], usage,
                            price(usage, book.card_for(model, period.start)))
    return out


def audit_file(name: str, book, **options):
    invoice = read_invoice(AUDIT / name, UTC_ZONE)
    periods = invoice_periods(invoice, UTC_ZONE)
    logged = {p: logged_for(p, book) for p in set(periods.values())}
    return reconcile_invoice(invoice, periods, logged, book, **options)


def test_committed_fixtures_are_what_the_generator_writes():
    for name, text in fixtures.files().items():
        assert (AUDIT / name).read_text(encoding="utf-8") == text, f"{name} is stale"


@pytest.mark.parametrize("name", ["invoice-clean.csv", "focus-clean.csv"])
def test_clean_documents_yield_nothing(name, book):
    result = audit_file(name, book)
    assert result.findings == []
    assert result.clean
    summary = result.as_dict()["summary"]
    assert summary["findings"] == 0 and summary["by_kind"] == {}
    assert summary["periods"] == ["2026-10-01..2026-10-31"]


@pytest.mark.parametrize("name", ["invoice-planted.csv", "focus-planted.csv"])
def test_each_planted_discrepancy_is_found_exactly_once(name, book):
    result = audit_file(name, book)
    planted = fixtures.PLANTED[name]
    assert sorted(f.kind for f in result.findings) == sorted(planted)
    for finding in result.findings:
        model, charge = planted[finding.kind]
        assert finding.model == model, finding
        assert finding.charge == charge, finding
        assert finding.detail and finding.ref


def test_planted_invoice_values(book):
    by_kind = {f.kind: f for f in audit_file("invoice-planted.csv", book).findings}
    ds = fixtures.totals(fixtures.requests())["deepseek-v3-2"]
    logged_output = Decimal(ds["output"] + ds["reasoning"])  # no reasoning line: folded
    q = by_kind["quantity_mismatch"]
    assert (q.unit, q.expected, q.lines) == ("tokens", logged_output, (3,))
    assert q.billed == Decimal(int(logged_output) * 103 // 100)
    assert q.difference == q.billed - q.expected
    assert q.impact == q.difference * Decimal("1.71") / 1_000_000
    a = by_kind["amount_mismatch"]
    assert (a.expected, a.billed, a.difference, a.unit) == \
        (Decimal("1.23"), Decimal("2.23"), Decimal("1.00"), "USD")
    p = by_kind["unit_price_mismatch"]
    assert (p.expected, p.billed, p.unit) == \
        (Decimal("0.000025"), Decimal("0.00005"), "USD per 1K tokens")
    u = by_kind["unbilled_usage"]
    assert (u.expected, u.billed, u.unit, u.impact) == \
        (Decimal(ds["searches"]), Decimal(0), "calls", -Decimal(ds["searches"]) * Decimal("0.015"))
    g = by_kind["unlogged_charge"]
    assert (g.expected, g.billed, g.ref) == (Decimal(0), Decimal("2.50"), "invoice-planted.csv:10")
    o = by_kind["out_of_period"]
    assert (o.period, o.billed, o.ref) == ("2026-09-01..2026-09-30", Decimal("0.29"),
                                          "invoice-planted.csv:11")


def test_planted_focus_groups_daily_rows(book):
    by_kind = {f.kind: f for f in audit_file("focus-planted.csv", book).findings}
    q = by_kind["quantity_mismatch"]
    assert q.difference == 25_000 and len(q.lines) > 20
    assert q.ref == f"focus-planted.csv:{q.lines[0]}-{q.lines[-1]}"
    assert by_kind["unit_price_mismatch"].unit == "USD per 1000 Tokens"
    assert by_kind["amount_mismatch"].difference == Decimal("0.05")
    # from the SkuId ghost-model-1-input-tokens, which no card knows
    assert by_kind["unlogged_charge"].model == "ghost-model-1"
    assert by_kind["out_of_period"].period == "2026-11-02..2026-11-02"


def test_clean_invoice_summary(book):
    result = audit_file("invoice-clean.csv", book)
    s = result.summary
    logged = logged_for(OCTOBER, book)
    expected = sum((lg.cost.total for lg in logged.values()), Decimal(0))
    assert s["expected_total"] == expected
    assert s["billed_total"] == Decimal("4.78")
    assert s["difference"] == s["billed_total"] - expected
    assert abs(s["difference"]) < Decimal("0.05")  # cents rounding on nine lines
    assert s["other_charges"] == {"Tax": Decimal("0.38")}
    assert s["invoice_total"] == Decimal("5.16")
    rows = {(r.model, r.charge): r for r in result.charges}
    # deepseek: no cached line, so input is all input; no reasoning line, so output + reasoning
    ds = logged["deepseek-v3-2"].usage
    assert rows[("deepseek-v3-2", "input_tokens")].logged_quantity == ds.input_tokens
    assert rows[("deepseek-v3-2", "output_tokens")].logged_quantity == \
        ds.output_tokens + ds.reasoning_tokens
    assert ("deepseek-v3-2", "reasoning_tokens") not in rows
    acme = logged["acme-mini"].usage
    assert rows[("acme-mini", "input_tokens")].logged_quantity == acme.uncached_input_tokens
    assert rows[("acme-mini", "cached_input_tokens")].expected_amount == \
        logged["acme-mini"].cost.cached_input


def test_focus_summary_discount_tax_and_correction(book):
    s = audit_file("focus-clean.csv", book).summary
    assert s["list_total"] == s["expected_total"]  # list prices are the cards' exactly
    assert s["billed_total"] < s["list_total"]  # the negotiated discount, not a finding
    assert set(s["other_charges"]) == {"Tax"}
    assert s["corrections_to_other_periods"]["billed"] < 0
    assert s["invoice_total"] == s["billed_total"] + s["other_charges"]["Tax"] + \
        s["corrections_to_other_periods"]["billed"]


# --- rules ------------------------------------------------------------------------------------

def line(n, model, charge, tokens, unit="1M tokens", price_per_unit=None, amount=None,
         period=OCTOBER, invoice_id="I-1", correction=False):
    u = parse_unit(unit, "t")
    quantity = Decimal(tokens) / u.size
    unit_price = price_per_unit
    if amount is None and unit_price is not None:
        amount = round_amount(quantity * unit_price, None, "line")
    return InvoiceLine(source="inv.csv", line=n, invoice_id=invoice_id, period=period,
                       model=model, charge=charge, quantity=quantity, unit=u,
                       unit_price=unit_price, amount=amount,
                       billed=amount if amount is not None else Decimal(0), currency="USD",
                       correction=correction)


def run(lines, logged, book, **options):
    invoice = InvoiceFile("inv.csv", "invoice", tuple(lines))
    periods = invoice_periods(invoice)
    return reconcile_invoice(invoice, periods, {p: logged for p in set(periods.values())}, book,
                             **options)


def ds_logged(book, **tokens) -> dict[str, Logged]:
    usage = Usage(**tokens)
    return {"deepseek-v3-2": Logged("deepseek-v3-2", 10, usage,
                                    price(usage, book.card_for("deepseek-v3-2", OCTOBER.start)))}


def test_reasoning_line_splits_output(book):
    logged = ds_logged(book, input_tokens=2_000_000, output_tokens=300_000,
                       reasoning_tokens=700_000)
    input_line = line(2, "deepseek-v3-2", "input_tokens", 2_000_000,
                      price_per_unit=Decimal("0.57"))
    together = [input_line, line(3, "deepseek-v3-2", "output_tokens", 1_000_000,
                                 price_per_unit=Decimal("1.71"))]
    assert run(together, logged, book).findings == []
    split = [together[0],
             line(3, "deepseek-v3-2", "output_tokens", 300_000, price_per_unit=Decimal("1.71")),
             line(4, "deepseek-v3-2", "reasoning_tokens", 700_000, price_per_unit=Decimal("1.71"))]
    assert run(split, logged, book).findings == []
    # With a reasoning line, an output line holding both is a quantity mismatch.
    wrong = [*together, line(4, "deepseek-v3-2", "reasoning_tokens", 700_000,
                             price_per_unit=Decimal("1.71"))]
    (finding,) = run(wrong, logged, book).findings
    assert (finding.kind, finding.charge, finding.expected, finding.billed) == \
        ("quantity_mismatch", "output_tokens", Decimal(300_000), Decimal(1_000_000))


def test_cached_line_splits_input(book):
    logged = ds_logged(book, input_tokens=2_000_000, cached_input_tokens=500_000,
                       output_tokens=10_000)
    base = [line(3, "deepseek-v3-2", "output_tokens", 10_000, price_per_unit=Decimal("1.71"))]
    all_input = [line(2, "deepseek-v3-2", "input_tokens", 2_000_000,
                      price_per_unit=Decimal("0.57")), *base]
    assert run(all_input, logged, book).findings == []
    split = [line(2, "deepseek-v3-2", "input_tokens", 1_500_000, price_per_unit=Decimal("0.57")),
             line(4, "deepseek-v3-2", "cached_input_tokens", 500_000,
                  price_per_unit=Decimal("0.57")), *base]
    assert run(split, logged, book).findings == []


def test_tolerance_boundaries(book):
    logged = ds_logged(book, input_tokens=1_000_000, output_tokens=100_000)
    out = line(3, "deepseek-v3-2", "output_tokens", 100_000, price_per_unit=Decimal("1.71"))

    def with_input(tokens, **options):
        lines = [line(2, "deepseek-v3-2", "input_tokens", tokens, unit="token",
                      price_per_unit=Decimal("0.00000057")), out]
        return [f.kind for f in run(lines, logged, book, **options).findings]

    # default: max(0.5% of 1,000,000 = 5,000, 1,000)
    assert with_input(1_005_000) == []
    assert with_input(1_005_001) == ["quantity_mismatch"]
    assert with_input(994_999) == ["quantity_mismatch"]
    assert with_input(1_000_900, tolerance=Tolerance.parse("0%,1000")) == []
    assert with_input(1_001_001, tolerance=Tolerance.parse("0%,1000")) == ["quantity_mismatch"]
    assert with_input(1_000_001, tolerance=Tolerance.parse("0")) == ["quantity_mismatch"]


def test_tolerance_parsing():
    assert Tolerance.parse("0.5%,1000") == Tolerance(Decimal("0.5"), Decimal(1000))
    assert Tolerance.parse("2%") == Tolerance(Decimal(2), Decimal(0))
    assert Tolerance.parse("250 tokens") == Tolerance(Decimal(0), Decimal(250))
    assert Tolerance().describe() == "0.5% or 1,000 tokens, whichever is larger"
    for bad in ("", "lots", "5%%", "-1%"):
        with pytest.raises(InputError, match="--tolerance"):
            Tolerance.parse(bad)
    # calls get the percentage only
    assert Tolerance().limit(Decimal(400), "calls") == 2
    assert Tolerance().limit(Decimal(400), "tokens") == 1000


@pytest.mark.parametrize("stated, exact, rounding, ok", [
    ("1.23", "1.23396564", "line", True),
    ("1.24", "1.23396564", "line", False),
    ("0.13", "0.125", "line", True),  # half-up
    ("0.12", "0.125", "line", False),
    ("0.123966", "0.12396564", "line", True),  # written to 6 places: compared at 6
    ("0.123965", "0.12396564", "line", False),
    ("0.0007124999999999999", "0.0007125", "line", True),  # float noise past 9 places
    ("1.23", "1.23396564", "none", False),
    ("1.23396564", "1.23396564", "none", True),
])
def test_amount_rounding(stated, exact, rounding, ok):
    assert amounts_match(Decimal(stated), Decimal(exact), rounding) is ok


def test_rounding_none_flags_cent_amounts(book):
    kinds = [f.kind for f in audit_file("invoice-clean.csv", book, rounding="none").findings]
    assert kinds and set(kinds) == {"amount_mismatch"}
    with pytest.raises(InputError, match="--rounding"):
        audit_file("invoice-clean.csv", book, rounding="bankers")


def test_unit_price_accepts_any_card_in_effect_during_the_line(tmp_path):
    cards = tmp_path / "cards.toml"
    cards.write_text("""
[[card]]
model = "m"
effective_to = 2026-10-16T00:00:00Z
[card.rates]
input = "1.00"
output = "2.00"
[[card]]
model = "m"
effective_from = 2026-10-16T00:00:00Z
[card.rates]
input = "0.80"
output = "2.00"
""")
    book = load_price_book([cards])
    usage = Usage(input_tokens=1_000_000, output_tokens=0)
    logged = {"m": Logged("m", 1, usage, price(usage, book.card_for("m", OCTOBER.start)))}
    for rate, kinds in (("1.00", []), ("0.80", []), ("0.90", ["unit_price_mismatch"])):
        lines = [line(2, "m", "input_tokens", 1_000_000, price_per_unit=Decimal(rate))]
        assert [f.kind for f in run(lines, logged, book).findings] == kinds
    # a September line only knows the first card
    september = Period(datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 10, 1, tzinfo=UTC))
    lines = [line(2, "m", "input_tokens", 1_000_000, price_per_unit=Decimal("0.80"),
                  period=september)]
    result = run(lines, {}, book)
    assert [f.kind for f in result.findings] == ["unit_price_mismatch", "unlogged_charge"]


def test_whole_model_missing_is_one_finding(book):
    logged = ds_logged(book, input_tokens=5_000_000, cached_input_tokens=1_000_000,
                       output_tokens=200_000, reasoning_tokens=100_000, search_calls=30)
    # The invoice bills only another model (a zero line), so all of deepseek is missing.
    other = [line(2, "acme-mini", "input_tokens", 0, unit="1K tokens",
                  price_per_unit=Decimal("0.00025"))]
    (finding,) = run(other, logged, book).findings
    assert finding.kind == "unbilled_usage" and finding.model == "deepseek-v3-2"
    assert finding.charge is None and finding.ref == "usage log"
    assert finding.expected == logged["deepseek-v3-2"].cost.total
    assert finding.impact == -finding.expected


def test_small_gaps_stay_within_tolerance(book):
    logged = ds_logged(book, input_tokens=800, output_tokens=150)  # a few requests
    lines = [line(2, "acme-mini", "input_tokens", 0, unit="1K tokens",
                  price_per_unit=Decimal("0.00025"))]
    assert run(lines, logged, book).findings == []
    ghost = [line(2, "ghost", "input_tokens", 900, unit="token",
                  price_per_unit=Decimal("0.000001"))]
    assert run(ghost, {}, book).findings == []
    calls = [line(2, "ghost", "web_search_calls", 1, unit="call",
                  price_per_unit=Decimal("0.01"))]
    assert [f.kind for f in run(calls, {}, book).findings] == ["unlogged_charge"]


def test_invoice_period_from_the_lines():
    def at(day, month=10):
        return datetime(2026, month, day, tzinfo=UTC)

    def lines_for(periods):
        return InvoiceFile("i.csv", "invoice", tuple(
            line(i + 2, "m", "input_tokens", 1, price_per_unit=Decimal(1), period=Period(a, b))
            for i, (a, b) in enumerate(periods)))

    # daily lines: the calendar month holds them all
    daily = [(at(d), at(d + 1)) for d in range(1, 31)] + [(at(31), at(1, 11))]
    assert invoice_periods(lines_for(daily))["I-1"] == OCTOBER
    # a billing cycle across months, with one late line from before it
    cycle = Period(at(15), at(15, 11))
    cyc = invoice_periods(lines_for([(cycle.start, cycle.end)] * 3 + [(at(1), at(15))]))
    assert cyc["I-1"] == cycle
    # a tie between months goes to the later
    tie = invoice_periods(lines_for([(at(1, 9), at(1)), (at(1), at(1, 11))]))
    assert tie["I-1"] == OCTOBER


def test_corrections_net_into_the_period_they_correct(book):
    """A November export correcting October: netted into October when October is in the file."""
    november = Period(OCTOBER.end, datetime(2026, 12, 1, tzinfo=UTC))
    logged = {OCTOBER: ds_logged(book, input_tokens=1_000_000, output_tokens=100_000),
              november: {}}
    regular = [replace(line(2, "deepseek-v3-2", "input_tokens", 1_020_000,
                            price_per_unit=Decimal("0.57")), billing_period=OCTOBER),
               replace(line(3, "deepseek-v3-2", "output_tokens", 100_000,
                            price_per_unit=Decimal("1.71")), billing_period=OCTOBER)]
    fix = replace(line(4, "deepseek-v3-2", "input_tokens", -20_000, price_per_unit=Decimal("0.57"),
                       period=Period(datetime(2026, 10, 10, tzinfo=UTC),
                                     datetime(2026, 10, 11, tzinfo=UTC)),
                       invoice_id="I-2", correction=True), billing_period=november)

    def audit(lines):
        invoice = InvoiceFile("focus.csv", "focus", tuple(lines))
        return reconcile_invoice(invoice, invoice_periods(invoice), logged, book)

    assert [f.kind for f in audit(regular).findings] == ["quantity_mismatch"]
    result = audit([*regular, fix])
    assert result.findings == []
    assert result.summary["periods"] == ["2026-10-01..2026-10-31", "2026-11-01..2026-11-30"]
    assert result.summary["billed_total"] == sum(ln.billed for ln in [*regular, fix])
    # Without October in the file, the correction is reported apart, not reconciled.
    alone = audit([fix])
    assert alone.findings == []
    assert alone.summary["corrections_to_other_periods"] == {"lines": [4], "billed": fix.billed}


def test_currency_rules(book):
    eur = line(2, "deepseek-v3-2", "input_tokens", 10, price_per_unit=Decimal("0.57"))
    eur = InvoiceLine(**{**vars(eur), "currency": "EUR"})
    with pytest.raises(InputError, match=r"inv\.csv:2: billed in EUR but the card "
                                         r"deepseek-v3-2@start is in USD"):
        run([eur], {}, book)
    usd = line(3, "deepseek-v3-2", "input_tokens", 10, price_per_unit=Decimal("0.57"))
    with pytest.raises(InputError, match=r"inv\.csv: lines in EUR, USD; audit one currency"):
        run([eur, usd], {}, book)


def test_model_names(book):
    assert match_model("deepseek-v3-2", book) == "deepseek-v3-2"
    assert match_model("acme-mini-2026", book) == "acme-mini"  # alias
    assert match_model("acme-mini-2026-cached-input-tokens", book) == "acme-mini"
    assert match_model("DeepSeek-V3-2 Input Tokens", book) == "deepseek-v3-2"
    assert match_model("deepseek-v3-21-input", book) is None
    assert model_label("ghost-model-1-input-tokens") == "ghost-model-1"
    assert model_label("gpt_x_cache_read_tokens") == "gpt_x"
    assert model_label("input") == "input"


def test_logged_from_breakdown_rows(book):
    rows = [
        {"model": "acme-mini-2026", "requests": 2, "input_tokens": 100, "cached_input_tokens": 40,
         "cache_write_tokens": 0, "output_tokens": 10, "reasoning_tokens": None,
         "search_calls": 1, "input_cost": Decimal("0.000015"),
         "cached_input_cost": Decimal("0.000001"),
         "cache_write_cost": Decimal(0), "output_cost": Decimal("0.00002"),
         "reasoning_cost": Decimal(0), "search_cost": Decimal("0.01"),
         "total_cost": Decimal("0.010036")},
        {"model": "acme-mini", "requests": 1, "input_tokens": 50, "cached_input_tokens": 0,
         "cache_write_tokens": 0, "output_tokens": 5, "reasoning_tokens": 0, "search_calls": 0,
         "input_cost": Decimal("0.0000125"), "cached_input_cost": Decimal(0),
         "cache_write_cost": Decimal(0), "output_cost": Decimal("0.00001"),
         "reasoning_cost": Decimal(0), "search_cost": Decimal(0),
         "total_cost": Decimal("0.0000225")},
        {"model": "mystery", "requests": 3, "input_tokens": 9, "cached_input_tokens": 0,
         "cache_write_tokens": 0, "output_tokens": 1, "reasoning_tokens": 0, "search_calls": 0,
         "input_cost": None, "cached_input_cost": None, "cache_write_cost": None,
         "output_cost": None, "reasoning_cost": None, "search_cost": None, "total_cost": None},
    ]
    logged = logged_from_rows(rows, book)
    assert set(logged) == {"acme-mini", "mystery"}
    acme = logged["acme-mini"]
    assert acme.requests == 3 and acme.usage.input_tokens == 150 and acme.usage.search_calls == 1
    assert acme.cost.total == Decimal("0.0100585")
    assert logged["mystery"].cost is None


def test_findings_csv_and_json_are_exact(book):
    result = audit_file("invoice-planted.csv", book)
    text = findings_csv(result)
    rows = text.strip().split("\n")
    assert rows[0].startswith("kind,ref,source,lines,")
    assert len(rows) == 1 + len(result.findings)
    assert "E-" not in text and "e-0" not in text  # never an exponent
    data = result.as_dict()
    assert set(data) == {"summary", "findings"}
    for finding in data["findings"]:
        assert finding["kind"] in KINDS
        for key in ("expected", "billed", "difference", "impact"):
            assert finding[key] is None or isinstance(finding[key], str)
    assert data["summary"]["billed_total"] == "7.08"
    assert decimal_text(Decimal("5.7E-7")) == "0.00000057"


# --- property: an invoice built exactly from the usage is clean; one bad quantity is found --

usage_strategy = st.builds(
    lambda i, c, w, o, r, s: Usage(i + c + w, c, w, o, r, s),
    st.integers(0, 10**9), st.integers(0, 10**8), st.integers(0, 10**8),
    st.integers(0, 10**8), st.integers(0, 10**8), st.integers(0, 10**5),
)


@settings(max_examples=60, deadline=None)
@given(usage=usage_strategy, bump=st.integers(1, 10**7))
def test_exact_invoices_are_clean_and_one_error_is_found(usage, bump):
    book = load_price_book([AUDIT / "cards.toml"])
    card = book.card_for("acme-mini", OCTOBER.start)
    logged = {"acme-mini": Logged("acme-mini", 1, usage, price(usage, card))}
    per_k = {"input_tokens": ("input", usage.uncached_input_tokens),
             "cached_input_tokens": ("cached_input", usage.cached_input_tokens),
             "cache_write_tokens": ("cache_write", usage.cache_write_tokens),
             "output_tokens": ("output", usage.output_tokens),
             "reasoning_tokens": ("reasoning", usage.reasoning_tokens)}
    lines = [line(n, "acme-mini", charge, tokens, unit="1K tokens",
                  price_per_unit=getattr(card.rates, rate) / 1000)
             for n, (charge, (rate, tokens)) in enumerate(per_k.items(), start=2)]
    lines.append(line(9, "acme-mini", "web_search_calls", usage.search_calls, unit="call",
                      price_per_unit=card.rates.web_search))
    assert run(lines, logged, book).findings == []
    # Inflate output beyond the tolerance: exactly one quantity_mismatch.
    extra = max(bump, int(Tolerance().limit(Decimal(usage.output_tokens), "tokens")) + 1)
    lines[3] = line(5, "acme-mini", "output_tokens", usage.output_tokens + extra,
                    unit="1K tokens", price_per_unit=card.rates.output / 1000)
    kinds = [f.kind for f in run(lines, logged, book).findings]
    expected = "unlogged_charge" if usage.output_tokens == 0 else "quantity_mismatch"
    assert kinds == [expected]
