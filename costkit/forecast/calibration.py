"""Intervals calibrated on the series' own past: how wrong the model was on it, lately.

The model's intervals come from what it assumes about a series (noise, drift, shifts, spikes);
on a series that breaks an assumption (a level that wanders more than it shows within a few
weeks, heavier tails than it fits) they are too narrow, and the series' own history can tell.
Before forecasting, the model is refitted at up to CAL_ORIGINS past origins, CAL_STEP_DAYS
apart, each seeing only the days before it, and forecasts the next `hc` days (the horizon, at
most CAL_MAX_DAYS). Each origin's miss |actual - expected| of the sum is divided by the
half-width of that forecast's 80% interval, and separately of its 95% interval, on the side
the actual fell: a ratio above 1 is an actual outside that interval.

Each level gets its own factor, split-conformal style: the ceil((n + 1) p)-th smallest of the
n ratios (p = 0.8 or 0.95), which covers at least p of a next exchangeable origin; with too few
origins for that rank at 95%, the largest ratio. A median or MAD-like scale would not do: it
reads the middle of the misses, and heavy-tailed misses are wrong at the edges. Factors never
go below 1: overlapping windows of one series are evidence enough to widen, not to narrow.

Three cases where the plain rule misreads a series (found per group on the demo store and the
Azure trace, `python bench/forecast.py --groups`):
- A young series (five weeks of history, a month-end three weeks away) has no origin with both
  three weeks before it and the whole horizon after it, and was not calibrated at all. The
  windows are then shortened (to a week at least) until CAL_MIN_ORIGINS origins fit: a ratio
  is a miss over a half-width of the same window, so it carries over to a longer one, though
  a level that wanders shows less in a week.
- A series' first spike (the demo's data-pipeline, 60x its usual day once in October) made
  the origins whose window held it miss by 200 half-widths, and the factor widened every
  later interval 200 times (an 80% range of $2.85-$415 for a $3 month). The model now sees
  that spike and carries it in its simulated noise; so for an origin that had seen no spike,
  a spike day in its window counts as its expected day (the spike's excess is not a miss of
  the intervals), and the forecast says how many origins that touched.
- A group with fewer than CAL_MIN_ORIGINS origins of its own borrows the account's: its
  ratios are pooled with those of the total's forecast (`fallback`), which has the longest
  history; a group too young for the model takes the account's factors as they are.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from costkit.forecast import model as forecast_model

CAL_ORIGINS = 8        # past origins at most...
CAL_STEP_DAYS = 7      # ...this far apart
CAL_MAX_DAYS = 28      # the horizon they forecast: the real one, at most four weeks
CAL_MIN_DAYS = 21      # days of history an origin needs
CAL_MIN_ORIGINS = 3    # fewer than this: shorter windows, then the account's ratios too
CAL_MIN_WINDOW = 7     # the shortest window a young series is calibrated on
CAL_SIMS = 500
LEVELS = (0.80, 0.95)


@dataclass(frozen=True)
class Widening:
    """How much farther from the expected path the 80% and 95% edges of the futures go."""

    f80: float = 1.0
    f95: float = 1.0
    origins: int = 0       # past origins of the series' own behind it
    pooled: int = 0        # the account's origins pooled with them
    spiked: int = 0        # own origins whose first spike counted as its expected day

    @property
    def none(self) -> bool:
        return self.f80 == 1.0 and self.f95 == 1.0

    def describe(self) -> str:
        if self.f80 == self.f95:
            text = f"intervals x{self.f80:.2f} wider"
        else:
            text = f"80% intervals x{self.f80:.2f} and 95% x{self.f95:.2f} wider"
        if self.pooled:
            text += f" (with {self.pooled} past origin(s) of the account's)"
        if self.spiked:
            text += f" ({self.spiked} past origin(s) had not yet seen a spike: counted without it)"
        return text


def calibration_window(n: int, horizon: int) -> int:
    """Days each past origin forecasts: the horizon (at most CAL_MAX_DAYS), shortened (to
    CAL_MIN_WINDOW at least) when a series of `n` days leaves room for too few origins."""
    hc = min(horizon, CAL_MAX_DAYS)
    room = n - CAL_MIN_DAYS - CAL_STEP_DAYS * (CAL_MIN_ORIGINS - 1)
    return hc if room >= hc else max(room, min(hc, CAL_MIN_WINDOW))


def past_ratios(y: np.ndarray, first_weekday: int, horizon: int, since: int = 0,
                spikes: Sequence[int] = ()) -> tuple[np.ndarray, int]:
    """(origins, 2): each past origin's miss over its 80% and 95% half-widths (see above);
    and how many origins had a first spike counted as their expected day.

    `since`: where the last level shift the model found starts; an origin whose forecast
    days hold it, or which saw under two weeks of it, does not count (it missed because of
    the shift, which the model now knows about, not because its intervals are narrow).
    `spikes`: the days (into `y`) the model, fitted on all of it, sets aside as spikes."""
    n = len(y)
    hc = calibration_window(n, horizon)
    out = []
    spiked = 0
    for k in range(CAL_ORIGINS):
        t = n - hc - CAL_STEP_DAYS * k
        if t < CAL_MIN_DAYS:
            break
        if since and t - 14 < since <= t + hc:
            continue
        try:
            f = forecast_model.forecast(y[:t], first_weekday, hc, n_sims=CAL_SIMS, seed=k)
        except forecast_model.TooLittleHistory:
            break
        sums = f.paths.sum(axis=1)
        expected = float(f.point.sum())
        lo95, lo80, hi80, hi95 = np.quantile(sums, [0.025, 0.10, 0.90, 0.975])
        days = y[t:t + hc].copy()
        first = [d - t for d in spikes if t <= d < t + hc] if not f.fit.spike_index else []
        if first:
            days[first] = np.minimum(days[first], f.point[first])
            spiked += 1
        actual = float(days.sum())
        above = actual >= expected
        half80 = float(hi80 - expected if above else expected - lo80)
        half95 = float(hi95 - expected if above else expected - lo95)
        if half80 <= 1e-6 * max(abs(expected), forecast_model.TINY):
            continue    # no spread on that side to scale (a series of zeros): nothing to learn
        miss = abs(actual - expected)
        out.append([miss / half80, miss / max(half95, half80)])
    return np.array(out).reshape(-1, 2), spiked


def conformal(ratios: np.ndarray, level: float) -> float:
    """The ceil((n + 1) level)-th smallest ratio (the largest when n is too small for it)."""
    r = np.sort(ratios)
    k = math.ceil((len(r) + 1) * level)
    return float(r[min(k, len(r)) - 1])


def interval_scale(y: np.ndarray, first_weekday: int, horizon: int, since: int = 0,
                   spikes: Sequence[int] = (), fallback: np.ndarray | None = None
                   ) -> tuple[Widening, np.ndarray]:
    """The factors the simulated futures' 80% and 95% spreads are multiplied by, and the
    series' own ratios (a group's `fallback`: the account's, see above)."""
    own, spiked = past_ratios(np.asarray(y, dtype=np.float64), first_weekday, horizon, since,
                              spikes)
    return factors(own, fallback, spiked), own


