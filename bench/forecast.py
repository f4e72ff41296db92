"""Rolling-origin backtest of `costkit forecast` against the naive month-end run-rate.

Generates daily spend series of seven shapes (flat noise, weekly cycle, trend, weekly +
trend, level shift, spikes, short history), and at day 7, 14 and 21 of each evaluation
month forecasts the month-end total with only the days before, exactly as
`costkit forecast --as-of` does (the same `costkit.forecast.projection.forecast_spend`).
The baseline, measured in the same run on the same series, is the run-rate most dashboards show:
month-to-date / days elapsed x days in the month.

Prints, per shape and day, the mean absolute % error of both and their ratio, and per
shape the share of month-end actuals inside costkit's 80% and 95% intervals.

    python bench/forecast.py            # 12 series per shape (about half a minute on 2 cores)
    python bench/forecast.py --n 100    # tighter figures
    python bench/forecast.py --groups   # per group on real data, beside statsmodels ETS
                                        # (bench/forecast_groups.py; pip install -e '.[bench]')
"""

from __future__ import annotations

import argparse
import calendar
import time
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from costkit.forecast.horizon import parse_horizon
from costkit.forecast.projection import forecast_spend
from costkit.forecast.series import COMPONENTS, DailyHistory

DAYS = (7, 14, 21)
SHAPES = ("flat", "weekly", "trend", "weekly+trend", "level shift", "spikes", "short history")
TARGETED = {"weekly", "trend", "weekly+trend"}   # must beat the run-rate
HISTORY_MONTHS = 3                                # months of history before the first evaluation
EVAL_MONTHS = 6


