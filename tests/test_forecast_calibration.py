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


def walk(rng: np.random.Generator) -> np.ndarray:
    """A level that wanders: a log random walk of 0.04 a day under day noise of 0.1."""
    return 100 * np.exp(np.cumsum(rng.normal(0, 0.04, N + H)) + rng.normal(0, 0.1, N + H))


def coverage(make) -> tuple[float, float]:
    inside80 = inside95 = 0
    for s in range(SERIES):
        y = make(np.random.default_rng(1000 + s))
        f = fm.forecast(y[:N], 0, H, n_sims=1000, seed=s)
        factor = calibration.interval_scale(y[:N], 0, H)
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


def test_a_wandering_level_widens_the_intervals_and_steady_noise_barely():
    wandering = [calibration.interval_scale(walk(np.random.default_rng(s))[:N], 0, H)
                 for s in range(10)]
    steady = [calibration.interval_scale(iid(np.random.default_rng(s))[:N], 0, H)
              for s in range(10)]
    # Never narrower; on series the model describes exactly, mostly left alone.
    assert min(steady) >= 1.0 and np.median(steady) < 1.05
    assert np.median(wandering) > 1.1


def test_a_short_history_is_not_calibrated():
    # 30 days and a 14-day horizon leave no origin with 21 days before it: factor 1.
    y = iid(np.random.default_rng(0))[:30]
    assert calibration.interval_scale(y, 0, 14) == 1.0


def test_widening_keeps_the_expected_path_and_never_goes_below_zero():
    point = np.array([10.0, 10.0])
    paths = np.array([[8.0, 2.0], [12.0, 18.0]])
    wide = calibration.widen(point, paths, 2.0)
    # 10 + 2 x (8 - 10) = 6; 10 + 2 x (2 - 10) = -6 -> 0; 14; 26.
    assert np.allclose(wide, [[6.0, 0.0], [14.0, 26.0]])
