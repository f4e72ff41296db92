"""The spend breakdown: grouping, time zones, exact Decimal costs, unpriced usage, repricing."""

from __future__ import annotations

import textwrap
import warnings
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from decimal import Decimal as D

import duckdb
import polars as pl
import pytest

from costkit.core.errors import InputError
from costkit.pricing.book import load_price_book
from costkit.spend import breakdown
from costkit.spend.breakdown import (
    COST_COLUMNS,
    REQUEST_COLUMNS,
    UnpricedUsageWarning,
    concentration,
    cost_quantiles,
    requests,
    spend,
    totals,
    unpriced,
)
from costkit.store.migrations import migrate

BUILTIN = load_price_book([])
COLUMNS = ("request_id", "ts", "model", "input_tokens", "cached_input_tokens",
           "cache_write_tokens", "output_tokens", "reasoning_tokens", "search_calls",
           "project", "api_key_id", "user", "endpoint", "tags")


def add(con, *rows: dict) -> None:
    """Insert usage rows; unspecified columns take plain defaults."""
    for i, row in enumerate(rows):
        values = {
            "request_id": f"r{con.execute('SELECT count(*) FROM usage').fetchall()[0][0]}-{i}",
            "ts": datetime(2026, 10, 5, 12, tzinfo=UTC), "model": "deepseek-v3-2",
            "input_tokens": 0, "cached_input_tokens": 0, "cache_write_tokens": 0,
            "output_tokens": 0, "reasoning_tokens": 0, "search_calls": 0, "project": None,
            "api_key_id": None, "user": None, "endpoint": "chat.completions", "tags": None,
            **row,
        }
        columns = ", ".join(f'"{c}"' for c in COLUMNS)
        con.execute(
            f"INSERT INTO usage ({columns}, source_format) VALUES "
            f"({', '.join('?' for _ in COLUMNS)}, 'test')",
            [values[c] for c in COLUMNS],
        )


def quiet_spend(*args, **kwargs) -> pl.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any unexpected warning fails the test
        return spend(*args, **kwargs)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def hand_costs(tokens: dict, rates: dict | None) -> dict:
    """A request's costs worked out here, not by costkit: each token count times its rate per
    1M tokens (input less cached and cache-write input; reasoning unknown is none), search
    calls times the per-call rate. No rates: unpriced, every cost None. Calls with no
    search rate: that cost and the total None."""
    if rates is None:
        return dict.fromkeys(COST_COLUMNS)
    per_million = D(1_000_000)
    cached, written = tokens["cached_input_tokens"], tokens.get("cache_write_tokens", 0)
    calls = tokens["search_calls"]
    out = {
        "input_cost": (tokens["input_tokens"] - cached - written) * rates["input"] / per_million,
        "cached_input_cost": cached * rates["cached_input"] / per_million,
        "cache_write_cost": written * rates.get("cache_write", rates["input"]) / per_million,
        "output_cost": tokens["output_tokens"] * rates["output"] / per_million,
        "reasoning_cost": (tokens["reasoning_tokens"] or 0) * rates["reasoning"] / per_million,
        "search_cost": D(0) if not calls else
        None if rates["web_search"] is None else calls * rates["web_search"],
    }
    parts = list(out.values())
    out["total_cost"] = None if None in parts else sum(parts, D(0))
    return out


def write_cards(tmp_path, text: str):
    path = tmp_path / "cards.toml"
    path.write_text(textwrap.dedent(text))
    return load_price_book([path])


# --- money ----------------------------------------------------------------------------------

def test_exact_decimal_total_for_1234567_output_tokens(con):
    add(con, {"output_tokens": 1_234_567})
    row = quiet_spend(con, ["month"], book=BUILTIN).row(0, named=True)
    assert row["output_cost"] == Decimal("2.11110957")
    assert row["total_cost"] == Decimal("2.11110957")
    assert row["currency"] == "USD"
    assert isinstance(row["total_cost"], Decimal)
    assert quiet_spend(con, ["month"], book=BUILTIN).schema["total_cost"] == pl.Decimal(38, 12)


def test_every_component_priced_at_the_card_rates(con):
    add(con, {"input_tokens": 1_000_000, "cached_input_tokens": 200_000,
              "output_tokens": 300_000, "reasoning_tokens": 100_000, "search_calls": 3})
    row = quiet_spend(con, [], book=BUILTIN).row(0, named=True)
    assert (row["input_cost"], row["cached_input_cost"], row["cache_write_cost"]) == (
        Decimal("0.456"), Decimal("0.114"), Decimal("0"))
    assert (row["output_cost"], row["reasoning_cost"], row["search_cost"]) == (
        Decimal("0.513"), Decimal("0.171"), Decimal("0.045"))
    assert row["total_cost"] == Decimal("1.299")
    assert (row["requests"], row["input_tokens"], row["search_calls"]) == (1, 1_000_000, 3)


