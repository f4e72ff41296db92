"""`costkit prices`: the price cards in effect."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from costkit.cli import output
from costkit.cli.errors import fail, handle_errors
from costkit.cli.options import FormatTableJson, Prices, TableJson
from costkit.core.money import decimal_text, exact

HELP = "List the price cards in effect, or show one."


def card_dict(card: Any) -> dict:
    """A card as plain JSON-ready data; money and limits as decimal strings / ints."""
    from costkit.core.components import NAMES
    from costkit.pricing.provenance import provenance

    def rates(r) -> dict:
        return {
            name: (None if getattr(r, name) is None else decimal_text(getattr(r, name)))
            for name in NAMES
        }

    return {
        "model": card.model,
        "display_name": card.display_name,
        "provider": card.provider,
        "gateway": card.gateway,
        "region": card.region,
        "currency": card.currency,
        "tokenizer": card.tokenizer,
        "endpoints": list(card.endpoints),
        "aliases": list(card.aliases),
        "effective_from": card.effective_from.isoformat() if card.effective_from else None,
        "effective_to": card.effective_to.isoformat() if card.effective_to else None,
        "rates_unit": {"tokens": "per 1M tokens", "web_search": "per call"},
        "rates": rates(card.rates),
        "tiers": [
            {"above_input_tokens": t.above_input_tokens, "rates": rates(t.rates)}
            for t in card.tiers
        ],
        "limits": {"context_window": card.context_window, "max_output": card.max_output},
        "parameters": {
            name: {
                "type": p.type,
                "default": p.default,
                "min": decimal_text(p.min),
                "max": decimal_text(p.max),
                "values": list(p.values) or None,
                "description": p.description,
            }
            for name, p in card.parameters.items()
        },
        "notes": list(card.notes),
        "source": card.source,
        "origin": card.origin,
        "provenance": provenance(card),
    }


def _period(card: Any) -> str:
    start = card.effective_from.date().isoformat() if card.effective_from else "always"
    end = card.effective_to.date().isoformat() if card.effective_to else "open"
    return f"{start} .. {end}"


def _rate(value: Decimal | None) -> str:
    """A rate as written on rate cards: at least cents ($5.00), every further digit kept."""
    return "-" if value is None else exact(value)


@handle_errors
def prices(
    ctx: typer.Context,
    prices_path: Prices = None,
    catalog: Annotated[bool, typer.Option(
        "--catalog", help="Also list the built-in catalog's cards (thousands).")] = False,
    provider: Annotated[str | None, typer.Option(
        "--provider", metavar="NAME", show_default=False,
        help="Only cards of this provider or gateway (implies --catalog).")] = None,
    fmt: FormatTableJson = TableJson.table,
) -> None:
    """List the price cards in effect (built-in, overridden by your own; --catalog for the
    catalog's too)."""
    if ctx.invoked_subcommand is not None:
        return
    from costkit.pricing.book import load_price_book

    book = load_price_book(prices_path)
    cards = list(book.cards)
    if catalog or provider:
        from costkit.pricing.catalog import catalog_cards

        named = {c.model for c in cards}
        cards += [c for c in catalog_cards() if c.model not in named]
    if provider:
        cards = [c for c in cards if provider.lower() in (c.provider.lower(), c.gateway.lower())]
        if not cards:
            raise fail(f"--provider {provider!r}: no card of that provider or gateway")
    output.emit(fmt, json_value=[card_dict(c) for c in cards] if fmt == "json" else None,
                table=lambda stream: _print_cards(cards, stream))


def _print_cards(cards: Any, stream: Any) -> None:
    from rich.table import Table

    table = Table(title="Price cards in effect (USD per 1M tokens; web search per call)")
    for column in (
        "model",
        "effective",
        "input",
        "cached in",
        "output",
        "reasoning",
        "web search",
        "context",
        "source",
    ):
        table.add_column(column)
    for c in cards:
        table.add_row(
            c.model,
            _period(c),
            _rate(c.rates.input),
            _rate(c.rates.cached_input),
            _rate(c.rates.output),
            _rate(c.rates.reasoning),
            _rate(c.rates.web_search),
            f"{c.context_window:,}" if c.context_window else "-",
            c.origin if not c.builtin else "catalog" if c.origin.startswith("catalog:")
            else "built-in",
        )
    output.console(stream, width=140).print(table)


@handle_errors
def show(
    model: Annotated[str, typer.Argument(help="Model id (or alias), e.g. deepseek-v3-2.")],
    prices_path: Prices = None,
    fmt: FormatTableJson = TableJson.table,
) -> None:
    """Show every card of one model: rates, tiers, limits, request parameters, and where
    each came from (catalog package and version, or file and line)."""
    from costkit.pricing.book import load_price_book

    book = load_price_book(prices_path)
    cards = book.cards_for(model)
    match = book.matches.get(model)
    matched = match.describe() if match else None
    output.emit(fmt, json_value=[{**card_dict(c), "matched": matched} for c in cards]
                if fmt == "json" else None,
                table=lambda stream: _print_card_details(cards, matched, stream))


def _print_card_details(cards: Any, matched: str | None, stream: Any) -> None:
    from rich.table import Table

    from costkit.core.components import NAMES
    from costkit.core.safe_output import text
    from costkit.pricing.provenance import describe

    console = output.console(stream, width=120)
    if matched is not None:
        console.print(f"matched: {matched}")
    for c in cards:
        console.print(
            text(c.display_name, style="bold"),
            f"({c.model})  {c.provider} via {c.gateway or '-'}, region {c.region or '-'}, "
            f"{c.currency}"
        )
        console.print(f"effective: {_period(c)}   source: {c.source or c.origin}")
        console.print(f"from: {describe(c)}")
        if c.endpoints:
            console.print("endpoints: " + ", ".join(c.endpoints))
        rates = Table(title="Rates")
        rates.add_column("component")
        rates.add_column("rate", justify="right")
        rates.add_column("unit")
        for name in NAMES:
            unit = "per call" if name == "web_search" else "per 1M tokens"
            rates.add_row(name, _rate(getattr(c.rates, name)), unit)
        console.print(rates)
        for tier in c.tiers:
            console.print(
                f"tier above {tier.above_input_tokens:,} input tokens: "
                + ", ".join(f"{n} {_rate(getattr(tier.rates, n))}" for n in NAMES)
            )
        console.print(
            f"context window: {c.context_window:,} tokens"
            if c.context_window
            else "context window: -"
        )
        console.print(f"max output: {c.max_output:,} tokens" if c.max_output else "max output: -")
        if c.parameters:
            params = Table(title="Request parameters")
            for column in ("parameter", "type", "default", "range / values", "description"):
                params.add_column(column)
            for name, p in c.parameters.items():
                if p.values:
                    allowed = "|".join(p.values)
                elif p.min is not None or p.max is not None:
                    allowed = f"{decimal_text(p.min) or ''}..{decimal_text(p.max) or ''}"
                else:
                    allowed = "-"
                default = str(p.default).lower() if isinstance(p.default, bool) else str(p.default)
                params.add_row(name, p.type, default, allowed, p.description)
            console.print(params)
        for note in c.notes:
            console.print(f"note: {note}")
        console.print()


@handle_errors
def diff(
    new: Annotated[list[Path], typer.Argument(
        metavar="PATH", help="A new catalog build (tools/build_catalog.py --out DIR) or card "
                             "files / directories to compare with the shipped catalog.")],
    against: Annotated[list[Path] | None, typer.Option(
        "--against", metavar="PATH", show_default=False,
        help="Compare with these cards instead of the shipped catalog (repeatable).")] = None,
    fmt: FormatTableJson = TableJson.table,
) -> None:
    """Show what an update would change: each model whose prices differ, over which period,
    old and new rates; a change to a period already begun is marked REPRICES HISTORY."""
    from costkit.pricing.catalog import catalog_cards
    from costkit.pricing.catalog_diff import diff_cards, format_diff

    old = [card for path in against for card in _cards_at(path)] if against else list(
        catalog_cards())
    cards = [card for path in new for card in _cards_at(path)]
    if not all(_is_catalog_dir(path) for path in new):
        # a few cards, not a whole catalog: what they change, not what they lack
        named = {card.model for card in cards}
        old = [card for card in old if card.model in named]
    changes = diff_cards(old, cards)
    output.emit(fmt, json_value=[c.as_dict() for c in changes] if fmt == "json" else None,
                table=lambda stream: stream.write(format_diff(changes) + "\n"))


def _is_catalog_dir(path: Path) -> bool:
    return path.is_dir() and (path / "manifest.json").exists()


def _cards_at(path: Path) -> list[Any]:
    from costkit.pricing.cards import load_cards_path
    from costkit.pricing.catalog import load_catalog_dir

    return load_catalog_dir(path) if _is_catalog_dir(path) else load_cards_path(path)
