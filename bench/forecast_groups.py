"""Per-group rolling-origin backtest of `costkit forecast --by`, beside statsmodels ETS and
the run-rate (run as `python bench/forecast.py --groups`).

Two real sets of groups:
- the demo store (`costkit demo`), per project, key or model: 2026-09-01..2026-11-24;
- the Azure LLM inference trace 2023 (/work/shared/data/azure-llm-trace-2023/, two services,
  code and conversation), priced as deepseek-v3-2 by costkit's pricing. The trace is one
  hour, so its 10-second bins stand in for days (360 "days" from 2024-01-01): real bursty
  demand, though without a weekly cycle.

Two targets from each origin, each seeing only the days before it:
- month: the month's total (actual to date + forecast), from the 7th, 14th and 21st of every
  whole month with four weeks of history before the origin;
- 14d: the sum of the next 14 days, from every `--every`-th day with four weeks of history.

Three methods, per group:
- costkit: the group's forecast reconciled to the total's (what `--by` prints);
- own: the group's own forecast before reconciling (expected value only);
- ETS: statsmodels ETSModel (additive error; no trend or additive damped trend; no season or
  an additive weekly one; the lowest AIC), intervals from its simulated paths (clipped at 0);
- run-rate: month-to-date / days elapsed x days in the month (month), the last 7 days' mean
  x 14 (14d); its interval treats the days it averaged as independent (normal).

Printed per source, target and group: n, MAPE and the mean absolute error relative to the
run-rate's (below 1: better), the share of actuals inside the 80% and 95% intervals, and the
median width of the 80% interval over the actual ("80% w"); with `--misses`, each origin and
group costkit's intervals missed.
"""

from __future__ import annotations

import calendar
import subprocess
import sys
import tempfile
import warnings
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from costkit.forecast.horizon import Horizon, Period, parse_horizon
from costkit.forecast.projection import simulate_spend
from costkit.forecast.reconcile import forecast_groups
from costkit.forecast.series import COMPONENTS, DailyHistory

AZURE = Path("/work/shared/data/azure-llm-trace-2023")
MIN_HISTORY = 28
METHODS = ("costkit", "own", "ETS", "run-rate")
Z80, Z95 = 1.2816, 1.96


@dataclass
class Source:
    name: str
    start: date
    total: np.ndarray                       # daily spend
    groups: dict[str, np.ndarray]
    complete_until: date                    # first day without data


# --- sources ----------------------------------------------------------------------------------

def demo_source(by: str) -> Source:
    """The demo store's daily spend per `by` group (built by `costkit demo` in a temp dir)."""
    import duckdb

    from costkit.forecast.history import load_history
    from costkit.pricing.book import load_price_book

    tmp = Path(tempfile.mkdtemp())
    subprocess.run([sys.executable, "-m", "costkit", "demo", "--db", str(tmp / "demo.duckdb"),
                    "--out", str(tmp)], check=True, capture_output=True,
                   cwd=Path(__file__).resolve().parents[1])     # the repo's data/logs
    con = duckdb.connect(str(tmp / "demo.duckdb"), read_only=True)
    last = con.execute("select max(ts)::date from usage").fetchall()[0][0]
    end = last + timedelta(days=1)
    hist = load_history(con, end, "UTC", load_price_book(), [by])
    con.close()
    start = hist.total.days[0]

    def series(h: DailyHistory) -> np.ndarray:
        offset = (h.days[0] - start).days if h.days else 0
        y = np.zeros((end - start).days)
        y[offset:] = [float(v) for v in h.total]
        return y

    return Source(f"demo by {by}", start, series(hist.total),
                  {"/".join(k): series(g) for k, g in hist.groups.items()}, end)


