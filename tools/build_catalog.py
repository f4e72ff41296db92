"""Regenerate costkit's built-in catalog of price cards from the genai-prices package.

    pip install genai-prices==0.2.3          # a dev dependency: only this tool imports it
    python tools/build_catalog.py --effective 2026-12-05

Reads the package's bundled snapshot (`genai_prices.data.providers`), converts every model
costkit can price exactly into cards, and writes costkit/pricing/catalog/: one PROVIDER.toml
per provider, index.json (each file's models and their names, so a run parses only the file
of a name it prices), manifest.json (package, version, licence, providers, what was left out and
why) and the package's licence. Nothing is fetched at run time: costkit reads these files.

Conversion, per model (`convert_model`):
- the package's dated prices (`ConditionalPrice` with a start date) become cards with
  `effective_from`; prices that depend on the time of day cannot be a card: the model is
  left out (listed in the manifest), never priced at one of its rates;
- input / cached input (cache read) / cache write / output / reasoning per 1M tokens, web
  search per call ($ per 1,000 / 1,000); tiered prices become long-context tiers;
- batch, flex and priority prices (`PriceVariant`) become cards `MODEL:batch`, `:flex`,
  `:priority` from the date the package knows them; the one-hour cache write becomes
  `MODEL:cache-1h` (its cache_write rate is the 1h rate);
- names: the package's exact names are aliases; its starts-with / contains / ends-with
  rules become `*` patterns (`claude-sonnet-4-5*`); regex rules are left out (counted);
- a model priced per request, per page, per character or per hour, or with a rate finer
  than costkit's 6 decimal places per 1M, is left out with the reason.
Names served as different models over time (tools/catalog_aliases.toml, e.g. deepseek-chat)
become cards of their own with each period's rates.

Updates never reprice history: with a catalog already in place, `--effective DATE` is the
day the new prices start. Every existing card keeps its rates before that day; a model whose
prices changed gets a new card from that day; models the package dropped are kept. The
changes are printed like `costkit prices diff` prints them (`--dry-run` writes nothing).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tomllib
from collections.abc import Iterable
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from costkit.pricing.cards import RATE_PLACES, Card, Rates, Tier  # noqa: E402
from costkit.pricing.catalog import (  # noqa: E402
    CATALOG_DIR,
    INDEX,
    MANIFEST,
    index_of,
    load_catalog_dir,
)
from costkit.pricing.catalog_diff import diff_cards, format_diff  # noqa: E402
from costkit.tokens.openai import encoding_of_model  # noqa: E402

sys.path.insert(0, str(ROOT / "tools"))
from catalog_files import merge, write_catalog  # noqa: E402

PACKAGE = "genai-prices"
ALIASES = ROOT / "tools" / "catalog_aliases.toml"
# Providers that make the models they bill for: a bare name both they and a host serve
# (gpt-4o: openai, azure, ...) means theirs. Every other provider is a host or router: its
# cards carry `gateway` and are chosen by a name only when no maker's card matches.
MAKERS = frozenset({
    "anthropic", "cohere", "deepseek", "google", "meta", "minimax", "mistral", "moonshotai",
    "openai", "perplexity", "voyageai", "x-ai", "zai", "zhipuai",
})
KEY_RATES = {
    "input_mtok": "input",
    "cache_read_mtok": "cached_input",
    "cache_write_mtok": "cache_write",
    "output_mtok": "output",
    "output_reasoning_mtok": "reasoning",
}
# Billed per token of another modality: the usage rows do not split them out, so they are
# priced as text; the card says so.
NOTED_KEYS = {
    "input_audio_mtok": "input audio tokens", "cache_audio_read_mtok": "cached audio tokens",
    "output_audio_mtok": "output audio tokens", "input_image_mtok": "input image tokens",
    "cache_image_read_mtok": "cached image tokens", "output_image_mtok": "output image tokens",
    "input_video_mtok": "input video tokens", "output_video_mtok": "output video tokens",
    "output_citation_mtok": "citation tokens", "storage_searches_kcount": "file searches",
}
VARIANTS = {("processing", "batch"): "batch", ("service_tier", "flex"): "flex",
            ("service_tier", "priority"): "priority"}
EPOCH = date(1970, 1, 1)


class Skip(Exception):
    """A model the catalog leaves out, with the reason."""


# --- conversion -------------------------------------------------------------------------------

def names_of(match: Any) -> tuple[list[str], int]:
    """The package's match rule as exact names and `*` patterns, and how many regex rules
    had to be left out."""
    kind = type(match).__name__
    if kind == "ClauseEquals":
        return [match.equals.lower()], 0
    if kind == "ClauseStartsWith":
        return [match.starts_with.lower() + "*"], 0
    if kind == "ClauseContains":
        return ["*" + match.contains.lower() + "*"], 0
    if kind == "ClauseEndsWith":
        return ["*" + match.ends_with.lower()], 0
    if kind == "ClauseOr":
        out, dropped = [], 0
        for clause in match.or_:
            names, n = names_of(clause)
            out += names
            dropped += n
        return out, dropped
    return [], 1  # regex, and the rare "and" of clauses


def rates_at(price: Any, model: str) -> tuple[Rates, tuple[Tier, ...], dict[str, Decimal], list]:
    """A package ModelPrice as costkit rates and tiers, the 1h cache write rate, and notes."""
    from genai_prices.types import TieredPrices

    base: dict[str, Decimal] = {}
    tiered: dict[str, Any] = {}
    extra: dict[str, Decimal] = {}
    notes: list[str] = []
    for key, value in price.__dict__.items():
        if value is None or key.startswith("_"):
            continue
        if key in KEY_RATES or key in ("web_searches_kcount", "cache_write_1h_mtok"):
            if isinstance(value, TieredPrices):
                tiered[key] = value
                value = value.base
            if key == "web_searches_kcount":
                if key in tiered:
                    raise Skip("web search price depends on the prompt size")
                base["web_search"] = _rate(value / 1000, model)
            elif key == "cache_write_1h_mtok":
                extra["cache_write_1h"] = _rate(value, model)
            else:
                base[KEY_RATES[key]] = _rate(value, model)
        elif key in NOTED_KEYS:
            shown = value.base if isinstance(value, TieredPrices) else value
            if key.endswith("kcount"):
                notes.append(f"The catalog also prices {NOTED_KEYS[key]} at ${shown} per "
                             "1,000; usage rows do not count them, so costkit does not price "
                             "them.")
            else:
                notes.append(f"The catalog also prices {NOTED_KEYS[key]} at ${shown} per 1M; "
                             "usage rows do not separate them, so they are priced as text.")
        else:
            raise Skip(f"priced by {key} (not per token)")
    if "input" in base and "output" not in base and "embed" in model.lower():
        # An embedding bills its input only: it returns no tokens to bill.
        base["output"] = Decimal(0)
        notes.append("An embedding model: no output tokens are billed.")
    if "input" not in base or "output" not in base:
        raise Skip("no input or output token rate")
    rates = _rates(base)
    tiers = []
    starts = sorted({t.start for p in tiered.values() for t in p.tiers})
    for start in starts:
        values = dict(base)
        for key, prices in tiered.items():
            name = "cache_write_1h" if key == "cache_write_1h_mtok" else KEY_RATES.get(key)
            applicable = prices.base
            for tier in prices.tiers:
                if start >= tier.start:
                    applicable = tier.price
            if name == "cache_write_1h":
                continue
            values[name] = _rate(applicable, model)
        tiers.append(Tier(start, _rates(values)))
    return rates, tuple(tiers), extra, notes


def _rates(values: dict[str, Decimal]) -> Rates:
    return Rates(
        input=values["input"],
        cached_input=values.get("cached_input", values["input"]),
        cache_write=values.get("cache_write", values["input"]),
        output=values["output"],
        reasoning=values.get("reasoning", values["output"]),
        web_search=values.get("web_search"),
    )


def _rate(value: Decimal, model: str) -> Decimal:
    value = Decimal(value).normalize()
    if value.as_tuple().exponent < -RATE_PLACES:
        raise Skip(f"a rate ({value}) is finer than {RATE_PLACES} decimal places per 1M")
    return value


def boundaries(model: Any) -> list[date]:
    """Every date the model's prices or variants change, after the start of time."""
    from genai_prices.types import StartDateConstraint, TimeOfDateConstraint

    points = {EPOCH}
    conditional = model.prices if isinstance(model.prices, list) else []
    for item in conditional:
        if isinstance(item.constraint, TimeOfDateConstraint):
            raise Skip("priced by the time of day (peak / off-peak), which a card cannot say")
        if isinstance(item.constraint, StartDateConstraint):
            points.add(item.constraint.start_date)
    for variant in model.price_variants or ():
        if isinstance(variant.constraint, StartDateConstraint):
            points.add(variant.constraint.start_date)
    return sorted(points)


