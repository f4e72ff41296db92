"""The README's CLI reference is the commands' own --help; its test command is what CI runs."""

from __future__ import annotations

import re

from conftest import ROOT

from costkit.cli.reference import BEGIN, END, render


def test_cli_reference_matches_help():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert block == render(), (
        "README CLI reference is stale: run python -m costkit.cli.reference --write"
    )


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = re.findall(r"```sh\n(.+?)\n```", readme)
    assert len(commands) >= 2
    test_command = next(c for c in commands if "pytest" in c)
    assert test_command in ci
