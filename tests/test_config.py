"""costkit.toml: where it is found, what it holds, which default wins (flag > environment
variable > costkit.toml > built-in), and a one-line error naming file, line and key for
every kind of mistake."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from costkit.core.config import Budget, ConfigError, find_config, load_config


def write(folder: Path, text: str, name: str = "costkit.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A working directory with a costkit.toml naming a store and cards that do not exist,
    so the error of a command says which one it chose. $COSTKIT_DB unset."""
    folder = tmp_path / "site"
    write(folder, 'db = "data/from-config.duckdb"\ntz = "Asia/Tokyo"\n')
    monkeypatch.chdir(folder)
    monkeypatch.delenv("COSTKIT_DB", raising=False)
    monkeypatch.delenv("COSTKIT_PRICES", raising=False)
    return folder


# --- precedence ------------------------------------------------------------------------------

def test_db_flag_then_env_then_config(cli, site, monkeypatch, tmp_path):
    # costkit.toml only: its db, relative to the file's folder
    result = cli("forecast")
    assert result.exit_code == 2
    assert f"no store at {site / 'data' / 'from-config.duckdb'}" in result.stderr
    # $COSTKIT_DB beats the file
    monkeypatch.setenv("COSTKIT_DB", str(tmp_path / "from-env.duckdb"))
    assert f"no store at {tmp_path / 'from-env.duckdb'}" in cli("forecast").stderr
    # --db beats both
    result = cli("forecast", "--db", str(tmp_path / "from-flag.duckdb"))
    assert f"no store at {tmp_path / 'from-flag.duckdb'}" in result.stderr


def test_prices_flag_then_env_then_config(cli, site, monkeypatch, tmp_path):
    write(site, 'prices = ["cards/from-config.toml"]\n')
    # `costkit prices` reads the cards and no store: the error names the path it chose.
    result = cli("prices")
    assert result.exit_code == 2
    assert f"{site / 'cards' / 'from-config.toml'}: no such price card" in result.stderr
    monkeypatch.setenv("COSTKIT_PRICES", str(tmp_path / "from-env.toml"))
    assert f"{tmp_path / 'from-env.toml'}: no such price card" in cli("prices").stderr
    result = cli("prices", "--prices", str(tmp_path / "from-flag.toml"))
    assert f"{tmp_path / 'from-flag.toml'}: no such price card" in result.stderr


