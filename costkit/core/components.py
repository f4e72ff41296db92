"""The one vocabulary of cost components: what each bills, at which rate, under which name.

A request's cost is the sum of six components. Each is a quantity of the canonical usage
row (core.usage) times one rate of the price card in effect:

| component      | quantity (usage columns)                  | rate per  | cost column         |
|----------------|-------------------------------------------|-----------|---------------------|
| `input`        | input_tokens - cached_input_tokens        | 1M tokens | `input_cost`        |
|                |              - cache_write_tokens         |           |                     |
| `cached_input` | cached_input_tokens                       | 1M tokens | `cached_input_cost` |
| `cache_write`  | cache_write_tokens                        | 1M tokens | `cache_write_cost`  |
| `output`       | output_tokens                             | 1M tokens | `output_cost`       |
| `reasoning`    | reasoning_tokens                          | 1M tokens | `reasoning_cost`    |
| `web_search`   | search_calls                              | 1 call    | `search_cost`       |

A component's `name` is also its rate's name on a price card (`[card.rates] web_search`),
its field of `pricing.cost.Cost` and its key in forecasts; `cost_column` is its column in
the store's costed rows, breakdowns and reports. Those names are published (card files,
JSON, CSV), so they are kept as they are and written here once; code derives them from
`COMPONENTS` instead of spelling them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

TOKENS_PER_RATE = 1_000_000
TOTAL_COLUMN = "total_cost"


@dataclass(frozen=True)
class Component:
    """One cost component (see the module's table)."""

    name: str
    quantity: str  # the usage column it counts
    cost_column: str
    less: tuple[str, ...] = ()  # usage columns billed by other components, taken off `quantity`
    per: int = TOKENS_PER_RATE  # how many units one rate prices
    label: str = ""  # as people read it, e.g. in a report's legend
    offered_always: bool = True  # False: a card may not offer it (no rate: cannot be priced)

    @property
    def rate_column(self) -> str:
        """The column of the per-connection rate table (store.costed) holding its rate."""
        return f"rate_{self.name}"

    @property
    def unit(self) -> str:
        return "tokens" if self.per == TOKENS_PER_RATE else "calls"

    def quantity_of(self, counts: Mapping[str, int]) -> int:
        """Its quantity in a row of token counts (every count present, none null)."""
        return counts[self.quantity] - sum(counts[column] for column in self.less)

    def per_unit(self, rate: Decimal) -> Decimal:
        """A card's rate as the price of one token or call (exact: a shift of the point)."""
        return rate / self.per if self.per != 1 else rate


INPUT = Component(
    "input", "input_tokens", "input_cost", less=("cached_input_tokens", "cache_write_tokens"),
    label="Uncached input",
)
CACHED_INPUT = Component(
    "cached_input", "cached_input_tokens", "cached_input_cost", label="Cached input"
)
CACHE_WRITE = Component(
    "cache_write", "cache_write_tokens", "cache_write_cost", label="Cache write"
)
OUTPUT = Component("output", "output_tokens", "output_cost", label="Output")
REASONING = Component("reasoning", "reasoning_tokens", "reasoning_cost", label="Reasoning")
SEARCH = Component(
    "web_search", "search_calls", "search_cost", per=1, label="Web search", offered_always=False
)

COMPONENTS: tuple[Component, ...] = (INPUT, CACHED_INPUT, CACHE_WRITE, OUTPUT, REASONING, SEARCH)
NAMES: tuple[str, ...] = tuple(c.name for c in COMPONENTS)
COST_COLUMNS: tuple[str, ...] = tuple(c.cost_column for c in COMPONENTS)
RATE_COLUMNS: tuple[str, ...] = tuple(c.rate_column for c in COMPONENTS)
BY_NAME: Mapping[str, Component] = {c.name: c for c in COMPONENTS}
BY_COST_COLUMN: Mapping[str, Component] = {c.cost_column: c for c in COMPONENTS}