def test_group_costs_are_token_sums_times_rates_with_no_rounding(con):
    # 3 requests of 1 output token each: $0.00000171 each, exactly $0.00000513 together.
    add(con, *({"output_tokens": 1} for _ in range(3)))
    row = quiet_spend(con, ["model"], book=BUILTIN).row(0, named=True)
    assert row["output_cost"] == Decimal("0.00000513")
    assert row["requests"] == 3


def test_group_costs_are_token_sums_times_the_published_rates(con):
    # The seed rate card (shared/seed): $0.57 per 1M input tokens (cached input too: no
    # other rate is published), $1.71 per 1M output tokens (reasoning bills as output),
    # $0.015 per web-search call. Sums first, then one multiplication per component.
    published_input, published_output, per_search = D("0.57"), D("1.71"), D("0.015")
    requests_by_project = {
        "a": [(120_001, 40_000, 9_999, 3_001, 2), (7, 0, 3, 0, 0), (999_999, 999_999, 1, 1, 1)],
        "b": [(1, 1, 1, 1, 0), (250_000, 12_345, 67_890, 13_579, 5)],
    }
    for project, rows in requests_by_project.items():
        add(con, *({"project": project, "input_tokens": i, "cached_input_tokens": c,
                    "output_tokens": o, "reasoning_tokens": r, "search_calls": s}
                   for i, c, o, r, s in rows))
    frame = quiet_spend(con, ["project"], book=BUILTIN)
    for row in frame.iter_rows(named=True):
        sums = [sum(column) for column in zip(*requests_by_project[row["project"]], strict=True)]
        inputs, cached, output, reasoning, searches = sums
        expected = {
            "input_cost": (inputs - cached) * published_input / 1_000_000,
            "cached_input_cost": cached * published_input / 1_000_000,
            "cache_write_cost": D(0),
            "output_cost": output * published_output / 1_000_000,
            "reasoning_cost": reasoning * published_output / 1_000_000,
            "search_cost": searches * per_search,
        }
        expected["total_cost"] = sum(expected.values(), D(0))
        assert {c: row[c] for c in COST_COLUMNS} == expected, row["project"]
    # project a by hand: 1,120,007 input tokens x $0.57 + 10,003 output x $1.71
    # + 3,002 reasoning x $1.71 per 1M + 3 searches x $0.015
    a = frame.filter(pl.col("project") == "a").row(0, named=True)
    assert a["total_cost"] == D("0.63840399") + D("0.01710513") + D("0.00513342") + D("0.045")


def test_unknown_reasoning_split_counts_as_output(con):
    # reasoning NULL: the source billed reasoning inside output; output holds both.
    add(con, {"output_tokens": 1000, "reasoning_tokens": None})
    row = quiet_spend(con, [], book=BUILTIN).row(0, named=True)
    assert row["reasoning_tokens"] == 0 and row["output_tokens"] == 1000
    assert row["total_cost"] == Decimal("0.00171")


# --- grouping -------------------------------------------------------------------------------

def test_columns_and_order(con):
    add(con, {"project": "b", "output_tokens": 1}, {"project": "a", "output_tokens": 2},
        {"project": None, "output_tokens": 3})
    frame = quiet_spend(con, ["project"], book=BUILTIN)
    assert frame.columns == ["project", *REQUEST_COLUMNS, *COST_COLUMNS, "search_unreported",
                             "currency", "priced_total", "unpriced_requests"]
    assert frame["project"].to_list() == ["a", "b", None]  # sorted, missing last
    assert frame["output_tokens"].to_list() == [2, 1, 3]


def test_every_dimension_groups(con):
    add(con,
        {"project": "p1", "api_key_id": "k1", "user": "u1", "endpoint": "responses",
         "output_tokens": 10},
        {"project": "p1", "api_key_id": "k2", "user": "u1", "endpoint": "messages",
         "output_tokens": 20},
        {"project": "p2", "api_key_id": "k2", "user": "u2", "endpoint": "messages",
         "output_tokens": 30})
    by = ["project", "api_key", "user", "endpoint", "model", "day", "week", "month"]
    frame = quiet_spend(con, by, book=BUILTIN)
    assert frame.columns[:8] == by
    assert frame.select(by[:4]).rows() == [
        ("p1", "k1", "u1", "responses"), ("p1", "k2", "u1", "messages"),
        ("p2", "k2", "u2", "messages")]
    assert set(frame["day"]) == {"2026-10-05"} and set(frame["week"]) == {"2026-W41"}
    assert set(frame["month"]) == {"2026-10"}
    by_user = quiet_spend(con, ["user"], book=BUILTIN)
    assert by_user.select("user", "requests", "output_tokens").rows() == [
        ("u1", 2, 30), ("u2", 1, 30)]


def test_no_dimension_gives_one_total_row_and_an_empty_store_none(con):
    assert quiet_spend(con, [], book=BUILTIN).height == 0
    assert quiet_spend(con, ["month", "model"], book=BUILTIN).columns[:2] == ["month", "model"]
    add(con, {"output_tokens": 5}, {"output_tokens": 7, "ts": at(2027, 3, 1)})
    frame = quiet_spend(con, [], book=BUILTIN)
    assert frame.height == 1 and frame["output_tokens"].item() == 12


