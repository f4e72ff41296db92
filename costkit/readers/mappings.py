"""CSV column mappings: which column holds which canonical field, the constants a file
lacks, how to read its times, its delimiter (given, or found on the header line), and saved
mappings reused by name.

A mapping is built from `--map FIELD=COLUMN` items (repeatable), `--model`, `--tz`,
`--delimiter` and `--csv-reasoning`, over a saved one (`--map-name NAME`); `--save-map
NAME` stores the result. Saved mappings live in one JSON file in the user's config
directory (`csv-maps.json` under platformdirs' user_config_dir("costkit"); `$COSTKIT_MAPS`
names another file). They describe a file's layout, so they are kept apart from the usage
store: deleting the store keeps them, and one mapping serves every store. `--project` and
`--tag` are not saved: they say whose usage a run is, not how a file is laid out.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import platformdirs

from costkit.core.errors import InputError
from costkit.core.output_file import ensure_dir, write_file
from costkit.core.timezones import canonical

ENV_MAPS = "COSTKIT_MAPS"

# Canonical fields a CSV column can fill, with the header names recognised without --map
# (compared lower-cased, with spaces and dashes as underscores).
FIELDS: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "timestamp", "time", "created_at", "created", "datetime", "date_time"),
    "request_id": ("request_id", "requestid", "id", "generation_id", "response_id"),
    "model": ("model", "model_name", "model_id"),
    "input_tokens": ("input_tokens", "prompt_tokens"),
    "cached_input_tokens": ("cached_input_tokens", "cached_tokens", "cache_read_tokens",
                            "cache_read_input_tokens"),
    "cache_write_tokens": ("cache_write_tokens", "cache_creation_input_tokens"),
    "output_tokens": ("output_tokens", "completion_tokens"),
    "reasoning_tokens": ("reasoning_tokens",),
    "search_calls": ("search_calls", "web_search_calls", "web_searches"),
    "project": ("project",),
    "user": ("user", "user_id"),
    "api_key_id": ("api_key_id", "api_key", "key_id"),
    "billed_cost": ("billed_cost",),
    "billed_currency": ("billed_currency", "currency"),
    "endpoint": ("endpoint",),
    "provider": ("provider",),
    "status": ("status",),
}
REQUIRED = ("ts", "input_tokens", "output_tokens")
TAG_PREFIX = "tag:"
REASONING_MODES = ("in-output", "separate")
# The delimiters costkit finds on a header line by itself, in the order it prefers them when
# a line holds as many of two, with the names `--delimiter` also takes for them. The one table
# for both: `detect_delimiter` looks for these, `check_delimiter` reads these names.
KNOWN_DELIMITERS = {",": ("comma",), ";": ("semicolon",), "\t": ("tab", "\\t"), "|": ("pipe",)}
DELIMITERS = {**{c: c for c in KNOWN_DELIMITERS},
              **{name: c for c, names in KNOWN_DELIMITERS.items() for name in names}}
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


@dataclass(frozen=True)
class CsvMapping:
    """How to read a CSV: `columns` maps a canonical field (or `tag:NAME`) to a header
    name; "" means "not in this file" (switches off recognition by header name).

    model      the model of rows without one (the file has no model column, or it is empty)
    tz         the zone of times written without one (default UTC)
    delimiter  None: detected from the header line (, ; tab |)
    reasoning  `in-output` (default): the output column includes the reasoning column's
               tokens, as every provider counts them; `separate`: output is the visible
               answer only and reasoning comes on top (the store's own convention)
    """

    columns: dict[str, str] = field(default_factory=dict)
    model: str | None = None
    tz: str = "UTC"
    delimiter: str | None = None
    reasoning: str = "in-output"

    def as_dict(self) -> dict:
        return asdict(self)


def parse_items(items: Sequence[str]) -> dict[str, str]:
    """`FIELD=COLUMN` items as {field: column}; InputError names a bad one."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, column = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"--map {item!r}: expected FIELD=COLUMN, e.g. --map ts=TIMESTAMP")
        if key.startswith(TAG_PREFIX):
            if not key[len(TAG_PREFIX):].strip():
                raise InputError(f"--map {item!r}: a tag needs a name, e.g. --map tag:team=Team")
        elif key not in FIELDS:
            raise InputError(f"--map {item!r}: unknown field {key!r}; fields: "
                             f"{', '.join(FIELDS)}, tag:NAME")
        out[key] = column.strip()
    return out


def check_tz(tz: str) -> str:
    """The zone's IANA key: the name DuckDB reads the CSV's local times in."""
    return canonical(tz)


def check_delimiter(text: str) -> str:
    """A `--delimiter` value as the character: a known one by its name (tab, ...), or any
    single character but a quote or a line break."""
    delimiter = DELIMITERS.get(text, DELIMITERS.get(text.lower()))
    if delimiter is None:
        if len(text) == 1 and text not in "\"\r\n":
            return text
        raise InputError(f"--delimiter {text!r}: expected one character, e.g. ';' or tab")
    return delimiter


def detect_delimiter(head: bytes) -> str:
    """The delimiter of a CSV from its first bytes: the known delimiter found most often
    outside quotes on the header line (`,` when none is)."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    header = next((line for line in text.splitlines() if line.strip()), "")
    best, best_count = ",", 0
    for candidate in KNOWN_DELIMITERS:
        try:
            fields = next(csv.reader(io.StringIO(header), delimiter=candidate))
        except (csv.Error, StopIteration):
            continue
        if len(fields) - 1 > best_count:
            best, best_count = candidate, len(fields) - 1
    return best


def build(
    items: Sequence[str] = (),
    name: str | None = None,
    model: str | None = None,
    tz: str | None = None,
    delimiter: str | None = None,
    reasoning: str | None = None,
    path: Path | None = None,
) -> CsvMapping:
    """The mapping of a run: the saved one called `name` (if any), then the options given."""
    base = load(name, path) if name else CsvMapping()
    changes: dict = {"columns": {**base.columns, **parse_items(items)}}
    if model is not None:
        changes["model"] = model
    if tz is not None:
        changes["tz"] = check_tz(tz)
    if delimiter is not None:
        changes["delimiter"] = check_delimiter(delimiter)
    if reasoning is not None:
        changes["reasoning"] = _reasoning(reasoning)
    return replace(base, **changes)


def _reasoning(mode: str) -> str:
    if mode not in REASONING_MODES:
        raise InputError(f"--csv-reasoning {mode!r}: expected one of {', '.join(REASONING_MODES)}")
    return mode


# --- saved mappings ----------------------------------------------------------------------

def maps_path() -> Path:
    env = os.environ.get(ENV_MAPS)
    if env:
        return Path(env)
    return Path(platformdirs.user_config_dir("costkit")) / "csv-maps.json"


def _read_all(path: Path) -> dict[str, dict]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: cannot read saved CSV mappings: {exc}") from None
    maps = data.get("maps") if isinstance(data, dict) else None
    if not isinstance(maps, dict):
        raise InputError(f"{path}: not a costkit CSV mappings file (no \"maps\" object)")
    return maps


def saved(path: Path | None = None) -> dict[str, CsvMapping]:
    """Every saved mapping, by name."""
    return {name: _from_dict(name, value) for name, value in _read_all(path or maps_path()).items()}


def load(name: str, path: Path | None = None) -> CsvMapping:
    path = path or maps_path()
    maps = _read_all(path)
    if name not in maps:
        known = ", ".join(sorted(maps)) or "none saved yet (use --save-map NAME)"
        raise InputError(f"--map-name {name!r}: no saved CSV mapping of that name; known: {known}")
    return _from_dict(name, maps[name])


def save(name: str, mapping: CsvMapping, path: Path | None = None) -> Path:
    """Store `mapping` as `name` (replacing one of that name); returns the file written."""
    if not NAME_RE.fullmatch(name):
        raise InputError(f"--save-map {name!r}: use letters, digits, '.', '-' and '_' "
                         "(up to 64 characters)")
    path = path or maps_path()
    maps = _read_all(path)
    maps[name] = mapping.as_dict()
    text = json.dumps({"maps": dict(sorted(maps.items()))}, indent=2, ensure_ascii=False) + "\n"
    ensure_dir(path.parent)
    return write_file(path, text)


def _from_dict(name: str, value: object) -> CsvMapping:
    where = f"{maps_path()}: mapping {name!r}"
    if not isinstance(value, dict) or not isinstance(value.get("columns", {}), dict):
        raise InputError(f"{where}: expected an object with a columns object")
    try:
        columns = parse_items([f"{k}={v}" for k, v in value.get("columns", {}).items()])
        return CsvMapping(
            columns=columns,
            model=value.get("model"),
            tz=check_tz(value.get("tz") or "UTC"),
            delimiter=check_delimiter(value["delimiter"]) if value.get("delimiter") else None,
            reasoning=_reasoning(value.get("reasoning") or "in-output"),
        )
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
