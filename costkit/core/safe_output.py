"""User strings on their way out: secrets masked, and made harmless where they land.

Strings from logs, invoices, batch files and price cards (projects, users, key ids, tags,
models, ids, raw text) can carry secrets, terminal escape sequences, rich markup, spreadsheet
formulas or HTML. Every output goes through here:

- `masked(value)`: every string inside a result (dicts, lists, dataclasses, polars frames)
  with its secrets masked, by the one rule set `costkit.core.secrets.mask_secrets` (the same
  SQL that masks at ingest, run on an in-memory DuckDB), so stores written before it are
  masked on the way out too.
- terminal: `SafeConsole` (a rich Console that reads no markup and no emoji codes and shows
  control characters escaped), `escape_controls` for plain lines (stderr messages).
- CSV: `csv_cell` / `CsvWriter`: text cells starting with = + - @ tab or carriage return get
  a leading single quote (OWASP's advice for CSV meant for spreadsheets); numbers stay numbers.
- JSON: `json_safe` escapes what JSON leaves raw but a terminal would act on (C1, bidi).
- HTML: `html_text`.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import re
from decimal import Decimal
from typing import IO, Any

from rich.console import Console
from rich.text import Text

from costkit.core.money import decimal_text
from costkit.core.secrets import SECRET

# C0 controls, DEL, C1 controls (\x9b is a one-byte CSI on some terminals), and the Unicode
# controls that reorder or hide text (bidi embeddings, overrides and isolates, line and
# paragraph separators).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                      "\u2066-\u2069]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with every control character written out: ESC -> \\x1b, NUL -> \\x00,
    newline -> \\n, U+202E -> \\u202e. Printable text (backslashes included) is unchanged."""
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


# --- secrets --------------------------------------------------------------------------------

_connection = None  # one in-memory DuckDB per process, opened on first use

# Python's reading of the same rules (secrets.SECRET), used only to skip DuckDB for texts
# no rule can match: most output (model names, numbers, notes) has none, so printing it
# loads no duckdb. It finds at least every text RE2 finds: RE2's \b is ASCII-only, so it
# is spelled out here (Python's is Unicode); RE2's (?i) folds K and s with the Kelvin sign
# and the long s, as Python's Unicode (?i) does; Python's \s and $ match more, never less.
_ASCII_EDGE = r"(?:(?<![A-Za-z0-9_])(?=[A-Za-z0-9_])|(?<=[A-Za-z0-9_])(?![A-Za-z0-9_]))"
_could_hold_secret = re.compile(SECRET.replace(r"\b", _ASCII_EDGE)).search


def mask_texts(texts: list[str]) -> list[str]:
    """The texts with their secrets masked, in one query (binding the rules costs ~10 ms:
    mask many strings per call). Texts no rule can match are not sent."""
    global _connection
    suspects = sorted({t for t in texts if _could_hold_secret(t)})
    if not suspects:
        return list(texts)
    import duckdb  # imported here: commands that print no secret-like string never load it

    from costkit.core.secrets import mask_secrets

    if _connection is None:
        _connection = duckdb.connect(":memory:")
    sql = f"SELECT list_transform(?::VARCHAR[], lambda ck_v: {mask_secrets('ck_v')})"
    row = _connection.execute(sql, [suspects]).fetchone()
    assert row is not None  # one SELECT of one list: always one row
    done = dict(zip(suspects, (str(t) for t in row[0]), strict=True))
    return [done.get(t, t) for t in texts]


def mask_text(text: str) -> str:
    return mask_texts([text])[0]


def masked(value: Any) -> Any:
    """`value` with every string inside it masked: str, dict (keys and values), list, tuple, a
    dataclass (rebuilt only where a field changed), a polars DataFrame (text columns)."""
    found: set[str] = set()
    _collect(value, found)
    if not found:
        return value
    texts = sorted(found)
    mapping = {t: m for t, m in zip(texts, mask_texts(texts), strict=True) if t != m}
    return _rebuild(value, mapping) if mapping else value


def _is_frame(value: Any) -> bool:
    return type(value).__name__ == "DataFrame" and type(value).__module__.startswith("polars")


def _text_columns(frame: Any) -> list[str]:
    import polars as pl

    return [name for name, dtype in frame.schema.items() if dtype == pl.String]


def _collect(value: Any, found: set[str]) -> None:
    if isinstance(value, str):
        found.add(value)
    elif isinstance(value, dict):
        for key, item in value.items():
            _collect(key, found)
            _collect(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect(item, found)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _collect(getattr(value, f.name), found)
    elif _is_frame(value):
        for name in _text_columns(value):
            found.update(v for v in value[name].unique().to_list() if v is not None)


def _rebuild(value: Any, mapping: dict[str, str]) -> Any:
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, dict):
        return {_rebuild(k, mapping): _rebuild(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [_rebuild(v, mapping) for v in value]
    if isinstance(value, tuple):
        items = [_rebuild(v, mapping) for v in value]
        if hasattr(value, "_fields"):  # a named tuple
            return type(value)(*items)
        return tuple(items)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for f in dataclasses.fields(value):
            old = getattr(value, f.name)
            new = _rebuild(old, mapping)
            if new is not old:
                changes[f.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    if _is_frame(value):
        import polars as pl

        columns = [name for name in _text_columns(value)
                   if any(v in mapping for v in value[name].unique().to_list())]
        if not columns:
            return value
        return value.with_columns(
            pl.col(name).replace(mapping) for name in columns)
    return value


# --- terminal -------------------------------------------------------------------------------

class SafeConsole(Console):
    """A rich Console for output holding user strings: every string printed through it (table
    cells, titles, lines) is plain text, never markup or emoji codes, with its control
    characters shown escaped. Text objects pass as built (build them with `text`)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(markup=False, emoji=False, **options)

    def render_str(self, text: str, **options: Any) -> Text:
        options["markup"] = False
        options["emoji"] = False
        return super().render_str(escape_controls(text), **options)


def text(*lines: str, style: str = "") -> Text:
    """Several user strings as one rich Text, one per line (each escaped)."""
    return Text("\n".join(escape_controls(line) for line in lines), style=style)


# --- CSV ------------------------------------------------------------------------------------

def csv_cell(value: Any) -> Any:
    """A value for a CSV cell. Text that a spreadsheet would run as a formula (starting with
    = + - @, tab or carriage return) gets a leading single quote, and control characters are
    written out; numbers (int, Decimal) stay numbers, None is empty."""
    if isinstance(value, str):
        quoted = "'" if value.startswith(_FORMULA_START) else ""
        return quoted + escape_controls(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, int | float):
        return value
    return csv_cell(str(value))


class CsvWriter:
    """csv.writer whose every row goes through `csv_cell`."""

    def __init__(self, handle: IO[str]) -> None:
        self._writer = csv.writer(handle, lineterminator="\n")

    def writerow(self, row: list[Any] | tuple[Any, ...]) -> None:
        self._writer.writerow([csv_cell(v) for v in row])


# --- JSON and HTML --------------------------------------------------------------------------

# json.dumps escapes C0 controls itself; these it would leave raw with ensure_ascii=False.
_JSON_RAW = re.compile("[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def json_safe(text: str) -> str:
    """JSON text with DEL, C1 and bidi controls as \\u escapes. They only occur inside JSON
    strings, where \\uXXXX means the same character, so the document is unchanged."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def html_text(value: object) -> str:
    """A user string for HTML element content or a quoted attribute: controls written out,
    then escaped."""
    return html.escape(escape_controls("" if value is None else str(value)), quote=True)
