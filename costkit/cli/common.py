"""What every command shares: the --db / --prices options, error handling, JSON and money output."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from costkit.core.errors import CostkitError
from costkit.core.safe_output import escape_controls, json_safe, mask_text, masked
from costkit.core.timezones import canonical
from costkit.store.connection import environment_error

F = TypeVar("F", bound=Callable[..., Any])

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        metavar="PATH",
        help="DuckDB store file (else $COSTKIT_DB, else the user data dir).",
        show_default=False,
    ),
]
PricesOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--prices",
        metavar="PATH",
        help="Price card file or directory (repeatable; else $COSTKIT_PRICES).",
        show_default=False,
    ),
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line on stderr and return the Exit to raise."""
    typer.echo(f"costkit: error: {_one_line(message)}", err=True)
    return typer.Exit(code)


def tz_option(value: str | None) -> str | None:
    """The callback of every --tz: the zone's IANA key, or one line and exit 2 before the
    command does anything, so every command takes or refuses a zone alike."""
    if value is None:
        return None
    try:
        return canonical(value)
    except CostkitError as exc:
        raise fail(f"--tz: {exc}", exc.exit_code) from None


def warn(message: str) -> None:
    typer.echo(f"costkit: warning: {_one_line(message)}", err=True)


def _one_line(message: str) -> str:
    """Messages quote user strings (file names, models, values from logs): their secrets
    masked, their control characters (newlines included) written out."""
    return escape_controls(mask_text(message))


def handle_errors(fn: F) -> F:
    """Turn costkit's own exceptions, and DuckDB's failures of the file, disk or memory
    (`store.environment_error`), into one stderr line and the error's exit code."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CostkitError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except BrokenPipeError:
            sys.stderr.close()
            raise typer.Exit(0) from None
        except Exception as exc:
            error = environment_error(exc)
            if error is None:
                raise
            raise fail(str(error), error.exit_code) from None

    return wrapper  # type: ignore[return-value]


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any, indent: int | None = 2) -> str:
    """JSON with Decimals as strings, never floats; secrets in strings masked, and no raw
    character a terminal would act on (see safe_output.json_safe). indent=None: one line."""
    separators = None if indent is not None else (",", ":")
    return json_safe(json.dumps(masked(value), indent=indent, separators=separators,
                                default=_json_default, ensure_ascii=False))


def usd(value: Decimal | None, places: int = 2) -> str:
    """Money for people: $1,234.57 (rounded half-even for display only)."""
    if value is None:
        return "unpriced"
    quantum = Decimal(1).scaleb(-places)
    return f"${value.quantize(quantum):,}"


def plain(value: Decimal | None) -> str:
    """A Decimal without exponent or trailing zeros, e.g. 0.00000684."""
    if value is None:
        return ""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"
