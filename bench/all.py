"""Every bench at a small size, in under two minutes: one line per figure with its ratio.

Runs each bench of this folder as its own process (as a person would), at a size that keeps
the whole run short, and prints the figure lines they print (bench/figures.py: costkit's
figure, the named baseline's, both from the same run, and their ratio). A bench that fails
is reported and the rest still run. Small sizes show start-up and fixed costs more than the
full-size runs do; the targets of issue 17 are for the sizes in each bench's docstring.
Tests never assert on these times: this is for people, to see a regression at a glance.

    python bench/all.py
    CCUSAGE=/tmp/ccusage/node_modules/.bin/ccusage python bench/all.py   # with ccusage
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from figures import FIGURE

HERE = Path(__file__).resolve().parent
SMALL = [
    ("startup.py", ["--runs", "5"]),
    ("breakdown.py", ["--n", "200000", "--repeat", "2"]),
    ("tokenizer.py", ["--mb", "0.2", "--repeat", "2", "--loads", "3"]),
    ("ingest.py", ["--n", "100000", "--report-n", "20000"]),
    ("ingest_csv.py", ["--n", "200000", "--no-again"]),
    ("ccusage.py", ["--n", "20000", "--repeat", "2"]),
    ("estimate.py", ["--n", "2000", "--repeat", "2"]),
    ("audit.py", ["--n", "20000"]),
    ("report.py", ["--n", "100000", "--repeat", "2"]),
]


def main() -> None:
    started = time.perf_counter()
    for script, args in SMALL:
        t0 = time.perf_counter()
        done = subprocess.run([sys.executable, str(HERE / script), *args], cwd=HERE.parent,
                              capture_output=True, text=True, check=False)
        lines = [line for line in done.stdout.splitlines() if FIGURE.search(line)]
        lines += [line for line in done.stdout.splitlines() if "not found" in line]
        for line in lines:
            print(line, flush=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["?"])[-1]
            print(f"{script}: FAILED ({done.returncode}): {last}", flush=True)
        elif not lines:
            print(f"{script}: no figure lines", flush=True)
        print(f"  ({script} {' '.join(args)}: {time.perf_counter() - t0:.1f} s)", flush=True)
    print(f"all benches: {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
