"""How a command's problems reach a person: one line on stderr and an exit code, never a
traceback for a user's mistake."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from costkit.core.errors import CostkitError

F = TypeVar("F", bound=Callable[..., Any])


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print one line on stderr and return the Exit to raise."""
    typer.echo(f"costkit: error: {one_line(message)}", err=True)
    return typer.Exit(code)


def warn(message: str) -> None:
    typer.echo(f"costkit: warning: {one_line(message)}", err=True)


def one_line(message: str) -> str:
    """Messages quote user strings (file names, models, values from logs): their secrets
    masked, their control characters (newlines included) written out."""
    from costkit.core.safe_output import escape_controls, mask_text

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
            if "duckdb" not in sys.modules:
                raise  # not DuckDB's failure: a bug, shown as one
            from costkit.store.connection import environment_error

            error = environment_error(exc)
            if error is None:
                raise
            raise fail(str(error), error.exit_code) from None

    return wrapper  # type: ignore[return-value]