def variant_active(model: Any, when: tuple[str, str], day: date) -> bool:
    at = datetime.combine(day, time(12), tzinfo=UTC)
    for variant in model.price_variants or ():
        if tuple(variant.when.items()) == (when,) and (
            variant.constraint is None or variant.constraint.active(at)
        ):
            return True
    return False


def is_makers(provider: Any, model: Any, makers: dict[str, Any]) -> bool:
    """Whether `provider` made `model`: it is a maker, and no other maker's name rule (the
    package's `model_match`, e.g. anthropic's "contains claude") claims the model, as
    google's rule does not claim its Claude models on Vertex."""
    if provider.id not in MAKERS:
        return False
    return not any(other.model_match is not None and other.model_match.is_match(model.id)
                   for pid, other in makers.items() if pid != provider.id)


def convert_model(provider: Any, model: Any, version: str, makers: dict[str, Any]) -> list[Card]:
    """The cards of one package model (and its variants), oldest first."""
    pid = provider.id
    model_id = f"{pid}/{model.id}"
    names, dropped = names_of(model.match)
    aliases = tuple(dict.fromkeys([model.id.lower(), *names]))
    points = boundaries(model)
    base = dict(
        provider=pid,
        gateway="" if is_makers(provider, model, makers) else pid,
        display_name=model.name or model.id,
        tokenizer=tokenizer_of(pid, model.id),
        source=f"{PACKAGE} {version}: provider {pid}, model {model.id}"
        + (f"; {provider.pricing_urls[0]}" if provider.pricing_urls else ""),
        currency="USD",
        context_window=model.context_window or None,
        origin="",
        builtin=True,
    )
    comments = [model.price_comments] if model.price_comments else []
    if dropped:
        comments.append(f"{dropped} regex name rule(s) of the catalog are not used by costkit.")
    cards: list[Card] = []
    for tag, context in [("", None), *((v, {k: val}) for (k, val), v in VARIANTS.items()),
                         ("cache-1h", None)]:
        periods = []
        for start in points:
            at = datetime.combine(start, time(12), tzinfo=UTC)
            if context is not None and not variant_active(model, next(iter(context.items())),
                                                          start):
                periods.append((start, None))
                continue
            price = model.get_prices(at, context)
            rates, tiers, extra, notes = rates_at(price, model.id)
            if tag == "cache-1h":
                if "cache_write_1h" not in extra:
                    periods.append((start, None))
                    continue
                rates = dataclasses.replace(rates, cache_write=extra["cache_write_1h"])
                tiers = tuple(dataclasses.replace(t, rates=dataclasses.replace(
                    t.rates, cache_write=extra["cache_write_1h"])) for t in tiers)
            periods.append((start, (rates, tiers, tuple(notes))))
        cards += _cards_from_periods(
            f"{model_id}:{tag}" if tag else model_id,
            aliases if not tag else (),
            periods,
            base,
            comments + ([f"The {tag} price of {model_id}."] if tag else []),
        )
    return cards


