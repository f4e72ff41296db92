"""The one output layer of the commands: a result as a table, JSON, CSV or Parquet, written
to stdout or to `--out` (whole or not at all, costkit.core.output_file), every user string
through costkit.core.safe_output (secrets masked, no markup, no control bytes, no
spreadsheet formulas). Also the progress bar, on stderr when it is a terminal.

rich, polars and DuckDB are imported only by the function that needs them, so a command
that prints a short table loads what that table needs and no more.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from costkit.cli.errors import fail


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)  # a string, never a float: as these JSON outputs always wrote it
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any, indent: int | None = 2) -> str:
    """JSON with Decimals as exact strings, never floats; secrets in strings masked, and no
    raw character a terminal would act on (see safe_output.json_safe). indent=None: one
    line."""
    from costkit.core.safe_output import json_safe, masked

    separators = None if indent is not None else (",", ":")
    return json_safe(json.dumps(masked(value), indent=indent, separators=separators,
                                default=_json_default, ensure_ascii=False))


@contextmanager
def destination(out: Path | None) -> Iterator[IO[str]]:
    """Where a result goes: stdout, or the --out file (replaced only when all of it is
    written)."""
    if out is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    from costkit.core.output_file import replacing

    with replacing(out) as handle:
        yield handle


def console(stream: IO[str] | None = None, width: int = 100, **options: Any) -> Any:
    """A rich console that reads no markup and shows control characters escaped
    (safe_output.SafeConsole), printing to `stream` (default: stdout at print time)."""
    from costkit.core.safe_output import SafeConsole

    return SafeConsole(file=stream, width=width, **options)


def csv_writer(stream: IO[str]) -> Any:
    """A CSV writer whose text cells cannot run as spreadsheet formulas (safe_output)."""
    from costkit.core.safe_output import CsvWriter

    return CsvWriter(stream)


def require_out(fmt: str, out: Path | None) -> None:
    """Binary formats go to a file: refused before any work when --out is missing."""
    if fmt == "parquet" and out is None:
        raise fail("--format parquet writes a binary file; give it --out PATH")


def emit(
    fmt: str,
    *,
    json_value: Any = None,
    table: Callable[[IO[str]], None] | None = None,
    csv_rows: Iterable[Sequence[Any]] | str | None = None,
    frame: Any = None,
    out: Path | None = None,
) -> None:
    """Write one result as `fmt`: json -> `json_value` (see dumps); table -> `table(stream)`
    prints it; csv -> `csv_rows`, header first (or CSV text already made safe); parquet ->
    the polars `frame`."""
    if fmt == "parquet":
        require_out(fmt, out)
        from costkit.core.output_file import write_file

        buffer = io.BytesIO()  # results are small; written whole, like every output file
        frame.write_parquet(buffer)
        write_file(out, buffer.getvalue())  # type: ignore[arg-type]
        return
    with destination(out) as stream:
        if fmt == "json":
            stream.write(dumps(json_value) + "\n")
        elif fmt == "csv":
            if isinstance(csv_rows, str):
                stream.write(csv_rows)
            else:
                writer = csv_writer(stream)
                for row in csv_rows or ():
                    writer.writerow(row)
        elif table is not None:
            table(stream)
        else:
            raise ValueError(f"no {fmt} rendering given")


# --- progress -----------------------------------------------------------------------------------

class Bar:
    """A running progress bar: `advance(n)` units done since the last call, or `update(done,
    total)` (a total of 0 or None: not known yet)."""

    def __init__(self, progress: Any, total: int | None) -> None:
        self._progress = progress
        self._task = progress.add_task("", total=total)

    def advance(self, n: int) -> None:
        self._progress.advance(self._task, n)

    def update(self, done: int, total: int | None = None) -> None:
        self._progress.update(self._task, completed=done, total=total or None)


@contextmanager
def progress(label: str, total: int | None = None) -> Iterator[Bar | None]:
    """A progress bar on stderr while the block runs, only when stderr is a terminal (else
    None: nothing is drawn into a log or a pipe). `total` in bytes."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    bar = Progress(label, BarColumn(), DownloadColumn(), TimeRemainingColumn(),
                   console=Console(stderr=True), transient=True)
    bar.start()
    try:
        yield Bar(bar, total)
    finally:
        bar.stop()


def file_size(path: Path | str) -> int | None:
    """The size of a file a bar tracks; None for stdin or an unreadable path."""
    if str(path) == "-":
        return None
    try:
        return Path(path).stat().st_size
    except OSError:
        return None
