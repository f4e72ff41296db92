"""The `costkit` command: the Typer app and every command on it, registered here by name.

Each command lives in its own module (costkit/cli/<command>.py) as a plain function; nothing
registers itself by being imported. The command modules import only typer and their option
declarations at load time, so `costkit --help` and a small command load no DuckDB, polars or
Arrow; each command imports what it runs when it runs.

`COMMANDS` and `GROUPS` below are the one list of what the app holds. `app` is built from all
of it. `main` builds only the command named on the command line when there is one: Typer
inspects every command's signature before it dispatches (about 15 ms of `costkit count`'s
start-up for the other eleven), and the result is the same command under the same name.
"""

from __future__ import annotations

import functools
import importlib
import sys
from typing import Any

import typer

HELP = "Price LLM API calls before they are sent; explain, forecast and audit spend after."

# name -> (module in costkit.cli, function, extra options of app.command)
COMMANDS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "audit": ("audit", "audit", {}),
    "count": ("count", "count", {}),
    "demo": ("demo", "demo", {}),
    "estimate": ("estimate", "estimate_command", {}),
    "export": ("export", "export", {}),
    "forecast": ("forecast", "forecast", {}),
    "ingest": ("ingest", "ingest_command", {"cls": "IngestCommand"}),
    "rejects": ("rejects", "rejects_command", {}),
}

# name -> (module, the group's own options, its callback or None, its subcommands by name)
GROUPS: dict[str, tuple[str, dict[str, Any], str | None, dict[str, tuple[str, str]]]] = {
    "prices": ("prices", {"invoke_without_command": True}, "prices",
               {"show": ("prices", "show"), "diff": ("prices", "diff")}),
    "budget": ("budget", {"no_args_is_help": True}, None,
               {"check": ("budget", "check")}),
    "report": ("report", {"invoke_without_command": True}, "report",
               {"monthly": ("report_monthly", "monthly")}),
}


def _attr(module: str, name: str) -> Any:
    return getattr(importlib.import_module(f"costkit.cli.{module}"), name)


def _add_command(target: typer.Typer, name: str) -> None:
    module, function, options = COMMANDS[name]
    options = {key: _attr(module, value) for key, value in options.items()}
    target.command(name, **options)(_attr(module, function))


def _add_group(target: typer.Typer, name: str) -> None:
    module, options, callback, commands = GROUPS[name]
    group = typer.Typer(help=_attr(module, "HELP"), **options)
    if callback is not None:
        group.callback()(_attr(module, callback))
    for sub, (sub_module, function) in commands.items():
        group.command(sub)(_attr(sub_module, function))
    target.add_typer(group, name=name)


def build(only: str | None = None) -> typer.Typer:
    """The app with every command, or with just `only` (a name in COMMANDS or GROUPS)."""
    built = typer.Typer(
        name="costkit",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_show_locals=False,
        rich_markup_mode=None,
    )
    if only is not None:
        # A lone command would become the app itself (Typer's single-command mode); a
        # callback keeps `costkit NAME ...` a subcommand, as in the full app.
        built.callback(help=HELP)(_no_options)
    for name in COMMANDS:
        if only in (None, name):
            _add_command(built, name)
    for name in GROUPS:
        if only in (None, name):
            _add_group(built, name)
    return built


def _no_options() -> None:
    """The app has no options of its own."""


@functools.cache
def _full() -> typer.Typer:
    return build()


def __getattr__(name: str) -> Any:
    # `from costkit.cli.app import app`: the full app, built (and its modules imported) on
    # first use rather than by every `costkit` start
    if name == "app":
        return _full()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    name = sys.argv[1] if len(sys.argv) > 1 else None
    runner = build(only=name) if name in COMMANDS or name in GROUPS else _full()
    runner(prog_name="costkit")