def test_tag_grouping(con):
    add(con,
        {"tags": '{"team": "growth", "env": "prod"}', "output_tokens": 1},
        {"tags": '{"team": "growth"}', "output_tokens": 2},
        {"tags": '{"team": "search", "a/b": "slash", "c.d": 7}', "output_tokens": 4},
        {"tags": None, "output_tokens": 8})
    frame = quiet_spend(con, ["tag:team"], book=BUILTIN)
    assert frame.columns[0] == "tag:team"
    assert frame.select("tag:team", "output_tokens").rows() == [
        ("growth", 3), ("search", 4), (None, 8)]
    two = quiet_spend(con, ["tag:team", "tag:env"], book=BUILTIN)
    assert two.select("tag:team", "tag:env", "requests").rows() == [
        ("growth", "prod", 1), ("growth", None, 1), ("search", None, 1), (None, None, 1)]
    odd = quiet_spend(con, ["tag:a/b", "tag:c.d"], book=BUILTIN)
    assert odd.select("tag:a/b", "tag:c.d", "output_tokens").rows() == [
        ("slash", "7", 4), (None, None, 11)]


def test_aliases_group_and_filter_under_the_card_model(con, tmp_path):
    book = write_cards(tmp_path, """
        [[card]]
        model = "m"
        aliases = ["m-2026", "m-latest"]
        [card.rates]
        input = 1
        output = 2
    """)
    add(con, {"model": "m", "output_tokens": 1_000_000},
        {"model": "m-2026", "output_tokens": 1_000_000},
        {"model": "other", "output_tokens": 5})
    with pytest.warns(UnpricedUsageWarning):
        frame = spend(con, ["model"], book=book)
    assert frame.select("model", "requests", "total_cost").rows() == [
        ("m", 2, Decimal("4")), ("other", 1, None)]
    only = quiet_spend(con, ["model"], models=["m-latest"], book=book)
    assert only.select("model", "requests").rows() == [("m", 2)]


def test_model_and_project_filters(con):
    add(con, {"project": "a", "output_tokens": 1}, {"project": "b", "output_tokens": 2},
        {"project": "c", "model": "nope", "output_tokens": 4})
    frame = quiet_spend(con, [], projects=["a", "b"], book=BUILTIN)
    assert frame["output_tokens"].item() == 3
    with pytest.warns(UnpricedUsageWarning):
        nope = spend(con, ["project"], models=["nope"], book=BUILTIN)
    assert nope.select("project", "output_tokens").rows() == [("c", 4)]
    assert quiet_spend(con, [], models=["absent"], book=BUILTIN).height == 0


# --- time zones and periods -----------------------------------------------------------------

def test_tz_moves_a_request_across_the_month_boundary(con):
    # 2026-10-31 23:30 UTC is 2026-11-01 00:30 in Berlin (CET, +01:00 after Oct 25).
    add(con, {"ts": at(2026, 10, 31, 23, 30), "output_tokens": 1_000_000})
    utc = quiet_spend(con, ["month", "day"], tz="UTC", book=BUILTIN)
    berlin = quiet_spend(con, ["month", "day"], tz="Europe/Berlin", book=BUILTIN)
    new_york = quiet_spend(con, ["month", "day"], tz="America/New_York", book=BUILTIN)
    assert utc.select("month", "day").row(0) == ("2026-10", "2026-10-31")
    assert berlin.select("month", "day").row(0) == ("2026-11", "2026-11-01")
    assert new_york.select("month", "day").row(0) == ("2026-10", "2026-10-31")
    assert berlin["total_cost"].item() == utc["total_cost"].item() == Decimal("1.71")


def test_dst_change_in_the_data_range_buckets_each_side_right(con):
    # Berlin leaves summer time on 2026-10-25 at 01:00 UTC (03:00 CEST -> 02:00 CET).
    add(con,
        {"ts": at(2026, 10, 24, 21, 59), "output_tokens": 1},   # 23:59 CEST, Oct 24
        {"ts": at(2026, 10, 24, 22, 0), "output_tokens": 2},    # 00:00 CEST, Oct 25
        {"ts": at(2026, 10, 25, 22, 59), "output_tokens": 4},   # 23:59 CET, Oct 25
        {"ts": at(2026, 10, 25, 23, 0), "output_tokens": 8})    # 00:00 CET, Oct 26
    frame = quiet_spend(con, ["day"], tz="Europe/Berlin", book=BUILTIN)
    assert frame.select("day", "output_tokens").rows() == [
        ("2026-10-24", 1), ("2026-10-25", 6), ("2026-10-26", 8)]


