"""Interval calibration on series with known noise (fixed seeds): 80% intervals of a 14-day
sum cover about 80% of the actual sums.

80 series each; a binomial share of 80 draws at p = 0.8 has a standard deviation of
sqrt(0.8 x 0.2 / 80) = 4.5 points, so the band 70%..92% is about -2.2..+2.7 of them (a
well-calibrated method fails it about 2% of the time; with fixed seeds it is deterministic).
"""

from __future__ import annotations

import numpy as np
import pytest

from costkit.forecast import calibration
from costkit.forecast import model as fm

N, H, SERIES = 140, 14, 80


def iid(rng: np.random.Generator) -> np.ndarray:
    """Level 100, independent lognormal days (sigma 0.25, mean one)."""
    return 100 * np.exp(rng.normal(-0.25 ** 2 / 2, 0.25, N + H))


def bursty(rng: np.random.Generator) -> np.ndarray:
    """Spend on 40% of days only, heavy-tailed when it comes (lognormal, sigma 1, mean 100)."""
    return np.where(rng.random(N + H) < 0.4, 100 * np.exp(rng.normal(-0.5, 1.0, N + H)), 0.0)


def walk(rng: np.random.Generator) -> np.ndarray:
    """A level that wanders: a log random walk of 0.04 a day under day noise of 0.1."""
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.04, N + H)) + rng.normal(0, 0.1, N + H))


def coverage(make) -> tuple[float, float]:
    inside80 = inside95 = 0
    for s in range(SERIES):
        y = make(np.random.default_rng(1000 + s))
        f = fm.forecast(y[:N], 0, H, n_sims=1000, seed=s)
        factor, _ = calibration.interval_scale(y[:N], 0, H)
        sums = calibration.widen(f.point, f.paths, factor).sum(axis=1)
        low80, high80, low95, high95 = np.quantile(sums, [0.10, 0.90, 0.025, 0.975])
        actual = y[N:].sum()
        inside80 += low80 <= actual <= high80
        inside95 += low95 <= actual <= high95
    return inside80 / SERIES, inside95 / SERIES


@pytest.mark.parametrize("make", [iid, walk], ids=["independent days", "wandering level"])
def test_80_percent_intervals_cover_about_80_percent(make):
    c80, c95 = coverage(make)
    assert 0.70 <= c80 <= 0.92, c80
    assert c95 >= 0.88, c95


def test_heavy_tailed_bursty_days_are_calibrated_too():
    # Days that are mostly quiet with heavy-tailed bursts: the model's own 80% intervals of a
    # 14-day sum, widened by the median-based scale used before, covered 62.5% of 80 series
    # (outside 70%..92%); the misses' own 80th percentile, and paths widened so a quiet day
    # clipped at 0 cannot push a low sum back up, bring it inside.
    c80, c95 = coverage(bursty)
    assert 0.70 <= c80 <= 0.92, c80
    assert c95 >= 0.85, c95


def test_a_wandering_level_widens_the_intervals_and_steady_noise_barely():
    wandering = [calibration.interval_scale(walk(np.random.default_rng(s))[:N], 0, H)[0].f80
                 for s in range(10)]
    steady = [calibration.interval_scale(iid(np.random.default_rng(s))[:N], 0, H)[0].f80
              for s in range(10)]
    # Never narrower; on series the model describes exactly, mostly left alone. (Below 1.05
    # under the median-based scale used before; with 8 origins the conformal rank is their
    # largest miss, which costs steady series a little: the median is now 1.05.)
    assert min(steady) >= 1.0 and np.median(steady) < 1.1
    assert np.median(wandering) > 1.1


