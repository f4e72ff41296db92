"""The forecasting model on generated daily series: what it learns and what it predicts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costkit.forecast import model as fm


def lognormal(rng, n, sigma=0.15):
    return np.exp(rng.normal(-sigma * sigma / 2, sigma, n))


WEEK = np.array([1.1, 1.15, 1.15, 1.1, 1.0, 0.3, 0.25])   # Monday first
WEEK = WEEK / WEEK.mean()


def test_fewer_than_three_days_with_spend_is_refused():
    with pytest.raises(fm.TooLittleHistory, match="2 day"):
        fm.fit(np.array([0.0, 5.0, 0.0, 7.0]), 0)
    with pytest.raises(fm.TooLittleHistory, match="0 day"):
        fm.fit(np.zeros(30), 0)


@pytest.mark.parametrize("bad", [[1.0, -2.0, 3.0, 4.0], [1.0, np.nan, 3.0, 4.0],
                                 [1.0, np.inf, 3.0, 4.0]])
def test_negative_or_non_finite_days_are_an_error(bad):
    with pytest.raises(ValueError, match="finite and non-negative"):
        fm.fit(np.array(bad), 0)


def test_three_days_are_enough_and_forecast_their_mean():
    f = fm.forecast(np.array([10.0, 12.0, 14.0]), 2, horizon=5, n_sims=500)
    assert f.fit.history_days == 3
    assert not f.fit.trend and not f.fit.seasonal
    np.testing.assert_allclose(f.point, 12.0)
    assert f.paths.shape == (500, 5)


def test_leading_days_without_spend_are_not_history():
    y = np.concatenate([np.zeros(10), np.full(20, 50.0)])
    fit = fm.fit(y, 0)
    assert fit.trimmed == 10
    assert fit.history_days == 20
    assert fit.first_weekday == 10 % 7


def test_flat_noise_keeps_a_plain_level():
    rng = np.random.default_rng(1)
    y = 100 * lognormal(rng, 120)
    f = fm.forecast(y, 0, horizon=30, n_sims=2000)
    assert f.fit.name() == "level"
    assert f.fit.shift_index is None
    assert f.point.mean() == pytest.approx(100, rel=0.05)
    sums = f.paths.sum(axis=1)
    low, high = np.quantile(sums, [0.025, 0.975])
    assert low < 3000 < high
    assert high - low < 0.4 * 3000


def test_weekly_cycle_is_learned_and_shapes_the_future():
    rng = np.random.default_rng(2)
    n = 84
    y = 200 * WEEK[np.arange(n) % 7] * lognormal(rng, n, 0.1)
    f = fm.forecast(y, 0, horizon=14, n_sims=0)
    assert f.fit.seasonal
    assert f.fit.weekly[5] < 0.45 and f.fit.weekly[6] < 0.45
    assert f.fit.weekly[:5].min() > 1.0
    # Day 84 is a Monday: the forecast's Saturday and Sunday sit far below its weekdays.
    future_dow = (np.arange(84, 98)) % 7
    weekend = f.point[(future_dow == 5) | (future_dow == 6)]
    weekdays = f.point[future_dow < 5]
    assert weekend.max() < 0.5 * weekdays.min()
    assert f.point[:7].sum() == pytest.approx(1400, rel=0.06)
    assert "lowest weekday" in f.fit.describe()


def test_a_flat_series_gets_no_weekly_profile():
    rng = np.random.default_rng(3)
    for seed in range(5):
        y = 50 * lognormal(np.random.default_rng(seed + 10), 91, 0.25)
        assert not fm.fit(y, int(rng.integers(7))).seasonal


def test_growth_is_found_and_extrapolated():
    rng = np.random.default_rng(4)
    n = 120
    y = 100 * np.exp(0.01 * np.arange(n)) * lognormal(rng, n, 0.1)
    f = fm.forecast(y, 0, horizon=30, n_sims=2000)
    assert f.fit.trend
    assert f.fit.growth == pytest.approx(0.01, abs=0.002)
    truth = 100 * np.exp(0.01 * np.arange(n, n + 30))
    assert f.point.sum() == pytest.approx(truth.sum(), rel=0.08)
    assert f.point[-1] > f.point[0] * 1.2
    assert "growth +" in f.fit.describe()


def test_decline_is_found_too():
    rng = np.random.default_rng(5)
    n = 100
    y = 300 * np.exp(-0.008 * np.arange(n)) * lognormal(rng, n, 0.1)
    fit = fm.fit(y, 3)
    assert fit.trend and fit.growth < -0.005


def test_level_shift_restarts_the_level():
    rng = np.random.default_rng(6)
    n = 150
    y = 80 * lognormal(rng, n, 0.12)
    y[120:] *= 2.0
    f = fm.forecast(y, 0, horizon=20, n_sims=0)
    assert f.fit.shift_index is not None
    assert abs(f.fit.shift_index - 120) <= 2
    assert f.fit.shift_ratio == pytest.approx(2.0, rel=0.15)
    assert f.fit.window_start == f.fit.shift_index
    assert f.point.mean() == pytest.approx(160, rel=0.08)
    assert "level shift (x2" in f.fit.describe() or "level shift (x1.9" in f.fit.describe()


def test_a_downward_shift_a_few_days_old_is_found():
    rng = np.random.default_rng(7)
    y = 500 * lognormal(rng, 100, 0.08)
    y[95:] *= 0.4
    fit = fm.fit(y, 0)
    assert fit.shift_index is not None and 93 <= fit.shift_index <= 96
    assert fit.level == pytest.approx(200, rel=0.15)


def test_growth_is_not_mistaken_for_level_shifts():
    rng = np.random.default_rng(8)
    n = 180
    y = 50 * np.exp(0.012 * np.arange(n)) * lognormal(rng, n, 0.1)
    fit = fm.fit(y, 0)
    assert fit.shift_index is None
    assert fit.trend


def test_spikes_stay_out_of_the_level_but_in_the_mean():
    rng = np.random.default_rng(9)
    n = 120
    base = 100 * lognormal(rng, n, 0.1)
    y = base.copy()
    spike_days = [20, 47, 75, 101]
    y[spike_days] += 1000
    f = fm.forecast(y, 0, horizon=30, n_sims=2000)
    assert f.fit.spike_days >= 3
    assert f.fit.level == pytest.approx(100, rel=0.06)
    # Four spikes of 1000 in 120 days is about +33 a day on a level of 100.
    assert f.fit.uplift == pytest.approx(0.33, abs=0.08)
    assert f.paths.sum(axis=1).mean() == pytest.approx(f.point.sum(), rel=0.05)
    high = np.quantile(f.paths.sum(axis=1), 0.975)
    assert high > 3000 + 1000                     # a future spike is inside the 95% band


def test_a_week_of_history_uses_its_plain_mean():
    y = np.array([120.0, 130, 125, 118, 110, 30, 25])     # one week with a weekend
    f = fm.forecast(y, 0, horizon=24, n_sims=2000)
    assert not f.fit.seasonal and not f.fit.trend and f.fit.spike_days == 0
    np.testing.assert_allclose(f.point, y.mean())
    low, high = np.quantile(f.paths.sum(axis=1), [0.025, 0.975])
    # A week cannot tell its own weekly cycle: the interval must be honest about that.
    assert (high - low) / (24 * y.mean()) > 0.2


def test_two_weeks_with_a_clear_cycle_get_a_weekly_profile():
    rng = np.random.default_rng(10)
    y = 100 * WEEK[np.arange(14) % 7] * lognormal(rng, 14, 0.05)
    fit = fm.fit(y, 0)
    assert fit.seasonal
    assert fit.weekly[6] < 0.5


def test_no_trend_under_four_weeks():
    y = 100 * np.exp(0.03 * np.arange(20))
    assert not fm.fit(y, 0).trend


def test_closed_days_are_forecast_as_closed():
    rng = np.random.default_rng(11)
    n = 70
    week = np.array([1, 1, 1, 1, 1, 0, 0], dtype=float)
    y = 100 * week[np.arange(n) % 7] * lognormal(rng, n, 0.1)
    f = fm.forecast(y, 0, horizon=14, n_sims=500)
    dow = np.arange(n, n + 14) % 7
    assert np.all(f.point[dow >= 5] == 0)
    assert np.all(f.paths[:, dow >= 5] == 0)
    assert f.point[dow < 5].mean() == pytest.approx(100, rel=0.08)


def test_simulations_are_seeded_and_non_negative():
    rng = np.random.default_rng(12)
    y = 10 * lognormal(rng, 60, 0.6)
    a = fm.forecast(y, 1, horizon=10, n_sims=300, seed=7)
    b = fm.forecast(y, 1, horizon=10, n_sims=300, seed=7)
    c = fm.forecast(y, 1, horizon=10, n_sims=300, seed=8)
    np.testing.assert_array_equal(a.paths, b.paths)
    assert not np.array_equal(a.paths, c.paths)
    assert (a.paths >= 0).all()


def test_the_simulated_mean_matches_the_expected_path():
    rng = np.random.default_rng(13)
    n = 150
    y = 40 * WEEK[np.arange(n) % 7] * np.exp(0.004 * np.arange(n)) * lognormal(rng, n, 0.2)
    f = fm.forecast(y, 0, horizon=31, n_sims=8000)
    assert f.paths.mean(axis=0).sum() == pytest.approx(f.point.sum(), rel=0.03)


BACKTESTS = 400
Z_975 = 1.959964          # the standard normal's 97.5% quantile
SHIFT_PER_DAY = 1 / 365   # how often spend jumps to a new level, as the model assumes...
SHIFT_SD = 0.35           # ...and by how much (log ratio; see costkit/forecast_model.py)


def coverage_band(nominal: float, n: int) -> tuple[float, float]:
    """Where the share of `n` independent intervals that cover falls, if each covers with
    probability `nominal`, but for a 3-standard-deviation fluke (binomial)."""
    sd = math.sqrt(nominal * (1 - nominal) / n)
    return nominal - 3 * sd, nominal + 3 * sd


def shifts(rng, n: int) -> np.ndarray:
    """Mean-one level multipliers: a jump of lognormal size on a day with chance
    SHIFT_PER_DAY, each jump kept from then on."""
    jumps = np.where(rng.random(n) < SHIFT_PER_DAY,
                     rng.normal(-SHIFT_SD ** 2 / 2, SHIFT_SD, n), 0.0)
    return np.exp(np.cumsum(jumps, axis=-1))


def backtest(rng, make_series):
    """30-day sums after 90 days of history: (share covered by the 95% interval, widths)."""
    covered, widths = [], []
    for _ in range(BACKTESTS):
        y = make_series(rng)
        f = fm.forecast(y[:90], 0, horizon=30, n_sims=1000, seed=int(rng.integers(1000)))
        low, high = np.quantile(f.paths.sum(axis=1), [0.025, 0.975])
        covered.append(low <= y[90:].sum() <= high)
        widths.append(high - low)
    return float(np.mean(covered)), np.array(widths)


def test_95_percent_intervals_cover_95_percent_of_series_that_behave_as_assumed():
    """A fixed-seed backtest on series made the way the model says spend behaves: a weekly
    cycle, lognormal daily noise, a level shift about once a year; any scale and noise. The
    95% intervals must cover the true 30-day sum about 95% of the time: not less (too
    narrow), and not always (an interval of any width at all would)."""
    def series(rng):
        n, scale, sigma = 120, rng.uniform(10, 1000), rng.uniform(0.1, 0.3)
        return scale * shifts(rng, n) * WEEK[np.arange(n) % 7] * lognormal(rng, n, sigma)

    coverage, _ = backtest(np.random.default_rng(14), series)
    low, high = coverage_band(0.95, BACKTESTS)                 # 0.917 .. 0.983
    assert low <= coverage <= high, coverage


def test_95_percent_intervals_are_as_wide_as_the_known_noise_needs():
    """A level of 100 with lognormal daily noise of sigma 0.2 (mean one), nothing else.
    A 30-day sum has variance 30 x 100^2 x (e^(sigma^2) - 1), and a level known only from
    the mean of the 90 days adds 30^2 x 100^2 x (e^(sigma^2) - 1) / 90: no honest 95%
    interval is narrower than 2 x 1.96 standard deviations of both, 500.8. The model also
    allows for a level shift about once a year, which on its own widens that interval to
    about 639 (simulated here, without the model); its intervals may be a quarter wider
    than that (its level window is shorter than 90 days, and volume may drift), no more."""
    level, sigma = 100.0, 0.2
    _, widths = backtest(np.random.default_rng(16),
                         lambda rng: level * lognormal(rng, 120, sigma))
    relative_var = math.exp(sigma ** 2) - 1
    honest = 2 * Z_975 * level * math.sqrt(relative_var * (30 + 30 ** 2 / 90))
    assert honest == pytest.approx(500.8, abs=0.1)
    rng = np.random.default_rng(0)
    n = 200_000
    known_level = level + rng.normal(0, level * math.sqrt(relative_var / 90), (n, 1))
    sums = (known_level * shifts(rng, (n, 30)) * lognormal(rng, (n, 30), sigma)).sum(axis=1)
    with_shifts = float(np.diff(np.quantile(sums, [0.025, 0.975]))[0])
    assert with_shifts == pytest.approx(639, rel=0.02)
    assert honest <= np.median(widths) <= 1.25 * with_shifts, np.median(widths)


def test_spend_that_stopped_is_forecast_as_stopped():
    rng = np.random.default_rng(15)
    y = np.concatenate([100 * lognormal(rng, 60), np.zeros(40)])
    f = fm.forecast(y, 0, horizon=30, n_sims=500)
    assert f.fit.shift_index is not None
    assert f.point.sum() < 1.0
    assert np.quantile(f.paths.sum(axis=1), 0.975) < 100


day_spend = st.one_of(st.just(0.0), st.floats(min_value=0.0, max_value=1e7,
                                                allow_nan=False, allow_infinity=False))


@settings(max_examples=150, deadline=None)
@given(y=st.lists(day_spend, min_size=1, max_size=200), weekday=st.integers(0, 6),
       horizon=st.integers(0, 40), blocks=st.lists(st.tuples(st.integers(0, 199),
                                                              st.integers(1, 60)), max_size=3))
def test_any_series_gives_finite_non_negative_futures(y, weekday, horizon, blocks):
    y = np.array(y)
    for start, length in blocks:            # runs of idle days, like weekends off or outages
        y[start:start + length] = 0.0
    try:
        f = fm.forecast(y, weekday, horizon, n_sims=50)
    except fm.TooLittleHistory:
        assert np.count_nonzero(y >= fm.TINY) < fm.MIN_DAYS
        return
    assert f.point.shape == (horizon,) and f.paths.shape == (50, horizon)
    assert np.isfinite(f.point).all() and np.isfinite(f.paths).all()
    assert (f.point >= 0).all() and (f.paths >= 0).all()
    assert f.fit.describe()


def test_the_level_half_life_follows_the_drift_to_noise_ratio():
    from costkit.forecast.fitting import _half_life

    # No drift, or one too small to register: the steady four weeks.
    assert fm.HALF_LIFE_DAYS == 28.0
    assert _half_life(0.0, 1.0) == 28.0
    assert _half_life(1e-300, 1.0) == 28.0
    # q = 0.002451: gain (sqrt(q^2 + 4q) - q) / 2 = (0.099048 - 0.002451) / 2 = 0.048299,
    # half-life ln 0.5 / ln(1 - 0.048299) = -0.693147 / -0.049505 = 14.0 days.
    assert _half_life(0.002451, 1.0) == pytest.approx(14.0, abs=0.01)
    # A level that wanders as much as the days vary: never faster than a week; nor when the
    # days barely vary at all (q = 1e17 once lost the gain to cancellation: 0, not 1).
    assert _half_life(1.0, 1.0) == 7.0
    assert _half_life(1.0, 1e-17) == 7.0


def test_a_bursty_series_that_went_quiet_may_start_again_at_its_own_restart_rate():
    # Twelve bursts of 6 days at 100 and 4 quiet days, then 6 quiet days: the model reads a
    # level shift to nothing at day 116 (the last quiet stretch). Before it, 11 quiet runs of
    # 4 days each ended: 11 restarts in 44 quiet days, p = 0.25 a day. The last four weeks
    # before the stop (days 88..115) hold 18 days of 100 (2 + 4 + 4 quiet days): mean
    # 1800 / 28 = 64.2857. The expected day d is (1 - 0.75^d) x 64.2857: day 1 16.0714,
    # day 2 28.125; the 14 days sum to 64.2857 x (14 - 3 x (1 - 0.75^14)) = 710.579.
    # (Before: every simulated day 0, an interval of no width.)
    y = np.concatenate([np.concatenate([np.full(6, 100.0), np.zeros(4)])] * 12 + [np.zeros(6)])
    f = fm.forecast(y, 0, horizon=14, n_sims=2000, seed=1)
    assert f.fit.shift_index == 116 and f.fit.level == 0.0
    assert f.point[:2] == pytest.approx([16.0714, 28.125], abs=1e-4)
    assert f.point.sum() == pytest.approx(710.579, abs=1e-3)
    sums = f.paths.sum(axis=1)
    # The simulated sums average the expected one (2000 paths: within a few percent).
    assert sums.mean() == pytest.approx(710.579, rel=0.05)
    low, high = np.quantile(sums, [0.10, 0.90])
    assert low < 400 < 900 < high