def test_half_hour_and_quarter_hour_zones(con):
    add(con, {"ts": at(2026, 3, 10, 18, 29), "output_tokens": 1},  # Kolkata 23:59
        {"ts": at(2026, 3, 10, 18, 30), "output_tokens": 2},       # Kolkata 00:00 next day
        {"ts": at(2026, 3, 10, 18, 14), "output_tokens": 4})       # Kathmandu 23:59 (+5:45)
    kolkata = quiet_spend(con, ["day"], tz="Asia/Kolkata", book=BUILTIN)
    assert kolkata.select("day", "output_tokens").rows() == [("2026-03-10", 5), ("2026-03-11", 2)]
    kathmandu = quiet_spend(con, ["day"], tz="Asia/Kathmandu", book=BUILTIN)
    assert kathmandu.select("day", "output_tokens").rows() == [
        ("2026-03-10", 4), ("2026-03-11", 3)]


def test_offsets_off_the_quarter_hour(con):
    # Monrovia kept -0:44:30 until 1972: local midnight of 1960-07-01 is 00:44:30 UTC.
    add(con, {"ts": at(1960, 7, 1, 0, 44, 29), "output_tokens": 1},
        {"ts": at(1960, 7, 1, 0, 44, 30), "output_tokens": 2},
        {"ts": at(2026, 7, 1), "output_tokens": 4})
    frame = quiet_spend(con, ["day"], tz="Africa/Monrovia", book=BUILTIN)
    assert frame.select("day", "output_tokens").rows() == [
        ("1960-06-30", 1), ("1960-07-01", 2), ("2026-07-01", 4)]


def test_iso_weeks_at_the_year_boundary(con):
    days = {(2025, 12, 28): 1, (2025, 12, 29): 2, (2026, 12, 31): 4, (2027, 1, 3): 8,
            (2027, 1, 4): 16}
    add(con, *({"ts": at(*d, 12), "output_tokens": n} for d, n in days.items()))
    frame = quiet_spend(con, ["week"], book=BUILTIN)
    # Mon 2025-12-29 starts 2026-W01; 2026 has 53 ISO weeks; Mon 2027-01-04 is 2027-W01.
    assert frame.select("week", "output_tokens").rows() == [
        ("2025-W52", 1), ("2026-W01", 2), ("2026-W53", 12), ("2027-W01", 16)]


def test_since_until_are_local_midnights(con):
    add(con, {"ts": at(2026, 10, 31, 22, 59), "output_tokens": 1},   # Berlin: Oct 31 23:59
        {"ts": at(2026, 10, 31, 23, 0), "output_tokens": 2},         # Berlin: Nov 1 00:00
        {"ts": at(2026, 11, 30, 22, 59), "output_tokens": 4},        # Berlin: Nov 30 23:59
        {"ts": at(2026, 11, 30, 23, 0), "output_tokens": 8})         # Berlin: Dec 1 00:00
    november = dict(since=date(2026, 11, 1), until=date(2026, 12, 1), book=BUILTIN)
    berlin = quiet_spend(con, ["month"], tz="Europe/Berlin", **november)
    assert berlin.select("month", "output_tokens").rows() == [("2026-11", 6)]
    utc = quiet_spend(con, ["month"], tz="UTC", **november)
    assert utc.select("month", "output_tokens").rows() == [("2026-11", 12)]
    aware = quiet_spend(con, [], since=at(2026, 10, 31, 23), until=at(2026, 11, 30, 23),
                        book=BUILTIN)
    assert aware["output_tokens"].item() == 6
    naive = quiet_spend(con, [], since=datetime(2026, 11, 1), tz="Europe/Berlin", book=BUILTIN)
    assert naive["output_tokens"].item() == 14


def test_bad_arguments_raise_one_line_input_errors(con):
    with pytest.raises(InputError, match=r"unknown --by value 'hour'; valid: day, week, month, "
                                         r"model, project, api_key, user, endpoint, tag:NAME"):
        spend(con, ["hour"], book=BUILTIN)
    with pytest.raises(InputError, match="unknown --by value 'tag:'"):
        spend(con, ["tag:"], book=BUILTIN)
    with pytest.raises(InputError, match="unknown time zone 'Mars/Olympus'"):
        spend(con, ["day"], tz="Mars/Olympus", book=BUILTIN)
    with pytest.raises(InputError, match="not before until"):
        spend(con, ["day"], since=date(2026, 11, 1), until=date(2026, 11, 1), book=BUILTIN)
    assert breakdown.parse_by(["month", "model", "month"]) == ["month", "model"]


# --- unpriced usage -------------------------------------------------------------------------