def test_a_short_history_is_calibrated_on_shorter_windows():
    # 27 days leave no origin with 21 days before it and a week after it: factor 1.
    w, own = calibration.interval_scale(iid(np.random.default_rng(0))[:27], 0, 14)
    assert w.none and own.shape == (0, 2)
    # 30 days and a 14-day horizon: no room for a 14-day window after 21 days, so the window
    # is a week (the shortest): one origin, at day 30 - 7 = 23 (the next, 16, is too early).
    assert calibration.calibration_window(30, 14) == 7
    _, own = calibration.interval_scale(iid(np.random.default_rng(0))[:30], 0, 14)
    assert own.shape == (1, 2)
    # Enough history for three origins 7 days apart with the whole horizon: the horizon.
    # 21 + 2 x 7 + 14 = 49 days.
    assert calibration.calibration_window(49, 14) == 14
    assert calibration.calibration_window(48, 14) == 13


def test_the_conformal_rank_of_the_misses():
    ratios = np.arange(10, 0, -1) / 10          # 1.0, 0.9, ..., 0.1
    # n = 10: the ceil(11 x 0.8) = 9th smallest is 0.9; ceil(11 x 0.95) = 11 > 10: the largest.
    assert calibration.conformal(ratios, 0.80) == 0.9
    assert calibration.conformal(ratios, 0.95) == 1.0


def test_widening_keeps_the_expected_path_and_never_goes_below_zero():
    point = np.array([10.0, 10.0])
    paths = np.array([[8.0, 2.0], [12.0, 18.0]])
    wide = calibration.widen(point, paths, calibration.Widening(2.0, 2.0))
    # Sums 10 and 30 around 20 -> 0 and 40. Row 1: 10 + 2 x 2 = 14, 10 + 2 x 8 = 26 (sum 40).
    # Row 0: 6 and -6 -> 0 would sum to 6, not 0, so it is multiplied through to 0.
    assert np.allclose(wide, [[0.0, 0.0], [14.0, 26.0]])


def test_a_day_clipped_at_zero_does_not_push_the_sum_back_up():
    point = np.array([10.0, 10.0])
    paths = np.array([[12.0, 4.0], [8.0, 16.0]])
    wide = calibration.widen(point, paths, calibration.Widening(2.0, 2.0))
    # Sums 16 and 24 around 20 -> 12 and 28. Row 0: 10 + 2 x 2 = 14, 10 - 2 x 6 = -2 -> 0
    # sums to 14; x 12/14 -> 12 and 0. Row 1: 10 - 2 x 2 = 6, 10 + 2 x 6 = 22 (sum 28).
    assert np.allclose(wide, [[12.0, 0.0], [6.0, 22.0]])


def test_the_80_and_95_percent_edges_widen_by_their_own_factors():
    rng = np.random.default_rng(7)
    point = np.full(14, 100.0)
    paths = point + rng.normal(0, 5, (20000, 14))      # never near 0: no clipping
    before = np.quantile(paths.sum(axis=1) - 1400, [0.025, 0.10, 0.90, 0.975])
    wide = calibration.widen(point, paths, calibration.Widening(1.5, 2.5))
    after = np.quantile(wide.sum(axis=1) - 1400, [0.025, 0.10, 0.90, 0.975])
    # The map of the sums is monotone, so their quantiles move with it: x2.5 at the 95% edges,
    # x1.5 at the 80% ones (to within the interpolation between neighbouring sums).
    assert np.allclose(after, before * [2.5, 1.5, 1.5, 2.5], rtol=0.01)


def on_off(rng: np.random.Generator, n: int) -> np.ndarray:
    """Bursts of geometric length (mean 6 days, lognormal days of mean 100) between quiet
    runs of geometric length (mean 4 days): a service used in spells, like the Azure trace's
    code service."""
    out: list[float] = []
    while len(out) < n:
        out += list(100 * np.exp(rng.normal(-0.02, 0.2, rng.geometric(1 / 6))))
        out += [0.0] * int(rng.geometric(1 / 4))
    return np.array(out[:n])


