"""`costkit demo`: the bundled sample logs in, the ingest summary and the report out; where
it finds the logs; that its store is always fresh and never the user's."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costkit import demo
from costkit.cli.app import app
from costkit.core.format import exact, money
from costkit.pricing.book import load_price_book
from costkit.spend import breakdown
from costkit.store.connection import open_store

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "logs"
LINE = re.compile(r"^  (\S+)\s+read\s+([\d,]+)\s+inserted\s+([\d,]+)\s+duplicates\s+([\d,]+)"
                  r"\s+rejected\s+([\d,]+)", re.M)


def _int(text: str) -> int:
    return int(text.replace(",", ""))


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """One demo over the real sample logs (the README's main job), into a temp folder."""
    folder = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(app, [
        "demo", "--data", str(SAMPLE), "--db", str(folder / "demo.duckdb"),
        "--out", str(folder / "out")], catch_exceptions=False)
    return folder, result


def small_logs(folder: Path) -> Path:
    """Two projects of bare chat completions from 2026-09-10 to 2026-11-02, one bad line each."""
    for project in ("alpha", "beta"):
        lines = []
        for i, day in enumerate(("2026-09-10", "2026-10-05", "2026-10-20", "2026-11-02")):
            created = int(datetime.fromisoformat(f"{day}T12:00:00+00:00").timestamp())
            lines.append(json.dumps({
                "id": f"chatcmpl-{project}-{i}", "object": "chat.completion",
                "created": created, "model": "deepseek-v3-2", "choices": [],
                "usage": {"prompt_tokens": 1000 * (i + 1), "completion_tokens": 200,
                          "total_tokens": 1000 * (i + 1) + 200}}))
        lines.append("this line is not JSON")
        (folder / project).mkdir(parents=True)
        (folder / project / "log.jsonl").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture
def no_packaged_data(monkeypatch):
    monkeypatch.setattr(demo, "packaged_logs", lambda: Path("/nonexistent/sample_data/logs"))


# --- the real sample logs --------------------------------------------------------------------

def test_demo_over_the_sample_logs_succeeds_quietly(sample_run):
    _, result = sample_run
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stderr == ""


def test_demo_prints_a_consistent_ingest_summary_per_project(sample_run):
    _, result = sample_run
    rows = {m.group(1): [_int(g) for g in m.groups()[1:]] for m in LINE.finditer(result.stdout)}
    projects = sorted(p.name for p in SAMPLE.iterdir() if p.is_dir())
    assert sorted(set(rows) - {"total"}) == projects
    for name, (read, inserted, duplicates, rejected) in rows.items():
        assert read == inserted + duplicates + rejected, name
        assert inserted > 0, name
    assert rows["total"] == [sum(v[i] for k, v in rows.items() if k != "total")
                             for i in range(4)]


def test_demo_shows_the_planted_bad_records_as_rejects(sample_run):
    _, result = sample_run
    rejected = [_int(m.group(5)) for m in LINE.finditer(result.stdout)
                if m.group(1) == "total"][0]
    assert rejected >= 4
    section = result.stdout.split("rejected records (kept in the store's rejects table, "
                                  "not counted):\n", 1)[1]
    listed = re.findall(r"^\s+(\d+)\s+(\S+:\d+): (.+)$", section, re.M)
    assert sum(int(n) for n, _, _ in listed) == rejected
    reasons = " | ".join(reason for _, _, reason in listed)
    for planted in ("not JSON", "-3", "stream ended without a usage chunk", "cached"):
        assert planted in reasons
    # Each is located in the sample data, relative to it.
    assert all((SAMPLE / where.rsplit(":", 1)[0]).exists() for _, where, _ in listed)


def test_demo_writes_the_latest_full_month_and_says_where(sample_run):
    folder, result = sample_run
    page = folder / "out" / "costkit-2026-10.html"
    assert f"report: {page}" in result.stdout
    assert f"into {folder / 'demo.duckdb'}" in result.stdout
    assert "October 2026 (UTC): $" in result.stdout
    text = page.read_text()
    assert "<h1>LLM API spend, October 2026</h1>" in text
    assert "The month is complete." in text


def test_demo_report_total_equals_the_breakdown(sample_run):
    folder, result = sample_run
    con = open_store(folder / "demo.duckdb", read_only=True)
    try:
        month = breakdown.spend(con, ["month"], since=date(2026, 10, 1),
                                until=date(2026, 11, 1), book=load_price_book([]))
    finally:
        con.close()
    total = month["total_cost"][0]
    shown = re.search(r"October 2026 \(UTC\): (\$[\d,.]+) over ([\d,]+) requests",
                      result.stdout)
    assert shown.group(1) == money(total)
    assert _int(shown.group(2)) == month["requests"][0]
    page = (folder / "out" / "costkit-2026-10.html").read_text()
    # The headline's total carries every digit of the breakdown's total.
    assert f'<div class="value" title="exact: {exact(total)}">{money(total)}</div>' in page


# --- where the logs come from, and the store ------------------------------------------------

def test_demo_defaults_in_a_checkout_layout(cli, tmp_path, monkeypatch, no_packaged_data):
    small_logs(tmp_path / "data" / "logs")
    monkeypatch.chdir(tmp_path)
    first = cli("demo")
    assert first.exit_code == 0, first.stderr
    assert "from data/logs into reports/demo.duckdb" in first.stdout
    assert "report: reports/costkit-2026-10.html" in first.stdout
    assert (tmp_path / "reports" / "costkit-2026-10.html").exists()
    assert (tmp_path / "reports" / "demo.duckdb").exists()
    # Run again: the default store is replaced, so nothing is a duplicate.
    second = cli("demo")
    assert second.exit_code == 0, second.stderr
    totals = [m.groups() for m in LINE.finditer(second.stdout) if m.group(1) == "total"]
    assert totals == [("total", "10", "8", "0", "2")]


def test_demo_reads_logs_shipped_in_the_package(cli, tmp_path, monkeypatch):
    package = tmp_path / "site" / "costkit"
    small_logs(package / "sample_data" / "logs")
    monkeypatch.setattr(demo, "packaged_logs", lambda: package / "sample_data" / "logs")
    monkeypatch.chdir(tmp_path)
    result = cli("demo", "--db", str(tmp_path / "d.duckdb"))
    assert result.exit_code == 0, result.stderr
    assert f"from {package / 'sample_data' / 'logs'} into" in result.stdout


def test_demo_month_and_time_zone_options(cli, tmp_path, no_packaged_data):
    logs = small_logs(tmp_path / "logs")
    result = cli("demo", "--data", str(logs), "--db", str(tmp_path / "d.duckdb"),
                 "--out", str(tmp_path / "out"), "--month", "2026-09", "--tz", "Asia/Tokyo")
    assert result.exit_code == 0, result.stderr
    assert "September 2026 (Asia/Tokyo): $" in result.stdout
    assert (tmp_path / "out" / "costkit-2026-09.html").exists()


def test_demo_refuses_a_store_that_already_holds_usage(cli, tmp_path, no_packaged_data):
    logs = small_logs(tmp_path / "logs")
    store = tmp_path / "mine.duckdb"
    assert cli("demo", "--data", str(logs), "--db", str(store),
               "--out", str(tmp_path / "out")).exit_code == 0
    again = cli("demo", "--data", str(logs), "--db", str(store), "--out", str(tmp_path / "out"))
    assert again.exit_code == 2
    assert again.stdout.startswith("ingesting") or again.stdout == ""
    assert again.stderr == (f"costkit: error: --db {store}: that store already holds 8 "
                            "requests; the demo writes a fresh store: choose a new file (or "
                            "remove this one)\n")


def test_demo_without_any_sample_logs_says_what_to_do(cli, tmp_path, monkeypatch,
                                                      no_packaged_data):
    monkeypatch.chdir(tmp_path)
    result = cli("demo")
    assert result.exit_code == 2
    assert result.stderr.startswith("costkit: error: no sample logs found")
    assert "pass --data DIR" in result.stderr
    assert result.stderr.count("\n") == 1


def test_demo_data_must_be_a_directory(cli, tmp_path):
    result = cli("demo", "--data", str(tmp_path / "missing"), "--db", str(tmp_path / "d.duckdb"))
    assert result.exit_code == 2
    assert result.stderr == (f"costkit: error: --data {tmp_path / 'missing'}: not a directory "
                             "of usage logs\n")


def test_demo_bad_month(cli, tmp_path):
    result = cli("demo", "--month", "October", "--db", str(tmp_path / "d.duckdb"))
    assert result.exit_code == 2
    assert result.stderr == ("costkit: error: --month is 'October'; write it as YYYY-MM, "
                             "e.g. 2026-10\n")
