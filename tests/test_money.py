"""costkit.core.money: the one Decimal-to-text, the one money formatter, the one --budget
parser, checked against values worked out by hand; and that the modules which had their own
copies now use these."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costkit.core.errors import InputError
from costkit.core.money import AmountError, decimal_text, exact, money, parse_budget


@pytest.mark.parametrize(("value", "text"), [
    (Decimal("0.00000684"), "0.00000684"),  # 12 tokens x $0.57 / 1M: never 6.84E-6
    (Decimal("6.84E-6"), "0.00000684"),
    (Decimal("1.50"), "1.5"),
    (Decimal("1E+3"), "1000"),
    (Decimal("-0.000"), "0"),
    (Decimal("0E-12"), "0"),  # DuckDB's DECIMAL(38, 12) zero
    (Decimal("-1.515"), "-1.515"),
    (Decimal("123456789012345678901234.567890123456"), "123456789012345678901234.567890123456"),
])
def test_decimal_text(value, text):
    assert decimal_text(value) == text


def test_decimal_text_keeps_none_as_none():
    assert decimal_text(None) is None  # JSON null: no amount, never 0


@pytest.mark.parametrize(("value", "kwargs", "text"), [
    (Decimal("1234.567"), {}, "$1,234.57"),
    (Decimal("0.0012345"), {}, "$0.0012"),  # two significant digits below a dollar
    (Decimal("0.994"), {}, "$0.99"),
    (Decimal("0.995"), {}, "$1.00"),  # a tie, rounded half-even to the even cent
    (Decimal("0"), {}, "$0.00"),
    (Decimal("-2.5"), {}, "-$2.50"),
    (Decimal("-0.001"), {"places": 2}, "$0.00"),  # no "-$0.00"
    (Decimal("10"), {"currency": "EUR"}, "10.00 EUR"),
    (Decimal("0.5"), {"currency": None}, "$0.50"),
    (Decimal("0.000855"), {"places": 6}, "$0.000855"),
    (None, {}, "unpriced"),
])
def test_money(value, kwargs, text):
    assert money(value, **kwargs) == text


@pytest.mark.parametrize(("value", "kwargs", "text"), [
    (Decimal("1234.567891234567"), {}, "$1,234.567891234567"),
    (Decimal("2.5"), {}, "$2.50"),
    (Decimal("-1.515"), {}, "-$1.515"),
    (Decimal("0.0089088"), {}, "$0.0089088"),
    (Decimal("-0E-12"), {}, "$0.00"),
    (Decimal("3"), {"min_places": 0}, "$3"),  # an estimate's style: $0, $0.002565
    (Decimal("0E-12"), {"min_places": 0}, "$0"),
    (Decimal("0.002565"), {"min_places": 0}, "$0.002565"),
    (Decimal("1.00"), {"currency": "EUR"}, "1.00 EUR"),
    (None, {}, "unpriced"),
])
def test_exact(value, kwargs, text):
    assert exact(value, **kwargs) == text


@pytest.mark.parametrize(("given", "amount"), [
    ("5000", Decimal(5000)), ("$5,000.50", Decimal("5000.50")), (" 12_000 ", Decimal(12000)),
    ("0.50", Decimal("0.50")), (Decimal("0.01"), Decimal("0.01")), (7, Decimal(7)),
    (None, None),
])
def test_budgets(given, amount):
    assert parse_budget(given) == amount


@pytest.mark.parametrize(("given", "problem", "message"), [
    ("lots", "amount", "--budget 'lots': expected an amount such as 5000 or 5000.50"),
    ("$", "amount", "--budget '$': expected an amount such as 5000 or 5000.50"),
    ("inf", "range", "--budget 'inf': must be a positive amount"),
    ("NaN", "range", "--budget 'NaN': must be a positive amount"),
    ("-3", "range", "--budget '-3': must be a positive amount"),
    ("0", "range", "--budget '0': must be a positive amount"),
    (1.5, "amount", "--budget '1.5': expected an amount such as 5000 or 5000.50"),  # a float
])
def test_bad_budgets(given, problem, message):
    with pytest.raises(AmountError) as caught:
        parse_budget(given)
    assert (caught.value.problem, str(caught.value)) == (problem, message)
    assert isinstance(caught.value, InputError) and caught.value.exit_code == 2


def test_a_zero_budget_only_where_allowed():
    assert parse_budget("0", allow_zero=True) == 0
    with pytest.raises(AmountError, match="must be an amount >= 0"):
        parse_budget("-0.01", allow_zero=True)


def test_the_modules_that_had_their_own_copy_use_these():
    """One Decimal-to-text and one --budget parser: the names the rest of the package imports
    are these very functions (they were separate copies before)."""
    from costkit.audit import findings
    from costkit.estimator import estimate
    from costkit.forecast import run

    assert estimate.decimal_str is decimal_text
    assert findings.decimal_text is decimal_text
    assert run.parse_budget is parse_budget


def test_csv_cells_and_json_rows_write_decimals_the_same_way():
    from costkit.core.safe_output import csv_cell

    for value in (Decimal("6.84E-6"), Decimal("-0.000"), Decimal("1.50")):
        assert csv_cell(value) == decimal_text(value)


def test_the_budget_options_parse_through_the_one_parser(cli):
    """estimate and forecast take the same spellings of an amount; estimate keeps its own
    words for a bad one (tests/test_estimate_cli.py), forecast the parser's."""
    ok = cli("estimate", "hello", "--no-history", "--budget", "$1,000", "--format", "json")
    assert ok.exit_code == 0, ok.stderr
    ok = cli("estimate", "hello", "--no-history", "--budget", "1_000", "--format", "json")
    assert ok.exit_code == 0, ok.stderr
    zero = cli("estimate", "hello", "--no-history", "--budget", "0")  # any cost is over $0
    assert zero.exit_code == 3, zero.stderr
    bad = cli("forecast", "--budget", "lots")
    assert (bad.exit_code, bad.stderr) == (
        2, "costkit: error: --budget 'lots': expected an amount such as 5000 or 5000.50\n")
