"""The canonical usage row's counts and the rules they obey, written once as data.

Counts, in the canonical sense (ARCHITECTURE.md): `input_tokens` is ALL prompt tokens,
cached and cache-write ones included; `output_tokens` is the visible answer only, reasoning
excluded. So a row obeys:
- every count is a whole number >= 0;
- cached_input_tokens + cache_write_tokens <= input_tokens.
Output and reasoning have no such bound in the canonical row (they are disjoint), but a
source whose output total includes reasoning must have reasoning <= that total before its
reader splits them (`REASONING_WITHIN_OUTPUT`).

`Usage` checks these in Python; the store's `usage` table carries the same rules as CHECK
constraints (store.migrations, from `check_sql`), so a row breaking them is refused by the
table itself whichever code path writes it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields

from costkit.core.components import INPUT
from costkit.core.errors import InputError

COUNT_COLUMNS: tuple[str, ...] = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
    "search_calls",
)
# Counts a source may leave unreported (NULL in the store, never guessed as 0): reasoning
# when output includes it unsplit, searches when search was enabled but not counted.
NULLABLE: frozenset[str] = frozenset({"reasoning_tokens", "search_calls"})


@dataclass(frozen=True)
class AtMost:
    """The rule sum(`parts`) <= `whole` over counts of one row."""

    parts: tuple[str, ...]
    whole: str

    def holds(self, counts: Mapping[str, int]) -> bool:
        return sum(counts[p] for p in self.parts) <= counts[self.whole]

    def sql(self) -> str:
        """As a SQL condition over the row's columns (NULL, i.e. not broken, if one is NULL)."""
        return f"{' + '.join(self.parts)} <= {self.whole}"

    def problem(self, counts: Mapping[str, int]) -> str:
        """What is wrong with `counts` when the rule does not hold, in one line."""
        names = " + ".join(self.parts)
        values = " + ".join(str(counts[p]) for p in self.parts)
        verb = "exceed" if len(self.parts) > 1 else "exceeds"
        return f"{names} ({values}) {verb} {self.whole} ({counts[self.whole]})"


# Rules of every canonical row.
CACHED_WITHIN_INPUT = AtMost(("cached_input_tokens", "cache_write_tokens"), "input_tokens")
ROW_RULES: tuple[AtMost, ...] = (CACHED_WITHIN_INPUT,)
# A rule of sources whose output total includes reasoning (checked before the split).
REASONING_WITHIN_OUTPUT = AtMost(("reasoning_tokens",), "output_tokens")


def check_sql() -> tuple[str, ...]:
    """Every rule of the canonical row as SQL conditions, for CHECK constraints."""
    return (*(f"{column} >= 0" for column in COUNT_COLUMNS), *(r.sql() for r in ROW_RULES))


def count_problem(name: str, value: object) -> str | None:
    """Why `value` cannot be the count `name`, or None when it can."""
    if isinstance(value, bool) or not isinstance(value, int):
        return f"{name} is {value!r}; token counts must be whole numbers"
    if value < 0:
        return f"{name} is {value}; token counts must be >= 0"
    return None


@dataclass(frozen=True)
class Usage:
    """Token counts of one request or a sum of many, in the canonical sense (module doc)."""

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    search_calls: int = 0

    def __post_init__(self) -> None:
        for name, value in self._items():
            problem = count_problem(name, value)
            if problem:
                raise InputError(problem)
        counts = dict(self._items())
        for rule in ROW_RULES:
            if not rule.holds(counts):
                raise InputError(rule.problem(counts))

    def _items(self) -> Iterator[tuple[str, int]]:
        return ((f.name, getattr(self, f.name)) for f in fields(self))

    def as_counts(self) -> dict[str, int]:
        return dict(self._items())

    @property
    def uncached_input_tokens(self) -> int:
        """The input tokens billed at the plain input rate (core.components.INPUT)."""
        return INPUT.quantity_of(self.as_counts())

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(a + b for (_, a), (_, b) in zip(self._items(), other._items(), strict=True)))
