"""One time-zone authority: every command takes or refuses a --tz alike, and DuckDB and Python
never read one zone two ways. Expected instants are worked out by hand from the zones' rules."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from importlib import resources
from zoneinfo import ZoneInfo

import duckdb
import pytest
from conftest import FIXTURES

from costkit.core import timezones
from costkit.core.errors import InputError
from costkit.core.format import when
from costkit.pricing.book import load_price_book
from costkit.readers import mappings
from costkit.spend.breakdown import spend
from costkit.store.connection import open_store

BUILTIN = load_price_book([])
AUDIT = FIXTURES / "audit"
AZURE = FIXTURES / "logs" / "csv" / "azure-conv-slice.csv"
AZURE_ARGS = ["--map", "ts=TIMESTAMP", "--map", "input_tokens=ContextTokens",
              "--map", "output_tokens=GeneratedTokens", "--model", "deepseek-v3-2"]


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def add(con, *rows: tuple[str, datetime, int]) -> None:
    """(request id, instant, output tokens) rows of deepseek-v3-2 usage."""
    for rid, ts, output in rows:
        con.execute(
            "INSERT INTO usage (request_id, ts, model, input_tokens, output_tokens, "
            "source_format) VALUES (?, ?, 'deepseek-v3-2', 0, ?, 'test')", [rid, ts, output])


# --- the names ------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "key"), [
    ("Europe/Berlin", "Europe/Berlin"),
    ("Etc/GMT-5", "Etc/GMT-5"),
    ("Asia/Calcutta", "Asia/Calcutta"),          # an IANA link: a key of its own
    ("UTC", "UTC"),
    ("utc", "UTC"),                              # letter case corrected, nothing guessed
    ("europe/berlin", "Europe/Berlin"),
    (" America/New_York ", "America/New_York"),
])
def test_iana_keys_are_taken_as_their_canonical_spelling(name, key):
    assert timezones.canonical(name) == key
    assert timezones.zone(name).key == key


@pytest.mark.parametrize(("name", "message"), [
    ("IST", "time zone 'IST' is an abbreviation, not an IANA name (abbreviations are "
            "ambiguous); use the IANA name of the place, e.g. Asia/Kolkata, Asia/Jerusalem or "
            "Europe/Dublin"),
    ("bst", "time zone 'bst' is an abbreviation, not an IANA name (abbreviations are "
            "ambiguous); use the IANA name of the place, e.g. Europe/London or Asia/Dhaka"),
    ("GMT+5", "time zone 'GMT+5' is an offset, not an IANA name; for UTC+05:00 use Etc/GMT-5 "
              "(IANA's Etc/GMT signs are inverted: Etc/GMT+5 is UTC-05:00), or better the "
              "IANA name of the place (Area/City)"),
    ("UTC-03:00", "time zone 'UTC-03:00' is an offset, not an IANA name; for UTC-03:00 use "
                  "Etc/GMT+3 (IANA's Etc/GMT signs"),
    ("UTC+0", "for UTC+00:00 use UTC "),
    ("+05:30", "time zone '+05:30' is an offset, not an IANA name, and no IANA zone is fixed "
               "at UTC+05:30; use the IANA name of a place on that offset"),
    ("GMT+15", "no IANA zone is fixed at UTC+15:00"),
    ("Mars/Olympus", "unknown time zone 'Mars/Olympus'; use an IANA name such as UTC, "
                     "Europe/Berlin or America/New_York"),
    ("localtime", "unknown time zone 'localtime'"),        # the OS's file, not an IANA key
    ("SystemV/EST5", "unknown time zone 'SystemV/EST5'"),  # known to DuckDB (ICU) only
    ("", "unknown time zone ''"),
])
def test_other_names_are_refused_saying_what_to_write(name, message):
    with pytest.raises(InputError) as caught:
        timezones.canonical(name)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_duckdb_reads_gmt_plus_5_as_the_suggested_etc_gmt_minus_5_and_not_as_iana_would():
    # 2026-03-10 21:40 UTC is 02:40 on March 11 at UTC+5, 16:40 on March 10 at UTC-5.
    instant = at(2026, 3, 10, 21, 40)
    duck = duckdb.connect()

    def duckdb_local(name: str) -> datetime:
        return duck.execute("SELECT timezone(?, ?::TIMESTAMPTZ)", [name, instant]).fetchall()[0][0]

    assert duckdb_local("GMT+5") == datetime(2026, 3, 11, 2, 40)       # why it is refused
    assert duckdb_local("Etc/GMT-5") == datetime(2026, 3, 11, 2, 40)   # what it suggests
    assert duckdb_local("Etc/GMT+5") == datetime(2026, 3, 10, 16, 40)  # what IANA calls GMT+5
    assert "use Etc/GMT-5" in _refusal("GMT+5")


def _refusal(name: str) -> str:
    with pytest.raises(InputError) as caught:
        timezones.canonical(name)
    return str(caught.value)


# --- Python and DuckDB agree ----------------------------------------------------------------

def test_an_offset_zone_buckets_an_instant_into_the_same_hour_and_day_in_duckdb_and_python(con):
    # Hand-worked: 21:40 UTC on 2026-03-10 is 02:40 on 2026-03-11 at UTC+5 (Etc/GMT-5) and
    # 16:40 on 2026-03-10 at UTC-5 (Etc/GMT+5).
    add(con, ("late", at(2026, 3, 10, 21, 40), 1_000_000), ("early", at(2026, 3, 10, 18, 59), 1))
    cases = {"Etc/GMT-5": ((2026, 3, 11), 2), "Etc/GMT+5": ((2026, 3, 10), 16)}
    for name, (day, hour) in cases.items():
        key = timezones.canonical(name)
        in_duckdb = con.execute(
            "SELECT hour(timezone(?, ts)), CAST(timezone(?, ts) AS DATE) FROM usage "
            "WHERE request_id = 'late'", [key, key]).fetchall()[0]
        local = at(2026, 3, 10, 21, 40).astimezone(timezones.zone(name))
        assert in_duckdb == (hour, date(*day)) == (local.hour, local.date())
        # the page's times (Python) say the same; the breakdown's days (SQL) below
        assert when(at(2026, 3, 10, 21, 40), name) == f"{date(*day)} {hour:02d}:40:00"
    # 18:59 UTC is 23:59 on March 10 at UTC+5: the two requests fall on two days there.
    plus_five = spend(con, ["day"], tz="Etc/GMT-5", book=BUILTIN)
    assert plus_five.select("day", "output_tokens").rows() == [
        ("2026-03-10", 1), ("2026-03-11", 1_000_000)]
    minus_five = spend(con, ["day"], tz="Etc/GMT+5", book=BUILTIN)
    assert minus_five.select("day", "output_tokens").rows() == [("2026-03-10", 1_000_001)]


def test_a_local_midnight_that_happens_twice_starts_the_day_at_its_first_occurrence(con):
    # Cuba leaves summer time on Sunday 2024-11-03 at 01:00 CDT (UTC-4), back to 00:00 CST
    # (UTC-5): local midnight happens at 04:00 UTC and again at 05:00 UTC. The day begins at
    # the first; a request at 04:30 UTC (00:30 CDT) is on November 3 and in a period from it.
    add(con, ("first-hour", at(2024, 11, 3, 4, 30), 7), ("before", at(2024, 11, 3, 3, 59), 1))
    assert timezones.local_instant(date(2024, 11, 3), "America/Havana") == at(2024, 11, 3, 4)
    days = spend(con, ["day"], tz="America/Havana", book=BUILTIN)
    assert days.select("day", "output_tokens").rows() == [("2024-11-02", 1), ("2024-11-03", 7)]
    november = spend(con, ["day"], since=date(2024, 11, 3), until=date(2024, 11, 4),
                     tz="America/Havana", book=BUILTIN)
    assert november.select("day", "output_tokens").rows() == [("2024-11-03", 7)]


def test_a_zone_duckdb_reads_otherwise_is_never_given_to_it():
    # Python's Etc/GMT-5 (UTC+5) under the name Etc/GMT+5, which DuckDB reads as UTC-5.
    plus_five = timezones.zone("Etc/GMT-5")
    assert timezones.disagreement(plus_five, "Etc/GMT+5") == (
        "time zone 'Etc/GMT+5' means different things to DuckDB and to Python: at "
        "1900-01-01 00:00:00 UTC DuckDB's offset is UTC-05:00, Python's (tzdata "
        f"{timezones.tzdata_version()}) UTC+05:00; update the older of the duckdb and tzdata "
        "packages, or use another zone")
    assert timezones.disagreement(timezones.zone("Europe/Berlin"), "Europe/Berlin") is None
    assert "DuckDB does not know it" in timezones.disagreement(plus_five, "Nowhere/Zone")


def test_a_change_at_another_hour_of_the_same_day_is_caught():
    # Berlin's rule with summer time starting at 03:00 instead of 02:00 local: an hour after
    # DuckDB's (01:00 UTC on the last Sunday of March). Both agree at every 00:00 UTC, so only
    # the seconds around each change show it: at 01:59:59 UTC DuckDB is already at +02:00.
    data = resources.files("tzdata.zoneinfo").joinpath("Europe", "Berlin").read_bytes()
    rule, later = b"\nCET-1CEST,M3.5.0,M10.5.0/3\n", b"\nCET-1CEST,M3.5.0/3,M10.5.0/3\n"
    assert data.endswith(rule)
    shifted = ZoneInfo.from_file(io.BytesIO(data.replace(rule, later)), key="Europe/Berlin")
    problem = timezones.disagreement(shifted, "Europe/Berlin")
    found = re.search(r"at (\d{4})-03-(\d\d) 01:59:59 UTC DuckDB's offset is UTC\+02:00, "
                      r"Python's \(tzdata [^)]+\) UTC\+01:00;", problem)
    assert found, problem
    day = date(int(found[1]), 3, int(found[2]))
    assert day.weekday() == 6 and (day + timedelta(days=7)).month == 4  # last Sunday of March


# --- every command --------------------------------------------------------------------------

@pytest.fixture
def store():
    """The test's store: a request a day through October and November 1-14, 2026."""
    con = open_store()
    days = [at(2026, 10, 1, 12) + timedelta(days=i) for i in range(45)]
    add(con, *((f"r{i}", ts, 1000 + i) for i, ts in enumerate(days)))
    con.close()