def test_a_service_used_in_spells_is_covered_five_days_into_a_pause():
    # 60 on/off series, each cut 5 days into its last quiet run starting in days 60..149; the
    # origins where the model reads a shift to nothing (48 of them). There the model was sure
    # the series stays at zero: every interval of the next 14 days' sum was [0, 0] and covered
    # 0 of 48 (no such sum was 0). Starting again at each series' own restart rate, 80%
    # intervals cover 40 of 48 (83%) and 95% intervals 45 (94%).
    inside80 = inside95 = stopped = 0
    for s in range(60):
        y = on_off(np.random.default_rng(500 + s), 200)
        quiet = y == 0
        starts = [i for i in range(60, 150) if quiet[i] and not quiet[i - 1]
                  and quiet[i:i + 5].all()]
        if not starts:
            continue
        t = starts[-1] + 5
        f = fm.forecast(y[:t], 0, H, n_sims=2000, seed=s)
        if f.fit.shift_index is None or f.fit.level > fm.TINY:
            continue
        stopped += 1
        since = f.fit.trimmed + f.fit.shift_index
        spikes = [f.fit.trimmed + i for i in f.fit.spike_index]
        factor, _ = calibration.interval_scale(y[:t], 0, H, since, spikes)
        sums = calibration.widen(f.point, f.paths, factor).sum(axis=1)
        low80, high80, low95, high95 = np.quantile(sums, [0.10, 0.90, 0.025, 0.975])
        actual = y[t:t + H].sum()
        inside80 += low80 <= actual <= high80
        inside95 += low95 <= actual <= high95
    assert stopped == 48
    assert 0.75 <= inside80 / stopped <= 0.92, inside80
    assert inside95 / stopped >= 0.90, inside95


def test_a_first_spike_does_not_widen_every_later_interval():
    # 51 days of about 0.036 a day (lognormal sigma 0.05) with one day 60 times that at day
    # 49, like the demo's data-pipeline in October; a 10-day horizon. The origin whose
    # window held the spike missed by about 175 of its half-widths, and the factor was x175
    # (measured before the change): an 80% range of a 10-day sum (about $0.36) reaching
    # $346. The model now carries the spike in its noise; the origin that had not seen it
    # counts that day as its expected day.
    rng = np.random.default_rng(7)
    y = 0.036 * np.exp(rng.normal(0, 0.05, 51))
    y[49] *= 60
    f = fm.forecast(y, 0, 10, n_sims=1000, seed=0)
    assert f.fit.spike_index == (49,)
    factor, _ = calibration.interval_scale(y, 0, 10, 0, [49])
    assert factor.spiked >= 1 and factor.f80 < 3, factor
    high80 = np.quantile(calibration.widen(f.point, f.paths, factor).sum(axis=1), 0.90)
    # At most the ten quiet days and a spike (0.036 x 10 + 0.036 x 60 = 2.52), give or take.
    assert high80 < 2 * 2.52


def test_a_group_with_few_origins_pools_them_with_the_accounts():
    # One origin of its own (it missed by half its 80% half-width: no widening on its own);
    # the account's three. Pooled, n = 4: 80% ratios 0.5, 2.0, 1.0, 3.0, the ceil(5 x 0.8) =
    # 4th smallest is 3.0; 95% ratios 0.3, 1.5, 0.8, 2.0, ceil(5 x 0.95) = 5 > 4: the
    # largest, 2.0, then raised to the 80% factor: 3.0.
    own = np.array([[0.5, 0.3]])
    account = np.array([[2.0, 1.5], [1.0, 0.8], [3.0, 2.0]])
    assert calibration.factors(own).none
    w = calibration.factors(own, account)
    assert (w.f80, w.f95, w.origins, w.pooled) == (3.0, 3.0, 1, 3)
    assert "with 3 past origin(s) of the account's" in w.describe()
    # Three origins of its own are enough: the account's are not used.
    three = np.array([[0.5, 0.3], [0.9, 0.6], [0.7, 0.4]])
    assert calibration.factors(three, account).none
