"""`costkit NAME ...` builds only the command NAME (costkit.cli.app.main); the full app, as
`costkit --help` and the README reference see it, is the reference it must match."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from costkit.cli import app as cli_app

CASES = [[name, "--help"] for name in cli_app.COMMANDS] + [
    [group, *([sub] if sub else []), "--help"]
    for group, (_, _, _, subs) in cli_app.GROUPS.items()
    for sub in [None, *subs]
] + [["count", "--no-such-option"], ["count", "hello", "--format", "json"],
     ["budget"], ["prices", "show", "no-such-model"]]


@pytest.mark.parametrize("args", CASES, ids=" ".join)
def test_one_command_app_says_what_the_full_app_says(args: list[str]) -> None:
    runner = CliRunner()
    full = runner.invoke(cli_app.build(), args, prog_name="costkit")
    alone = runner.invoke(cli_app.build(only=args[0]), args, prog_name="costkit")
    assert (alone.exit_code, alone.output) == (full.exit_code, full.output)
    assert full.output.strip()


def test_the_console_script_loads_only_the_named_command() -> None:
    probe = ("import sys\n"
             "sys.argv = ['costkit', 'count', 'hello']\n"
             "from costkit.cli import main\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "print(sorted(m for m in sys.modules if m.startswith('costkit.cli.')),"
             " file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert "│ text  │      1 │" in done.stdout  # "hello" is one DeepSeek V3.2 token
    loaded = done.stderr.strip().splitlines()[-1]
    assert "costkit.cli.count" in loaded
    for other in ("costkit.cli.audit", "costkit.cli.ingest", "costkit.cli.forecast"):
        assert other not in loaded
