"""`costkit report monthly`: the page on disk, the same totals as `costkit report`, options,
one-line errors."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest
from report_data import PRICE_CHANGE, build_store, make_rows

from costkit.core.format import exact, money
from costkit.store.connection import open_store


@pytest.fixture(scope="module")
def priced_store(tmp_path_factory):
    """The report fixture's requests without the unpriced model, and no rejects."""
    rows = [r for r in make_rows() if r["model"] != "mystery-model"]
    return build_store(tmp_path_factory.mktemp("cli") / "priced.duckdb", rows, rejects=False)


@pytest.fixture(scope="module")
def full_store(tmp_path_factory):
    return build_store(tmp_path_factory.mktemp("cli") / "full.duckdb")


def headline_total(page: str) -> tuple[str, str]:
    """(exact, rounded) of the page's total spend card."""
    match = re.search(r'<div class="name">Total spend</div><div class="value" '
                      r'title="exact: ([^"]+)">([^<]+)</div>', page)
    return match.group(1), match.group(2)


@pytest.mark.parametrize("tz", ["UTC", "America/New_York"])
def test_page_totals_equal_costkit_report_for_the_month(cli, priced_store, tmp_path, tz):
    result = cli("report", "monthly", "--month", "2026-10", "--tz", tz, "--db",
                 str(priced_store), "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    page = (tmp_path / "costkit-2026-10.html").read_text()
    breakdown = cli("report", "--by", "month", "--since", "2026-10-01", "--until",
                    "2026-11-01", "--tz", tz, "--format", "json", "--db", str(priced_store))
    assert breakdown.exit_code == 0, breakdown.stderr
    rows = json.loads(breakdown.stdout)
    assert [r["month"] for r in rows] == ["2026-10"]
    total = Decimal(rows[0]["total_cost"])
    assert headline_total(page) == (exact(total), money(total))
    assert f'<div class="value">{rows[0]["requests"]:,}</div>' in page
    search = Decimal(rows[0]["search_cost"])
    assert f'title="exact: {exact(search)}">{money(search)}</div>' in page


def test_writes_the_page_and_prints_its_path(cli, full_store, tmp_path):
    out = tmp_path / "finance" / "reports"
    result = cli("report", "monthly", "--month", "2026-10", "--db", str(full_store),
                 "--out", str(out))
    assert result.exit_code == 0, result.stderr
    path = out / "costkit-2026-10.html"
    assert result.stdout == f"{path}\n"
    assert path.read_text().startswith("<!DOCTYPE html>")
    lines = result.stderr.splitlines()
    assert lines[0] == ("costkit: warning: 2 requests of mystery-model are unpriced; the page's "
                        "money figures leave them out (add a price card with --prices)")
    assert lines[1] == ("costkit: warning: 2 rejected records of 2026-10 are not counted; the "
                        "page lists them")
    assert re.fullmatch(r"October 2026 \(UTC\): \$[\d,]+\.\d\d over \d+ requests", lines[2])
    assert len(lines) == 3


def test_default_folder_is_reports_under_the_current_directory(cli, priced_store, tmp_path,
                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("report", "monthly", "--month", "2026-09", "--db", str(priced_store))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "reports/costkit-2026-09.html\n"
    assert (tmp_path / "reports" / "costkit-2026-09.html").exists()


@pytest.mark.parametrize("now, expected", [
    ("2026-11-03T08:00:00Z", "2026-10"),   # early November: October is the last full month
    ("2026-10-31T23:59:00Z", "2026-09"),   # October is not over yet
])
def test_default_month_is_the_last_full_calendar_month(cli, priced_store, tmp_path,
                                                        monkeypatch, now, expected):
    monkeypatch.setenv("COSTKIT_NOW", now)
    result = cli("report", "monthly", "--db", str(priced_store), "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{tmp_path / f'costkit-{expected}.html'}\n"


def test_default_month_without_usage_says_which_month_it_tried(cli, priced_store, tmp_path,
                                                               monkeypatch):
    monkeypatch.setenv("COSTKIT_NOW", "2027-03-10T12:00:00Z")   # the store ends in 2026-10
    result = cli("report", "monthly", "--db", str(priced_store), "--out", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith("costkit: error: no usage in 2027-02 (UTC)")


def test_user_price_cards_change_the_page(cli, priced_store, tmp_path):
    cards = tmp_path / "cards.toml"
    cards.write_text(PRICE_CHANGE)
    base = cli("report", "monthly", "--month", "2026-10", "--db", str(priced_store),
               "--out", str(tmp_path / "a"))
    cheaper = cli("report", "monthly", "--month", "2026-10", "--db", str(priced_store),
                  "--out", str(tmp_path / "b"), "--prices", str(cards))
    assert base.exit_code == cheaper.exit_code == 0
    before = (tmp_path / "a" / "costkit-2026-10.html").read_text()
    after = (tmp_path / "b" / "costkit-2026-10.html").read_text()
    assert "2026-10-15 00:00 UTC" in after and "2026-10-15 00:00 UTC" not in before
    assert headline_total(after) != headline_total(before)


def test_open_hands_the_page_to_the_browser(cli, priced_store, tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", lambda url: opened.append(url) or True)
    result = cli("report", "monthly", "--month", "2026-10", "--db", str(priced_store),
                 "--out", str(tmp_path), "--open")
    assert result.exit_code == 0, result.stderr
    assert opened == [(tmp_path / "costkit-2026-10.html").resolve().as_uri()]


@pytest.mark.parametrize(("args", "message"), [
    (["--month", "2026/10"], "--month is '2026/10'; write it as YYYY-MM, e.g. 2026-10"),
    (["--month", "2026-10", "--tz", "Nowhere/Atlantis"],
     "--tz: unknown time zone 'Nowhere/Atlantis'; use an IANA name such as UTC, Europe/Berlin or "
     "America/New_York"),
    (["--month", "2026-03"], "no usage in 2026-03 (UTC); the store holds usage from "
                             "2026-09-01 to 2026-11-01; choose one of those months with --month"),
])
def test_errors_are_one_line(cli, full_store, tmp_path, args, message):
    result = cli("report", "monthly", "--db", str(full_store), "--out", str(tmp_path), *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"costkit: error: {message}\n"
    assert not list(tmp_path.iterdir())


def test_an_empty_store_says_to_ingest_first(cli, tmp_path):
    empty = tmp_path / "empty.duckdb"
    open_store(empty).close()
    result = cli("report", "monthly", "--month", "2026-10", "--db", str(empty),
                 "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.stderr == ("costkit: error: no usage in 2026-10: the store is empty; ingest "
                             "logs first (costkit ingest PATH)\n")


def test_a_missing_store_is_an_error_and_is_not_created(cli, tmp_path):
    missing = tmp_path / "none.duckdb"
    result = cli("report", "monthly", "--month", "2026-10", "--db", str(missing),
                 "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (f"costkit: error: no store at {missing}; check --db and "
                             "$COSTKIT_DB, or create it with `costkit ingest LOGS`\n")
    assert not missing.exists()   # reading never creates a store
    assert not (tmp_path / "out").exists()
