"""Money as text, and money given as text: the one place for each.

- `decimal_text`: a Decimal as plain decimal text (JSON, CSV, messages): every digit, no
  exponent, no trailing zeros.
- `money`: an amount for people, rounded for display only; `exact`: every digit, grouped,
  at least `min_places` decimals. Both write the currency the same way ($ for USD).
- `parse_budget`: an amount a person typed (`--budget 5,000`, `$0.50`).

Nothing here rounds a value that is computed with: rounding happens only in what is shown.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import overload

from costkit.core.errors import InputError

_SYMBOLS: dict[str | None, str] = {"USD": "$", None: "$"}


@overload
def decimal_text(value: Decimal) -> str: ...
@overload
def decimal_text(value: None) -> None: ...
def decimal_text(value: Decimal | None) -> str | None:
    """`0.00000684`, never `6.84E-6`; `1.5`, never `1.50`; zero (of any sign) is `0`.
    None stays None (JSON's null: no amount, never 0)."""
    if value is None:
        return None
    # not value.normalize(): it rounds to the context's 28 digits, and DECIMAL(38, 12) has 38
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def money(value: Decimal | None, currency: str | None = "USD", places: int | None = None) -> str:
    """$1,234.57; below one unit two significant digits ($0.0012), so a small cost does
    not read $0.00. `places` fixes the decimals instead. None reads "unpriced" (never $0)."""
    if value is None:
        return "unpriced"
    if places is None:
        places = 2 if value == 0 or abs(value) >= Decimal("0.995") else max(
            2, -value.adjusted() + 1)
    rounded = value.quantize(Decimal(1).scaleb(-places))
    sign = "-" if rounded < 0 else ""
    return _with_currency(sign, f"{abs(rounded):,}", currency)


def exact(value: Decimal | None, currency: str | None = "USD", min_places: int = 2) -> str:
    """Every digit, grouped, at least `min_places` decimals: $1,234.567891234567, $2.50,
    -$1.515 (min_places=0: $0, $0.5). None reads "unpriced"."""
    if value is None:
        return "unpriced"
    text = decimal_text(value)
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    fraction = fraction.ljust(min_places, "0")
    grouped = f"{int(whole):,}" + (f".{fraction}" if fraction else "")
    return _with_currency(sign, grouped, currency)


def _with_currency(sign: str, text: str, currency: str | None) -> str:
    symbol = _SYMBOLS.get(currency)
    if symbol is not None:
        return f"{sign}{symbol}{text}"
    return f"{sign}{text} {currency}"


class AmountError(InputError):
    """A budget that is no amount (`problem` "amount") or out of range ("range")."""

    def __init__(self, message: str, text: str, problem: str) -> None:
        super().__init__(message)
        self.text = text
        self.problem = problem


def parse_budget(value: str | Decimal | int | None, allow_zero: bool = False,
                 option: str = "--budget") -> Decimal | None:
    """An amount as people write it: `5000`, `$5,000.50`, `12_000`, `0.50`. It must be a
    finite amount above zero (`allow_zero`: at or above); AmountError names `option`."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    try:
        if isinstance(value, bool) or not isinstance(value, str | Decimal | int):
            raise InvalidOperation(text)
        amount = Decimal(text.strip().lstrip("$").replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise AmountError(f"{option} {text!r}: expected an amount such as 5000 or 5000.50",
                          text, "amount") from None
    if not amount.is_finite() or amount < 0 or (amount == 0 and not allow_zero):
        rule = "an amount >= 0" if allow_zero else "a positive amount"
        raise AmountError(f"{option} {text!r}: must be {rule}", text, "range")
    return amount