def test_unpriced_model_keeps_tokens_nulls_costs_and_warns(con):
    add(con, {"model": "mystery-9", "input_tokens": 10, "output_tokens": 5},
        {"model": "mystery-9", "input_tokens": 20, "output_tokens": 5},
        {"output_tokens": 1_000_000, "project": "p"})
    with pytest.warns(UnpricedUsageWarning) as caught:
        frame = spend(con, ["model"], book=BUILTIN)
    message = str(caught[0].message)
    assert "mystery-9 (2 requests)" in message and "1 group" in message
    rows = {r["model"]: r for r in frame.iter_rows(named=True)}
    assert rows["mystery-9"]["input_tokens"] == 30 and rows["mystery-9"]["requests"] == 2
    assert all(rows["mystery-9"][c] is None for c in COST_COLUMNS)  # never $0
    assert rows["deepseek-v3-2"]["total_cost"] == Decimal("1.71")
    with pytest.warns(UnpricedUsageWarning):
        month = spend(con, ["month"], book=BUILTIN)
    assert month["total_cost"].item() is None and month["output_tokens"].item() == 1_000_010


def test_unpriced_lists_models_with_reasons(con, tmp_path):
    book = write_cards(tmp_path, """
        [[card]]
        model = "late"
        effective_from = 2026-11-01
        [card.rates]
        input = 1
        output = 1

        [[card]]
        model = "nosearch"
        [card.rates]
        input = 1
        output = 1
    """)
    add(con, {"model": "late", "ts": at(2026, 10, 31), "output_tokens": 3},
        {"model": "late", "ts": at(2026, 11, 1), "output_tokens": 3},
        {"model": "nosearch", "search_calls": 2},
        {"model": "nosearch", "output_tokens": 9},
        {"model": "ghost", "input_tokens": 7, "ts": at(2026, 10, 2)},
        {"model": "ghost", "input_tokens": 8, "ts": at(2026, 10, 9)})
    frame = unpriced(con, book=book)
    assert frame.select("model", "reason", "requests", "input_tokens").rows() == [
        ("ghost", "no price card", 2, 15),
        ("late", "no card in effect at the request time", 1, 0),
        ("nosearch", "search calls but the card has no web_search rate", 1, 0),
    ]
    assert frame["first_ts"][0] == at(2026, 10, 2) and frame["last_ts"][0] == at(2026, 10, 9)
    with pytest.warns(UnpricedUsageWarning):
        by_model = spend(con, ["model"], book=book)
    costs = dict(by_model.select("model", "search_cost").rows())
    assert costs == {"ghost": None, "late": None, "nosearch": None}
    # Only the component that cannot be priced is null (and so the total); the rest stands.
    nosearch = by_model.filter(pl.col("model") == "nosearch").row(0, named=True)
    assert nosearch["output_cost"] == Decimal("0.000009") and nosearch["total_cost"] is None
    assert unpriced(con, book=book, models=["late"]).height == 1


def test_a_group_with_unpriced_requests_keeps_its_priced_part_and_counts_the_rest(
        con, tmp_path):
    book = write_cards(tmp_path, """
        [[card]]
        model = "nosearch"
        [card.rates]
        input = 1
        output = 2
    """)
    add(con, {"model": "nosearch", "project": "p", "search_calls": 2, "output_tokens": 5},
        {"model": "nosearch", "project": "p", "output_tokens": 1_000_000},
        {"model": "nosearch", "project": "p", "input_tokens": 3_000_000},
        {"model": "ghost", "project": "p", "input_tokens": 7},
        {"model": "ghost", "project": "q", "input_tokens": 7},
        {"model": "nosearch", "project": "r", "output_tokens": 500_000})
    with pytest.warns(UnpricedUsageWarning, match=r"ghost \(2 requests\), nosearch \(1 "):
        frame = spend(con, ["project"], book=book)
    rows = {r["project"]: r for r in frame.iter_rows(named=True)}
    # p: the searching request and ghost's are unpriced; the two others are priced:
    # 1,000,000 output x $2/M + 3,000,000 input x $1/M = $2 + $3 = $5.
    assert rows["p"]["total_cost"] is None
    assert (rows["p"]["priced_total"], rows["p"]["unpriced_requests"]) == (Decimal(5), 2)
    # q holds nothing priced: $0 priced beside 1 unpriced request, its total still null.
    assert (rows["q"]["priced_total"], rows["q"]["unpriced_requests"]) == (Decimal(0), 1)
    assert rows["q"]["total_cost"] is None
    # r is all priced: 500,000 x $2/M = $1, its priced part is its total.
    assert rows["r"]["total_cost"] == rows["r"]["priced_total"] == Decimal(1)
    assert rows["r"]["unpriced_requests"] == 0
    total = totals(frame)
    assert total["total_cost"] is None
    assert (total["priced_total"], total["unpriced_requests"]) == (Decimal(6), 3)


def test_mixed_currencies_are_never_summed(con, tmp_path):
    book = write_cards(tmp_path, """
        [[card]]
        model = "euro-model"
        currency = "EUR"
        [card.rates]
        input = 1
        output = 1
    """)
    add(con, {"model": "euro-model", "output_tokens": 1_000_000},
        {"model": "deepseek-v3-2", "output_tokens": 1_000_000})
    frame = quiet_spend(con, ["model"], book=load_price_book(
        [tmp_path / "cards.toml"]))
    assert frame.select("model", "total_cost", "currency").rows() == [
        ("deepseek-v3-2", Decimal("1.71"), "USD"), ("euro-model", Decimal("1"), "EUR")]
    assert totals(frame)["total_cost"] is None and totals(frame)["currency"] is None
    assert totals(frame)["priced_total"] is None and totals(frame)["unpriced_requests"] == 0
    with pytest.warns(UnpricedUsageWarning, match="mix currencies"):
        month = spend(con, ["month"], book=book)
    assert month["total_cost"].item() is None and month["currency"].item() is None
    assert month["priced_total"].item() is None and month["unpriced_requests"].item() == 0


