"""A price card's request parameters: what a model accepts (type, range, enum) and its
defaults, as the card states them (`[card.parameters.NAME]`)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from costkit.core.errors import CardError, InputError
from costkit.core.money import decimal_text

PARAMETER_FIELDS = {"type", "default", "min", "max", "values", "description"}
PARAMETER_TYPES = {"number", "integer", "boolean", "enum"}


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: Any = None
    min: Decimal | None = None
    max: Decimal | None = None
    values: tuple[str, ...] = ()
    description: str = ""

    def check(self, value: Any) -> None:
        """Raise InputError when `value` is outside this parameter's type, range or enum."""
        if value is None:
            return
        if self.type == "boolean":
            if not isinstance(value, bool):
                raise InputError(f"{self.name} is {value!r}; it must be true or false")
            return
        if self.type == "enum":
            if value not in self.values:
                allowed = "|".join(self.values)
                raise InputError(f"{self.name} is {value!r}; it must be one of {allowed}")
            return
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            raise InputError(f"{self.name} is {value!r}; it must be a number")
        if self.type == "integer" and value != int(value):
            raise InputError(f"{self.name} is {value!r}; it must be a whole number")
        number = Decimal(str(value))
        if (self.min is not None and number < self.min) or (
            self.max is not None and number > self.max
        ):
            raise InputError(
                f"{self.name} is {value}; it must be in {_plain(self.min)}..{_plain(self.max)}"
            )


def parse_parameter(name: str, spec: Any, where: str) -> Parameter:
    if not isinstance(spec, dict):
        raise CardError(f"{where}: must be a table")
    unknown = set(spec) - PARAMETER_FIELDS
    if unknown:
        raise CardError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    kind = spec.get("type")
    if kind not in PARAMETER_TYPES:
        raise CardError(
            f"{where}.type: {kind!r}; expected one of {', '.join(sorted(PARAMETER_TYPES))}"
        )
    low = spec.get("min")
    high = spec.get("max")
    return Parameter(
        name=name,
        type=kind,
        default=spec.get("default"),
        min=None if low is None else _parse_rate_like(low, f"{where}.min"),
        max=None if high is None else _parse_rate_like(high, f"{where}.max"),
        values=tuple(spec.get("values", ())),
        description=str(spec.get("description", "")),
    )


def _parse_rate_like(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise CardError(f"{where}: {value!r} is not a number")
    return Decimal(value)


def _plain(value: Decimal | None) -> str:
    return "" if value is None else decimal_text(value)
