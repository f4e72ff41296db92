"""Goldens are compared by tests and written only by `python tests/goldens.py`, on purpose."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from conftest import GOLDEN, ROOT
from goldens import MODULES, PRODUCERS, check


def test_a_difference_fails_even_when_an_update_variable_is_set(monkeypatch):
    # The old helpers rewrote the golden when COSTKIT_UPDATE_GOLDEN was set, and so passed.
    monkeypatch.setenv("COSTKIT_UPDATE_GOLDEN", "1")
    path = GOLDEN / "count_text.txt"
    before = path.read_bytes()
    changed = before.decode("utf-8").replace("│      8 │", "│      9 │", 1)
    assert changed != before.decode("utf-8")
    with pytest.raises(AssertionError) as caught:
        check("count_text.txt", changed)
    message = str(caught.value)
    assert message.startswith("output differs from tests/golden/count_text.txt:\n")
    assert "\n-" in message and "\n+" in message
    assert message.endswith("if the change is intended: python tests/goldens.py count_text.txt")
    assert path.read_bytes() == before
    check("count_text.txt", before.decode("utf-8"))  # the same text passes


def test_every_golden_a_helper_used_to_rewrite_has_a_producer():
    for module in MODULES:  # their producers register on import
        importlib.import_module(module)
    assert set(PRODUCERS) >= {
        "report_month_model_berlin.txt", "report_month_model_berlin.json",
        "report_day_project.csv", "report_week_tag.json", "report_e2e_fixture_logs.json",
        "report_e2e_fixture_logs.txt", "count_text.txt", "count_file.json", "count_files.txt"}
    assert all((GOLDEN / name).is_file() for name in PRODUCERS)


def test_the_command_writes_what_the_producer_prints(tmp_path):
    names = ["count_text.txt", "report_week_tag.json"]
    done = subprocess.run([sys.executable, "tests/goldens.py", *names, "--into", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"wrote {tmp_path / n}" for n in sorted(names)]
    for name in names:
        assert (tmp_path / name).read_bytes() == (GOLDEN / name).read_bytes()
    unknown = subprocess.run([sys.executable, "tests/goldens.py", "nope.txt"], cwd=ROOT,
                             capture_output=True, text=True, timeout=300)
    assert unknown.returncode == 2 and "no producer for nope.txt" in unknown.stderr