# --- price history --------------------------------------------------------------------------

def test_corrected_user_card_reprices_the_same_usage(con, tmp_path):
    add(con, {"input_tokens": 1_000_000, "output_tokens": 1_000_000})
    before = quiet_spend(con, [], book=BUILTIN)["total_cost"].item()
    corrected = write_cards(tmp_path, """
        [[card]]
        model = "deepseek-v3-2"
        [card.rates]
        input = 0.28
        output = 0.42
        web_search = 0.01
    """)
    after = quiet_spend(con, [], book=corrected)["total_cost"].item()
    assert (before, after) == (Decimal("2.28"), Decimal("0.70"))


def test_history_keeps_its_own_rates_across_an_effective_from_change(con, tmp_path):
    book = write_cards(tmp_path, """
        [[card]]
        model = "deepseek-v3-2"
        effective_to = 2026-10-15T12:00:00Z
        [card.rates]
        input = 0.57
        output = 1.71

        [[card]]
        model = "deepseek-v3-2"
        effective_from = 2026-10-15T12:00:00Z
        [card.rates]
        input = 0.28
        output = 0.42
    """)
    add(con, {"ts": at(2026, 10, 15, 11, 59, 59), "output_tokens": 1_000_000},
        {"ts": at(2026, 10, 15, 12), "output_tokens": 1_000_000},
        {"ts": at(2026, 10, 20), "output_tokens": 1_000_000})
    days = quiet_spend(con, ["day"], book=book)
    assert days.select("day", "total_cost").rows() == [
        ("2026-10-15", Decimal("2.13")), ("2026-10-20", Decimal("0.42"))]
    assert quiet_spend(con, ["month"], book=book)["total_cost"].item() == Decimal("2.55")


def test_tiers_price_whole_requests_above_the_threshold(con, tmp_path):
    book = write_cards(tmp_path, """
        [[card]]
        model = "deepseek-v3-2"
        [card.rates]
        input = 1
        output = 2
        [[card.tiers]]
        above_input_tokens = 1000
        [card.tiers.rates]
        input = 10
        output = 20
    """)
    add(con, {"input_tokens": 1000, "output_tokens": 1000},
        {"input_tokens": 1001, "output_tokens": 1000})
    row = quiet_spend(con, [], book=book).row(0, named=True)
    assert row["input_cost"] == Decimal("0.001") + Decimal("0.01001")
    assert row["output_cost"] == Decimal("0.002") + Decimal("0.02")


# --- per-request queries --------------------------------------------------------------------

def test_requests_most_expensive_first(con):
    add(con, {"request_id": "cheap", "output_tokens": 1},
        {"request_id": "dear", "output_tokens": 1000},
        {"request_id": "unknown", "model": "ghost", "output_tokens": 10_000},
        {"request_id": "mid", "output_tokens": 10, "ts": at(2026, 11, 2)})
    top = requests(con, book=BUILTIN, limit=3)
    assert top["request_id"].to_list() == ["dear", "mid", "cheap"]
    assert top["total_cost"].to_list() == [Decimal("0.00171"), Decimal("0.0000171"),
                                           Decimal("0.00000171")]
    assert top["ts"].dtype == pl.Datetime("us", "UTC")
    every = requests(con, book=BUILTIN, order_by_cost=False, limit=None)
    assert every["request_id"].to_list() == ["cheap", "dear", "unknown", "mid"]
    assert every["total_cost"][2] is None
    october = requests(con, book=BUILTIN, until=date(2026, 11, 1), limit=None)
    assert october["request_id"].to_list() == ["dear", "cheap", "unknown"]


def test_cost_quantiles_and_concentration(con):
    add(con, *({"output_tokens": n * 100} for n in range(1, 101)),
        {"model": "ghost", "output_tokens": 5})
    q = cost_quantiles(con, [0.0, 0.5, 1.0], book=BUILTIN)
    assert q["cost"].to_list() == [Decimal("0.000171"), Decimal("0.00855"), Decimal("0.0171")]
    c = concentration(con, Decimal("0.05"), book=BUILTIN)
    assert (c["requests"], c["top_requests"]) == (100, 5)
    assert c["total_cost"] == Decimal("0.0171") * 5050 / 100
    assert c["top_cost"] == Decimal("0.000171") * (96 + 97 + 98 + 99 + 100)
    assert c["share"] == c["top_cost"] / c["total_cost"]
    empty = duckdb.connect()
    migrate(empty)
    assert cost_quantiles(empty, book=BUILTIN).height == 0
    assert concentration(empty, book=BUILTIN)["share"] is None
    with pytest.raises(InputError):
        cost_quantiles(con, [1.5], book=BUILTIN)
    with pytest.raises(InputError):
        concentration(con, 0, book=BUILTIN)


