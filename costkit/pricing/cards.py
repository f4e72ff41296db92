"""Price cards: the TOML format, its validation, and the built-in cards.

A card is one model's rates over one effective period `[effective_from, effective_to)`.
Built-in cards ship in `costkit/pricing/cards/*.toml`; a user's cards (a file or a directory
of `.toml` files) are read by the same code. Rates are per 1M tokens, web search per call
(core.components). Which card is in effect when, and which names a model answers to, is
`costkit.pricing.book`.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

from costkit.core.components import NAMES, Component
from costkit.core.errors import CardError, InputError
from costkit.pricing.parameters import Parameter, parse_parameter

RATE_PLACES = 6
REQUIRED_RATES = ("input", "output")
# A rate a card does not state bills as this published one (web_search: not offered).
BILLED_AS = {"cached_input": "input", "cache_write": "input", "reasoning": "output"}
CARD_FIELDS = {
    "model",
    "provider",
    "gateway",
    "display_name",
    "region",
    "currency",
    "tokenizer",
    "endpoints",
    "source",
    "notes",
    "aliases",
    "effective_from",
    "effective_to",
    "rates",
    "limits",
    "parameters",
    "tiers",
}
LIMIT_FIELDS = {"context_window", "max_output"}
TIER_FIELDS = {"above_input_tokens", "rates"}
EARLIEST = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Rates:
    """Per 1M tokens, in the card's currency; `web_search` per call, None if not offered.

    One field per cost component (core.components), named as the component.
    """

    input: Decimal
    cached_input: Decimal
    cache_write: Decimal
    output: Decimal
    reasoning: Decimal
    web_search: Decimal | None

    def of(self, component: Component) -> Decimal | None:
        rate: Decimal | None = getattr(self, component.name)
        return rate


@dataclass(frozen=True)
class Tier:
    """A long-context tier: a request whose input exceeds the threshold bills all at `rates`."""

    above_input_tokens: int
    rates: Rates


@dataclass(frozen=True)
class Band:
    """The requests one set of a card's rates applies to: input_tokens in (above, upto]."""

    above: int
    upto: int | None
    rates: Rates

    def holds(self, input_tokens: int) -> bool:
        return input_tokens > self.above and (self.upto is None or input_tokens <= self.upto)

    @staticmethod
    def holds_sql(input_tokens: str, above: str, upto: str) -> str:
        """`holds` as SQL, over the columns holding a band's bounds (pricing.sql)."""
        return f"{input_tokens} > {above} AND ({upto} IS NULL OR {input_tokens} <= {upto})"


@dataclass(frozen=True)
class Card:
    model: str
    rates: Rates
    provider: str = ""
    gateway: str = ""
    display_name: str = ""
    region: str = ""
    currency: str = "USD"
    tokenizer: str = ""
    endpoints: tuple[str, ...] = ()
    source: str = ""
    notes: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    effective_from: datetime | None = None
    effective_to: datetime | None = None
    tiers: tuple[Tier, ...] = ()
    context_window: int | None = None
    max_output: int | None = None
    parameters: Mapping[str, Parameter] = field(default_factory=dict)
    origin: str = ""
    builtin: bool = False

    @property
    def card_id(self) -> str:
        start = self.effective_from.isoformat() if self.effective_from else "start"
        return f"{self.model}@{start}"

    def in_effect(self, at: datetime) -> bool:
        at = utc(at)
        after_start = self.effective_from is None or at >= self.effective_from
        before_end = self.effective_to is None or at < self.effective_to
        return after_start and before_end

    @staticmethod
    def in_effect_sql(at: str, start: str, end: str) -> str:
        """`in_effect` as SQL, over the columns holding a card's period (pricing.sql)."""
        return (
            f"{at} >= coalesce({start}, '-infinity'::TIMESTAMPTZ)"
            f" AND {at} < coalesce({end}, 'infinity'::TIMESTAMPTZ)"
        )

    @cached_property
    def bands(self) -> tuple[Band, ...]:
        """Which rates bill which requests: the base rates up to the first tier's threshold,
        each tier up to the next one's. The one definition of tier choice: `rates_for` reads
        it in Python, the store's rate table (pricing.sql) in SQL."""
        tiers = sorted(self.tiers, key=lambda t: t.above_input_tokens)
        starts = [(-1, self.rates), *((t.above_input_tokens, t.rates) for t in tiers)]
        ends: list[int | None] = [above for above, _ in starts[1:]]
        ends.append(None)
        return tuple(
            Band(above, upto, rates) for (above, rates), upto in zip(starts, ends, strict=True)
        )

    def rates_for(self, input_tokens: int) -> Rates:
        """The rates a request with `input_tokens` prompt tokens bills at (its tier's, if any)."""
        for band in self.bands:
            if band.holds(input_tokens):
                return band.rates
        raise InputError(f"input_tokens is {input_tokens}; token counts must be >= 0")

    def default(self, name: str) -> Any:
        parameter = self.parameters.get(name)
        return parameter.default if parameter else None

    def check_parameter(self, name: str, value: Any) -> None:
        parameter = self.parameters.get(name)
        if parameter is not None:
            parameter.check(value)


