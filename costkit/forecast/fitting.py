"""The statistics the forecast model's fit is made of, and their settings: the weekday
profile, spikes and level shifts, the weighted level and growth, and the noise's spread.
Pure numpy; `costkit.forecast.model` puts them together."""

from __future__ import annotations

import numpy as np

MIN_DAYS = 3                # days with spend needed before anything is forecast
SEASON_MIN_DAYS = 14        # two weeks (two days of each weekday) before a weekday profile
SHORT_DAYS = 28             # below four weeks: whole-week means and wider noise
SEASON_DAYS = 84            # the weekday profile uses at most the last 12 weeks
SHIFT_SEARCH_DAYS = 182     # level shifts are looked for in the last 26 weeks
SHIFT_MIN_BEFORE = 7        # a shift needs a week before it...
SHIFT_MIN_AFTER = 3         # ...and three days after it to be told from a spike
SHIFT_T = 5.0               # |t| of the step coefficient that counts as a shift
SHIFT_MIN_RATIO = 0.15      # and it must move the level by at least 15%
SHIFT_PRIOR_DAYS = 365.0    # before seeing the history: one level shift a year...
SHIFT_PRIOR_SD = 0.35       # ...moving the level by about exp(+-0.35), i.e. -30%/+42%
SPIKE_Z = 4.0               # robust z beyond which a day is a spike for the level fit
WINDOW_DAYS = 91            # the level/trend fit uses at most the last 13 weeks
HALF_LIFE_DAYS = 28.0       # weight of a day in the level/trend fit halves every 4 weeks...
MIN_HALF_LIFE_DAYS = 7.0    # ...or, for a level that wanders, as fast as every week
TREND_MIN_DAYS = 28         # no trend from less than four weeks
TREND_T = 2.0               # growth within this many standard errors of 0 is dropped
DAMPING = 0.995             # per-day damping of the growth
RESIDUAL_DAYS = 182         # the noise is resampled from at most the last 26 weeks
INACTIVE_FACTOR = 0.05      # weekdays below 5% of the mean are "closed" days
N_SIMS = 4000
TINY = 1e-9


