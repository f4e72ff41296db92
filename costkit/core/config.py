"""costkit.toml: defaults for the commands (`db`, `tz`, `prices`) and monthly budgets.

The one place the file is found, parsed and checked. A file that is not right is refused
whole with one line naming the file, the line and the key (InputError, exit 2): a budget
that silently read as $0, or a default that silently fell back to the built-in one, would
be worse than no file. The defaults are applied in one place, `costkit.cli.options`
(flag > environment variable > this file > built-in default).

    db = "usage/costkit.duckdb"       # relative paths: against the file's folder
    tz = "Europe/Berlin"
    prices = ["cards"]                # a path or a list of paths

    [[budget]]
    name = "search-bot"
    scope = "project"                 # account | project | key | tag:NAME
    match = "search-bot"              # the project, key or tag value (not for account)
    monthly = "50.00"                 # a string or an integer, never a float
    currency = "USD"                  # optional; USD
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from costkit.core.errors import CostkitError, InputError

ENV_CONFIG = "COSTKIT_CONFIG"
FILE_NAME = "costkit.toml"
TAG_PREFIX = "tag:"
# Budget scope -> the spend dimension (costkit.spend.breakdown's --by name) it matches on.
SCOPES = {"account": None, "project": "project", "key": "api_key"}
SCOPE_NAMES = ("account", "project", "key", "tag:NAME")
TOP_KEYS = ("db", "tz", "prices", "budget")
BUDGET_KEYS = ("name", "scope", "match", "monthly", "currency")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


class ConfigError(InputError):
    """costkit.toml is missing (when named), unreadable or wrong; the message names where."""


@dataclass(frozen=True)
class Budget:
    """A monthly budget for the account or the usage of one project, key or tag value."""

    name: str
    scope: str                   # account, project, key or tag:NAME
    match: str | None            # the project, key or tag value; None for the account
    monthly: Decimal
    currency: str = "USD"

    @property
    def dimension(self) -> str | None:
        """The spend dimension the budget's usage is picked by (None: all usage)."""
        return self.scope if self.scope.startswith(TAG_PREFIX) else SCOPES[self.scope]


@dataclass(frozen=True)
class Config:
    path: Path
    db: Path | None = None
    tz: str | None = None
    prices: tuple[Path, ...] = ()
    budgets: tuple[Budget, ...] = ()


def find_config(explicit: Path | None = None, cwd: Path | None = None,
                environ: Mapping[str, str] | None = None) -> Path | None:
    """The file to read: `explicit` (--config), else $COSTKIT_CONFIG, else ./costkit.toml
    when there is one. A named file that does not exist is an error, not "no file"."""
    env = os.environ if environ is None else environ
    named, how = (explicit, "--config") if explicit is not None else (
        (Path(env[ENV_CONFIG]), f"${ENV_CONFIG}") if env.get(ENV_CONFIG) else (None, ""))
    if named is not None:
        if not named.is_file():
            problem = "is a directory" if named.is_dir() else "does not exist"
            raise ConfigError(f"{how} {named}: {problem}")
        return named
    found = (cwd if cwd is not None else Path.cwd()) / FILE_NAME
    return found if found.is_file() else None