def _cards_from_periods(model_id, aliases, periods, base, comments) -> list[Card]:
    cards: list[Card] = []
    merged: list[list] = []
    for start, value in periods:
        if merged and merged[-1][1] == value:
            continue
        merged.append([start, value])
    for i, (start, value) in enumerate(merged):
        if value is None:
            continue
        end = merged[i + 1][0] if i + 1 < len(merged) else None
        rates, tiers, notes = value
        cards.append(Card(
            model=model_id, rates=rates, tiers=tiers, aliases=aliases,
            notes=tuple(comments) + notes,
            effective_from=None if start == EPOCH else _instant(start),
            effective_to=None if end is None else _instant(end),
            **base,
        ))
    return cards


def tokenizer_of(provider: str, model_id: str) -> str:
    """The tokenizer a card names: an OpenAI encoding when tiktoken's table knows the model,
    DeepSeek V3.2's for V3.2, else the model family's name (counted approximately)."""
    bare = model_id.rsplit("/", 1)[-1].lower()
    encoding = encoding_of_model(bare)
    if encoding is not None:
        return encoding
    if bare == "deepseek-v3.2":
        return "deepseek-v3-2"
    for family in ("llama-3", "llama3", "llama-4", "llama4"):
        if family in bare:
            return "llama-" + family[-1]
    family = bare.split("-", 1)[0].split(".", 1)[0]
    return family or provider


