"""Start-up time of the command line: `costkit --help`, `costkit count hello` and
`costkit estimate --no-history hello`, against `python -c "import typer"` (the floor of any
Typer command) measured in the same run.

Each command runs --runs times in a fresh interpreter (`python -m costkit ...`, so the result
does not depend on which `costkit` is first on PATH), after one warm-up run that fills the OS
file cache and writes bytecode (see figures.py); the median wall time and the median CPU time
(user + system) are printed, each with its ratio to the baseline, and the heavy modules the
command loaded (none of duckdb, polars, numpy, pyarrow is the aim for all three). Targets
(issue 17): --help within 2x of the baseline; count under 0.2 s.

    python bench/startup.py
    python bench/startup.py --runs 31
    PYTHONPATH=/path/to/other/checkout python bench/startup.py    # another version's figures
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from figures import figure

TARGETS = {
    "costkit --help": "x baseline time, target <= 2x",
    "costkit count hello": "x baseline time; target: under 0.2 s",
    "costkit estimate --no-history hello": "x baseline time",
}
HEAVY = ("duckdb", "polars", "numpy", "pyarrow", "plotly", "tiktoken", "rich")
COMMANDS = {
    "costkit --help": ["--help"],
    "costkit count hello": ["count", "hello"],
    "costkit estimate --no-history hello": ["estimate", "--no-history", "hello"],
}
# A Typer app whose one command echoes its one str argument: the least any Typer command
# with a parameter costs (typer 0.29 builds a pydantic TypeAdapter to coerce it).
TYPER_ONE_ARGUMENT = (
    "import sys, typer\n"
    "app = typer.Typer(add_completion=False)\n"
    "@app.command()\n"
    "def echo(text: str) -> None:\n    print(text)\n"
    "@app.command()\n"
    "def other() -> None:\n    pass\n"
    "app(sys.argv[1:2] and ['echo', sys.argv[1]])\n"
)
# Runs a command in-process (as the console script does) and prints the heavy modules it loaded.
PROBE = (
    "import sys\n"
    "from costkit.cli import main\n"
    "sys.argv = ['costkit', *sys.argv[1:]]\n"
    "try:\n    main()\n"
    "except SystemExit:\n    pass\n"
    f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
)


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, env=env, cwd=env["HOME"], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def median_time(argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    """Median wall and median CPU time of `runs` runs, after a warm-up run (file cache,
    bytecode)."""
    timed(argv, env)
    walls, cpus = zip(*(timed(argv, env) for _ in range(runs)), strict=True)
    return statistics.median(walls), statistics.median(cpus)


def loaded(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, cwd=env["HOME"], text=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
    return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        # no user store or price cards: the figures are the program's own. Run from the
        # empty home: `python -m` puts the working directory first on sys.path, which would
        # hide a PYTHONPATH checkout behind the one the bench is run from.
        env = {**os.environ, "COSTKIT_DB": os.path.join(home, "none.duckdb"),
               "COSTKIT_PRICES": "", "HOME": home}
        base, base_cpu = median_time([sys.executable, "-c", "import typer"], env,
                                     options.runs)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f}; median of {options.runs} runs, a fresh interpreter "
              "each (CPU time is what a busy machine inflates least)")
        print(f"{'':<38} {'wall':>8} {'ratio':>7} {'CPU':>8} {'ratio':>7}  heavy modules loaded")
        baseline = 'baseline: python -c "import typer"'
        print(f"{baseline:<38} {base:7.3f}s {1:6.2f}x {base_cpu:7.3f}s {1:6.2f}x")
        # The floor of a Typer command that takes a value: typer 0.29 coerces every non-flag
        # parameter through pydantic, which `import typer` alone never loads.
        floor, floor_cpu = median_time([sys.executable, "-c", TYPER_ONE_ARGUMENT, "hello"], env,
                                       options.runs)
        print(f"{'floor: a one-argument Typer command':<38} {floor:7.3f}s {floor / base:6.2f}x "
              f"{floor_cpu:7.3f}s {floor_cpu / base_cpu:6.2f}x")
        figures = []
        for label, args in COMMANDS.items():
            wall, cpu = median_time([sys.executable, "-m", "costkit", *args], env, options.runs)
            heavy = loaded(args, env) or "-"
            print(f"{label:<38} {wall:7.3f}s {wall / base:6.2f}x {cpu:7.3f}s "
                  f"{cpu / base_cpu:6.2f}x  {heavy}")
            figures.append(figure(f"start-up {label} (CPU)", cpu, base_cpu,
                                  'python -c "import typer"', "s", TARGETS[label]))
            if label == "costkit count hello":
                figures.append(figure(f"start-up {label} (CPU)", cpu, floor_cpu,
                                      "a one-argument Typer command", "s",
                                      "x baseline time: what costkit adds to Typer's floor"))
        for line in figures:
            print(line)


if __name__ == "__main__":
    main()