def load_cards_path(path: Path) -> list[Card]:
    if path.is_dir():
        files = sorted(path.rglob("*.toml"))
        if not files:
            raise CardError(f"{path}: no .toml price cards in this directory")
        return [card for file in files for card in load_cards_file(file)]
    if not path.exists():
        raise CardError(f"{path}: no such price card file or directory")
    return load_cards_file(path)


def load_cards_file(path: Path, builtin: bool = False) -> list[Card]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CardError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_cards(text, str(path), builtin=builtin)


def parse_cards(text: str, origin: str, builtin: bool = False) -> list[Card]:
    try:
        doc = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        raise CardError(f"{origin}: not valid TOML: {exc}") from exc
    unknown = set(doc) - {"card"}
    if unknown:
        raise CardError(
            f"{origin}: unknown top-level field {sorted(unknown)[0]!r}; expected [[card]]"
        )
    raw_cards = doc.get("card")
    if not isinstance(raw_cards, list) or not raw_cards:
        raise CardError(f"{origin}: no [[card]] tables")
    cards = [
        _parse_card(raw, f"{origin}: card[{i}]", origin, builtin) for i, raw in enumerate(raw_cards)
    ]
    check_overlaps(cards)
    return cards


def _parse_card(raw: dict[str, Any], where: str, origin: str, builtin: bool) -> Card:
    unknown = set(raw) - CARD_FIELDS
    if unknown:
        raise CardError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    model = raw.get("model")
    if not isinstance(model, str) or not model:
        raise CardError(f"{where}: missing field 'model'")
    where = f"{where} ({model})"
    if "rates" not in raw or not isinstance(raw["rates"], dict):
        raise CardError(f"{where}: missing table 'rates'")
    rates = _parse_rates(raw["rates"], f"{where}.rates", base=None)
    tiers = tuple(
        _parse_tier(t, f"{where}.tiers[{i}]", rates) for i, t in enumerate(raw.get("tiers", []))
    )
    limits = raw.get("limits", {})
    unknown = set(limits) - LIMIT_FIELDS
    if unknown:
        raise CardError(f"{where}.limits: unknown field {sorted(unknown)[0]!r}")
    parameters = {
        name: parse_parameter(name, spec, f"{where}.parameters.{name}")
        for name, spec in raw.get("parameters", {}).items()
    }
    start = _parse_instant(raw.get("effective_from"), f"{where}.effective_from")
    end = _parse_instant(raw.get("effective_to"), f"{where}.effective_to")
    if start and end and end <= start:
        raise CardError(f"{where}: effective_to {end.isoformat()} is not after effective_from")
    notes = raw.get("notes", ())
    return Card(
        model=model,
        rates=rates,
        provider=str(raw.get("provider", "")),
        gateway=str(raw.get("gateway", "")),
        display_name=str(raw.get("display_name", model)),
        region=str(raw.get("region", "")),
        currency=str(raw.get("currency", "USD")),
        tokenizer=str(raw.get("tokenizer", "")),
        endpoints=tuple(raw.get("endpoints", ())),
        source=str(raw.get("source", "")),
        notes=(notes,) if isinstance(notes, str) else tuple(notes),
        aliases=tuple(raw.get("aliases", ())),
        effective_from=start,
        effective_to=end,
        tiers=tiers,
        context_window=_positive_int(
            limits.get("context_window"), f"{where}.limits.context_window"
        ),
        max_output=_positive_int(limits.get("max_output"), f"{where}.limits.max_output"),
        parameters=parameters,
        origin=origin,
        builtin=builtin,
    )