def _noise(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    """Mean-one lognormal noise."""
    return np.exp(rng.normal(-sigma * sigma / 2.0, sigma, n))


def _weekly(rng: np.random.Generator, start: date, n: int) -> np.ndarray:
    weekend = rng.uniform(0.2, 0.6)
    profile = np.array([1.0, 1.05, 1.05, 1.0, 0.9, weekend, weekend * 0.9])
    profile *= rng.uniform(0.95, 1.05, 7)
    profile /= profile.mean()
    return profile[(start.weekday() + np.arange(n)) % 7]


def _trend(rng: np.random.Generator, n: int) -> np.ndarray:
    monthly = rng.choice([-1, 1], p=[0.25, 0.75]) * rng.uniform(0.08, 0.35)
    t = np.arange(n) / 30.0
    if rng.random() < 0.5:
        return (1.0 + monthly) ** t                   # compounding growth or decline
    return np.maximum(1.0 + monthly * t, 0.2)         # straight-line


def generate(shape: str, rng: np.random.Generator) -> tuple[date, np.ndarray]:
    """(first day, daily spend in dollars) of one series of `shape`."""
    first = date(2024, 1, 1) + timedelta(days=int(rng.integers(0, 365)))
    start = first.replace(day=1)
    if shape == "short history":
        # A new account: spend starts on the 1st of its first (and only evaluated) month.
        start = _next_month(start)
        n = calendar.monthrange(start.year, start.month)[1]
    else:
        end = start
        for _ in range(HISTORY_MONTHS + EVAL_MONTHS):
            end = _next_month(end)
        n = (end - start).days
    level = rng.uniform(20, 2000)
    sigma = rng.uniform(0.1, 0.3)
    y = level * _noise(rng, n, sigma)
    if shape in ("weekly", "weekly+trend", "short history"):
        y *= _weekly(rng, start, n)
    if shape in ("trend", "weekly+trend"):
        y *= _trend(rng, n)
    if shape == "level shift":
        for _ in range(int(rng.integers(1, 3))):
            at = int(rng.integers(30, n))
            up = rng.random() < 0.7
            y[at:] *= rng.uniform(1.4, 2.5) if up else rng.uniform(0.4, 0.7)
    if shape == "spikes":
        hits = rng.random(n) < 0.04
        y[hits] += level * rng.uniform(3.0, 12.0, hits.sum())
    return start, y


def _next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def history(start: date, y: np.ndarray, as_of: date) -> DailyHistory:
    n = (as_of - start).days
    days = tuple(start + timedelta(days=i) for i in range(n))
    total = tuple(Decimal(repr(round(float(v), 6))) for v in y[:n])
    zeros = (Decimal(0),) * n
    components = {c: (total if c == "input" else zeros) for c in COMPONENTS}
    return DailyHistory(days, components)


def origins(shape: str, start: date) -> list[date]:
    """First days of the evaluated months."""
    if shape == "short history":
        return [start]
    month = start
    for _ in range(HISTORY_MONTHS):
        month = _next_month(month)
    out = []
    for _ in range(EVAL_MONTHS):
        out.append(month)
        month = _next_month(month)
    return out


def run(n_series: int, sims: int, seed: int) -> dict:
    errors = defaultdict(list)          # (shape, day, who) -> abs % errors
    covered = defaultdict(list)         # (shape, level) -> bool
    descriptions = defaultdict(lambda: defaultdict(int))
    rng = np.random.default_rng(seed)
    timings = []
    for shape in SHAPES:
        count = n_series * (3 if shape == "short history" else 1)
        for _ in range(count):
            start, y = generate(shape, rng)
            for month in origins(shape, start):
                length = calendar.monthrange(month.year, month.month)[1]
                m0 = (month - start).days
                actual_total = float(y[m0:m0 + length].sum())
                for d in DAYS:
                    as_of = month + timedelta(days=d)
                    mtd = float(y[m0:m0 + d].sum())
                    run_rate = mtd / d * length
                    t0 = time.perf_counter()
                    fc = forecast_spend(history(start, y, as_of), parse_horizon("eom", as_of),
                                        n_sims=sims, seed=int(rng.integers(1 << 31)))
                    timings.append(time.perf_counter() - t0)
                    total = fc.total
                    ours = float(total.projected_total)
                    errors[(shape, d, "costkit")].append(abs(ours / actual_total - 1.0))
                    errors[(shape, d, "run-rate")].append(abs(run_rate / actual_total - 1.0))
                    covered[(shape, 80)].append(
                        float(total.low_80) <= actual_total <= float(total.high_80))
                    covered[(shape, 95)].append(
                        float(total.low_95) <= actual_total <= float(total.high_95))
                    descriptions[shape][fc.model] += 1
    return {"errors": errors, "covered": covered, "models": descriptions, "timings": timings}


def report(result: dict) -> bool:
    errors, covered = result["errors"], result["covered"]
    print("Month-end absolute % error (mean over origins); baseline: run-rate = "
          "month-to-date / days elapsed x days in month")
    print(f"{'shape':<14} {'day':>3} {'n':>5} {'costkit':>8} {'run-rate':>9} {'ratio':>6}"
          f"   {'80% cov':>7} {'95% cov':>7}")
    ok = True
    for shape in SHAPES:
        for i, d in enumerate(DAYS):
            ours = np.mean(errors[(shape, d, "costkit")]) * 100
            base = np.mean(errors[(shape, d, "run-rate")]) * 100
            n = len(errors[(shape, d, "costkit")])
            cov = ""
            if i == 0:
                c80 = np.mean(covered[(shape, 80)]) * 100
                c95 = np.mean(covered[(shape, 95)]) * 100
                cov = f"   {c80:6.1f}% {c95:6.1f}%"
                if not 90.0 <= c95 <= 98.0:
                    ok = False
            if shape in TARGETED and ours >= base:
                ok = False
            if shape == "flat" and ours > base:
                ok = False
            print(f"{shape:<14} {d:>3} {n:>5} {ours:7.2f}% {base:8.2f}% {ours / base:6.2f}{cov}")
    all80 = np.mean([v for (s, lvl), vs in covered.items() if lvl == 80 for v in vs]) * 100
    all95 = np.mean([v for (s, lvl), vs in covered.items() if lvl == 95 for v in vs]) * 100
    print(f"all shapes: 80% intervals cover {all80:.1f}%, 95% intervals cover {all95:.1f}%")
    print("models chosen:")
    for shape in SHAPES:
        chosen = ", ".join(f"{m} x{k}" for m, k in sorted(result["models"][shape].items(),
                                                           key=lambda kv: -kv[1]))
        print(f"  {shape:<14} {chosen}")
    t = np.array(result["timings"]) * 1000
    print(f"forecast time: median {np.median(t):.1f} ms, p95 {np.percentile(t, 95):.1f} ms "
          f"({len(t)} forecasts)")
    print("targets (lower error than run-rate with weekly cycle or trend, never worse on flat,"
          f" 95% coverage 90-98%): {'MET' if ok else 'NOT MET'}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=12, help="series per shape (short: 3x)")
    parser.add_argument("--sims", type=int, default=2000, help="simulated futures per forecast")
    parser.add_argument("--seed", type=int, default=20261010)
    parser.add_argument("--groups", action="store_true",
                        help="per-group backtest of the demo store and the Azure trace, "
                             "beside statsmodels ETS and the run-rate")
    parser.add_argument("--source", action="append", choices=("demo", "azure"),
                        help="with --groups: only this source (repeatable)")
    parser.add_argument("--by", default="project", help="with --groups: the demo's groups")
    parser.add_argument("--reconcile", default="mint",
                        choices=("mint", "top-down", "bottom-up"),
                        help="with --groups: how groups and total are reconciled")
    parser.add_argument("--every", type=int, default=3,
                        help="with --groups: days between 14-day origins")
    parser.add_argument("--misses", action="store_true",
                        help="with --groups: list each origin and group costkit missed")
    args = parser.parse_args()
    t0 = time.perf_counter()
    if args.groups:
        import forecast_groups as fg

        sources = args.source or ["demo", "azure"]
        for name in sources:
            src = fg.demo_source(args.by) if name == "demo" else fg.azure_source()
            for target in ("month", "14d"):
                fg.report(src, target, fg.backtest(src, target, args.every, args.sims,
                                                   method=args.reconcile),
                          misses=args.misses)
        print(f"{time.perf_counter() - t0:.0f} s for --groups --sims {args.sims} "
              f"--every {args.every} --reconcile {args.reconcile}")
        return
    result = run(args.n, args.sims, args.seed)
    report(result)
    print(f"{time.perf_counter() - t0:.0f} s for --n {args.n} --sims {args.sims} "
          f"--seed {args.seed}")


if __name__ == "__main__":
    main()
