"""Group forecasts reconciled to the total's: sums worked out by hand (end to end, the
fixture store's groups adding up: tests/test_forecast_cli.py)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import numpy as np

from costkit.forecast.projection import SpendSimulation
from costkit.forecast.reconcile import reconcile, short_history_simulation
from costkit.forecast.series import COMPONENTS, DailyHistory

D = Decimal


def sim(point, sd=None, n_sims=4000, seed=1):
    """A simulation whose days have expected `point` and standard deviation `sd` (normal)."""
    point = np.asarray(point, dtype=np.float64)
    rng = np.random.default_rng(seed)
    paths = point + (rng.standard_normal((n_sims, len(point))) * np.asarray(sd)
                     if sd is not None else np.zeros((n_sims, len(point))))
    components = {c: point * (1.0 if c == "input" else 0.0) for c in COMPONENTS}
    return SpendSimulation(None, point, paths, components)


def exact_variance(s: SpendSimulation, var) -> SpendSimulation:
    """Paths of two values per day, point +- sd, so the variance is exactly `var`."""
    sd = np.sqrt(np.asarray(var, dtype=np.float64))
    paths = np.vstack([s.point - sd, s.point + sd])
    return SpendSimulation(None, s.point, paths, s.components)


def test_mint_moves_the_total_and_the_groups_by_their_share_of_the_variance():
    # Total 10 a day (variance 4); groups 4 (variance 1) and 5 (variance 3); the gap
    # D = 10 - 9 = 1 and V = 4 + 1 + 3 = 8. The total gives up 1 x 4/8 = 0.5 (9.5), the
    # groups take 1 x 1/8 = 0.125 (4.125) and 1 x 3/8 = 0.375 (5.375): 4.125 + 5.375 = 9.5.
    total = exact_variance(sim([10.0]), [4.0])
    a = exact_variance(sim([4.0]), [1.0])
    b = exact_variance(sim([5.0]), [3.0])
    new_total, _, money, total_money = reconcile(total, [a, b], "mint")
    assert money == [[D("4.1250")], [D("5.3750")]]
    assert total_money == [D("9.5000")]
    assert np.allclose(new_total.point, [9.5])
    # Bottom-up: the total is the groups' sum; top-down: the groups take all of the gap.
    assert reconcile(total, [a, b], "bottom-up")[3] == [D("9.0000")]
    assert reconcile(total, [a, b], "top-down")[2] == [[D("4.2500")], [D("5.7500")]]


def test_top_down_shares_the_gap_in_proportion_to_variance():
    # Total 10 a day, kept; groups 4 (variance 1) and 5 (variance 3): the gap of 1 goes
    # 1 x 1/4 = 0.25 to the first and 1 x 3/4 = 0.75 to the second: 4.25 + 5.75 = 10.
    total = sim([10.0, 10.0])
    a = exact_variance(sim([4.0, 4.0]), [1.0, 1.0])
    b = exact_variance(sim([5.0, 5.0]), [3.0, 3.0])
    _, moved, money, total_money = reconcile(total, [a, b], "top-down")
    assert money == [[D("4.2500"), D("4.2500")], [D("5.7500"), D("5.7500")]]
    assert total_money == [D("10.0000"), D("10.0000")]
    # The simulated days move with the expected day: the spread (the interval) is kept.
    assert np.allclose(moved[0].paths, [[3.25, 3.25], [5.25, 5.25]])
    assert np.allclose(moved[0].components["input"], [4.25, 4.25])


def test_a_group_is_never_pushed_below_zero():
    # Total 3; groups 0.5 (variance 9) and 4 (variance 1): the gap of -1.5 would take
    # 1.5 x 9/10 = 1.35 from the first, more than its 0.5; it gives up its 0.5 and the
    # second gives the remaining 1.0: 0 + 3 = 3.
    total = sim([3.0])
    a = exact_variance(sim([0.5]), [9.0])
    b = exact_variance(sim([4.0]), [1.0])
    _, _, money, _ = reconcile(total, [a, b], "top-down")
    assert money == [[D("0.0000")], [D("3.0000")]]


def test_rounding_residuals_go_to_the_largest_group_so_the_cents_add_up():
    # Total 1; three groups of 0.3 with equal variance: each gets 0.1 / 3, so 0.33333...,
    # rounded 0.3333 three times is 0.9999; the missing 0.0001 goes to the largest (the
    # first of the tied ones): 0.3334 + 0.3333 + 0.3333 = 1.0000.
    total = sim([1.0])
    groups = [exact_variance(sim([0.3]), [0.01]) for _ in range(3)]
    _, _, money, total_money = reconcile(total, groups, "top-down")
    assert [row[0] for row in money] == [D("0.3334"), D("0.3333"), D("0.3333")]
    assert sum(row[0] for row in money) == total_money[0] == D("1.0000")


def test_without_any_variance_the_gap_is_shared_by_size():
    # No simulations: weights are the groups' own values, 1 and 3 of a total of 8: the gap
    # of 4 goes 1/4 and 3/4: 1 + 1 = 2 and 3 + 3 = 6.
    total = sim([8.0], n_sims=0)
    _, _, money, _ = reconcile(total, [sim([1.0], n_sims=0), sim([3.0], n_sims=0)], "top-down")
    assert money == [[D("2.0000")], [D("6.0000")]]


def test_a_group_with_too_little_history_forecasts_its_mean_day():
    # Spend of 0, 2 and 4 on its last three days (its first spend two days before the end):
    # its mean day since then is (2 + 0 + 4) / 3 = 2.
    days = tuple(date(2026, 10, 1) + timedelta(days=i) for i in range(4))
    values = [D(0), D(2), D(0), D(4)]
    hist = DailyHistory(days, {c: tuple(values) if c == "input" else (D(0),) * 4
                               for c in COMPONENTS})
    s = short_history_simulation(hist, 5, n_sims=1000, seed=0)
    assert np.allclose(s.point, 2.0)
    assert set(np.unique(s.paths)) <= {0.0, 2.0, 4.0}
    assert "too little history" in s.description


def history(first: date, values) -> DailyHistory:
    days = tuple(first + timedelta(days=i) for i in range(len(values)))
    total = tuple(D(repr(round(float(v), 6))) for v in values)
    zeros = (D(0),) * len(values)
    return DailyHistory(days, {c: (total if c == "input" else zeros) for c in COMPONENTS})


def test_a_young_group_borrows_the_accounts_weekly_profile():
    # The account: an old project, 8 weeks of weekdays at 100 and weekends at 30. A project
    # that started on Monday 2026-10-12 spends 10 on each weekday, and will go on like the
    # account: 2 x (5 x 10 + 2 x 3) = 112 over the next 14 days (Saturday the 17th to Friday
    # the 30th). Five weekdays old, it has no weekly cycle of its own: before, its mean day
    # (10) was projected onto every day, 14 x 10 = 140 (25% over; measured: 140.0000). It
    # now borrows the account's profile (the total's fitted factors: about 112, not exactly).
    from costkit.forecast.horizon import Horizon, Period
    from costkit.forecast.projection import simulate_spend
    from costkit.forecast.reconcile import forecast_groups

    as_of = date(2026, 10, 17)                               # a Saturday
    first = as_of - timedelta(days=56)
    weekday = [(first + timedelta(days=i)).weekday() < 5 for i in range(56)]
    rng = np.random.default_rng(3)
    account = np.where(weekday, 100.0, 30.0) * np.exp(rng.normal(0, 0.02, 56))
    young = [0.0] * 51 + [10.0] * 5
    end = as_of + timedelta(days=13)
    span = Horizon("14d", as_of, end, (Period("14d", as_of, end),))
    base = simulate_spend(history(first, account + np.array(young)), span, n_sims=2000)
    assert base.fit is not None and base.fit.seasonal
    groups = {("old",): history(first, account),
              ("young",): history(as_of - timedelta(days=5), [10.0] * 5)}
    _, _, found = forecast_groups(base, groups, span, n_sims=2000)
    [fc] = [fc for key, fc, _, _ in found if key == ("young",)]
    rest = fc.total.projected_total - fc.total.actual
    assert abs(rest - D(112)) < D("5.6"), rest             # within 5% of 112 (before: 140)
    assert "the account's weekly profile" in fc.description