def _parse_rates(raw: dict[str, Any], where: str, base: Rates | None) -> Rates:
    unknown = set(raw) - set(NAMES)
    if unknown:
        raise CardError(
            f"{where}: unknown rate {sorted(unknown)[0]!r}; known: {', '.join(NAMES)}"
        )
    values: dict[str, Decimal | None] = {}
    for name in NAMES:
        if name in raw:
            values[name] = _parse_rate(raw[name], f"{where}.{name}")
        elif base is not None:
            values[name] = getattr(base, name)
        elif name in REQUIRED_RATES:
            raise CardError(f"{where}: missing rate {name!r}")
    # Unpublished rates fall back to the published one they are billed as.
    for name, billed_as in BILLED_AS.items():
        values.setdefault(name, values[billed_as])
    values.setdefault("web_search", None)
    return Rates(**values)  # type: ignore[arg-type]  # input/output present: REQUIRED_RATES


def _parse_tier(raw: dict[str, Any], where: str, base: Rates) -> Tier:
    unknown = set(raw) - TIER_FIELDS
    if unknown:
        raise CardError(f"{where}: unknown field {sorted(unknown)[0]!r}")
    threshold = _positive_int(raw.get("above_input_tokens"), f"{where}.above_input_tokens")
    if threshold is None:
        raise CardError(f"{where}: missing field 'above_input_tokens'")
    if not isinstance(raw.get("rates"), dict):
        raise CardError(f"{where}: missing table 'rates'")
    return Tier(threshold, _parse_rates(raw["rates"], f"{where}.rates", base=base))


def _parse_rate(value: Any, where: str) -> Decimal:
    if isinstance(value, bool):
        raise CardError(f"{where}: {value!r} is not a rate")
    try:
        rate = Decimal(str(value)) if isinstance(value, str | int | Decimal) else None
    except InvalidOperation:
        rate = None
    if rate is None or not rate.is_finite():
        raise CardError(f"{where}: {value!r} is not a number")
    if rate < 0:
        raise CardError(f"{where}: {value} is negative; rates must be >= 0")
    exponent = rate.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -RATE_PLACES:
        # The store prices per token in DECIMAL(38,12): 6 places per 1M keeps that exact.
        raise CardError(f"{where}: {value} has more than {RATE_PLACES} decimal places")
    return rate


def _positive_int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CardError(f"{where}: {value!r}; must be a whole number > 0")
    return value


def _parse_instant(value: Any, where: str) -> datetime | None:
    """A card date: a TOML date/datetime or an ISO 8601 string; naive means UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    if isinstance(value, str):
        try:
            return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise CardError(
        f"{where}: {value!r} is not a date; use ISO 8601, e.g. 2026-01-01 or 2026-01-01T00:00:00Z"
    )


def utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def check_overlaps(cards: Iterable[Card]) -> None:
    by_model: dict[str, list[Card]] = {}
    for card in cards:
        by_model.setdefault(card.model, []).append(card)
    for model, group in by_model.items():
        group = sorted(group, key=lambda c: c.effective_from or EARLIEST)
        for before, after in zip(group, group[1:], strict=False):
            after_start = after.effective_from or EARLIEST
            if before.effective_to is None or before.effective_to > after_start:
                raise CardError(
                    f"{after.origin}: cards for {model!r} overlap: {_period(before)} "
                    f"({before.origin}) and {_period(after)}"
                )


def _period(card: Card) -> str:
    start = card.effective_from.isoformat() if card.effective_from else "the beginning"
    end = card.effective_to.isoformat() if card.effective_to else "open-ended"
    return f"[{start}, {end})"


@cache
def builtin_cards() -> tuple[Card, ...]:
    """The cards shipped in the package, parsed once per process (they cannot change while
    it runs; every command and library call loads a book, some several)."""
    folder = resources.files("costkit.pricing") / "cards"
    cards: list[Card] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            cards.extend(
                parse_cards(entry.read_text(encoding="utf-8"), f"builtin:{entry.name}", True)
            )
    return tuple(cards)
