"""Spend forecasts over exact daily histories: horizons, money, scenarios, budgets, JSON."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costkit.cli.output import dumps
from costkit.core.errors import InputError
from costkit.forecast.horizon import parse_horizon
from costkit.forecast.projection import QUANTUM, forecast_spend
from costkit.forecast.scenario import WhatIf, parse_percent
from costkit.forecast.series import COMPONENTS, DailyHistory, daily_history

WEEK = np.array([1.1, 1.15, 1.15, 1.1, 1.0, 0.3, 0.25])
WEEK = WEEK / WEEK.mean()


def history(values, last_day: date, split=None) -> DailyHistory:
    """A DailyHistory of `values` whose last day is `last_day`.

    `split` (component -> share) spreads each day's spend over components, exactly.
    """
    n = len(values)
    days = tuple(last_day - timedelta(days=n - 1 - i) for i in range(n))
    split = split or {"input": Decimal(1)}
    totals = [Decimal(str(round(float(v), 6))) for v in values]
    components = {c: tuple(t * split.get(c, Decimal(0)) for t in totals) for c in COMPONENTS}
    return DailyHistory(days, components)


def weekly_series(n, seed=0, level=100.0, first=date(2026, 6, 1)):
    rng = np.random.default_rng(seed)
    dow = (first.weekday() + np.arange(n)) % 7
    return level * WEEK[dow] * np.exp(rng.normal(-0.01, 0.12, n))


SPLIT = {"input": Decimal("0.5"), "output": Decimal("0.2"), "reasoning": Decimal("0.25"),
         "web_search": Decimal("0.05")}


@pytest.fixture
def october():
    """History from 2026-06-01 to 2026-10-09; forecast as of 2026-10-10."""
    as_of = date(2026, 10, 10)
    n = (as_of - date(2026, 6, 1)).days
    return history(weekly_series(n), as_of - timedelta(days=1), SPLIT), as_of


# --- horizons ---------------------------------------------------------------------------------

def test_eom_is_the_rest_of_this_month():
    h = parse_horizon("eom", date(2026, 10, 10))
    assert h.spec == "eom" and h.monthly
    assert h.end == date(2026, 10, 31)
    assert [(p.label, p.start, p.end) for p in h.periods] == [
        ("2026-10", date(2026, 10, 1), date(2026, 10, 31))]
    assert h.days == 22


def test_months_roll_over_the_year():
    h = parse_horizon("3m", date(2026, 11, 20))
    assert [p.label for p in h.periods] == ["2026-11", "2026-12", "2027-01"]
    assert h.end == date(2027, 1, 31)
    assert parse_horizon("1m", date(2026, 2, 3)).end == date(2026, 2, 28)


def test_days_and_end_dates():
    h = parse_horizon("90d", date(2026, 10, 10))
    assert h.end == date(2027, 1, 7) and h.days == 90 and not h.monthly
    assert h.periods[0].label == "2026-10-10..2027-01-07"
    h = parse_horizon("2026-12-31", date(2026, 10, 10))
    assert h.end == date(2026, 12, 31) and h.periods[0].start == date(2026, 10, 10)


@pytest.mark.parametrize("spec, message", [
    ("soon", "use eom"), ("0m", "1..36"), ("37m", "1..36"), ("0d", "1..1100"),
    ("2026-10-01", "before the as-of date"), ("2031-01-01", "at most 1100 days"),
])
def test_bad_horizons_say_what_is_accepted(spec, message):
    with pytest.raises(InputError, match=message):
        parse_horizon(spec, date(2026, 10, 10))


@pytest.mark.parametrize("text, value", [
    ("20%", Decimal("0.2")), ("+50%", Decimal("0.5")), ("-10%", Decimal("-0.1")),
    ("-15%", Decimal("-0.15")), (" 12.5 % ", Decimal("0.125")),
    # Multipliers: x1.2 is +20%, x0.5 is -50%, x2 is +100%, x1 no change.
    ("x1.2", Decimal("0.2")), ("X0.5", Decimal("-0.5")), ("x2", Decimal("1")),
    ("x1", Decimal("0")), (" x 1.05 ", Decimal("0.05")), ("\u00d71.2", Decimal("0.2")),
])
def test_percentages_and_multipliers(text, value):
    assert parse_percent(text, "growth") == value


@pytest.mark.parametrize("text", ["abc", "-100%", "-150%", "nan", "1e400000%x", "x0", "x-1",
                                  "x", "nan%", "xabc"])
def test_bad_percentages(text):
    with pytest.raises(InputError, match="--what-if growth="):
        parse_percent(text, "growth")


@pytest.mark.parametrize("text", ["20", "0.2", "-15", "+50", "1.2", "0"])
def test_a_bare_number_is_refused_with_both_forms(text):
    # growth=20 used to mean +2000%: a bare number is refused, naming the forms that work.
    with pytest.raises(InputError) as caught:
        parse_percent(text, "growth")
    assert str(caught.value) == (
        f"--what-if growth={text}: a bare number is ambiguous; write a change as growth=20% "
        "or growth=-15%, or a multiplier as growth=x1.2")


# --- the history ------------------------------------------------------------------------------

def test_daily_history_fills_gaps_and_ignores_the_as_of_day_and_unpriced_rows():
    rows = [
        {"day": "2026-10-03", "model": "a", "requests": 2, "input_cost": Decimal("1.5"),
         "output_cost": Decimal("0.25"), "cached_input_cost": None, "cache_write_cost": None,
         "reasoning_cost": Decimal("0"), "search_cost": Decimal("0.03"),
         "total_cost": Decimal("1.78")},
        {"day": "2026-10-03", "model": "b", "requests": 1, "input_cost": Decimal("1"),
         "output_cost": Decimal("0"), "cached_input_cost": Decimal("0"),
         "cache_write_cost": Decimal("0"), "reasoning_cost": Decimal("0"),
         "search_cost": Decimal("0"), "total_cost": Decimal("1")},
        {"day": date(2026, 10, 5), "model": "a", "requests": 1, "input_cost": Decimal("2"),
         "output_cost": Decimal("0"), "cached_input_cost": Decimal("0"),
         "cache_write_cost": Decimal("0"), "reasoning_cost": Decimal("0"),
         "search_cost": Decimal("0"), "total_cost": Decimal("2")},
        {"day": "2026-10-04", "model": "unknown", "requests": 9, "input_cost": None,
         "output_cost": None, "cached_input_cost": None, "cache_write_cost": None,
         "reasoning_cost": None, "search_cost": None, "total_cost": None},
        {"day": "2026-10-07", "model": "a", "requests": 1, "input_cost": Decimal("9"),
         "output_cost": Decimal("0"), "cached_input_cost": Decimal("0"),
         "cache_write_cost": Decimal("0"), "reasoning_cost": Decimal("0"),
         "search_cost": Decimal("0"), "total_cost": Decimal("9")},
    ]
    h = daily_history(rows, date(2026, 10, 7))
    assert h.days == (date(2026, 10, 3), date(2026, 10, 4), date(2026, 10, 5), date(2026, 10, 6))
    assert h.total == (Decimal("2.78"), Decimal(0), Decimal(2), Decimal(0))
    assert h.components["input"] == (Decimal("2.5"), Decimal(0), Decimal(2), Decimal(0))
    assert h.components["web_search"][0] == Decimal("0.03")
    assert h.requests == 4
    assert h.spend_days == 2


def test_an_empty_history():
    h = daily_history([], date(2026, 10, 7))
    assert h.days == () and h.total == () and h.spend_days == 0


# --- forecasts --------------------------------------------------------------------------------

def test_too_little_history_is_a_clear_error():
    h = history([5.0, 0.0, 7.0], date(2026, 10, 9))
    with pytest.raises(InputError, match=r"2 day\(s\) with priced spend before 2026-10-10; "
                                         r"need at least 3"):
        forecast_spend(h, parse_horizon("eom", date(2026, 10, 10)))
    with pytest.raises(InputError, match="0 day"):
        forecast_spend(daily_history([], date(2026, 10, 10)),
                       parse_horizon("eom", date(2026, 10, 10)))


def test_month_end_money_is_exact_where_spent_and_decimal_everywhere(october):
    h, as_of = october
    fc = forecast_spend(h, parse_horizon("eom", as_of), n_sims=2000)
    t = fc.total
    exact_mtd = sum((v for d, v in zip(h.days, h.total, strict=True) if d >= date(2026, 10, 1)),
                    Decimal(0))
    assert t.actual == exact_mtd                                   # not rounded, not a float
    # Exact actuals plus the rounded forecast, never re-rounded (so groups add up exactly).
    assert t.projected_total == t.actual + t.expected_rest
    assert t.expected_rest == t.expected_rest.quantize(QUANTUM)
    for value in (t.projected_total, t.low_95, t.low_80, t.high_80, t.high_95):
        assert isinstance(value, Decimal)
        assert value - t.actual == (value - t.actual).quantize(QUANTUM)
    assert t.low_95 <= t.low_80 <= t.projected_total <= t.high_80 <= t.high_95
    assert t.actual < t.low_95                      # 22 days of spend are still to come
    # About 100/day on average: the month lands near 3,100.
    assert Decimal(2700) < t.projected_total < Decimal(3400)


def test_the_daily_path_runs_from_the_month_start_to_its_end(october):
    h, as_of = october
    fc = forecast_spend(h, parse_horizon("eom", as_of), n_sims=500)
    days = [d.day for d in fc.daily]
    assert days[0] == date(2026, 10, 1) and days[-1] == date(2026, 10, 31)
    assert days == sorted(days) and len(days) == 31
    actual = [d for d in fc.daily if d.actual]
    future = [d for d in fc.daily if not d.actual]
    assert [d.day for d in actual][-1] == date(2026, 10, 9)
    assert future[0].day == as_of
    assert actual[-1].cumulative == fc.total.actual
    assert all(d.low_95 is None for d in actual)
    assert all(d.low_95 <= d.low_80 <= d.expected <= d.high_80 <= d.high_95 for d in future)
    assert sum((d.expected for d in future), Decimal(0)) == pytest.approx(
        fc.total.expected_rest, abs=Decimal("0.01"))
    # Weekends of the future are forecast low, like the history's.
    weekend = [d.expected for d in future if d.day.weekday() >= 5]
    weekdays = [d.expected for d in future if d.day.weekday() < 5]
    assert max(weekend) < min(weekdays) / 2


def test_the_component_split_adds_up_and_follows_the_history(october):
    h, as_of = october
    fc = forecast_spend(h, parse_horizon("eom", as_of), n_sims=200)
    comps = fc.total.components
    assert set(comps) == set(COMPONENTS)
    assert sum((comps[c]["actual"] for c in COMPONENTS), Decimal(0)) == fc.total.actual
    forecast_sum = sum((comps[c]["forecast"] for c in COMPONENTS), Decimal(0))
    assert abs(forecast_sum - fc.total.expected_rest) <= Decimal("0.0006")
    share = comps["reasoning"]["forecast"] / fc.total.expected_rest
    assert share == pytest.approx(Decimal("0.25"), abs=Decimal("0.01"))
    assert comps["cache_write"]["forecast"] == 0


def test_growth_scales_only_the_future(october):
    h, as_of = october
    base = forecast_spend(h, parse_horizon("eom", as_of), n_sims=500).total
    grown = forecast_spend(h, parse_horizon("eom", as_of), WhatIf(growth=Decimal("0.2")),
                           n_sims=500)
    assert grown.total.actual == base.actual
    assert grown.total.expected_rest == pytest.approx(base.expected_rest * Decimal("1.2"),
                                                      abs=Decimal("0.01"))
    assert grown.total.high_95 > base.high_95
    assert "growth +20% on every future day" in grown.scenario


def test_reasoning_change_moves_the_reasoning_component_only(october):
    h, as_of = october
    base = forecast_spend(h, parse_horizon("eom", as_of), n_sims=500).total
    more = forecast_spend(h, parse_horizon("eom", as_of), WhatIf(reasoning=Decimal("0.5")),
                          n_sims=500).total
    delta = more.expected_rest - base.expected_rest
    assert delta == pytest.approx(base.components["reasoning"]["forecast"] * Decimal("0.5"),
                                  abs=Decimal("0.01"))
    assert more.components["input"]["forecast"] == base.components["input"]["forecast"]


def test_a_workload_adds_its_daily_cost_to_every_future_day(october):
    h, as_of = october
    base = forecast_spend(h, parse_horizon("eom", as_of), n_sims=500)
    extra = {"input": Decimal("30"), "output": Decimal("12.5")}
    more = forecast_spend(h, parse_horizon("eom", as_of), extra_per_day=extra, n_sims=500)
    assert more.total.expected_rest - base.total.expected_rest == pytest.approx(
        Decimal("42.5") * 22, abs=Decimal("0.01"))
    assert more.workload_per_day == Decimal("42.5")
    assert more.total.components["output"]["forecast"] - \
        base.total.components["output"]["forecast"] == pytest.approx(Decimal(275),
                                                                     abs=Decimal("0.01"))


def test_budget_over_and_under(october):
    h, as_of = october
    span = parse_horizon("eom", as_of)
    under = forecast_spend(h, span, budget=Decimal(10_000), n_sims=2000).periods[0]
    assert not under.budget.over
    assert under.budget.probability_over == 0.0
    assert under.budget.crossing_date is None
    over = forecast_spend(h, span, budget=Decimal(2000), n_sims=2000).periods[0]
    assert over.budget.over and over.budget.probability_over > 0.99
    assert as_of <= over.budget.crossing_date <= date(2026, 10, 31)
    # The crossing day is the first whose expected cumulative spend reaches the budget.
    cumulative = {d.day: d.cumulative for d in forecast_spend(h, span, n_sims=10).daily}
    day = over.budget.crossing_date
    assert cumulative[day] >= 2000 > cumulative[day - timedelta(days=1)]


def test_a_budget_already_spent_is_crossed_on_its_actual_day(october):
    h, as_of = october
    fc = forecast_spend(h, parse_horizon("eom", as_of), budget=Decimal(300), n_sims=200)
    b = fc.periods[0].budget
    assert b.over and b.probability_over == 1.0
    running, expected_day = Decimal(0), None
    for d, v in zip(h.days, h.total, strict=True):
        if d >= date(2026, 10, 1):
            running += v
            if running >= 300 and expected_day is None:
                expected_day = d
    assert b.crossing_date == expected_day < as_of


def test_three_months_split_into_months_that_add_up(october):
    h, as_of = october
    fc = forecast_spend(h, parse_horizon("3m", as_of), budget=Decimal(3000), n_sims=2000)
    assert [p.period.label for p in fc.periods] == ["2026-10", "2026-11", "2026-12"]
    assert fc.periods[1].actual == 0 and fc.periods[2].actual == 0
    assert fc.total.actual == fc.periods[0].actual
    total_rest = sum((p.expected_rest for p in fc.periods), Decimal(0))
    assert abs(total_rest - fc.total.expected_rest) <= Decimal("0.0003")
    assert fc.total.low_95 < fc.total.projected_total < fc.total.high_95
    assert all(p.budget is not None for p in fc.periods)
    assert fc.total.budget is None
    d = fc.as_dict()
    assert [m["month"] for m in d["months"]] == ["2026-10", "2026-11", "2026-12"]
    assert [b["period"] for b in d["budget"]] == ["2026-10", "2026-11", "2026-12"]


def test_an_as_of_on_the_first_has_nothing_spent_yet(october):
    h, _ = october
    as_of = date(2026, 10, 1)
    cut = DailyHistory(tuple(d for d in h.days if d < as_of),
                       {c: v[: len([d for d in h.days if d < as_of])]
                        for c, v in h.components.items()})
    fc = forecast_spend(cut, parse_horizon("eom", as_of), n_sims=200)
    assert fc.total.actual == 0
    assert fc.daily[0].day == as_of and not fc.daily[0].actual


def test_a_day_horizon_has_no_actuals(october):
    h, as_of = october
    fc = forecast_spend(h, parse_horizon("14d", as_of), n_sims=200)
    assert fc.total.actual == 0
    assert len(fc.daily) == 14
    assert fc.as_dict()["months"] == []


def test_the_history_must_end_the_day_before_as_of(october):
    h, as_of = october
    with pytest.raises(ValueError, match="day before as_of"):
        forecast_spend(h, parse_horizon("eom", as_of + timedelta(days=1)))


def test_json_has_decimal_strings_and_the_model(october):
    h, as_of = october
    fc = forecast_spend(h, parse_horizon("eom", as_of), budget=Decimal(2500), n_sims=500)
    data = json.loads(dumps(fc.as_dict()))
    assert data["as_of"] == "2026-10-10" and data["horizon"] == "eom"
    assert data["period"] == {"start": "2026-10-01", "end": "2026-10-31", "label": "2026-10"}
    for key in ("projected_total", "low_95", "high_95", "low_80", "high_80", "actual_to_date"):
        assert isinstance(data[key], str)
        Decimal(data[key])
    assert data["model"]["name"] == "level + weekly profile"
    assert data["model"]["history_days"] == len(h.days)
    assert data["model"]["history_from"] == "2026-06-01"
    assert "fitted on the last" in data["model"]["description"]
    assert len(data["daily"]) == 31
    assert data["daily"][0]["kind"] == "actual" and data["daily"][-1]["kind"] == "forecast"
    assert isinstance(data["daily"][-1]["spend"], str)
    assert set(data["components"]) == set(COMPONENTS)
    assert isinstance(data["components"]["input"]["projected"], str)
    assert data["budget"][0]["budget"] == "2500"
    assert isinstance(data["budget"][0]["probability_over"], float)
    assert '": 0.' not in json.dumps({k: v for k, v in data.items() if k != "budget"})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(st.one_of(st.just(0.0), st.floats(min_value=0, max_value=1e6,
                                                       allow_nan=False)),
                    min_size=3, max_size=120),
    as_of=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    spec=st.sampled_from(["eom", "2m", "10d"]),
)
def test_any_history_gives_a_consistent_forecast_or_a_clear_error(values, as_of, spec):
    h = history(values, as_of - timedelta(days=1))
    try:
        fc = forecast_spend(h, parse_horizon(spec, as_of), n_sims=100)
    except InputError as exc:
        assert "too little history" in str(exc)
        assert h.spend_days < 3
        return
    t = fc.total
    assert t.low_95 <= t.low_80 <= t.projected_total <= t.high_80 <= t.high_95
    assert t.projected_total >= t.actual
    assert t.low_95 >= 0
    assert all(d.expected >= 0 for d in fc.daily)
