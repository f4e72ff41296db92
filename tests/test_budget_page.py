"""The monthly page's budget section: `costkit report monthly` on the planted store of
tests/test_budget.py (figures worked out there), read back with an HTML parser, and loaded
in headless Chromium at 1400 px and 800 px (screenshots in tests/artifacts/)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_browser_report import ARTIFACTS, browser, run_browser
from test_budget import NOW, plant


class BudgetRows(HTMLParser):
    """The rows of <section id="budgets">: attributes and each cell's text."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.lead = ""
        self.headers: list[str] = []
        self.rows: list[dict] = []
        self._cell: list[str] | None = None
        self._in_lead = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.inside = attrs.get("id") == "budgets"
        if not self.inside:
            return
        if tag == "p" and attrs.get("class") == "lead":
            self._in_lead = True
        if tag == "tr" and "data-budget" in attrs:
            self.rows.append({"name": attrs["data-budget"], "status": attrs["data-status"],
                              "cells": []})
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "section":
            self.inside = False
        if tag == "p":
            self._in_lead = False
        if tag in ("td", "th") and self._cell is not None and self.inside:
            text = " ".join("".join(self._cell).split())
            (self.rows[-1]["cells"] if tag == "td" else self.headers).append(text)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._in_lead:
            self.lead += data


def parse(page: Path) -> BudgetRows:
    parser = BudgetRows()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


@pytest.fixture
def site(cli, tmp_path, monkeypatch):
    config = plant(cli, tmp_path / "site")
    monkeypatch.chdir(config.parent)
    monkeypatch.delenv("COSTKIT_DB", raising=False)
    monkeypatch.setenv("COSTKIT_NOW", NOW)
    return config.parent


__all__ = ["browser"]  # the browser fixture, shared with tests/test_browser_report.py


def write_page(cli, month: str, *extra: str) -> Path:
    result = cli("report", "monthly", "--month", month, "--out", "out", *extra)
    assert result.exit_code == 0, result.stderr
    return Path(result.stdout.strip())


def test_running_month_so_far_and_projected(cli, site):
    parsed = parse(write_page(cli, "2026-11"))
    assert parsed.headers == ["Budget", "Scope", "Monthly", "Spent", "Used", "Projected",
                              "Status", ""]
    table = {r["name"]: (r["status"], r["cells"][:6]) for r in parsed.rows}
    # Worked out in tests/test_budget.py: Nov 1-16 spent, 30 days' worth projected.
    assert table == {
        "steady": ("ok", ["steady", "project steady", "$40.00", "$16.00", "40%", "$30.00"]),
        "search-bot": ("projected-over", ["search-bot", "project search-bot", "$50.00",
                                          "$32.00", "64%", "$60.00"]),
        "burst": ("over", ["burst", "project burst", "$40.00", "$48.00", "120%", "$90.00"]),
        "all": ("ok", ["all", "account", "$200.00", "$96.00", "48%", "$180.00"]),
        "steady key": ("ok", ["steady key", "key k-steady", "$35.00", "$16.00", "46%",
                              "$30.00"]),
        "growth team": ("projected-over", ["growth team", "tag:team growth", "$100.00",
                                           "$80.00", "80%", "$150.00"]),
    }
    steady = next(r for r in parsed.rows if r["name"] == "steady")
    assert steady["cells"][-2].endswith("1 request of mystery-model not in the spend (unpriced)")
    assert "so far and projected to the month's end" in parsed.lead


def test_account_budget_matches_the_pages_projection(cli, site):
    """The account budget's projection is the page's "Projected month total" card."""
    page = write_page(cli, "2026-11").read_text(encoding="utf-8")
    card = re.search(r'Projected month total</div><div class="value"[^>]*>([^<]+)<', page)
    assert card.group(1) == "$180.00"


def test_past_month_whole_without_projection(cli, site):
    parsed = parse(write_page(cli, "2026-10"))
    assert "Projected" not in parsed.headers
    # October: 31 days at $1 / $2 / $3 a day
    assert {r["name"]: (r["status"], r["cells"][3]) for r in parsed.rows} == {
        "steady": ("ok", "$31.00"), "search-bot": ("over", "$62.00"),
        "burst": ("over", "$93.00"), "all": ("ok", "$186.00"),
        "steady key": ("ok", "$31.00"), "growth team": ("over", "$155.00")}
    assert "for the whole month" in parsed.lead


def test_budgets_from_config_option_and_none_without(cli, site, tmp_path):
    (site / "costkit.toml").unlink()
    page = write_page(cli, "2026-10", "--db", "usage.duckdb", "--prices", "cards.toml")
    assert 'id="budgets"' not in page.read_text(encoding="utf-8")
    other = tmp_path / "only-all.toml"
    other.write_text('[[budget]]\nname = "all"\nscope = "account"\nmonthly = "150"\n',
                     encoding="utf-8")
    page = write_page(cli, "2026-10", "--db", "usage.duckdb", "--prices", "cards.toml",
                      "--config", str(other))
    assert [(r["name"], r["status"]) for r in parse(page).rows] == [("all", "over")]


def test_budget_names_are_escaped(cli, site):
    config = site / "costkit.toml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        'name = "steady"', 'name = "<img src=x onerror=alert(1)>"'), encoding="utf-8")
    page = write_page(cli, "2026-11").read_text(encoding="utf-8")
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.parametrize("width", [1400, 800])
def test_in_chromium(cli, site, width, browser, tmp_path):
    page = write_page(cli, "2026-11")
    result = run_browser(browser, page, tmp_path / "profile", "--enable-logging=stderr",
                         "--v=0", "--dump-dom", f"--window-size={width},1200")
    assert result.returncode == 0, result.stderr[-2000:]
    assert [line for line in result.stderr.splitlines() if ":CONSOLE" in line] == []
    assert 'data-problems="0"' in re.search(r"<body([^>]*)>", result.stdout).group(1)
    section = result.stdout[result.stdout.index('id="budgets"'):]
    assert section.count('class="budget-bar"') == 6
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"budgets-{width}.png"
    shot.unlink(missing_ok=True)
    result = run_browser(browser, page, tmp_path / "profile-shot", f"--screenshot={shot}",
                         f"--window-size={width},1200")
    assert result.returncode == 0 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
