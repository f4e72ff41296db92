"""Price cards (load, validate, choose the one in effect) and the Decimal arithmetic of a cost.

A card is one model's rates over one effective period `[effective_from, effective_to)`.
Built-in cards ship in `costkit/cards/*.toml`; a user's cards (a file or a directory of
`.toml` files, from `--prices` or `COSTKIT_PRICES`) add models, and replace every
built-in card of a model they name. Rates are per 1M tokens, web search per call.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any

from costkit.core import clock
from costkit.core.errors import CardError, InputError, NoCardInEffectError, UnknownModelError

MILLION = Decimal(1_000_000)
RATE_PLACES = 6
RATE_NAMES = ("input", "cached_input", "cache_write", "output", "reasoning", "web_search")
REQUIRED_RATES = ("input", "output")
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
PARAMETER_FIELDS = {"type", "default", "min", "max", "values", "description"}
PARAMETER_TYPES = {"number", "integer", "boolean", "enum"}
TIER_FIELDS = {"above_input_tokens", "rates"}
ENV_PRICES = "COSTKIT_PRICES"


@dataclass(frozen=True)
class Rates:
    """USD (or the card's currency) per 1M tokens; `web_search` per call, None if not offered."""

    input: Decimal
    cached_input: Decimal
    cache_write: Decimal
    output: Decimal
    reasoning: Decimal
    web_search: Decimal | None


@dataclass(frozen=True)
class Tier:
    """A long-context tier: a request whose input exceeds the threshold bills all at `rates`."""

    above_input_tokens: int
    rates: Rates


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
        at = _utc(at)
        after_start = self.effective_from is None or at >= self.effective_from
        before_end = self.effective_to is None or at < self.effective_to
        return after_start and before_end

    def rates_for(self, input_tokens: int) -> Rates:
        """The rates a request with `input_tokens` prompt tokens bills at (its tier's, if any)."""
        chosen = self.rates
        for tier in sorted(self.tiers, key=lambda t: t.above_input_tokens):
            if input_tokens > tier.above_input_tokens:
                chosen = tier.rates
        return chosen

    def default(self, name: str) -> Any:
        parameter = self.parameters.get(name)
        return parameter.default if parameter else None

    def check_parameter(self, name: str, value: Any) -> None:
        parameter = self.parameters.get(name)
        if parameter is not None:
            parameter.check(value)


@dataclass(frozen=True)
class Usage:
    """Token counts of one request or a sum of many, in the canonical sense.

    `input_tokens` includes cached and cache-write tokens; `output_tokens` is the visible
    answer only, reasoning excluded.
    """

    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    search_calls: int = 0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InputError(f"{f.name} is {value!r}; token counts must be whole numbers")
            if value < 0:
                raise InputError(f"{f.name} is {value}; token counts must be >= 0")
        if self.cached_input_tokens + self.cache_write_tokens > self.input_tokens:
            raise InputError(
                f"cached_input_tokens + cache_write_tokens "
                f"({self.cached_input_tokens} + {self.cache_write_tokens}) exceed "
                f"input_tokens ({self.input_tokens})"
            )

    @property
    def uncached_input_tokens(self) -> int:
        return self.input_tokens - self.cached_input_tokens - self.cache_write_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(self)))


@dataclass(frozen=True)
class Cost:
    """The cost of each component, exact, in the card's currency."""

    input: Decimal = Decimal(0)
    cached_input: Decimal = Decimal(0)
    cache_write: Decimal = Decimal(0)
    output: Decimal = Decimal(0)
    reasoning: Decimal = Decimal(0)
    web_search: Decimal = Decimal(0)
    currency: str = "USD"

    @property
    def total(self) -> Decimal:
        return (
            self.input
            + self.cached_input
            + self.cache_write
            + self.output
            + self.reasoning
            + self.web_search
        )

    def as_dict(self) -> dict[str, str]:
        """Every component and the total as decimal strings (JSON-safe, never floats)."""
        out = {name: str(getattr(self, name)) for name in RATE_NAMES}
        out["total"] = str(self.total)
        return out