def commands(tmp_path) -> dict[str, list[str]]:
    """Each command that takes --tz, with arguments it runs with (before the --tz)."""
    return {
        "report": ["report"],
        "report monthly": ["report", "monthly", "--month", "2026-10", "--out", str(tmp_path)],
        "forecast": ["forecast", "--format", "json"],
        "audit invoice": ["audit", str(AUDIT / "invoice-clean.csv")],
        "audit ledger": ["audit", "--ledger", str(AUDIT / "ledger-clean.jsonl"),
                         "--prices", str(AUDIT / "cards.toml")],
        "ingest csv": ["ingest", str(AZURE), *AZURE_ARGS],
        "demo": ["demo", "--db", str(tmp_path / "demo.duckdb"), "--out", str(tmp_path)],
    }


@pytest.mark.parametrize("name", ["IST", "GMT+5", "Asia/Mumbai", "localtime"])
def test_every_command_refuses_a_zone_with_the_same_line_and_does_nothing(cli, store,
                                                                          tmp_path, name):
    lines = {}
    for label, args in commands(tmp_path).items():
        result = cli(*args, "--tz", name)
        assert result.exit_code == 2, (label, result.stderr)
        assert result.stdout == ""
        lines[label] = result.stderr
    expected = f"costkit: error: --tz: {_refusal(name)}\n"
    assert set(lines.values()) == {expected}, lines
    assert not (tmp_path / "demo.duckdb").exists()
    assert not list(tmp_path.glob("*.html"))


