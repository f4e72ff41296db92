"""One line per figure, the same in every bench, so bench/all.py can collect them:

    NAME: costkit OURS UNIT, BASELINE THEIRS UNIT, ratio R.RRx (MEANING)

The ratio is always costkit's figure over the baseline's, both measured in the same run;
MEANING says which way is better (a time: lower; a rate: higher) and the target if any.
"""

from __future__ import annotations

import os
import re
import sys

# Every bench imports this module first. `pip install` compiles costkit to bytecode; a
# checkout run under PYTHONDONTWRITEBYTECODE (CI shells and some sandboxes set it) would
# instead compile costkit's modules from source in every timed process (~25 ms CPU at
# start-up, more for ingest), while the baselines' packages come from site-packages'
# bytecode. So the benches and the processes they start write and read bytecode, as an
# installed copy does; the first run of each command writes it.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

FIGURE = re.compile(r": costkit .*, ratio [0-9.]+x")


def figure(name: str, ours: float, theirs: float, baseline: str, unit: str = "s",
           meaning: str = "") -> str:
    digits = 3 if unit == "s" else 2
    if "/" in unit and min(ours, theirs) >= 1000:
        shown = f"{ours:,.0f} {unit}, {baseline} {theirs:,.0f} {unit}"
    else:
        shown = f"{ours:.{digits}f} {unit}, {baseline} {theirs:.{digits}f} {unit}"
    ratio = ours / theirs if theirs else float("inf")
    return f"{name}: costkit {shown}, ratio {ratio:.2f}x" + (f" ({meaning})" if meaning else "")
