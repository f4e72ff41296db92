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
from dataclasses import dataclass
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


def terminal_width(default: int = 100) -> int:
    """The columns a table may fill: $COLUMNS, else the terminal's width when stdout is one,
    else `default` (a pipe, a file, a test runner)."""
    import shutil

    return shutil.get_terminal_size((default, 24)).columns


@dataclass(frozen=True)
class Column:
    """A column of `table_text`: its heading; numbers are right-aligned; a column that
    `shrinks` (a name, an id) may be shortened with an ellipsis when the table is too wide."""

    heading: str
    numeric: bool = False
    shrinks: bool = False


SHRINK_FLOOR = 5  # a shortened cell keeps at least 4 characters before its ellipsis
UNBOUNDED = 100_000  # a console width no table reaches: rich never wraps or folds a cell


def table_text(columns: Sequence[Column], rows: Iterable[Sequence[str]], *,
               footer: Sequence[str] | None = None, width: int | None = None) -> str:
    """A table as plain text: columns two spaces apart, a rule under the headings and one
    above the footer (a totals row), no trailing spaces. A cell may hold several lines.

    Every cell goes through safe_output.text (control characters written out). With a
    `width`, the columns that shrink are shortened, widest first and none below
    SHRINK_FLOOR, until the table fits; when even that is too wide the lines run past the
    width rather than break a number: `widest` tells the caller, who may lay it out another
    way. Without one, the table takes its natural width."""
    from rich.cells import cell_len

    body = [list(row) for row in rows]
    natural = [max(cell_len(line) for cell in (c.heading, *(row[i] for row in body),
                                               *(footer[i:i + 1] if footer else ()))
                   for line in _escaped(cell).split("\n"))
               for i, c in enumerate(columns)]
    caps: list[int | None] = [None] * len(columns)
    gaps = 2 * (len(columns) - 1)
    if width is not None and sum(natural) + gaps > width:
        shrinking = [i for i, c in enumerate(columns) if c.shrinks]
        shrunk = _shrink([natural[i] for i in shrinking], sum(natural) + gaps - width)
        for i, cap in zip(shrinking, shrunk, strict=True):
            caps[i] = cap if cap < natural[i] else None
    return _render(columns, body, footer, caps)


def widest(text: str) -> int:
    """The widest line of `text`, in terminal cells."""
    from rich.cells import cell_len

    return max((cell_len(line) for line in text.splitlines()), default=0)


def _escaped(cell: str) -> str:
    from costkit.core.safe_output import escape_controls

    return "\n".join(escape_controls(line) for line in cell.split("\n"))


def _shrink(widths: list[int], excess: int) -> list[int]:
    """`excess` cells taken off the widest of `widths` first, none below SHRINK_FLOOR."""
    widths = list(widths)
    while excess > 0 and widths and max(widths) > SHRINK_FLOOR:
        top = widths.index(max(widths))
        widths[top] -= 1
        excess -= 1
    return widths


def _render(columns: Sequence[Column], rows: list[list[str]], footer: Sequence[str] | None,
            caps: list[int | None]) -> str:
    from rich import box
    from rich.table import Table

    from costkit.core.safe_output import text

    def cell(value: str, cap: int | None) -> Any:
        shown = text(*value.split("\n"))
        if cap is not None:
            shown.truncate(cap, overflow="ellipsis")
        return shown

    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False, collapse_padding=True,
                  show_footer=footer is not None, footer_style="bold")
    for i, (column, cap) in enumerate(zip(columns, caps, strict=True)):
        table.add_column(cell(column.heading, cap), no_wrap=True,
                         justify="right" if column.numeric else "left",
                         footer=cell(footer[i], cap) if footer is not None else "")
    for row in rows:
        table.add_row(*(cell(value, cap) for value, cap in zip(row, caps, strict=True)))
    buffer = io.StringIO()
    console(buffer, width=UNBOUNDED, no_color=True, highlight=False).print(table)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


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