def price(usage: Usage, card: Card) -> Cost:
    """The cost of `usage` under `card`: one multiplication per component, no rounding."""
    rates = card.rates_for(usage.input_tokens)
    if usage.search_calls and rates.web_search is None:
        raise CardError(f"card {card.card_id} has no web_search rate; cannot price search calls")
    search_rate = rates.web_search or Decimal(0)
    return Cost(
        input=usage.uncached_input_tokens * rates.input / MILLION,
        cached_input=usage.cached_input_tokens * rates.cached_input / MILLION,
        cache_write=usage.cache_write_tokens * rates.cache_write / MILLION,
        output=usage.output_tokens * rates.output / MILLION,
        reasoning=usage.reasoning_tokens * rates.reasoning / MILLION,
        web_search=usage.search_calls * search_rate,
        currency=card.currency,
    )


class PriceBook:
    """All cards in effect for this run: built-ins, overridden model by model by the user's."""

    def __init__(self, cards: Iterable[Card], catalog: Any = ()):
        self.cards: tuple[Card, ...] = tuple(
            sorted(cards, key=lambda c: (c.model, c.effective_from or _MIN))
        )
        _check_overlaps(self.cards)
        self._index_names()
        # The lowest authority (cards or a function returning them), consulted only for a
        # name `cards` do not know; see costkit.pricing.names for how names resolve.
        self._catalog = catalog
        self._names: Any = None
        self.matches: dict[str, Any] = {}

    def _index_names(self) -> None:
        self._by_name: dict[str, list[Card]] = {}
        for card in self.cards:
            for name in (card.model, *card.aliases):
                self._by_name.setdefault(name, []).append(card)

    def _learn(self, name: str) -> list[Card]:
        """Resolve a name no card lists (costkit.pricing.names) and make it one more alias
        of the cards it resolves to, which join `cards` if they came from the catalog."""
        from costkit.pricing import names

        if self._names is None:
            self._names = names.build_index(self.cards, self._catalog)
        own = sorted({c.model for c in self.cards if names.authority(c) > 0})
        match = self._names.resolve(name, own)
        self.matches[name] = match
        mine = [c for c in self.cards if c.model == match.model]
        # A catalog card joins with the names it was asked by, not all the catalog's aliases
        # (those stay with the resolver, where they cannot shadow another card's name).
        chosen = mine or [replace(c, aliases=()) for c in self._names.by_model[match.model]]
        others = [c for c in self.cards if c.model != match.model]
        added = [c if name in c.aliases else replace(c, aliases=(*c.aliases, name))
                 for c in chosen]
        self.cards = tuple(
            sorted(others + added, key=lambda c: (c.model, c.effective_from or _MIN))
        )
        self._index_names()
        return self._by_name[name]

    def learn(self, names: Iterable[str]) -> None:
        """Resolve each logged name now (unknown or ambiguous ones stay unpriced), so the
        store's rate table and every name lookup see them."""
        for name in names:
            if name is not None and name not in self._by_name:
                try:
                    self._learn(name)
                except UnknownModelError:
                    pass

    def models(self) -> list[str]:
        return sorted({card.model for card in self.cards})

    def resolve(self, name: str) -> str:
        """The card model a log's model name (or alias) prices as."""
        return self.cards_for(name)[0].model

    def cards_for(self, model: str) -> list[Card]:
        cards = self._by_name.get(model)
        if not cards:
            cards = self._learn(model)
        if model in self.matches:  # resolved once: always the same model
            return [c for c in cards if c.model == self.matches[model].model]
        models = sorted({c.model for c in cards})
        if len(models) > 1 and model not in models:
            # Two models' cards list the same alias: never price it as one of them.
            from costkit.pricing.names import AmbiguousModelError

            raise AmbiguousModelError(model, models)
        return [c for c in cards if c.model == model] if len(models) > 1 else list(cards)

    def card_for(self, model: str, at: datetime | None = None) -> Card:
        """The card of `model` in effect at `at` (default: now)."""
        at = _utc(at or clock.now())
        for card in self.cards_for(model):
            if card.in_effect(at):
                return card
        raise NoCardInEffectError(f"no card for {model!r} is in effect at {at.isoformat()}")

    def names_of(self, card: Card) -> list[str]:
        """The names `card` prices: its model id, and each alias no other model's card lists
        (a shared alias is ambiguous, priced by neither)."""
        out = []
        for name in dict.fromkeys((card.model, *card.aliases)):
            match = self.matches.get(name)
            if match is not None:
                if match.model == card.model:
                    out.append(name)
            elif name == card.model or {c.model for c in self._by_name[name]} == {card.model}:
                out.append(name)
        return out

    def aliases(self) -> dict[str, str]:
        """Every name a card answers to, mapped to the card's model."""
        return {name: cards[0].model for name, cards in self._by_name.items()}


