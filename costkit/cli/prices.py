"""`costkit prices`: the price cards in effect."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from costkit.cli import app
from costkit.cli.common import PricesOption, dumps, fail, handle_errors, plain
from costkit.core.components import NAMES
from costkit.pricing.book import load_price_book
from costkit.pricing.cards import Card, load_cards_path
from costkit.pricing.catalog import catalog_cards, load_catalog_dir
from costkit.pricing.catalog_diff import diff_cards, format_diff
from costkit.pricing.provenance import describe, provenance

prices_app = typer.Typer(
    help="List the price cards in effect, or show one.", invoke_without_command=True
)
app.add_typer(prices_app, name="prices")


class Format(StrEnum):
    table = "table"
    json = "json"


def card_dict(card: Card) -> dict:
    """A card as plain JSON-ready data; money and limits as decimal strings / ints."""

    def rates(r) -> dict:
        return {
            name: (None if getattr(r, name) is None else plain(getattr(r, name)))
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
                "min": None if p.min is None else plain(p.min),
                "max": None if p.max is None else plain(p.max),
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


def _period(card: Card) -> str:
    start = card.effective_from.date().isoformat() if card.effective_from else "always"
    end = card.effective_to.date().isoformat() if card.effective_to else "open"
    return f"{start} .. {end}"


def _rate(value) -> str:
    """A rate as written on rate cards: at least cents ($5.00), every further digit kept."""
    if value is None:
        return "-"
    text = plain(value)
    whole, _, cents = text.partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


@prices_app.callback()
@handle_errors
def prices(
    ctx: typer.Context,
    prices_path: PricesOption = None,
    catalog: Annotated[bool, typer.Option(
        "--catalog", help="Also list the built-in catalog's cards (thousands).")] = False,
    provider: Annotated[str | None, typer.Option(
        "--provider", metavar="NAME", show_default=False,
        help="Only cards of this provider or gateway (implies --catalog).")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """List the price cards in effect (built-in, overridden by your own; --catalog for the
    catalog's too)."""
    if ctx.invoked_subcommand is not None:
        return
    book = load_price_book(prices_path)
    cards = list(book.cards)
    if catalog or provider:
        named = {c.model for c in cards}
        cards += [c for c in catalog_cards() if c.model not in named]
    if provider:
        cards = [c for c in cards if provider.lower() in (c.provider.lower(), c.gateway.lower())]
        if not cards:
            raise fail(f"--provider {provider!r}: no card of that provider or gateway")
    if fmt is Format.json:
        typer.echo(dumps([card_dict(c) for c in cards]))
        return
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
    Console(width=140).print(table)


@prices_app.command("show")
@handle_errors
def show(
    model: Annotated[str, typer.Argument(help="Model id (or alias), e.g. deepseek-v3-2.")],
    prices_path: PricesOption = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Show every card of one model: rates, tiers, limits, request parameters, and where
    each came from (catalog package and version, or file and line)."""
    book = load_price_book(prices_path)
    cards = book.cards_for(model)
    match = book.matches.get(model)
    if fmt is Format.json:
        typer.echo(dumps([{**card_dict(c), "matched": match.describe() if match else None}
                          for c in cards]))
        return
    console = Console(width=120)
    if match is not None:
        console.print(f"matched: {match.describe()}", markup=False)
    for c in cards:
        console.print(
            f"[bold]{c.display_name}[/bold] ({c.model})  {c.provider} via "
            f"{c.gateway or '-'}, region {c.region or '-'}, {c.currency}"
        )
        console.print(f"effective: {_period(c)}   source: {c.source or c.origin}", markup=False)
        console.print(f"from: {describe(c)}", markup=False)
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
                    allowed = f"{plain(p.min)}..{plain(p.max)}"
                else:
                    allowed = "-"
                default = str(p.default).lower() if isinstance(p.default, bool) else str(p.default)
                params.add_row(name, p.type, default, allowed, p.description)
            console.print(params)
        for note in c.notes:
            console.print(f"note: {note}")
        console.print()


@prices_app.command("diff")
@handle_errors
def diff(
    new: Annotated[list[Path], typer.Argument(
        metavar="PATH", help="A new catalog build (tools/build_catalog.py --out DIR) or card "
                             "files / directories to compare with the shipped catalog.")],
    against: Annotated[list[Path] | None, typer.Option(
        "--against", metavar="PATH", show_default=False,
        help="Compare with these cards instead of the shipped catalog (repeatable).")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Show what an update would change: each model whose prices differ, over which period,
    old and new rates; a change to a period already begun is marked REPRICES HISTORY."""
    old = [card for path in against for card in _cards_at(path)] if against else list(
        catalog_cards())
    cards = [card for path in new for card in _cards_at(path)]
    if not all(_is_catalog_dir(path) for path in new):
        # a few cards, not a whole catalog: what they change, not what they lack
        named = {card.model for card in cards}
        old = [card for card in old if card.model in named]
    changes = diff_cards(old, cards)
    if fmt is Format.json:
        typer.echo(dumps([c.as_dict() for c in changes]))
        return
    typer.echo(format_diff(changes))


def _is_catalog_dir(path: Path) -> bool:
    return path.is_dir() and (path / "manifest.json").exists()


def _cards_at(path: Path) -> list[Card]:
    return load_catalog_dir(path) if _is_catalog_dir(path) else load_cards_path(path)
