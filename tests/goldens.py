"""Golden outputs: tests compare with them, and only this module's command writes them.

A test run never writes a golden: a run that did would pass whatever the code printed. When
an output changes on purpose, regenerate the files with the explicit command

    python tests/goldens.py NAME [NAME ...]      # or: python tests/goldens.py --all

It runs each golden's producer (the function its test runs, registered with `produces`) in an
environment like the tests' (an empty temporary store, the pinned clock, UTC, 160 columns,
the project root as working directory), writes the outputs of the runs that succeeded and
names them. Review `git diff tests/golden` before committing: the diff is the change.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"
# The test modules whose producers make the goldens below (imported by the command).
MODULES = ("test_cli_report", "test_cli_report_e2e", "test_cli_count", "test_report_explain",
           "test_audit_invoice_cli", "test_forecast_cli")
# golden file name -> producer: a function(cli) returning {name: CLI result} for its goldens
# (and, under other keys, any other result its test needs).
PRODUCERS: dict[str, Callable] = {}


def produces(*names: str, exit_code: int = 0):
    """Register the decorated function as the producer of the goldens `names`, whose command
    exits with `exit_code` (1: an audit with findings)."""
    def register(fn: Callable) -> Callable:
        fn.exit_code = exit_code
        for name in names:
            if name in PRODUCERS:
                raise ValueError(f"two producers of golden {name}")
            PRODUCERS[name] = fn
        fn.goldens = names
        return fn
    return register


def check(name: str, text: str) -> None:
    """Fail unless `text` is exactly the golden `name`, showing the difference."""
    path = GOLDEN / name
    expected = path.read_text(encoding="utf-8") if path.exists() else ""
    if text == expected:
        return
    diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True),
                                        text.splitlines(keepends=True),
                                        f"tests/golden/{name}", "this run", n=2))
    raise AssertionError(f"output differs from tests/golden/{name}:\n{diff}\n"
                         f"if the change is intended: python tests/goldens.py {name}")


# --- the command ------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tests/goldens.py",
                                     description="Write golden outputs on purpose.")
    parser.add_argument("names", nargs="*", metavar="NAME", help="golden file names")
    parser.add_argument("--all", action="store_true", help="every golden with a producer")
    parser.add_argument("--into", type=Path, default=GOLDEN,
                        help="folder to write into (default: tests/golden)")
    args = parser.parse_args(argv)
    tests = Path(__file__).resolve().parent
    sys.path[:0] = [str(tests), str(tests.parent)]
    for module in MODULES:
        importlib.import_module(module)
    # the registry the test modules filled (this file may be running as __main__)
    producers = importlib.import_module("goldens").PRODUCERS
    wanted = sorted(producers) if args.all else args.names
    unknown = [n for n in wanted if n not in producers]
    if not wanted or unknown:
        listed = ", ".join(sorted(producers))
        parser.error(f"no producer for {', '.join(unknown)}; goldens: {listed}" if unknown
                     else f"name goldens or give --all; goldens: {listed}")
    failed = 0
    for producer in dict.fromkeys(producers[n] for n in wanted):
        results = _run(producer)
        for name in producer.goldens:
            if name not in wanted:
                continue
            result = results[name]
            if result.exit_code != producer.exit_code:
                print(f"not written: {name}: exit {result.exit_code}: {result.stderr.strip()}",
                      file=sys.stderr)
                failed += 1
                continue
            args.into.mkdir(parents=True, exist_ok=True)
            (args.into / name).write_text(result.stdout, encoding="utf-8")
            print(f"wrote {args.into / name}")
    return 1 if failed else 0


def _run(producer: Callable) -> dict:
    """Run one producer the way the test suite would (see tests/conftest.py)."""
    from conftest import ROOT, isolated_environ
    from typer.testing import CliRunner

    from costkit.cli.app import app

    runner = CliRunner()

    def cli(*args: str, input: str | None = None):
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for key, value in isolated_environ(Path(tmp)).items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            os.chdir(ROOT)
            return producer(cli)
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)


if __name__ == "__main__":
    sys.exit(main())