def test_totals_sum_rows_and_null_any_unpriced_cost(con):
    add(con, {"project": "a", "output_tokens": 1_000_000},
        {"project": "b", "output_tokens": 2_000_000})
    frame = quiet_spend(con, ["project"], book=BUILTIN)
    total = totals(frame)
    assert total["requests"] == 2 and total["output_tokens"] == 3_000_000
    assert total["total_cost"] == Decimal("5.13") and total["currency"] == "USD"
    add(con, {"project": "c", "model": "ghost", "output_tokens": 1})
    with pytest.warns(UnpricedUsageWarning):
        frame = spend(con, ["project"], book=BUILTIN)
    total = totals(frame)
    assert total["output_tokens"] == 3_000_001 and total["total_cost"] is None


def test_each_request_costs_its_tokens_times_the_rates_of_the_card_in_effect(con, tmp_path):
    # The card as written: before 06:07:08 an input tier above 1000 tokens; no search rate
    # until the second card (searches before it are unpriced, never $0).
    book = write_cards(tmp_path, """
        [[card]]
        model = "m"
        aliases = ["m-alias"]
        effective_to = 2026-03-01T06:07:08Z
        [card.rates]
        input = 0.123456
        output = 2
        [[card.tiers]]
        above_input_tokens = 1000
        [card.tiers.rates]
        input = 10
        cached_input = 1.5
        output = 20.5
        reasoning = 20.5

        [[card]]
        model = "m"
        aliases = ["m-alias"]
        effective_from = 2026-03-01T06:07:08Z
        [card.rates]
        input = 3
        output = 4
        web_search = 0.5
    """)
    # cached input defaults to the input rate and reasoning to the output rate (README)
    first = {"input": D("0.123456"), "cached_input": D("0.123456"), "output": D("2"),
             "reasoning": D("2"), "web_search": None}
    first_tier = {"input": D("10"), "cached_input": D("1.5"), "output": D("20.5"),
                  "reasoning": D("20.5"), "web_search": None}
    second = {"input": D("3"), "cached_input": D("3"), "output": D("4"), "reasoning": D("4"),
              "web_search": D("0.5")}
    change = at(2026, 3, 1, 6, 7, 8)
    rows, expected = [], {}
    for model in ("m", "m-alias", "ghost"):
        for ts in (change - timedelta(seconds=1), change):
            for n in (999, 1000, 1001):
                for s in (0, 2):
                    rid = f"{model}-{ts:%H%M%S}-{n}-{s}"
                    tokens = {"input_tokens": n, "cached_input_tokens": n // 3,
                              "output_tokens": 7 * n + 1, "reasoning_tokens": n // 2,
                              "search_calls": s}
                    rows.append({"request_id": rid, "model": model, "ts": ts, **tokens})
                    rates = None if model == "ghost" else second if ts >= change else \
                        first_tier if n > 1000 else first
                    expected[rid] = hand_costs(tokens, rates)
    add(con, *rows)
    listed = requests(con, book=book, order_by_cost=False, limit=None)
    got = {r["request_id"]: {c: r[c] for c in COST_COLUMNS} for r in listed.iter_rows(named=True)}
    assert got == expected and len(got) == 36
    # One in full: 1001 input tokens at 06:07:07 bill all at the tier: 668 uncached x $10,
    # 333 cached x $1.5, 7008 output and 500 reasoning x $20.5 per 1M.
    assert got["m-060707-1001-0"]["total_cost"] == D("0.00668") + D("0.0004995") + \
        D("0.143664") + D("0.01025") == D("0.1610935")
    # The breakdown's groups: each component the sum over its requests; a group holding an
    # unpriced search has no search (so no total) cost, and ghost none at all.
    with pytest.warns(UnpricedUsageWarning):
        by_model = spend(con, ["model"], book=book)
    groups = {r["model"]: r for r in by_model.iter_rows(named=True)}
    for column in COST_COLUMNS:
        costs = [e[column] for rid, e in expected.items() if not rid.startswith("ghost")]
        summed = None if None in costs else sum(costs, D(0))
        assert groups["m"][column] == summed, column
        assert groups["ghost"][column] is None
    assert groups["m"]["search_cost"] is None and groups["m"]["output_cost"] is not None