def test_built_in_defaults_without_a_file(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("prices", "--format", "json")
    assert result.exit_code == 0                       # the built-in cards, none of the user's
    assert "deepseek-v3-2" in result.stdout


def test_config_env_and_flag_choose_the_file(cli, site, monkeypatch, tmp_path):
    other = write(tmp_path / "elsewhere", 'db = "other.duckdb"\n', "settings.toml")
    monkeypatch.setenv("COSTKIT_CONFIG", str(other))
    # $COSTKIT_CONFIG beats ./costkit.toml
    assert f"no store at {other.parent / 'other.duckdb'}" in cli("forecast").stderr
    third = write(tmp_path / "third", 'db = "third.duckdb"\n[[budget]]\nname = "a"\n'
                                      'scope = "account"\nmonthly = 1\n')
    # --config beats $COSTKIT_CONFIG (budget check and report monthly take it)
    result = cli("budget", "check", "--config", str(third))
    assert f"no store at {third.parent / 'third.duckdb'}" in result.stderr


def test_tz_from_the_file_and_the_flag(cli, site):
    # The file's zone is read by every command with --tz; --tz wins. A bad --tz is the
    # flag's error, not the file's.
    result = cli("forecast", "--tz", "Mars/Olympus")
    assert result.exit_code == 2 and result.stderr.startswith("costkit: error: --tz:")


def test_ingest_csv_zone_is_not_the_files_tz(cli, site, tmp_path):
    # ingest's --tz is the zone of CSV times written without one, not the zone of days and
    # months: the file's tz (Asia/Tokyo, UTC+9) must not move 10:00 to 01:00 UTC.
    import duckdb

    log = tmp_path / "one.csv"
    log.write_text("ts,model,input_tokens,output_tokens\n"
                   "2026-11-01 10:00:00,deepseek-v3-2,1000,0\n", encoding="utf-8")
    store = tmp_path / "s.duckdb"
    assert cli("ingest", str(log), "--db", str(store)).exit_code == 0
    con = duckdb.connect(str(store), read_only=True)
    try:
        [(ts,)] = con.execute("SELECT timezone('UTC', ts) FROM usage").fetchall()
    finally:
        con.close()
    assert f"{ts:%Y-%m-%d %H:%M}" == "2026-11-01 10:00"


def test_explicit_config_that_does_not_exist(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COSTKIT_CONFIG", str(tmp_path / "missing.toml"))
    result = cli("forecast")
    assert result.exit_code == 2
    assert result.stderr == f"costkit: error: $COSTKIT_CONFIG {tmp_path / 'missing.toml'}: " \
                            "does not exist\n"
    monkeypatch.delenv("COSTKIT_CONFIG")
    result = cli("budget", "check", "--config", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr == f"costkit: error: --config {tmp_path}: is a directory\n"


# --- parsing ---------------------------------------------------------------------------------

def test_a_whole_file(tmp_path):
    path = write(tmp_path, """db = "/abs/store.duckdb"
tz = "europe/berlin"
prices = "cards"

[[budget]]
name = "search-bot"
scope = "project"
match = "search-bot"
monthly = "$1,250.50"

[[budget]]
name = "everything"
scope = "account"
monthly = 3000

[[budget]]
name = "growth"
scope = "tag:team"
match = "growth"
monthly = "0.01"
currency = "EUR"
""")
    config = load_config(path)
    assert config.db == Path("/abs/store.duckdb")
    assert config.tz == "Europe/Berlin"          # the zone's IANA key
    assert config.prices == (tmp_path / "cards",)
    assert config.budgets == (
        Budget("search-bot", "project", "search-bot", Decimal("1250.50")),
        Budget("everything", "account", None, Decimal(3000)),
        Budget("growth", "tag:team", "growth", Decimal("0.01"), "EUR"),
    )
    assert [b.dimension for b in config.budgets] == ["project", None, "tag:team"]
    assert isinstance(config.budgets[0].monthly, Decimal)


def test_found_in_the_working_directory_only_when_there(tmp_path):
    assert find_config(cwd=tmp_path, environ={}) is None
    path = write(tmp_path, "")
    assert find_config(cwd=tmp_path, environ={}) == path
    assert load_config(path).budgets == ()


BAD = [
    # (file text, line, the message's end)
    ('tz = "UTC"\ndatabase = "x"\n', 2, "database: unknown key; known: db, tz, prices, budget"),
    ('tz = "Mars/Olympus"\n', 1, "tz: unknown time zone"),
    ('tz = 5\n', 1, "tz: 5 must be a non-empty string"),
    ('prices = []\n', 1, "prices: an empty list; give a path or leave it out"),
    ('[budget]\nname = "a"\n', 1, "budget: write each budget as a [[budget]] table"),
    ('[[budgets]]\nname = "a"\n', 1, "budgets: unknown key"),
    ('[[budget]]\nname = "a"\nscope = "account"\nmonthly = 12.5\n', 4,
     '[[budget]] #1 monthly: 12.5 is a TOML float; write the amount as a string ("12.5") or '
     "a whole number"),
    ('[[budget]]\nname = "a"\nscope = "account"\nmonthly = "-5"\n', 4,
     "[[budget]] #1 monthly: '-5': must be a positive amount"),
    ('[[budget]]\nname = "a"\nscope = "account"\nmonthly = "fifty"\n', 4,
     "[[budget]] #1 monthly: 'fifty': expected an amount such as 5000 or 5000.50"),
    ('[[budget]]\nname = "a"\nscope = "account"\nmonthly = "0"\n', 4,
     "[[budget]] #1 monthly: '0': must be a positive amount"),
    ('[[budget]]\nname = "a"\nscope = "account"\nmonthly = 5\n\n[[budget]]\nname = "b"\n'
     'scope = "team"\nmatch = "x"\nmonthly = 5\n', 8,
     "[[budget]] #2 scope: 'team' is not a scope; use one of account, project, key, tag:NAME"),
    ('[[budget]]\nname = "a"\nscope = "project"\nmonthly = 5\n', 1,
     "[[budget]] #1: missing key 'match' (which project)"),
    ('[[budget]]\nname = "a"\nscope = "account"\nmatch = "x"\nmonthly = 5\n', 4,
     "[[budget]] #1 match: an account budget covers all usage; leave match out"),
    ('[[budget]]\nname = "a"\nscope = "account"\n', 1, "[[budget]] #1: missing key 'monthly'"),
    ('[[budget]]\nname = "a"\nscope = "account"\nmonthly = 5\nlimit = 3\n', 5,
     "[[budget]] #1 limit: unknown key; known: name, scope, match, monthly, currency"),
    ('[[budget]]\nname = "a"\nscope = "account"\nmonthly = 5\ncurrency = "dollars"\n', 5,
     "[[budget]] #1 currency: 'dollars' is not a currency code such as USD"),
    ('[[budget]]\nname = "a"\nscope = "account"\nmonthly = 5\n[[budget]]\nname = "a"\n'
     'scope = "account"\nmonthly = 6\n', 6, "[[budget]] #2 name: 'a' names two budgets"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD)
def test_bad_config_is_one_line_naming_file_line_and_key(cli, tmp_path, monkeypatch, text,
                                                         line, message):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(caught.value).startswith(f"{path}:{line}: {message}")
    # and through a command: one line on stderr, exit 2, before any work
    monkeypatch.chdir(tmp_path)
    result = cli("forecast")
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"costkit: error: {path}:{line}: {message}")


def test_not_toml_names_the_line(cli, tmp_path):
    path = write(tmp_path, 'tz = "UTC"\ndb = \n')
    with pytest.raises(ConfigError, match=r"not valid TOML: .*line 2"):
        load_config(path)
