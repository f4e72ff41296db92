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

from costkit.forecast.fitting import (  # noqa: F401 (re-exported: the model's knobs)
    DAMPING,
    HALF_LIFE_DAYS,
    INACTIVE_FACTOR,
    MIN_DAYS,
    N_SIMS,
    RESIDUAL_DAYS,
    SEASON_DAYS,
    SEASON_MIN_DAYS,
    SHIFT_MIN_AFTER,
    SHIFT_MIN_BEFORE,
    SHIFT_MIN_RATIO,
    SHIFT_PRIOR_DAYS,
    SHIFT_PRIOR_SD,
    SHIFT_SEARCH_DAYS,
    SHIFT_T,
    SHORT_DAYS,
    SPIKE_Z,
    TINY,
    TREND_MIN_DAYS,
    TREND_T,
    WINDOW_DAYS,
    _clip_spikes,
    _drift_variance,
    _f_critical,
    _find_shift,
    _finite_mean,
    _half_life,
    _level_growth,
    _log_slope,
    _profile_fits,
    _robust_sd,
    _rolling,
    _weekly_profile,
)


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
    spike_index: tuple[int, ...] = ()  # the spike days (into the trimmed history), all of them

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

    short = n < SHORT_DAYS
    if short:
        level, level_se, growth, growth_raw, growth_se, centroid, trend, df = _level_growth(
            zc[window_start:], short=True)

    # Relative residuals: around a centred 7-day mean of the cleaned level, or around the
    # level itself when the history is too short to know its weekly cycle (which then counts
    # as noise). Spike days keep their spike, so spikes carry into the simulated futures.
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
    if not short:
        # A level that wanders is followed more closely: the weights halve as fast as a
        # local-level (Kalman) filter's would for this drift against this noise, never
        # faster than a week (the weekly cycle) nor slower than HALF_LIFE_DAYS.
        level, level_se, growth, growth_raw, growth_se, centroid, trend, df = _level_growth(
            zc[window_start:], short=False,
            half_life=_half_life(drift_var, float(np.var(residuals))))
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
        spike_index=tuple(int(i) for i in np.flatnonzero(spikes)),
    )


def forecast(
    y: np.ndarray, first_weekday: int, horizon: int, n_sims: int = N_SIMS, seed: int = 0
) -> SeriesForecast:
    """Fit on `y` and forecast the next `horizon` days (n_sims=0: the expected path only)."""
    model = fit(y, first_weekday)
    out = simulate(model, horizon, n_sims, seed)
    if model.shift_index is None or model.level > TINY or horizon == 0:
        return out
    return _resuming(out, np.asarray(y, dtype=np.float64), seed)


def _resuming(out: SeriesForecast, y: np.ndarray, seed: int) -> SeriesForecast:
    """The futures of a series whose last level shift was to nothing (a service that went
    quiet), when its history shows quiet days that ended before: it starts again at the rate
    its own quiet days ended (restarts / quiet days, over the 26 weeks before the stop), and
    then spends like its last four weeks before the stop (resampled, quiet days included).
    A series that never paused before stays stopped.

    Without this the model was sure a bursty series stays at zero: every simulated day 0, an
    interval of no width, which no calibration can widen (on the Azure trace's bursty code
    service a month's 80% range was $0.49-$0.49 for an actual $1.32, at six of 30 origins)."""
    model = out.fit
    assert model.shift_index is not None
    stop = model.trimmed + model.shift_index
    past = y[max(model.trimmed, stop - SHIFT_SEARCH_DAYS):stop]
    quiet = past <= TINY
    restarts = int(np.sum(quiet[:-1] & ~quiet[1:]))
    before = past[-28:]
    if not restarts or before.mean() <= TINY:
        return out
    h = len(out.point)
    p = min(restarts / int(quiet.sum()), 1.0)
    # The chance it has started again by each future day; in the expected path too, so the
    # expected sum stays the mean of the simulated ones.
    started = 1.0 - (1.0 - p) ** np.arange(1, h + 1)
    point = out.point + started * float(before.mean())
    n_sims = len(out.paths)
    if not n_sims:
        return SeriesForecast(model, point, out.paths)
    rng = np.random.default_rng([seed, 1])
    again = rng.geometric(p, size=(n_sims, 1))
    days = rng.choice(before, size=(n_sims, h), replace=True)
    paths = np.where(np.arange(1, h + 1)[None, :] >= again, out.paths + days, out.paths)
    return SeriesForecast(model, point, paths)


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