def azure_source(bin_seconds: int = 10) -> Source:
    """The two Azure services' spend per bin, priced as deepseek-v3-2 (token sums per bin,
    then costkit's pricing: one multiplication per component)."""
    import polars as pl

    from costkit.core.usage import Usage
    from costkit.pricing.book import load_price_book
    from costkit.pricing.cost import price

    card = load_price_book().card_for("deepseek-v3-2")
    groups = {}
    for name in ("code", "conv"):
        frame = pl.read_csv(AZURE / f"AzureLLMInferenceTrace_{name}.csv")
        ts = frame["TIMESTAMP"].str.to_datetime("%Y-%m-%d %H:%M:%S%.f")
        seconds = (ts - ts.min()).dt.total_seconds()
        frame = frame.with_columns((seconds // bin_seconds).cast(pl.Int64).alias("bin"))
        sums = frame.group_by("bin").agg(pl.col("ContextTokens").sum(),
                                         pl.col("GeneratedTokens").sum()).sort("bin")
        n = 3600 // bin_seconds
        y = np.zeros(n)
        for b, ctx, gen in sums.iter_rows():
            if b < n:
                y[b] = float(price(Usage(input_tokens=ctx, output_tokens=gen), card).total)
        groups[name] = y
    start = date(2024, 1, 1)
    total = groups["code"] + groups["conv"]
    # The trace's last requests come before the end of the hour: the bins after them are
    # past its end, not quiet days (counting them, the 14-day sums from the last origins
    # "missed" by dropping to nothing). Said in the source's name, not cut silently.
    ends = int(np.flatnonzero(total > 0)[-1]) + 1
    return Source(f"azure trace ({bin_seconds}-second bins as days; the trace's requests end "
                  f"at bin {ends} of {len(total)})", start, total, groups,
                  start + timedelta(days=ends))


# --- methods ----------------------------------------------------------------------------------

def history(start: date, y: np.ndarray, as_of: date) -> DailyHistory:
    n = (as_of - start).days
    days = tuple(start + timedelta(days=i) for i in range(n))
    total = tuple(Decimal(repr(round(float(v), 8))) for v in y[:n])
    zeros = (Decimal(0),) * n
    return DailyHistory(days, {c: (total if c == "input" else zeros) for c in COMPONENTS})


def trimmed(start: date, y: np.ndarray, as_of: date) -> tuple[date, np.ndarray] | None:
    """The group's history before `as_of` from its first spend; None when it has none."""
    n = (as_of - start).days
    spent = np.flatnonzero(y[:n] > 0)
    if not len(spent):
        return None
    return start + timedelta(days=int(spent[0])), y[int(spent[0]):n]


def costkit_groups(src: Source, span: Horizon, sims: int, method: str) -> dict:
    """Each group's (rest of the target: expected, 80% and 95% bounds), reconciled."""
    total = simulate_spend(history(src.start, src.total, span.as_of), span, n_sims=sims)
    hists = {}
    for name, y in src.groups.items():
        cut = trimmed(src.start, y, span.as_of)
        if cut is not None:
            hists[(name,)] = history(cut[0], cut[1], span.as_of)
    out: dict = {}
    moved, days, found = forecast_groups(total, hists, span, n_sims=sims, method=method)
    out["(total)"] = (float(sum(days)),) + (np.nan,) * 4
    for key, fc, _problem, own in found:
        t = fc.total
        out[key[0]] = tuple(float(v - t.actual) for v in
                            (t.projected_total, t.low_80, t.high_80, t.low_95, t.high_95))
        out[("own", key[0])] = (float(own),) + (np.nan,) * 4
    return out


def ets(y: np.ndarray, h: int, sims: int, seed: int) -> tuple:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    best = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for trend in (None, "add"):
            for seasonal in (None, "add"):
                if seasonal and len(y) < 28 or trend and len(y) < 14:
                    continue
                try:
                    model = ETSModel(y, error="add", trend=trend, damped_trend=trend is not None,
                                     seasonal=seasonal, seasonal_periods=7 if seasonal else None)
                    fit = model.fit(disp=False, maxiter=200)
                except (ValueError, np.linalg.LinAlgError):
                    continue
                if np.isfinite(fit.aic) and (best is None or fit.aic < best.aic):
                    best = fit
        if best is None:
            mean = float(np.mean(y))
            return (mean * h,) * 5
        point = float(np.sum(best.forecast(h)))
        paths = np.asarray(best.simulate(h, repetitions=sims, anchor="end",
                                         rng=np.random.default_rng(seed))).reshape(h, -1)
    sums = np.maximum(paths, 0.0).sum(axis=0)
    q = np.quantile(sums, [0.10, 0.90, 0.025, 0.975])
    return (max(point, 0.0), *q)


def run_rate(days: np.ndarray, h: int) -> tuple:
    """`days`' mean x h, with an interval that takes the days as independent draws."""
    mean = float(np.mean(days))
    sd = float(np.std(days, ddof=1)) if len(days) > 1 else 0.0
    # The sum of h new days, plus the error of the mean those h days are projected from.
    se = sd * np.sqrt(h + h * h / len(days))
    return (mean * h, mean * h - Z80 * se, mean * h + Z80 * se,
            mean * h - Z95 * se, mean * h + Z95 * se)


# --- the backtest -----------------------------------------------------------------------------

def origins(src: Source, target: str, every: int) -> list[tuple[date, Horizon, date, date]]:
    """(as_of, horizon, first and last day of the target) per origin."""
    out = []
    first = src.start + timedelta(days=MIN_HISTORY)
    if target == "month":
        month = src.start.replace(day=1)
        while True:
            end = month.replace(day=calendar.monthrange(month.year, month.month)[1])
            if end >= src.complete_until:
                break
            for d in (7, 14, 21):
                as_of = month + timedelta(days=d)
                if as_of >= first:
                    out.append((as_of, parse_horizon("eom", as_of), month, end))
            month = end + timedelta(days=1)
        return out
    as_of = first
    while as_of + timedelta(days=14) <= src.complete_until:
        end = as_of + timedelta(days=13)
        out.append((as_of, Horizon("14d", as_of, end, (Period("14d", as_of, end),)), as_of,
                    end))
        as_of += timedelta(days=every)
    return out


def backtest(src: Source, target: str, every: int, sims: int,
             methods: tuple[str, ...] = METHODS, method: str = "mint") -> dict:
    """(group, method) -> lists of absolute % error, absolute error, in 80%, in 95%."""
    stats: dict = defaultdict(lambda: defaultdict(list))
    rng = np.random.default_rng(20261206)
    for as_of, span, lo, hi in origins(src, target, every):
        i0, i1, i_as = ((d - src.start).days for d in (lo, hi, as_of))
        ours = costkit_groups(src, span, sims, method) if "costkit" in methods else {}
        series = dict(src.groups)
        if "costkit" in methods:
            series["(total)"] = src.total
            own_total = simulate_spend(history(src.start, src.total, as_of), span, n_sims=0)
            ours[("own", "(total)")] = (float(own_total.point.sum()),) + (np.nan,) * 4
        for name, y in series.items():
            actual = float(y[i0:i1 + 1].sum())
            done = float(y[i0:i_as].sum())
            cut = trimmed(src.start, y, as_of)
            if cut is None or actual <= 0:
                continue
            h = i1 - i_as + 1
            forecasts: dict[str, tuple] = {}
            if "costkit" in methods:
                forecasts["costkit"] = ours[name]
                forecasts["own"] = ours[("own", name)]
            if "ETS" in methods and name != "(total)":
                forecasts["ETS"] = ets(cut[1], h, sims, int(rng.integers(1 << 31)))
            if target == "month" and i_as > i0:
                forecasts["run-rate"] = run_rate(y[i0:i_as], h)
            else:
                forecasts["run-rate"] = run_rate(y[max(i_as - 7, 0):i_as], h)
            for who, (point, l80, h80, l95, h95) in forecasts.items():
                s = stats[(name, who)]
                err = done + point - actual
                s["ape"].append(abs(err) / actual)
                s["ae"].append(abs(err))
                s["in80"].append(float(done + l80 <= actual <= done + h80) if l80 == l80
                                 else np.nan)
                s["in95"].append(float(done + l95 <= actual <= done + h95) if l95 == l95
                                 else np.nan)
                # The 80% range's width as a share of the actual: an interval that covers
                # by being absurdly wide shows here.
                s["w80"].append((h80 - l80) / actual if l80 == l80 else np.nan)
                if who == "costkit" and l80 == l80 and not s["in95"][-1] == s["in80"][-1] == 1.0:
                    level = "95%" if s["in95"][-1] == 0.0 else "80%"
                    s["misses"].append(f"{as_of} {name}: outside the {level} interval, "
                                       f"actual {actual:.4g} vs 80% {done + l80:.4g}-"
                                       f"{done + h80:.4g}, 95% {done + l95:.4g}-{done + h95:.4g}")
    return stats


def report(src: Source, target: str, stats: dict, methods: tuple[str, ...] = METHODS,
           out: Callable[[str], None] = print, misses: bool = False) -> None:
    out(f"\n{src.name}, target {target}")
    out(f"{'group':<20} {'method':<9} {'n':>4} {'MAPE':>7} {'MAE/rr':>7} {'80% cov':>8} "
        f"{'95% cov':>8} {'80% w':>6}")
    groups = sorted({g for g, _ in stats if g != "(total)"})
    pooled: dict = defaultdict(lambda: defaultdict(list))
    for g in [*groups, "(all groups)", "(total)"]:
        rows = {m: pooled[m] if g == "(all groups)" else stats[(g, m)] for m in methods}
        if g == "(total)":
            rows = {m: stats[(g, m)] for m in methods if stats[(g, m)]["ape"]}
        if not rows or not rows[methods[0]]["ape"]:
            continue
        base = np.mean(rows["run-rate"]["ae"])
        for i, m in enumerate(rows):
            r = rows[m]
            cover = "       -        -       -" if np.all(np.isnan(r["in80"])) else \
                f"{100 * np.nanmean(r['in80']):7.0f}% {100 * np.nanmean(r['in95']):7.0f}% " \
                f"{np.nanmedian(r['w80']):6.2f}"
            out(f"{g[:20] if i == 0 else '':<20} {m:<9} {len(r['ape']):>4} "
                f"{100 * np.mean(r['ape']):6.1f}% {np.mean(r['ae']) / base:7.2f} {cover}")
        if g not in ("(all groups)", "(total)"):
            for m in methods:
                for k, v in rows[m].items():
                    pooled[m][k].extend(v)
    if misses:
        for line in sorted(pooled["costkit"]["misses"]):
            out(f"  {line}")