def _instant(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def convert(providers: Iterable[Any], version: str) -> tuple[list[Card], list[dict]]:
    cards: list[Card] = []
    skipped: list[dict] = []
    providers = list(providers)
    makers = {p.id: p for p in providers if p.id in MAKERS}
    for provider in providers:
        for model in provider.models:
            try:
                cards += convert_model(provider, model, version, makers)
            except Skip as why:
                skipped.append({"provider": provider.id, "model": model.id, "reason": str(why)})
    return cards, skipped


def alias_cards(cards: list[Card], table: dict, version: str) -> tuple[list[Card], list[dict]]:
    """Cards for names served as different models over time (tools/catalog_aliases.toml)."""
    out: list[Card] = []
    gaps: list[dict] = []
    by_model: dict[str, list[Card]] = {}
    for card in cards:
        by_model.setdefault(card.model, []).append(card)
    for alias in table.get("alias", []):
        provider, name = alias["provider"], alias["name"]
        served = alias["served"]
        until = _as_instant(alias.get("until"))
        for i, period in enumerate(served):
            start = _as_instant(period["from"])
            end = _as_instant(served[i + 1]["from"]) if i + 1 < len(served) else until
            target = by_model.get(f"{provider}/{period['model']}")
            if not target:
                gaps.append({"name": name, "from": start.isoformat(),
                             "model": period["model"], "reason": "the catalog has no card for it"})
                continue
            for card in target:
                lo = max(start, card.effective_from or start)
                hi = min(x for x in (end, card.effective_to) if x is not None) if (
                    end or card.effective_to) else None
                if hi is not None and hi <= lo:
                    continue
                out.append(dataclasses.replace(
                    card,
                    model=f"{provider}/{name}",
                    display_name=f"{name} (served as {card.display_name})",
                    aliases=(name,),
                    effective_from=lo,
                    effective_to=hi,
                    source=f"{alias['source']}; rates of {card.card_id} ({PACKAGE} {version})",
                    notes=(f"{provider} served {period['model']} ({alias['mode']} mode) under "
                           f"the name {name} from {start.date().isoformat()}.",),
                ))
    return out, gaps


def _as_instant(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return _instant(value)


def package_licence() -> tuple[str, str]:
    from importlib.metadata import distribution

    dist = distribution(PACKAGE)
    files = [f for f in dist.files or [] if f.name == "LICENSE"]
    text = Path(dist.locate_file(files[0])).read_text(encoding="utf-8")
    header = (f"costkit/pricing/catalog/*.toml are generated from the price data of the PyPI "
              f"package {PACKAGE} {dist.version}\n(MIT License) by tools/build_catalog.py. "
              "Its licence follows.\n\n")
    return dist.version, header + text


def build(out: Path, effective: date | None, dry_run: bool = False) -> str:
    from genai_prices.data import providers

    version, licence = package_licence()
    cards, skipped = convert(providers, version)
    table = tomllib.loads(ALIASES.read_text(encoding="utf-8"))
    dated, gaps = alias_cards(cards, table, version)
    aliased = {c.model for c in dated}
    cards = [c for c in cards if c.model not in aliased] + dated
    old = load_catalog_dir(out) if (out / MANIFEST).exists() else []
    old_manifest = json.loads((out / MANIFEST).read_text()) if old else {}
    if old and effective is None:
        raise SystemExit("a catalog is in place: give --effective YYYY-MM-DD, the day the "
                         "new prices start (history before it is kept as it is)")
    at = _instant(effective) if effective else None
    merged = merge(old, cards, at) if at else cards
    report = format_diff(diff_cards(old, merged, as_of=at)) if old else ""
    if dry_run:
        return report
    updates = old_manifest.get("updates", []) + [
        {"package": PACKAGE, "version": version,
         "effective": effective.isoformat() if effective else None}]
    manifest = {
        "package": PACKAGE,
        "version": version,
        "license": "MIT",
        "generated_by": "tools/build_catalog.py",
        "updates": updates,
        "makers": sorted(MAKERS),
        "providers": {
            p.id: {"name": p.name, "pricing_urls": p.pricing_urls or [],
                   "maker": p.id in MAKERS, "fallback": p.fallback_model_providers or []}
            for p in providers
        },
        "cards": len(merged),
        "models": len({c.model for c in merged}),
        "skipped": skipped,
        "alias_gaps": gaps,
    }
    write_catalog(out, merged, manifest, licence)
    write_index(out)
    return report


def write_index(out: Path) -> None:
    """index.json: each file's models and the names matching reads, from the TOML files just
    written (so it cannot say other than they do; tests/test_catalog_index.py checks)."""
    index = index_of(load_catalog_dir(out))
    (out / INDEX).write_text(json.dumps(index, ensure_ascii=False, separators=(",", ":"))
                             + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=CATALOG_DIR)
    parser.add_argument("--effective", type=date.fromisoformat, default=None,
                        help="the day the new prices start (required once a catalog exists)")
    parser.add_argument("--dry-run", action="store_true", help="print the changes only")
    parser.add_argument("--index-only", action="store_true",
                        help="rewrite index.json from the TOML files in --out, nothing else")
    args = parser.parse_args(argv)
    if args.index_only:
        write_index(args.out)
        return 0
    report = build(args.out, args.effective, args.dry_run)
    if report:
        print(report)
    if not args.dry_run:
        manifest = json.loads((args.out / MANIFEST).read_text())
        print(f"{manifest['cards']:,} cards of {manifest['models']:,} models in {args.out}; "
              f"{len(manifest['skipped'])} models left out (see manifest.json)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
