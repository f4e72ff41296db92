"""The statistical model behind `costkit forecast`: one daily series in, simulated futures out.

Pure numpy over float64: a forecast is an estimate, not a ledger (the exact Decimal money
lives in `costkit.forecast.projection`). The model is meant to be read and explained:

1. **Weekly profile.** With two weeks or more, each weekday's factor is the median ratio
   of that weekday to its centred 7-day mean (to the mean of the whole weeks, under four
   weeks), kept only when the weekdays differ clearly more than their noise (an F test),
   then shrunk towards 1 by that noise (empirical Bayes). After a level shift, the weeks
   since are checked again: a new mix of weekdays replaces the old one.
2. **Spikes.** A deseasonalised day far above its neighbours' median (robust z above 4)
   is set aside for fitting the level; its excess still counts in the noise the future is
   simulated with, so expected batch jobs are in the mean and the intervals.
3. **Level shifts.** In log terms (steady growth is a line there), the largest step in a
   line-plus-step regression over the last 26 weeks is a level shift when its
   t-statistic is large; the level is then fitted only on the days since (repeatedly, so
   the last shift wins).
4. **Level and growth.** Over the days since the last shift (at most 13 weeks, recent
   weeks weigh more), a weighted log-linear fit gives the growth rate, shrunk towards 0
   by its noise (dropped within 2 standard errors; the share shrunk away is the share of
   simulated futures that do not grow) and damped so multi-month horizons do not run
   away; the level is the weighted mean of the days brought forward to the last day at
   that rate. Under four weeks, the plain mean of the last whole weeks, no growth.
5. **Intervals.** Futures are simulated: the level and growth drawn from their sampling
   error (Student t for short histories), a random-walk drift sized from how weekly means
   wander, new level shifts at the rate and size the history shows (pooled with a prior
   of one a year), and each day's noise resampled from the history's own residuals.
   Quantiles of any sum of simulated days (a month, the horizon) are its intervals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
HALF_LIFE_DAYS = 28.0       # weight of a day in the level/trend fit halves every 4 weeks
TREND_MIN_DAYS = 28         # no trend from less than four weeks
TREND_T = 2.0               # growth within this many standard errors of 0 is dropped
DAMPING = 0.995             # per-day damping of the growth
RESIDUAL_DAYS = 182         # the noise is resampled from at most the last 26 weeks
INACTIVE_FACTOR = 0.05      # weekdays below 5% of the mean are "closed" days
N_SIMS = 4000
TINY = 1e-9


@dataclass(frozen=True)
class ModelFit:
    """What was learned from a history; every field is something the output can explain."""

    history_days: int                # days from the first day with spend to the last history day
    window_start: int                # index (into the trimmed history) the level was fitted from
    level: float                     # deseasonalised daily spend at the last history day
    level_se: float                  # its standard error
    growth: float                    # log growth per day; 0.0 when there is no trend
    growth_raw: float                # the estimate before shrinking
    growth_se: float                 # its standard error (also when no trend is kept)
    centroid: float                  # days before the last one where the level is best known
    trend: bool
    weekly: np.ndarray               # 7 factors, Monday first, mean 1
    seasonal: bool
    df: int                          # degrees of freedom for the level draw
    drift_var: float                 # random-walk variance of log level per day
    shift_rate: float                # chance per future day of a new level shift
    shift_sd: float                  # sd of a future shift's log ratio
    residuals: np.ndarray            # relative residuals the noise is drawn from
    uplift: float                    # what spike days added, as a share of the cleaned level
    spike_days: int
    shift_index: int | None          # first day of the last level shift, if any
    shift_ratio: float | None        # level after / level before
    first_weekday: int               # weekday (Mon=0) of trimmed day 0
    trimmed: int = 0                 # leading zero days dropped from the series given

    @property
    def window_days(self) -> int:
        return self.history_days - self.window_start

    def name(self) -> str:
        parts = ["level"]
        if self.trend:
            parts.append("damped trend")
        if self.seasonal:
            parts.append("weekly profile")
        return " + ".join(parts)

    def describe(self) -> str:
        """One sentence a user can check against their own history."""
        text = f"{self.name()} fitted on the last {self.window_days} of {self.history_days} days"
        if self.shift_index is not None and self.shift_ratio is not None:
            text += f", after a level shift (x{self.shift_ratio:.2f})"
        if self.trend:
            text += f"; growth {100 * np.expm1(30 * self.growth):+.0f}% a month"
        if self.seasonal:
            low = int(np.argmin(self.weekly))
            text += f"; lowest weekday {_WEEKDAYS[low]} x{self.weekly[low]:.2f}"
        if self.spike_days:
            text += f"; {self.spike_days} spike day(s) kept out of the level"
        return text


@dataclass(frozen=True)
class SeriesForecast:
    """The future of one series: the expected path and simulated paths for the intervals."""

    fit: ModelFit
    point: np.ndarray                # (horizon,) expected daily spend
    paths: np.ndarray = field(repr=False)  # (n_sims, horizon) simulated daily spend


_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class TooLittleHistory(ValueError):
    """Fewer than MIN_DAYS days with spend."""


def fit(y: np.ndarray, first_weekday: int) -> ModelFit:
    """Learn the model from a daily series whose day 0 falls on `first_weekday` (Mon=0)."""
    y = np.asarray(y, dtype=np.float64)
    if np.any(~np.isfinite(y)) or np.any(y < 0):
        raise ValueError("a daily series must be finite and non-negative")
    # Below a billionth of the currency a day is noise, not spend (and would overflow ratios).
    y = np.where(y < TINY, 0.0, y)
    spent = np.flatnonzero(y > 0)
    if len(spent) < MIN_DAYS:
        raise TooLittleHistory(f"{len(spent)} day(s) with spend; need at least {MIN_DAYS}")
    trimmed = int(spent[0])
    y = y[trimmed:]
    first_weekday = (first_weekday + trimmed) % 7
    n = len(y)
    dow = (first_weekday + np.arange(n)) % 7

    weekly, seasonal = _weekly_profile(y[-SEASON_DAYS:], dow[-SEASON_DAYS:])
    s = weekly[dow]
    active = s > INACTIVE_FACTOR
    z = np.full(n, np.nan)
    z[active] = y[active] / s[active]

    ref = _rolling(z, 7, np.nanmedian)
    zc, spikes = _clip_spikes(z, ref)

    search_from = max(0, n - SHIFT_SEARCH_DAYS)
    shift_index, shift_ratio = None, None
    start = search_from
    shifts, ratios = [], []
    while True:
        found = _find_shift(zc[start:])
        if found is None:
            break
        k, ratio = found
        shift_index = start + k
        shifts.append(shift_index)
        ratios.append(ratio)
        start = start + k
    if shift_index is not None:
        # Told to people as the plain ratio of the two weeks around it (the fit's own ratio
        # is in log terms, where a drop to nothing reads as a small factor, not zero).
        before = _finite_mean(zc[max(0, shift_index - 14): shift_index])
        after = _finite_mean(zc[shift_index: shift_index + 14])
        shift_ratio = after / before if before > 0 and after >= 0 else ratios[-1]
    window_start = max(shift_index or 0, n - WINDOW_DAYS)
    # A shift often changes the weekly mix too (a new project runs on weekends, say): with
    # two weeks since, a clear weekly profile of those weeks replaces the older one, and an
    # older one that fits them worse than none is dropped.
    noise_from = max(0, n - RESIDUAL_DAYS)
    if shift_index is not None and n - shift_index >= SEASON_MIN_DAYS:
        since_y, since_dow = y[shift_index:][-SEASON_DAYS:], dow[shift_index:][-SEASON_DAYS:]
        recent, recent_seasonal = _weekly_profile(since_y, since_dow)
        changed = recent_seasonal or (seasonal and not _profile_fits(since_y, since_dow, weekly))
        if changed:
            weekly, seasonal = recent, recent_seasonal
            s = weekly[dow]
            active = s > INACTIVE_FACTOR
            z = np.full(n, np.nan)
            z[active] = y[active] / s[active]
            zc, spikes = _clip_spikes(z, _rolling(z, 7, np.nanmedian))
            noise_from = max(noise_from, shift_index)

    level, level_se, growth, growth_raw, growth_se, centroid, trend, df = _level_growth(
        zc[window_start:], short=n < SHORT_DAYS)

    # Relative residuals: around a centred 7-day mean of the cleaned level, or around the
    # level itself when the history is too short to know its weekly cycle (which then counts
    # as noise). Spike days keep their spike, so spikes carry into the simulated futures.
    short = n < SHORT_DAYS
    local = np.full(n, level) if short else _rolling(zc, 7, np.nanmean)
    rel = np.full(n, np.nan)
    ok = active & (local > 0)
    rel[ok] = y[ok] / (local[ok] * s[ok]) - 1.0
    for k in shifts:                      # a mean straddling a step is not noise
        rel[max(k - 3, 0): k + 3] = np.nan
    keep = slice(noise_from, n)
    residuals = rel[keep]
    finite = np.isfinite(residuals)
    residuals = residuals[finite]
    if len(residuals) < 2:
        residuals = np.zeros(1)
    # Expected spikes: what the clipping took out, as a share of the cleaned level.
    removed = np.nansum((z - zc)[keep][finite])
    uplift = float(removed / np.nansum(zc[keep][finite])) if removed > 0 else 0.0
    # Centre the noise on the spike share; the day itself is one seventh of its centred mean,
    # which shrinks its deviation by sqrt(6/7), so widen it back.
    # Likewise a short history's weekday profile is fitted to the very days measured
    # against it (k of each weekday), which shrinks their squared deviations by (k-1)/k.
    k = n // 7
    widen = np.sqrt(k / (k - 1.0)) if short and seasonal else 1.0 if short \
        else np.sqrt(7.0 / 6.0)
    residuals = np.maximum(uplift + (residuals - residuals.mean()) * widen, -1.0)

    drift_var = _drift_variance(zc[search_from:], residuals)
    # Future level shifts (a project launches or ends): the history's own rate and size,
    # pooled with a prior of one shift a year of about +-40%.
    searched = n - search_from
    shift_rate = (len(shifts) + 1.0) / (searched + SHIFT_PRIOR_DAYS)
    shift_sd = float(np.sqrt((np.sum(np.log(ratios) ** 2) + SHIFT_PRIOR_SD ** 2)
                             / (len(ratios) + 1.0)))

    return ModelFit(
        history_days=n, window_start=window_start, level=level, level_se=level_se,
        growth=growth, growth_raw=growth_raw, growth_se=growth_se, centroid=centroid,
        trend=trend, weekly=weekly, seasonal=seasonal, df=df,
        drift_var=drift_var, shift_rate=shift_rate, shift_sd=shift_sd, residuals=residuals,
        uplift=uplift,
        spike_days=int(np.sum(spikes[window_start:])), shift_index=shift_index,
        shift_ratio=shift_ratio, first_weekday=first_weekday, trimmed=trimmed,
    )


def forecast(
    y: np.ndarray, first_weekday: int, horizon: int, n_sims: int = N_SIMS, seed: int = 0
) -> SeriesForecast:
    """Fit on `y` and forecast the next `horizon` days (n_sims=0: the expected path only)."""
    return simulate(fit(y, first_weekday), horizon, n_sims, seed)


def simulate(model: ModelFit, horizon: int, n_sims: int = N_SIMS, seed: int = 0) -> SeriesForecast:
    """The expected path and `n_sims` simulated paths for the `horizon` days after the history."""
    steps = np.arange(1, horizon + 1)
    damp = np.cumsum(DAMPING ** steps)
    dow = (model.first_weekday + model.history_days - 1 + steps) % 7
    season = model.weekly[dow]
    point = model.level * np.exp(model.growth * damp) * season * (1.0 + model.uplift)
    if n_sims <= 0 or horizon == 0:
        return SeriesForecast(model, point, np.zeros((max(n_sims, 0), horizon)))

    rng = np.random.default_rng(seed)
    shock = model.level_se * rng.standard_t(max(model.df, 1), size=(n_sims, 1))
    # Shrunk growth as a mixture: a `keep` share of futures grow at the estimate (give or
    # take its error), the rest do not grow; their mean is the expected path's growth.
    keep = model.growth / model.growth_raw if model.growth_raw else 0.0
    grows = rng.random((n_sims, 1)) < keep
    growth = np.where(grows, model.growth_raw
                      + model.growth_se * rng.standard_normal((n_sims, 1)), 0.0)
    # The level is best known at the fit's centroid; a different growth moves it at the end.
    level = np.maximum(model.level + shock, 0.0) \
        * np.exp((growth - model.growth) * model.centroid)
    # A mean-one random walk in log terms: volume that wanders (or shifts) after the history.
    q = model.drift_var
    drift = np.cumsum(rng.normal(-q / 2.0, np.sqrt(q), size=(n_sims, horizon)), axis=1)
    # New level shifts, mean one like the drift, so they widen the futures, not move them.
    tau = model.shift_sd
    jumps = np.where(rng.random((n_sims, horizon)) < model.shift_rate,
                     rng.normal(-tau * tau / 2.0, tau, size=(n_sims, horizon)), 0.0)
    drift = drift + np.cumsum(jumps, axis=1)
    sim_base = level * np.exp(growth * damp + drift)
    noise = rng.choice(model.residuals, size=(n_sims, horizon), replace=True)
    paths = sim_base * season * (1.0 + noise)
    return SeriesForecast(model, point, np.maximum(paths, 0.0))


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


def _level_growth(
    z: np.ndarray, short: bool
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
    w = np.ones(n) if short else 0.5 ** (-t / HALF_LIFE_DAYS)
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
