"""The options several commands share, each declared once: its flag, metavar, help and the
callback that checks it (one line and exit 2 before the command runs, alike everywhere).

A command whose option means something narrower says so with `helped(Option, "...")`: the
same flag, parser and metavar, its own sentence. Nothing heavy is imported here: `costkit
--help` reads these declarations.
"""

from __future__ import annotations

import copy
import os
from datetime import date
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, get_args

import typer

from costkit.cli.errors import fail
from costkit.core.errors import CostkitError

_SETTINGS = "costkit.config"  # ctx.meta key of the costkit.toml read (None: there is none)


class Format(StrEnum):
    """Every format the output layer writes (costkit.cli.output); a command offers some."""

    table = "table"
    json = "json"
    csv = "csv"
    parquet = "parquet"


class TableJson(StrEnum):
    table = "table"
    json = "json"


class TableJsonCsv(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class LedgerReasoning(StrEnum):
    """How a gateway ledger's tokens.output relates to reasoning (costkit.readers.ledger's
    REASONING_MODES; ingest reads the ledger and audit checks it by the same rule)."""

    in_output = "in-output"
    from_total = "from-total"


# --- callbacks ----------------------------------------------------------------------------------

def settings(ctx: typer.Context) -> Any:
    """The costkit.toml this command reads (costkit.core.config.Config), or None: found and
    checked once per command, from --config when the command has it (an eager option, so
    it is read before the options it gives defaults to), else $COSTKIT_CONFIG, else
    ./costkit.toml."""
    if _SETTINGS not in ctx.meta:
        _load_settings(ctx, None)
    return ctx.meta[_SETTINGS]


def _load_settings(ctx: typer.Context, explicit: Path | None) -> Any:
    from costkit.core.config import find_config, load_config

    try:
        path = find_config(explicit)
        ctx.meta[_SETTINGS] = load_config(path) if path is not None else None
    except CostkitError as exc:
        raise fail(str(exc), exc.exit_code) from None
    return ctx.meta[_SETTINGS]


def _config(ctx: typer.Context, value: Path | None) -> Any:
    """--config: the file read and checked; the command receives the Config (or None)."""
    return _load_settings(ctx, value)


def _db(ctx: typer.Context, value: Path | None) -> Path | None:
    """--db, else $COSTKIT_DB (read by the store, so None here), else costkit.toml's db."""
    if value is not None:
        return value
    found = settings(ctx)
    if found is None or found.db is None:
        return None
    from costkit.store.connection import ENV_DB

    return None if os.environ.get(ENV_DB) else found.db  # type: ignore[no-any-return]


def _prices(ctx: typer.Context, value: list[Path] | None) -> list[Path] | None:
    """--prices, else $COSTKIT_PRICES (read by the price book, so None here), else
    costkit.toml's prices."""
    if value:
        return value
    found = settings(ctx)
    if found is None or not found.prices:
        return None
    from costkit.pricing.book import ENV_PRICES

    return None if os.environ.get(ENV_PRICES) else list(found.prices)


def _tz(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> str | None:
    """The zone of days and months: when --tz is not given, costkit.toml's tz before the
    command's default."""
    # By the enum's name: typer carries its own copy of click, whose ParameterSource is
    # another class than click's.
    source = ctx.get_parameter_source(param.name or "tz")
    if source is None or source.name == "DEFAULT":
        found = settings(ctx)
        if found is not None and found.tz is not None:
            return found.tz  # type: ignore[no-any-return]
    return _zone(value)


def _zone(value: str | None) -> str | None:
    """The zone's IANA key (costkit.core.timezones, the one authority)."""
    if value is None:
        return None
    from costkit.core.timezones import canonical

    try:
        return canonical(value)
    except CostkitError as exc:
        raise fail(f"--tz: {exc}", exc.exit_code) from None


def _day(param: typer.CallbackParam, value: str | None) -> date | None:
    """A calendar day written YYYY-MM-DD (no other ISO spelling, so 20261001 is refused)."""
    if value is None:
        return None
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{param.opts[0]} {value!r} is not a date; expected YYYY-MM-DD") from None


def _limit(value: str | None) -> Decimal | None:
    """A spending limit: an amount in USD >= 0 (costkit.core.money.parse_budget), worded as
    `costkit estimate` has always worded it."""
    from costkit.core.money import AmountError, parse_budget

    try:
        return parse_budget(value, allow_zero=True)
    except AmountError as exc:
        hint = ("give an amount in USD such as 0.50" if exc.problem == "amount"
                else "it must be an amount >= 0")
        raise fail(f"--budget is {exc.text!r}; {hint}") from None


def _monthly(value: str | None) -> Decimal | None:
    """A budget for a month (or a horizon): an amount above zero."""
    from costkit.core.money import parse_budget

    try:
        return parse_budget(value)
    except CostkitError as exc:
        raise fail(str(exc), exc.exit_code) from None


# --- the options --------------------------------------------------------------------------------

Db = Annotated[Path | None, typer.Option(
    "--db", metavar="PATH", show_default=False, callback=_db,
    help="DuckDB store file (else $COSTKIT_DB, else costkit.toml's db, else the user data "
         "dir).")]
Prices = Annotated[list[Path] | None, typer.Option(
    "--prices", metavar="PATH", show_default=False, callback=_prices,
    help="Price card file or directory (repeatable; else $COSTKIT_PRICES, else "
         "costkit.toml's prices).")]
Tz = Annotated[str | None, typer.Option(
    "--tz", metavar="TZ", callback=_tz,
    help="Time zone of days and months (IANA name).")]
# A zone that is not the days' and months' (ingest's zone of CSV times): no costkit.toml default.
Zone = Annotated[str | None, typer.Option(
    "--tz", metavar="TZ", callback=_zone, help="Time zone (IANA name).")]
# Arrives in the command as the costkit.core.config.Config read (None: no file).
ConfigFile = Annotated[Path | None, typer.Option(
    "--config", metavar="PATH", show_default=False, is_eager=True, callback=_config,
    help="Settings and budgets file (else $COSTKIT_CONFIG, else ./costkit.toml).")]
Since = Annotated[str | None, typer.Option(
    "--since", metavar="YYYY-MM-DD", show_default=False, callback=_day,
    help="First day to include (local midnight in --tz).")]
Until = Annotated[str | None, typer.Option(
    "--until", metavar="YYYY-MM-DD", show_default=False, callback=_day,
    help="Day to stop before (exclusive).")]
# The --budget options arrive in the command as a Decimal (their callbacks parse them).
Budget = Annotated[str | None, typer.Option(
    "--budget", metavar="USD", show_default=False, callback=_limit,
    help="Exit with status 3 when the total is over this amount.")]
MonthlyBudget = Annotated[str | None, typer.Option(
    "--budget", metavar="USD", show_default=False, callback=_monthly,
    help="Monthly budget (or the horizon's, for Nd / an end date): projected total, chance of "
         "exceeding it, the day it is crossed; exit 3 when projected over, 4 when the data is "
         "stale (see --stale-after).")]
OutFile = Annotated[Path | None, typer.Option(
    "--out", metavar="PATH", show_default=False,
    help="Write to this file instead of stdout (whole or not at all).")]
OutDir = Annotated[Path | None, typer.Option(
    "--out", metavar="DIR", show_default=False,
    help="Folder to write into (default: reports/).")]
FormatAll = Annotated[Format, typer.Option("--format", help="Output format.")]
FormatTableJson = Annotated[TableJson, typer.Option("--format", help="Output format.")]
FormatTableJsonCsv = Annotated[TableJsonCsv, typer.Option("--format", help="Output format.")]


def helped(option: Any, help: str) -> Any:
    """`option` (one declared above) with its help sentence for one command."""
    kind, info = get_args(option)
    info = copy.copy(info)
    info.help = help
    return Annotated[kind, info]