def load_config(path: Path) -> Config:
    """Read and check the file; ConfigError names the file, line and key of a problem."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError(f"{path}: cannot read: {reason}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    lines = _Lines(path, text)
    for key in data:
        if key not in TOP_KEYS:
            raise lines.error(None, 0, key, f"unknown key; known: {', '.join(TOP_KEYS)}")
    folder = path.parent
    db = _path(lines, data, "db", folder)
    tz = None
    if "tz" in data:
        from costkit.core.timezones import canonical

        raw = _text(lines, None, 0, "tz", data["tz"])
        try:
            tz = canonical(raw)
        except CostkitError as exc:
            raise lines.error(None, 0, "tz", str(exc)) from None
    prices: tuple[Path, ...] = ()
    if "prices" in data:
        value = data["prices"]
        items = value if isinstance(value, list) else [value]
        if not items:
            raise lines.error(None, 0, "prices", "an empty list; give a path or leave it out")
        prices = tuple(_resolve(folder, _text(lines, None, 0, "prices", v)) for v in items)
    budgets = data.get("budget", [])
    if not isinstance(budgets, list) or not all(isinstance(b, dict) for b in budgets):
        raise lines.error(None, 0, "budget", "write each budget as a [[budget]] table")
    parsed = tuple(_budget(lines, i, b) for i, b in enumerate(budgets))
    seen: set[str] = set()
    for i, b in enumerate(parsed):
        if b.name in seen:
            raise lines.error("budget", i, "name", f"{b.name!r} names two budgets")
        seen.add(b.name)
    return Config(path, db, tz, prices, parsed)


def _budget(lines: _Lines, i: int, table: dict[str, Any]) -> Budget:
    for key in table:
        if key not in BUDGET_KEYS:
            raise lines.error("budget", i, key,
                              f"unknown key; known: {', '.join(BUDGET_KEYS)}")
    for key in ("name", "scope", "monthly"):
        if key not in table:
            raise lines.error("budget", i, None, f"missing key {key!r}")
    name = _text(lines, "budget", i, "name", table["name"])
    scope = _text(lines, "budget", i, "scope", table["scope"])
    valid = scope in SCOPES or (scope.startswith(TAG_PREFIX) and len(scope) > len(TAG_PREFIX))
    if not valid:
        raise lines.error("budget", i, "scope",
                          f"{scope!r} is not a scope; use one of {', '.join(SCOPE_NAMES)}")
    match = None
    if scope == "account":
        if "match" in table:
            raise lines.error("budget", i, "match", "an account budget covers all usage; "
                              "leave match out")
    elif "match" not in table:
        raise lines.error("budget", i, None,
                          f"missing key 'match' (which {scope.removeprefix(TAG_PREFIX)})")
    else:
        match = _text(lines, "budget", i, "match", table["match"])
    amount = table["monthly"]
    if isinstance(amount, float):
        raise lines.error("budget", i, "monthly", f"{amount!r} is a TOML float; write the "
                          f"amount as a string (\"{amount}\") or a whole number")
    from costkit.core.money import AmountError, parse_budget

    try:
        monthly = parse_budget(amount if isinstance(amount, str | int) else repr(amount),
                               option="monthly")
    except AmountError as exc:
        raise lines.error("budget", i, "monthly", str(exc).removeprefix("monthly ")) from None
    currency = _text(lines, "budget", i, "currency", table.get("currency", "USD"))
    if not _CURRENCY.match(currency):
        raise lines.error("budget", i, "currency",
                          f"{currency!r} is not a currency code such as USD")
    assert monthly is not None
    return Budget(name, scope, match, monthly, currency)


def _text(lines: _Lines, table: str | None, i: int, key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise lines.error(table, i, key, f"{value!r} must be a non-empty string")
    return value.strip()


def _path(lines: _Lines, data: dict[str, Any], key: str, folder: Path) -> Path | None:
    if key not in data:
        return None
    return _resolve(folder, _text(lines, None, 0, key, data[key]))


def _resolve(folder: Path, text: str) -> Path:
    """A path written in the file: relative ones are relative to the file's folder."""
    path = Path(text).expanduser()
    return path if path.is_absolute() else folder / path


class _Lines:
    """Finds the line a key is written on, for messages (tomllib does not keep lines)."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.rows = text.splitlines()

    def line(self, table: str | None, index: int, key: str | None) -> int | None:
        """The line of `key` in the top level (table None) or in the index-th [[table]];
        with key None, the table's header line."""
        current, count, header = None, -1, None
        for number, raw in enumerate(self.rows, start=1):
            row = raw.strip()
            if row.startswith("["):
                name = row.strip("[]").split("]")[0].strip()
                current = name
                if name == table:
                    count += 1
                    header = number if count == index else header
                if table is None and key is not None and name == key:
                    return number
                continue
            in_place = current == table and (table is None or count == index)
            if in_place and key is not None and re.match(
                    rf"""^["']?{re.escape(key)}["']?\s*=""", row):
                return number
        return header if key is None else None

    def error(self, table: str | None, index: int, key: str | None, problem: str) -> ConfigError:
        number = self.line(table, index, key)
        where = f"{self.path}" + (f":{number}" if number else "")
        what = key if table is None else (
            f"[[{table}]] #{index + 1}" + (f" {key}" if key else ""))
        return ConfigError(f"{where}: {what}: {problem}")
