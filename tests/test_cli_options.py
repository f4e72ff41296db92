"""costkit/cli: options declared once (costkit.cli.options) behave the same on every command,
commands are registered explicitly (costkit.cli.app), and the output layer's progress bar."""

from __future__ import annotations

import io
import sys
from typing import Any

import pytest
import typer.main
from typer.core import TyperOption

from costkit.cli import options, output
from costkit.cli.app import app


def commands() -> dict[str, Any]:
    """Every command by its path ("report monthly"), from the app's own click tree."""
    found: dict[str, Any] = {}

    def walk(command: Any, path: list[str]) -> None:
        if path:
            found[" ".join(path)] = command
        if hasattr(command, "list_commands"):  # a group (typer's own, not a click.Group)
            for name in command.list_commands(None):
                walk(command.get_command(None, name), [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def having(flag: str) -> dict[str, TyperOption]:
    return {path: param for path, command in commands().items() for param in command.params
            if isinstance(param, TyperOption) and flag in param.opts}


def test_every_command_is_registered_by_name():
    assert sorted(commands()) == ["audit", "budget", "budget check", "count", "demo",
                                  "estimate", "export", "forecast", "ingest", "prices",
                                  "prices diff", "prices show", "rejects", "report",
                                  "report monthly"]


@pytest.mark.parametrize("flag", ["--prices", "--db"])
def test_shared_options_read_the_same_everywhere(flag):
    found = having(flag)
    if flag == "--db":
        found.pop("demo")  # the demo's --db names the fresh store it creates, not yours
    assert len(found) >= 6
    assert len({(p.metavar, p.help, p.multiple) for p in found.values()}) == 1


def test_every_format_option_offers_the_output_layers_formats_in_one_order():
    order = [f.value for f in options.Format]
    for path, param in having("--format").items():
        choices = [member.value for member in param.type_descriptor.annotation]
        assert choices == [c for c in order if c in choices], path
        assert choices[:2] == ["table", "json"], path


def test_every_tz_refuses_an_unknown_zone_alike(cli):
    paths = sorted(having("--tz"))
    assert paths == ["audit", "budget check", "demo", "forecast", "ingest", "report",
                     "report monthly"]
    lines = set()
    for path in paths:
        extra = ["no-such-log.jsonl"] if path == "ingest" else []
        result = cli(*path.split(), "--tz", "Mars/Olympus", *extra)
        assert result.exit_code == 2, path
        assert result.stdout == "" and result.stderr.count("\n") == 1, path
        lines.add(result.stderr)
    assert len(lines) == 1
    assert lines.pop().startswith("costkit: error: --tz: unknown time zone 'Mars/Olympus'")


@pytest.mark.parametrize("day", ["20261001", "2026-1-1", "2026-10-01T00:00", "yesterday"])
def test_since_means_the_same_on_report_and_rejects(cli, tmp_path, day):
    """One day parser: YYYY-MM-DD and nothing else (rejects used to take 20261001)."""
    expected = f"costkit: error: --since {day!r} is not a date; expected YYYY-MM-DD\n"
    for command in ("report", "rejects"):
        result = cli(command, "--db", str(tmp_path / "none.duckdb"), "--since", day)
        assert (result.exit_code, result.stdout, result.stderr) == (2, "", expected), command


def test_helped_changes_the_help_and_nothing_else():
    narrower = options.helped(options.Tz, "CSV: the zone of times written without one.")
    base, info = options.Tz.__metadata__[0], narrower.__metadata__[0]
    assert info is not base and info.help == "CSV: the zone of times written without one."
    assert (info.param_decls, info.metavar, info.callback) == (
        base.param_decls, base.metavar, base.callback)
    assert base.help == "Time zone of days and months (IANA name)."  # the original untouched


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_one_progress_bar_for_bytes_read_and_for_done_of_total(monkeypatch):
    with output.progress("estimating", total=100) as bar:
        assert bar is None  # pytest's stderr is no terminal: nothing drawn into a log
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with output.progress("estimating", total=100) as bar:
        assert bar is not None
        bar.advance(60)  # estimate --batch: bytes read since the last line
        bar.advance(40)
    with output.progress("reading") as bar:
        assert bar is not None
        bar.update(5, 0)  # ingest: done so far, total not known yet
        bar.update(10, 10)
    shown = terminal.getvalue()
    assert "estimating" in shown and "reading" in shown


def test_file_size_of_a_bar():
    assert output.file_size("-") is None
    assert output.file_size("/no/such/file") is None
    assert output.file_size(__file__) == len(open(__file__, "rb").read())
