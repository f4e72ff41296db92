"""The `costkit` command line: the app and its commands are in costkit.cli.app; the options
they share in costkit.cli.options; the one output layer in costkit.cli.output."""

from __future__ import annotations


def main() -> None:
    """The console script's entry point (pyproject's `costkit = "costkit.cli:main"`)."""
    from costkit.cli.app import main as run

    run()