def load_price_book(paths: Iterable[str | os.PathLike] | None = None) -> PriceBook:
    """Built-in cards plus the user's (`paths`, else `COSTKIT_PRICES`, os.pathsep-separated),
    over the catalog (costkit.pricing.catalog) as the lowest authority."""
    from costkit.pricing.catalog import catalog_cards

    builtin = _builtin_cards()
    if paths is None:
        env = os.environ.get(ENV_PRICES, "")
        paths = [p for p in env.split(os.pathsep) if p]
    user: list[Card] = []
    for path in paths:
        user.extend(load_cards_path(Path(path)))
    named = {card.model for card in user}
    return PriceBook([c for c in builtin if c.model not in named] + user, catalog=catalog_cards)


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
    _check_overlaps(cards)
    return cards


def _parse_card(raw: dict, where: str, origin: str, builtin: bool) -> Card:
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
        name: _parse_parameter(name, spec, f"{where}.parameters.{name}")
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


def _parse_rates(raw: dict, where: str, base: Rates | None) -> Rates:
    unknown = set(raw) - set(RATE_NAMES)
    if unknown:
        raise CardError(
            f"{where}: unknown rate {sorted(unknown)[0]!r}; known: {', '.join(RATE_NAMES)}"
        )
    values: dict[str, Decimal | None] = {}
    for name in RATE_NAMES:
        if name in raw:
            values[name] = _parse_rate(raw[name], f"{where}.{name}")
        elif base is not None:
            values[name] = getattr(base, name)
        elif name in REQUIRED_RATES:
            raise CardError(f"{where}: missing rate {name!r}")
    # Unpublished rates fall back to the published one they are billed as.
    values.setdefault("cached_input", values["input"])
    values.setdefault("cache_write", values["input"])
    values.setdefault("reasoning", values["output"])
    values.setdefault("web_search", None)
    return Rates(**values)


def _parse_tier(raw: dict, where: str, base: Rates) -> Tier:
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
    if rate.as_tuple().exponent < -RATE_PLACES:
        # The store prices per token in DECIMAL(38,12): 6 places per 1M keeps that exact.
        raise CardError(f"{where}: {value} has more than {RATE_PLACES} decimal places")
    return rate


def _parse_parameter(name: str, spec: Any, where: str) -> Parameter:
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


def _positive_int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise CardError(f"{where}: {value!r}; must be a whole number > 0")
    return value


_MIN = datetime.min.replace(tzinfo=UTC)


def _parse_instant(value: Any, where: str) -> datetime | None:
    """A card date: a TOML date/datetime or an ISO 8601 string; naive means UTC."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return _utc(value)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    if isinstance(value, str):
        try:
            return _utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
        except ValueError:
            pass
    raise CardError(
        f"{where}: {value!r} is not a date; use ISO 8601, e.g. 2026-01-01 or 2026-01-01T00:00:00Z"
    )


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _check_overlaps(cards: Iterable[Card]) -> None:
    by_model: dict[str, list[Card]] = {}
    for card in cards:
        by_model.setdefault(card.model, []).append(card)
    for model, group in by_model.items():
        group = sorted(group, key=lambda c: c.effective_from or _MIN)
        for before, after in zip(group, group[1:], strict=False):
            if before.effective_to is None or before.effective_to > (after.effective_from or _MIN):
                raise CardError(
                    f"{after.origin}: cards for {model!r} overlap: {_period(before)} "
                    f"({before.origin}) and {_period(after)}"
                )


def _period(card: Card) -> str:
    start = card.effective_from.isoformat() if card.effective_from else "the beginning"
    end = card.effective_to.isoformat() if card.effective_to else "open-ended"
    return f"[{start}, {end})"


def _plain(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def _builtin_cards() -> list[Card]:
    folder = resources.files("costkit.pricing") / "cards"
    cards: list[Card] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            cards.extend(
                parse_cards(entry.read_text(encoding="utf-8"), f"builtin:{entry.name}", True)
            )
    return cards