def factors(own: np.ndarray, fallback: np.ndarray | None = None, spiked: int = 0) -> Widening:
    """The Widening from a series' own ratios, pooled with `fallback` when they are few."""
    r = own
    pooled = 0
    if fallback is not None and len(own) < CAL_MIN_ORIGINS and len(fallback):
        r = np.vstack([own.reshape(-1, 2), fallback.reshape(-1, 2)])
        pooled = len(fallback)
    if not len(r):
        return Widening()
    f80 = max(1.0, conformal(r[:, 0], LEVELS[0]))
    f95 = max(1.0, conformal(r[:, 1], LEVELS[1]))
    # Tails at least as heavy as the 80% edge says: a 95% interval is never widened less.
    f95 = max(f95, f80)
    return Widening(f80, f95, len(own), pooled, spiked)


def widen(point: np.ndarray, paths: np.ndarray, w: Widening) -> np.ndarray:
    """`paths` whose sums are spread farther from the expected sum: f80 times up to the 80%
    edge of the horizon sums, f95 times at and beyond the 95% edge, linearly in between (on
    each side); no day below 0.

    Each path's days move away from the expected days by the path's factor. On a spiky series
    of mostly quiet days that alone would clip the quiet days at 0 and keep the amplified
    spikes, pushing a low path's sum up instead of down (its interval would not widen where
    it missed); so a clipped path is then multiplied through to land on its widened sum."""
    if w.none or not paths.size:
        return paths
    sums = paths.sum(axis=1)
    expected = float(point.sum())
    dev = sums - expected
    lo95, lo80, hi80, hi95 = np.quantile(dev, [0.025, 0.10, 0.90, 0.975])
    moved = np.empty_like(dev)
    for side, h80, h95 in ((dev >= 0, hi80, hi95), (dev < 0, -lo80, -lo95)):
        a = np.abs(dev[side])
        h80 = max(float(h80), 1e-12)
        h95 = max(float(h95), h80 * (1 + 1e-9))
        # The 95% edge is kept beyond the 80% one, so the order of the paths is kept.
        f95 = max(w.f95, w.f80 * h80 / h95)
        moved[side] = np.sign(dev[side]) * np.where(
            a >= h95, f95 * a, np.interp(a, [0.0, h80, h95], [0.0, w.f80 * h80, f95 * h95]))
    scale = np.divide(moved, dev, out=np.full_like(dev, w.f80), where=dev != 0)
    wide = np.maximum(point[None, :] + scale[:, None] * (paths - point[None, :]), 0.0)
    target = np.maximum(expected + moved, 0.0)
    got = wide.sum(axis=1)
    return wide * np.divide(target, got, out=np.ones_like(got), where=got > 0)[:, None]
