"""The `costkit` command: Typer commands that parse options, call the library, render results."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="costkit",
    help="Price LLM API calls before they are sent; explain, forecast and audit spend after.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
)

# Each module adds its commands to `app` when imported.
from costkit.cli import (  # noqa: E402,F401
    audit,
    count,
    demo,
    estimate,
    forecast,
    ingest,
    prices,
    report,
)
from costkit.cli.export import export  # noqa: E402

app.command("export")(export)  # registered here: export.py does not import the app


def main() -> None:
    app(prog_name="costkit")