def test_time_buckets_use_offsets_unless_one_changes_inside_a_quarter_hour(con):
    add(con, {"ts": at(2026, 3, 1)}, {"ts": at(2026, 12, 1)})
    where, params = "TRUE", []
    berlin = breakdown._local_day_sql(con, "Europe/Berlin", where, params)
    assert "timezone" not in berlin and berlin.count("WHEN") == 2  # two DST changes in range
    assert "timezone" not in breakdown._local_day_sql(con, "UTC", where, params)
    # Monrovia went from -0:44:30 to UTC at local midnight of 1972-01-07: 00:44:30 UTC.
    old = duckdb.connect()
    migrate(old)
    add(old, {"ts": at(1972, 1, 6, 12), "output_tokens": 1},
        {"ts": at(1972, 1, 7, 0, 44, 29), "output_tokens": 2},
        {"ts": at(1972, 1, 7, 0, 44, 30), "output_tokens": 4})
    assert "timezone" in breakdown._local_day_sql(old, "Africa/Monrovia", where, params)
    frame = quiet_spend(old, ["day"], tz="Africa/Monrovia", book=BUILTIN)
    assert frame.select("day", "output_tokens").rows() == [("1972-01-06", 3), ("1972-01-07", 4)]


def test_per_request_rankings_agree_with_costs_worked_out_by_hand(con, tmp_path):
    # Quantiles, concentration and the top N rank in integer units; each must equal what the
    # requests cost when worked out here from the cards' rates.
    book = write_cards(tmp_path, """
        [[card]]
        model = "m"
        effective_to = 2026-10-10T10:10:10Z
        [card.rates]
        input = 0.123456
        cached_input = 0.000001
        output = 2
        [[card.tiers]]
        above_input_tokens = 500
        [card.tiers.rates]
        input = 10
        cached_input = 0.000001
        output = 20.5
        reasoning = 20.5

        [[card]]
        model = "m"
        effective_from = 2026-10-10T10:10:10Z
        [card.rates]
        input = 3
        output = 4
        web_search = 0.5
    """)
    first = {"input": D("0.123456"), "cached_input": D("0.000001"), "output": D("2"),
             "reasoning": D("2"), "web_search": None}
    first_tier = {"input": D("10"), "cached_input": D("0.000001"), "output": D("20.5"),
                  "reasoning": D("20.5"), "web_search": None}
    second = {"input": D("3"), "cached_input": D("3"), "output": D("4"), "reasoning": D("4"),
              "web_search": D("0.5")}
    change = at(2026, 10, 10, 10, 10, 10)
    rows, by_hand = [], {}
    for i in range(120):
        ts = at(2026, 10, 1 + i % 20, i % 24)
        tokens = {"input_tokens": 37 * i, "cached_input_tokens": 11 * i,
                  "output_tokens": 101 * i, "reasoning_tokens": 7 * i if i % 3 else None,
                  "search_calls": i % 4}
        rows.append({"request_id": f"q{i:03d}", "model": "m", "ts": ts, **tokens})
        rates = second if ts >= change else first_tier if 37 * i > 500 else first
        by_hand[f"q{i:03d}"] = (ts, hand_costs(tokens, rates)["total_cost"])
    add(con, *rows)
    costs = [c for _, c in by_hand.values() if c is not None]
    assert 0 < len(costs) < 120  # searches under the old card are unpriced
    every = requests(con, book=book, limit=None)
    assert dict(every.select("request_id", "total_cost").rows()) == \
        {rid: cost for rid, (_, cost) in by_hand.items()}
    ranked = sorted(costs)
    levels = [0.0, 0.5, 1.0]
    got = cost_quantiles(con, levels, book=book)["cost"].to_list()
    assert got == [ranked[0], ranked[(len(ranked) - 1) // 2], ranked[-1]]
    share = concentration(con, "0.1", book=book)
    top_n = -(-len(costs) // 10)
    assert share["top_cost"] == sum(ranked[-top_n:]) and share["total_cost"] == sum(costs)
    assert share["requests"] == len(costs) and share["top_requests"] == top_n
    top = requests(con, book=book, limit=7)
    assert top["total_cost"].to_list() == ranked[::-1][:7]
    earliest = sorted(by_hand, key=lambda rid: (by_hand[rid][0], rid))[:3]
    assert requests(con, book=book, order_by_cost=False, limit=3)["request_id"].to_list() \
        == earliest == ["q000", "q100", "q080"]
    assert requests(con, book=book, limit=0).height == 0


def test_a_cost_too_large_for_64_bit_units_is_still_exact(con):
    # 10^15 output tokens at $1.71 per 1M: 1.71e21 units of 10^-12 overflow 64 bits.
    add(con, {"request_id": "huge", "output_tokens": 10**15}, {"request_id": "small",
                                                              "output_tokens": 1})
    assert cost_quantiles(con, [1.0], book=BUILTIN)["cost"].to_list() == [Decimal("1710000000")]
    c = concentration(con, "0.5", book=BUILTIN)
    assert c["top_cost"] == Decimal("1710000000")
    assert c["total_cost"] == Decimal("1710000000.00000171")
    assert requests(con, book=BUILTIN, limit=1)["request_id"].to_list() == ["huge"]
    assert quiet_spend(con, [], book=BUILTIN)["total_cost"].item() == Decimal("1710000000.00000171")