def _weekly_profile(y: np.ndarray, dow: np.ndarray) -> tuple[np.ndarray, bool]:
    """Weekday factors (mean 1) shrunk towards 1; flat when the data cannot tell them apart."""
    flat = np.ones(7)
    n = len(y)
    if n < SEASON_MIN_DAYS:
        return flat, False
    if n < SHORT_DAYS:
        # Too short for centred means to be many: ratios to the mean of the whole weeks.
        whole = 7 * (n // 7)
        mean = float(y[-whole:].mean())
        if mean <= 0:
            return flat, False
        ratio, rdow = y[-whole:] / mean, dow[-whole:]
    else:
        ma = np.convolve(y, np.ones(7) / 7.0, mode="valid")      # centred at i + 3
        centre = np.arange(3, n - 3)
        ok = ma > 0
        ratio = y[centre][ok] / ma[ok]
        rdow = dow[centre][ok]
    if len(ratio) < 14:
        return flat, False
    raw, counts, within_ss = np.ones(7), np.zeros(7), 0.0
    # Spikes would swamp the noise estimate: winsorize the ratios for it (not for the medians).
    capped = np.clip(ratio, *np.quantile(ratio, [0.05, 0.95]))
    for d in range(7):
        r = ratio[rdow == d]
        counts[d] = len(r)
        if len(r):
            raw[d] = np.median(r)
            c = capped[rdow == d]
            within_ss += float(np.sum((c - c.mean()) ** 2))
    if np.any(counts < 2) or raw.mean() <= 0:
        return flat, False
    within = within_ss / float(np.sum(counts - 1))
    raw = raw / raw.mean()
    # A median of k > 2 draws has about pi/2 times the variance of their mean.
    efficiency = np.where(counts > 2, np.pi / 2.0, 1.0)
    se2 = float(np.mean(within * efficiency / counts))
    between = float(np.mean((raw - 1.0) ** 2))
    # Without a weekly cycle, between / se2 is about F(6, df)-distributed: a cycle must beat
    # its 99.5% point, so noise passes for a cycle about once in 200 histories.
    if between <= _f_critical(float(np.sum(counts - 1))) * se2:
        return flat, False
    weight = 1.0 - se2 / between
    factors = np.maximum(1.0 + weight * (raw - 1.0), 0.0)
    # Weekdays that were (nearly) always without spend stay closed, not shrunk to a trickle.
    factors[raw < INACTIVE_FACTOR] = 0.0
    return factors / factors.mean(), True


def _finite_mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else float("nan")


def _profile_fits(y: np.ndarray, dow: np.ndarray, weekly: np.ndarray) -> bool:
    """Whether `weekly` explains these days' ratios to their mean better than a flat week."""
    mean = float(y.mean())
    if mean <= 0:
        return False
    ratio = y / mean
    return float(np.sum((ratio - weekly[dow]) ** 2)) < float(np.sum((ratio - 1.0) ** 2))


# 99.5% points of F(6, df) by 1 / df (simulated once; F(6, inf) = chi2(6) / 6).
_F_INV_DF = np.array([0.0, 1 / 1000, 1 / 150, 1 / 70, 1 / 42, 1 / 28, 1 / 21, 1 / 14, 1 / 7])
_F_995 = np.array([3.09, 3.11, 3.25, 3.43, 3.69, 4.03, 4.39, 5.26, 9.12])


def _f_critical(df: float) -> float:
    return float(np.interp(1.0 / max(df, 7.0), _F_INV_DF, _F_995))


def _rolling(z: np.ndarray, width: int, stat) -> np.ndarray:
    """A centred rolling statistic, with windows truncated at the ends; NaN days are skipped."""
    half = width // 2
    padded = np.concatenate([np.full(half, np.nan), z, np.full(half, np.nan)])
    windows = np.lib.stride_tricks.sliding_window_view(padded, width)
    out = np.full(len(z), np.nan)
    some = np.any(np.isfinite(windows), axis=1)
    if np.any(some):
        out[some] = stat(windows[some], axis=1)
    return out


def _clip_spikes(z: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Replace days far above their neighbours' median by that median, for the level fit.

    Only upward: a batch job is a spike, while a quiet day may be a weekend the history is
    too short to have a weekly profile for.
    """
    ok = np.isfinite(z) & np.isfinite(ref) & (ref > 0)
    e = np.full(len(z), np.nan)
    e[ok] = z[ok] / ref[ok] - 1.0
    good = e[ok]
    if len(good) < 5:
        return z.copy(), np.zeros(len(z), dtype=bool)
    scale = 1.4826 * np.median(np.abs(good - np.median(good)))
    scale = max(scale, 0.02)
    spikes = ok & (np.nan_to_num(e) > SPIKE_Z * scale)
    zc = z.copy()
    zc[spikes] = ref[spikes]
    return zc, spikes


def _find_shift(z: np.ndarray) -> tuple[int, float] | None:
    """The most significant step (index where the new level starts, ratio) or None.

    Works in log terms, where growth at a steady rate is a straight line and a shift is a
    step: for every candidate day k, log z is regressed on a line plus a step starting at
    k; the step's t-statistic uses a robust (MAD) noise scale so spikes cannot fake one.
    """
    t_all = np.arange(len(z), dtype=np.float64)
    ok = np.isfinite(z)
    t, v = t_all[ok], z[ok]
    n = len(v)
    if n < SHIFT_MIN_BEFORE + SHIFT_MIN_AFTER or not np.any(v > 0):
        return None
    v = np.log(v + 0.05 * float(np.median(v[v > 0])))
    tc = (t - t.mean()) / max(float(t.std()), 1.0)
    x = np.column_stack([np.ones(n), tc])
    pinv = np.linalg.pinv(x)
    ks = np.arange(SHIFT_MIN_BEFORE, n - SHIFT_MIN_AFTER + 1)
    steps = (np.arange(n)[None, :] >= ks[:, None]).astype(np.float64)
    # Frisch-Waugh: the step's coefficient is its regression on what the line leaves over.
    e_step = steps - (steps @ x) @ pinv
    e_v = v - x @ (pinv @ v)
    ss = np.einsum("ij,ij->i", e_step, e_step)
    coef = (e_step @ e_v) / ss
    # Day-to-day differences give the noise scale: a step or a trend barely moves their MAD.
    diffs = np.diff(v)
    sigma = max(1.4826 * float(np.median(np.abs(diffs - np.median(diffs)))) / np.sqrt(2.0),
                1e-6)
    tstat = np.abs(coef) / (sigma / np.sqrt(ss))
    big = (tstat >= SHIFT_T) & (np.abs(np.expm1(coef)) >= SHIFT_MIN_RATIO)
    if not np.any(big):
        return None
    i = int(np.argmax(np.where(big, tstat, -np.inf)))
    return int(t[ks[i]]), float(np.exp(coef[i]))


def _half_life(drift_var: float, noise_var: float) -> float:
    """Days over which the level fit's weights halve: a local-level filter's steady-state
    gain for this drift-to-noise ratio q is (sqrt(q^2 + 4q) - q) / 2; between a week and
    HALF_LIFE_DAYS."""
    if drift_var <= 0 or noise_var <= 0:
        return HALF_LIFE_DAYS
    q = drift_var / noise_var
    # (sqrt(q^2 + 4q) - q) / 2 written without the cancellation that makes it 0 for huge q
    gain = 2.0 * q / (np.sqrt(q * q + 4.0 * q) + q)
    if gain >= 1.0:
        return MIN_HALF_LIFE_DAYS
    days = float(np.log(0.5) / np.log1p(-gain))
    return min(max(days, MIN_HALF_LIFE_DAYS), HALF_LIFE_DAYS)


def _level_growth(
    z: np.ndarray, short: bool, half_life: float = 28.0
) -> tuple[float, float, float, float, float, float, bool, int]:
    """Level at the last day and its se; log growth per day (shrunk, raw) and its se; the
    centroid (days before the last day); whether growth is kept; degrees of freedom.

    `short`: the history is too short to have tested for a weekly cycle, so the level is the
    plain mean of the last whole weeks, which a weekly cycle cannot bias.
    """
    if short and len(z) >= 7:
        z = z[len(z) - 7 * (len(z) // 7):]
    t_all = np.arange(len(z), dtype=np.float64) - (len(z) - 1)
    ok = np.isfinite(z)
    t, v = t_all[ok], z[ok]
    n = len(v)
    if n == 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, False, 1
    w = np.ones(n) if short else 0.5 ** (-t / half_life)
    growth, growth_raw, growth_se, trend = 0.0, 0.0, 0.0, False
    pos = v > 0
    if not short and pos.sum() >= TREND_MIN_DAYS and np.ptp(t[pos]) >= TREND_MIN_DAYS - 1:
        g, se = _log_slope(t[pos], np.log(v[pos]), w[pos])
        if se > 0:
            # Non-negative garrote: a growth rate k standard errors from zero keeps
            # 1 - (TREND_T / k)**2 of itself, so noise is not extrapolated while a clear
            # trend nearly is; the simulated growth spreads over what was shrunk away.
            keep = max(0.0, 1.0 - (TREND_T * se / g) ** 2) if g else 0.0
            growth, growth_raw, growth_se, trend = g * keep, g, se, keep > 0
    # Every day brought forward to the last one at the growth rate, then averaged.
    forward = v * np.exp(-growth * t)
    wsum = w.sum()
    level = float(np.sum(w * forward) / wsum)
    resid = forward - level
    sigma = float(np.std(resid, ddof=1)) if short and n > 1 else _robust_sd(resid, n)
    # Kish's effective sample size of the weights sets the standard error of the weighted mean.
    n_eff = wsum ** 2 / np.sum(w ** 2)
    centroid = float(-np.sum(w * t) / wsum)
    return (level, float(sigma / np.sqrt(n_eff)), float(growth), float(growth_raw),
            float(growth_se), centroid,
            trend, max(n - (2 if growth_se else 1), 1))


def _log_slope(t: np.ndarray, lv: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    """Weighted least-squares slope of log values on time, with a robust sandwich se."""
    x = np.column_stack([np.ones(len(t)), t])
    xtw = x.T * w
    inv = np.linalg.inv(xtw @ x)
    coef = inv @ (xtw @ lv)
    res = lv - x @ coef
    s2 = _robust_sd(res, len(t) - 1) ** 2
    cov = inv @ ((xtw * w) @ x) @ inv * s2
    return float(coef[1]), float(np.sqrt(cov[1, 1]))


def _robust_sd(resid: np.ndarray, n: int) -> float:
    """MAD-based sd, never below the plain sd of the middle of the data's scale."""
    if n <= 1:
        return float(abs(resid[0])) if len(resid) else 0.0
    mad = 1.4826 * float(np.median(np.abs(resid - np.median(resid))))
    sd = float(np.std(resid, ddof=1)) if len(resid) > 1 else 0.0
    # Tiny samples make the MAD erratic; the plain sd is the safer of the two there.
    return max(mad, sd) if n < 7 else mad


def _drift_variance(z: np.ndarray, residuals: np.ndarray) -> float:
    """Per-day random-walk variance of the level, relative to it (so x level**2 to use).

    From how much successive weekly means move in log terms beyond what daily noise explains:
    a history with level shifts or wandering volume gets wider intervals.
    """
    v = z[np.isfinite(z)]
    weeks = len(v) // 7
    if weeks < 3:
        return 0.0
    v = v[len(v) - weeks * 7:]
    means = v.reshape(weeks, 7).mean(axis=1)
    if np.any(means <= 0):
        return 0.0
    diffs = np.diff(np.log(means))
    noise = float(np.var(residuals))
    # Successive 7-day means of a daily random walk (variance q) differ by about 4.67 q,
    # plus the noise of two means of seven days.
    excess = float(np.var(diffs, ddof=1)) - 2.0 * noise / 7.0
    return max(excess, 0.0) / 4.67
