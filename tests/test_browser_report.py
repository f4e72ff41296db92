"""The monthly page in a real browser: headless Chromium loads it offline, with no console
message, draws every chart with data, shows injected markup as text, and leaves a
screenshot in tests/artifacts/report.png.

Skipped only when Chromium is missing outside CI; with $CI set a missing browser fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from report_data import EVIL, build_store

from costkit.pricing.book import load_price_book
from costkit.report.monthly import write_monthly_report
from costkit.store.connection import open_store

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "tests" / "artifacts"
CHARTS = ("fig-daily", "fig-by-project", "fig-by-model", "fig-by-api-key", "fig-by-endpoint",
          "fig-cost-quantiles", "fig-concentration")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-extensions", "--hide-scrollbars", "--virtual-time-budget=15000")


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> str:
    found = chromium()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI requires the browser tests "
                        "(apt-get install -y chromium)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return found


@pytest.fixture(scope="module")
def page_path(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browser")
    store = build_store(folder / "store.duckdb")
    con = open_store(store, read_only=True)
    try:
        path, _ = write_monthly_report(con, date(2026, 10, 1), book=load_price_book([]),
                                       now=datetime(2026, 11, 20, tzinfo=UTC),
                                       out_dir=folder / "out")
    finally:
        con.close()
    return path


def run_browser(
    browser: str, page: Path, profile: Path, *extra: str
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *extra, page.resolve().as_uri()],
        capture_output=True, text=True, timeout=180, check=False,
    )


@pytest.fixture(scope="module")
def loaded(browser, page_path, tmp_path_factory) -> tuple[str, str]:
    """(the DOM after load, Chromium's log) for the page."""
    result = run_browser(browser, page_path, tmp_path_factory.mktemp("profile"),
                         "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout, result.stderr


def test_page_loads_without_console_messages_or_problems(loaded):
    dom, log = loaded
    # Chromium logs every console message, error or not, as CONSOLE: the page makes none.
    console = [line for line in log.splitlines() if ":CONSOLE" in line]
    assert console == []
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert 'data-problems="0"' in body
    assert f'data-charts="{len(CHARTS)}"' in body
    assert f'data-charts-drawn="{len(CHARTS)}"' in body
    assert re.search(r'<div id="page-problems"[^>]*hidden', dom)


def test_every_chart_is_drawn_with_data(loaded):
    dom, _ = loaded
    positions = sorted((dom.index(f'id="{chart}"'), chart) for chart in CHARTS)
    for i, (start, chart) in enumerate(positions):
        end = positions[i + 1][0] if i + 1 < len(positions) else len(dom)
        section = dom[start:end]
        points = int(re.search(r'data-points="(\d+)"', section).group(1))
        assert points > 0, chart
        assert 'class="main-svg"' in section, f"{chart} was not drawn"
        # A drawn bar or marker is a path with a real shape (an empty one is "M0,0Z").
        shapes = re.findall(r'class="point"[^>]*>\s*<path[^>]*\bd="([^"]+)"', section)
        shapes += re.findall(r'<path class="js-line"[^>]*\bd="([^"]+)"', section)
        drawn = [d for d in shapes if d not in ("M0,0Z", "")]
        assert drawn, f"{chart} has no visible bar, marker or line"


def test_injected_markup_shows_as_text_and_creates_no_element(loaded):
    dom, _ = loaded
    assert not re.search(r"<img\b[^>]*\bsrc=\"?x\b", dom)
    assert "onerror=alert(1)>" not in dom.replace("&gt;", "")  # never as live markup
    escaped = EVIL.replace("<", "&lt;").replace(">", "&gt;")
    # As text in the tables, and in the charts' SVG labels (drawn by plotly from the JSON).
    assert f"<td>{escaped}" in dom
    assert re.search(r"<text[^>]*>" + re.escape(escaped) + "</text>", dom)


def test_screenshot_is_saved_as_an_artifact(browser, page_path, tmp_path_factory):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    result = run_browser(browser, page_path, tmp_path_factory.mktemp("profile-shot"),
                         f"--screenshot={shot}", "--window-size=1400,5000")
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.exists()
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 100_000   # a page of charts, not a blank canvas


def test_a_partial_month_draws_its_no_data_shade(browser, tmp_path):
    """November's data stops on the 24th (tests/test_report_coverage.py): the page loads
    cleanly, every chart is drawn, and the daily chart labels the missing days in its SVG."""
    from test_report_coverage import AFTER_THE_MONTH, NOV, stopped_rows

    store = build_store(tmp_path / "stopped.duckdb", stopped_rows(), rejects=False)
    con = open_store(store, read_only=True)
    try:
        path, _ = write_monthly_report(con, NOV, book=load_price_book([]), now=AFTER_THE_MONTH,
                                       out_dir=tmp_path / "out")
    finally:
        con.close()
    result = run_browser(browser, path, tmp_path / "profile", "--enable-logging=stderr",
                         "--v=0", "--dump-dom")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert [line for line in result.stderr.splitlines() if ":CONSOLE" in line] == []
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert 'data-problems="0"' in body
    # one project, model, API key and endpoint: each said in a sentence, not a one-bar chart
    assert 'data-charts="3" data-charts-drawn="3"' in body
    assert 'id="by-project-single"' in dom and 'id="fig-by-project"' not in dom
    daily = dom[dom.index('id="fig-daily"'):dom.index('id="fig-cost-quantiles"')]
    assert re.search(r"<text[^>]*>no data</text>", daily)


SECTIONS = ("headline", "what-changed", "anomalies", "daily", "groups", "distribution",
            "top-requests", "data-quality", "price-cards")


@pytest.mark.parametrize("width", [1400, 800])
def test_sections_present_and_nothing_overflows_sideways(browser, page_path, tmp_path, width):
    """At 1400 px and at 800 px every section is there, every chart drawn, and the page is
    no wider than the window (render.js measures it into body[data-overflow-x]); a
    screenshot of each width is left in tests/artifacts to look at."""
    result = run_browser(browser, page_path, tmp_path / "profile", "--dump-dom",
                         f"--window-size={width},1200")
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    body = re.search(r"<body([^>]*)>", dom).group(1)
    assert 'data-overflow-x="0"' in body, body
    assert f'data-charts-drawn="{len(CHARTS)}"' in body
    for sid in SECTIONS:
        assert re.search(f'<section[^>]*id="{sid}"', dom), sid
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"report-{width}.png"
    shot.unlink(missing_ok=True)
    taken = run_browser(browser, page_path, tmp_path / "profile-shot",
                        f"--screenshot={shot}", f"--window-size={width},5000")
    assert taken.returncode == 0 and shot.read_bytes()[:4] == b"\x89PNG"

