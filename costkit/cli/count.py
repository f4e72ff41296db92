"""`costkit count`: tokens of a text, files or stdin, with a model's own tokenizer."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from costkit.cli import output
from costkit.cli.errors import fail, handle_errors
from costkit.cli.options import FormatTableJson, Prices, TableJson


@handle_errors
def count(
    text: Annotated[
        str | None,
        typer.Argument(
            help="Text to count; '-' (or nothing, with text piped in) reads stdin.",
            show_default=False,
        ),
    ] = None,
    files: Annotated[
        list[Path] | None,
        typer.Option(
            "--file",
            "-f",
            metavar="PATH",
            help="A UTF-8 text file to count, exactly as stored (repeatable).",
            show_default=False,
        ),
    ] = None,
    model: Annotated[
        str, typer.Option("--model", "-m", help="Model (or alias) whose tokenizer counts.")
    ] = "deepseek-v3-2",
    prices_path: Prices = None,
    threads: Annotated[int, typer.Option("--threads", min=1, help="Threads for large inputs.")] = 2,
    fmt: FormatTableJson = TableJson.table,
) -> None:
    """Count tokens the way the model does (added tokens such as <think> count one each).

    Exact for models whose card names a tokenizer costkit ships (deepseek-v3-2); for any
    other model the count is made with deepseek-v3-2 and marked approximate.
    """
    from costkit.pricing.book import load_price_book
    from costkit.tokens import count_inputs

    inputs = _inputs(text, files or [])
    result = count_inputs(inputs, model, load_price_book(prices_path), num_threads=threads)
    output.emit(fmt, json_value=result.as_dict() if fmt == "json" else None,
                table=lambda stream: _print_table(result, stream))


def _inputs(text: str | None, files: list[Path]) -> list[tuple[str, str]]:
    from costkit.tokens import decode_text, read_text

    if text is not None and text != "-" and files:
        raise fail("give TEXT or --file, not both")
    if text == "-" or (text is None and not files):
        if text is None and sys.stdin.isatty():
            raise fail("nothing to count: give TEXT, --file PATH, or pipe text on stdin")
        stream = getattr(sys.stdin, "buffer", None)
        data = stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
        stdin = [("stdin", decode_text(data, "stdin"))]
        return stdin + [(str(p), read_text(p)) for p in files]
    if text is not None:
        return [("text", text)]
    return [(str(p), read_text(p)) for p in files]


def _print_table(result: Any, stream: IO[str]) -> None:
    from rich.table import Table

    tok = result.tokenizer
    kind = "exact" if tok.exact else "approximate"
    table = Table(title=f"{tok.model} tokens ({kind})", caption=None if tok.exact else tok.note)
    table.add_column("input")
    for column in ("tokens", "characters", "bytes"):
        table.add_column(column, justify="right")
    for item in result.inputs:
        table.add_row(item.source, f"{item.tokens:,}", f"{item.characters:,}", f"{item.bytes:,}")
    if len(result.inputs) > 1:
        table.add_section()
        table.add_row("total", f"{result.tokens:,}", f"{result.characters:,}", f"{result.bytes:,}")
    output.console(stream, width=100).print(table)