@pytest.mark.parametrize(("name", "key"), [("Etc/GMT-5", "Etc/GMT-5"), ("utc", "UTC"),
                                           ("asia/kolkata", "Asia/Kolkata")])
def test_every_command_takes_a_zone_and_names_it_by_its_key(cli, store, tmp_path, name, key):
    runs = {label: cli(*args, "--tz", name) for label, args in commands(tmp_path).items()
            if label != "demo"}
    for label, result in runs.items():
        assert result.exit_code in (0, 1), (label, result.stderr)  # audit: 1 with findings
        assert "time zone" not in result.stderr, (label, result.stderr)
    assert runs["report"].stdout.startswith(f"Spend by month ({key})")
    assert f"October 2026 ({key}): $" in runs["report monthly"].stderr
    assert json.loads(runs["forecast"].stdout)["tz"] == key


def test_csv_times_are_read_in_the_key_and_a_saved_mapping_with_another_name_is_refused(
        cli, tmp_path, monkeypatch):
    maps = tmp_path / "csv-maps.json"
    monkeypatch.setenv(mappings.ENV_MAPS, str(maps))
    maps.write_text(json.dumps({"maps": {"azure": {
        "columns": {"ts": "TIMESTAMP", "input_tokens": "ContextTokens",
                    "output_tokens": "GeneratedTokens"},
        "model": "deepseek-v3-2", "tz": "GMT+5"}}}), encoding="utf-8")
    result = cli("ingest", str(AZURE), "--map-name", "azure")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"costkit: error: {maps}: mapping 'azure': {_refusal('GMT+5')}\n"
    # The same columns with the zone given by its key (in any letter case) are read in it.
    ok = cli("ingest", str(AZURE), *AZURE_ARGS, "--tz", "etc/gmt-5",
             "--db", str(tmp_path / "s.duckdb"))
    assert ok.exit_code == 0, ok.stderr
    # 2023-11-16 18:15:46.68 at UTC+5 is 13:15:46.68 UTC
    con = duckdb.connect(str(tmp_path / "s.duckdb"), read_only=True)
    first = con.execute("SELECT min(ts) FROM usage").fetchall()[0][0]
    con.close()
    assert first.astimezone(UTC).replace(microsecond=0) == at(2023, 11, 16, 13, 15, 46)
