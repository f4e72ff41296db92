"""Every test runs with its own store and no user price cards, so none can touch a user's data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
GOLDEN = ROOT / "tests" / "golden"

# The instant every test runs at unless it says otherwise ($COSTKIT_NOW, read by
# costkit.core.clock). Run the suite at another instant with COSTKIT_TEST_NOW=...: no test may
# depend on which.
PINNED_NOW = os.environ.get("COSTKIT_TEST_NOW", "2026-11-15T12:00:00Z")

# Property tests: CI explores the same examples every run (derandomize); a local run
# with HYPOTHESIS_PROFILE=explore searches further with fresh random examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("explore", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def isolated_environ(tmp: Path) -> dict[str, str | None]:
    """The environment every test (and tests/goldens.py) runs in; None: unset."""
    return {"COSTKIT_DB": str(tmp / "costkit-test.duckdb"), "COSTKIT_PRICES": None,
            "COSTKIT_CONFIG": None,
            "TZ": "UTC", "COLUMNS": "160", "COSTKIT_NOW": PINNED_NOW}


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    for key, value in isolated_environ(tmp_path).items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    yield


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def cli(runner):
    """Invoke the real `costkit` app; returns the Result (exit_code, stdout, stderr)."""
    from costkit.cli.app import app

    def invoke(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def con():
    """An empty store in memory, at the current schema (the tests' own connection)."""
    import duckdb

    from costkit.store.migrations import migrate

    connection = duckdb.connect()
    migrate(connection)
    yield connection
    connection.close()
