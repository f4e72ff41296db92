"""Intervals calibrated on the series' own past: how wrong the model was on it, lately.

The model's intervals come from what it assumes about a series (noise, drift, shifts, spikes);
on a series that breaks an assumption (a level that wanders more than it shows within a few
weeks, say) they are too narrow, and the series' own history can tell. Before forecasting,
the model is refitted at up to CAL_ORIGINS past origins, a week apart, each seeing only the
days before it, and forecasts the next `hc` days (the horizon, at most CAL_MAX_DAYS). Each
origin's actual sum is put on a common scale, z = 1.2816 at the edge of that forecast's 80%
interval (below or above, whichever side the actual fell), so z is standard normal when the
intervals are right.

The spread of the simulated futures is then multiplied by the robust scale of those z (their
median absolute value over its standard-normal value 0.6745, so one freak day cannot set it),
shrunk towards 1 as if CAL_PRIOR more origins had been exactly right, and never below 1: a
handful of overlapping windows is evidence enough to widen intervals, not to narrow them.
"""

from __future__ import annotations

import numpy as np

from costkit.forecast import model as forecast_model

CAL_ORIGINS = 8        # past origins at most...
CAL_STEP_DAYS = 7      # ...a week apart
CAL_MAX_DAYS = 28      # the horizon they forecast: the real one, at most four weeks
CAL_MIN_DAYS = 21      # days of history an origin needs
CAL_SIMS = 500
CAL_PRIOR = 2.0        # pseudo-origins at which the intervals were right
Z80 = 1.2816           # standard normal 90% point: the edge of an 80% interval
MAD_Z = 0.6745         # median |z| of a standard normal


def past_scores(y: np.ndarray, first_weekday: int, horizon: int, since: int = 0
                ) -> np.ndarray:
    """z of each past origin's actual against its forecast's 80% interval (see above).

    `since`: where the last level shift the model found starts; an origin whose forecast
    days hold it, or which saw under two weeks of it, does not count (it missed because of
    the shift, which the model now knows about, not because its intervals are narrow)."""
    hc = min(horizon, CAL_MAX_DAYS)
    n = len(y)
    out = []
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
        low, high = np.quantile(sums, [0.10, 0.90])
        actual = float(y[t:t + hc].sum())
        half = (high - expected) if actual >= expected else (expected - low)
        scale = max(float(half), 1e-6 * max(abs(expected), forecast_model.TINY))
        out.append(Z80 * (actual - expected) / scale)
    return np.array(out)


def interval_scale(y: np.ndarray, first_weekday: int, horizon: int, since: int = 0) -> float:
    """The factor the simulated futures' spread around the expected path is multiplied by."""
    z = past_scores(np.asarray(y, dtype=np.float64), first_weekday, horizon, since)
    if not len(z):
        return 1.0
    robust = float(np.median(np.abs(z))) / MAD_Z
    return max(1.0, (len(z) * robust + CAL_PRIOR) / (len(z) + CAL_PRIOR))


def widen(point: np.ndarray, paths: np.ndarray, factor: float) -> np.ndarray:
    """`paths` spread `factor` times as far from `point` (never below nothing)."""
    if factor == 1.0 or not paths.size:
        return paths
    return np.maximum(point[None, :] + factor * (paths - point[None, :]), 0.0)
