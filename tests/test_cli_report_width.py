"""`costkit report` on the demo store (the sample logs of `costkit demo`): the table measured as
rendered at 100 and 80 columns, for each grouping the README shows; `--wide`; the demo with
one model that has no price card."""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from test_cli_report import table_rows
from typer.testing import CliRunner

from costkit.cli.app import app
from costkit.store.connection import open_store

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "logs"
GROUPINGS = [["month"], ["project"], ["model"], ["api_key"], ["month", "project"]]
# Every component of the full table, in its order (cache write: the demo has some).
WIDE_HEADINGS = ["requests", "input", "cached in", "cache write", "output", "reasoning",
                 "searches", "input $", "cached in $", "cache write $", "output $",
                 "reasoning $", "search $", "total $"]


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, [
        "demo", "--data", str(SAMPLE), "--db", str(folder / "demo.duckdb"),
        "--out", str(folder / "out")], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return folder / "demo.duckdb"


@pytest.fixture(scope="module")
def demo_with_unpriced(demo_store, tmp_path_factory) -> Path:
    """The demo store and 12 requests of a model no card prices, in support-assistant."""
    path = tmp_path_factory.mktemp("unpriced") / "demo.duckdb"
    shutil.copy(demo_store, path)
    con = open_store(path)
    for i in range(12):
        con.execute(
            """INSERT INTO usage (request_id, ts, project, endpoint, model, input_tokens,
                   cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
                   search_calls, source_format)
               VALUES (?, ?, 'support-assistant', 'chat.completions', 'mystery-model', 1000,
                       0, 0, 100, 0, 0, 'test')""",
            [f"mystery-{i}", datetime(2026, 10, 3, tzinfo=UTC) + timedelta(hours=i)])
    con.close()
    return path


def report(cli, monkeypatch, store: Path, columns: int | None, *args: str):
    if columns is not None:
        monkeypatch.setenv("COLUMNS", str(columns))
    result = cli("report", "--db", str(store), *args)
    assert result.exit_code == 0, result.stderr
    return result


@pytest.mark.parametrize("columns", [100, 80])
@pytest.mark.parametrize("by", GROUPINGS, ids="+".join)
def test_every_line_fits_the_width(cli, monkeypatch, demo_store, by, columns):
    result = report(cli, monkeypatch, demo_store, columns, *(f"--by={d}" for d in by))
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    rows = table_rows(result.stdout)
    assert rows[-1][0] == "total"
    # The demo's published total ($320.50 over 34,255 requests); tokens out is output plus
    # reasoning: 12,500,120 + 17,351,813 = 29,851,933 (the --wide columns, below).
    assert rows[-1][-5:] == ["34,255", "176,729,952", "29,851,933", "$320.50", "100.0%"]
    assert all(len(row) == len(by) + 5 or row[0] == "total" for row in rows)  # no row wraps


def test_the_month_by_project_table_keeps_whole_names_at_80_columns(cli, monkeypatch,
                                                                    demo_store):
    result = report(cli, monkeypatch, demo_store, 80, "--by", "month", "--by", "project")
    projects = {row[1] for row in table_rows(result.stdout)[:-1]}
    assert projects == {"code-review", "data-pipeline", "docs-qa", "search-bot",
                        "support-assistant"}


def test_wide_has_every_component(cli, monkeypatch, demo_store):
    result = report(cli, monkeypatch, demo_store, 80, "--by", "month", "--wide")
    header = result.stdout.splitlines()[1]
    assert re.split(r"\s{2,}", header.strip()) == ["month", *WIDE_HEADINGS]
    total = table_rows(result.stdout)[-1]
    assert total[:8] == ["total", "34,255", "176,729,952", "52,896,627", "4,400,000",
                         "12,500,120", "17,351,813", "11,248"]
    assert total[-1] == "$320.50"


@pytest.mark.parametrize("columns", [100, 80])
def test_unpriced_requests_beside_the_demo_total(cli, monkeypatch, demo_with_unpriced, columns):
    result = report(cli, monkeypatch, demo_with_unpriced, columns, "--by", "month", "--by",
                    "project")
    assert "mystery-model (12 requests)" in result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= columns
    rows = table_rows(result.stdout)
    # The priced total stays the demo's $320.50; 34,255 + 12 requests.
    assert rows[-1][0] == "total" and rows[-1][-5] == "34,267"
    assert rows[-1][-2:] == ["$320.50 + 12 unpriced", "100.0%"]
    marked = [row for row in rows[:-1] if "unpriced" in row[-2]]
    [(month, project)] = [row[:2] for row in marked]  # at 80 columns the name is shortened
    assert month == "2026-10" and "support-assistant".startswith(project.rstrip("…"))
    assert marked[0][-2].endswith(" + 12 unpriced")
    models = table_rows(report(cli, monkeypatch, demo_with_unpriced, columns,
                               "--by", "model").stdout)
    assert models[1] == ["mystery-model", "12", "12,000", "1,200", "12 unpriced", "-"]


@pytest.mark.parametrize("columns", [100, 80])
def test_forecast_fits_the_width_without_cutting_a_number(cli, monkeypatch, demo_store,
                                                         columns):
    """`costkit forecast` (on the same demo store): its text and tables wrap at the terminal's
    width; an amount may move to a second line, never lose digits to an ellipsis."""
    monkeypatch.setenv("COLUMNS", str(columns))
    result = cli("forecast", "--db", str(demo_store), "--as-of", "2026-10-15", "--by",
                 "project")
    assert result.exit_code == 0, result.stderr
    assert max(len(line) for line in result.stdout.splitlines()) <= columns
    assert not re.search(r"[\d$.,]…", result.stdout)
    # the projected month, whole, as the JSON gives it (rounded to the cent as the table shows it)
    data = json.loads(cli("forecast", "--db", str(demo_store), "--as-of", "2026-10-15",
                          "--by", "project", "--format", "json").stdout)
    projected = Decimal(str(data["projected_total"])).quantize(Decimal("0.01"))
    assert f"${projected:,}" in result.stdout
