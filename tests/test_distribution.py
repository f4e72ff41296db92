"""The one-scan per-request figures (`costkit.spend.distribution.request_costs`): each must be
what the requests cost when worked out by hand, and what DuckDB's own `quantile_disc` picks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import duckdb
import pytest

from costkit.core.errors import InputError
from costkit.pricing.book import load_price_book
from costkit.report.monthly import QUANTILES
from costkit.report.single import single_requests
from costkit.spend.distribution import MAX_CANDIDATES, _position, request_costs

BUILTIN = load_price_book([])
OUT = D("1.71") / 1_000_000   # deepseek-v3-2: $1.71 per 1M output tokens
IN = D("0.57") / 1_000_000    # ... $0.57 per 1M input tokens
START = datetime(2026, 10, 1, tzinfo=UTC)


def add(con, rows: list[dict]) -> None:
    """Usage rows of deepseek-v3-2 (unless `model` says otherwise), all else zero."""
    con.executemany(
        "INSERT INTO usage (request_id, ts, model, endpoint, input_tokens, cached_input_tokens, "
        "cache_write_tokens, output_tokens, reasoning_tokens, search_calls, source_format) "
        "VALUES (?, ?, ?, 'chat.completions', ?, 0, 0, ?, 0, 0, 'test')",
        [[r["id"], r["ts"], r.get("model", "deepseek-v3-2"), r.get("input", 0), r["output"]]
         for r in rows])


def duckdb_quantiles(costs: list[D], levels) -> list[D]:
    """The reference: DuckDB's quantile_disc over the hand-worked costs."""
    ref = duckdb.connect()
    ref.execute("CREATE TABLE c (v DECIMAL(38,12))")
    ref.executemany("INSERT INTO c VALUES (?)", [[str(v)] for v in costs])
    return list(ref.execute("SELECT quantile_disc(v, ?::DOUBLE[]) FROM c",
                            [list(levels)]).fetchone()[0])


def test_positions_are_where_duckdb_quantile_disc_reads():
    # DuckDB reads a level as the decimal it is written as: at n = 100, level 0.55 is the
    # 55th value (index 54), though 0.55 * 100 is 55.000000000000007 in floating point,
    # whose ceiling would pick the 56th.
    assert _position(100, 0.55) == 54
    ref = duckdb.connect()
    for n in [1, 2, 3, 7, 10, 25, 75, 99, 100, 101, 997, 1000, 12345]:
        want = ref.execute(f"SELECT quantile_disc(i, ?::DOUBLE[]) FROM range({n}) t(i)",
                           [list(QUANTILES)]).fetchone()[0]
        assert [_position(n, q) for q in QUANTILES] == want, n


def test_figures_equal_costs_worked_out_by_hand(con):
    # Request i: 100 * (i % 37 + 1) output tokens and 1000 * (i % 5) input tokens, so
    # costs repeat (ties) and spread over several hours; 3 requests of an unknown model
    # are left out of every figure.
    rows, by_hand = [], {}
    for i in range(400):
        out, inp = 100 * (i % 37 + 1), 1000 * (i % 5)
        rid = f"q{i:03d}"
        ts = START + timedelta(minutes=7 * (i % 50))
        rows.append({"id": rid, "ts": ts, "output": out, "input": inp})
        by_hand[rid] = (out * OUT + inp * IN, ts)
    rows += [{"id": f"ghost{i}", "ts": START, "output": 10**6, "model": "ghost"}
             for i in range(3)]
    add(con, rows)
    costs = sorted(c for c, _ in by_hand.values())
    got = request_costs(con, QUANTILES, [D("0.01"), D("0.1")], 20, book=BUILTIN)

    assert got.quantiles["quantile"].to_list() == list(QUANTILES)
    assert got.quantiles["cost"].to_list() == duckdb_quantiles(costs, QUANTILES)
    assert got.quantiles["cost"].to_list()[0] == costs[0]       # level 0: the cheapest
    assert got.quantiles["cost"].to_list()[100] == costs[-1]    # level 1: the dearest

    for fraction, top_n in ((D("0.01"), 4), (D("0.1"), 40)):   # ceil(400 x fraction)
        c = got.concentration[fraction]
        assert (c["requests"], c["top_requests"]) == (400, top_n)
        assert c["total_cost"] == sum(costs)
        assert c["top_cost"] == sum(costs[-top_n:])
        assert c["share"] == c["top_cost"] / c["total_cost"]

    # Most expensive first; equal costs by time, then request id.
    ranked = sorted(by_hand, key=lambda r: (-by_hand[r][0], by_hand[r][1], r))[:20]
    assert got.top["request_id"].to_list() == ranked
    assert got.top["total_cost"].to_list() == [by_hand[r][0] for r in ranked]
    assert str(got.top["ts"].dtype) == "Datetime(time_unit='us', time_zone='UTC')"


def test_period_bounds_and_few_requests(con):
    # Two priced requests in October, one unpriced, one in November: the top 5 of October
    # still lists the unpriced one last (as `requests` does), the figures count 2.
    add(con, [{"id": "a", "ts": START, "output": 1000},
              {"id": "b", "ts": START + timedelta(days=1), "output": 10},
              {"id": "g", "ts": START, "output": 5, "model": "ghost"},
              {"id": "nov", "ts": datetime(2026, 11, 2, tzinfo=UTC), "output": 10**6}])
    got = request_costs(con, [0.0, 1.0], [D("0.5")], 5, since=START.date(),
                        until=datetime(2026, 11, 1).date(), book=BUILTIN)
    assert got.quantiles["cost"].to_list() == [10 * OUT, 1000 * OUT]
    c = got.concentration[D("0.5")]
    assert (c["requests"], c["top_requests"], c["top_cost"]) == (2, 1, 1000 * OUT)
    assert got.top["request_id"].to_list() == ["a", "b", "g"]
    assert got.top["total_cost"].to_list() == [1000 * OUT, 10 * OUT, None]


def test_empty_period(con):
    got = request_costs(con, QUANTILES, [D("0.01")], 20, book=BUILTIN)
    assert got.quantiles.height == 0 and got.top.height == 0
    assert got.concentration[D("0.01")] == {"requests": 0, "top_requests": 0,
                                            "top_cost": D(0), "total_cost": D(0),
                                            "share": None}


def test_many_requests_tied_at_the_cut(con):
    # More requests at the 20th cost than the second read takes at once: the top 20 are
    # still the earliest of them.
    n = MAX_CANDIDATES + 50
    add(con, [{"id": f"t{i:05d}", "ts": START + timedelta(seconds=n - i), "output": 100}
              for i in range(n)])
    got = request_costs(con, [0.5], [D("0.01")], 20, book=BUILTIN)
    assert got.top["request_id"].to_list() == [f"t{i:05d}" for i in range(n - 1, n - 21, -1)]
    assert got.concentration[D("0.01")]["top_cost"] == 11 * 100 * OUT  # ceil(1050 / 100)


def test_a_cost_beyond_64_bit_units_is_still_exact(con):
    # 10^15 output tokens at $1.71 per 1M: 1.71e21 units of 10^-12 overflow 64 bits.
    add(con, [{"id": "huge", "ts": START, "output": 10**15},
              {"id": "small", "ts": START, "output": 1}])
    got = request_costs(con, [1.0], [D("0.5")], 1, book=BUILTIN)
    assert got.quantiles["cost"].to_list() == [D("1710000000")]
    assert got.concentration[D("0.5")]["total_cost"] == D("1710000000.00000171")
    assert got.top["request_id"].to_list() == ["huge"]


def test_a_level_written_with_many_digits_is_read_by_duckdb(con):
    # 0.1 + 0.2 is 0.30000000000000004: DuckDB rounds it, so it is left to quantile_disc.
    add(con, [{"id": f"r{i}", "ts": START, "output": i + 1} for i in range(10)])
    got = request_costs(con, [0.1 + 0.2], [D("0.5")], 3, book=BUILTIN)
    costs = [(i + 1) * OUT for i in range(10)]
    assert got.quantiles["cost"].to_list() == duckdb_quantiles(costs, [0.1 + 0.2])


def test_bad_arguments(con):
    for kwargs in ({"quantiles": [1.5]}, {"fractions": [D(0)]}, {"limit": -1}):
        args = {"quantiles": [0.5], "fractions": [D("0.1")], "limit": 1, **kwargs}
        with pytest.raises(InputError):
            request_costs(con, args["quantiles"], args["fractions"], args["limit"],
                          book=BUILTIN)




def test_over_the_single_requests_view(con):
    # With a bucket of 40 requests in the month, the page reads a view of single requests
    # (report.single), which has no rowid: the top requests are re-read by time instead.
    add(con, [{"id": f"r{i:02d}", "ts": START + timedelta(hours=i), "output": 100 * (i + 1)}
              for i in range(30)])
    con.execute("INSERT INTO usage (request_id, ts, model, endpoint, input_tokens, "
                "cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, "
                "search_calls, request_count, source_format) VALUES ('bucket', ?, "
                "'deepseek-v3-2', 'chat.completions', 0, 0, 0, 10000000, 0, 0, 40, 'test')",
                [START])
    with single_requests(con, True) as one:
        got = request_costs(one, [1.0], [D("0.1")], 3, book=BUILTIN)
    assert got.top["request_id"].to_list() == ["r29", "r28", "r27"]   # not the bucket
    assert got.quantiles["cost"].to_list() == [3000 * OUT]
    assert got.concentration[D("0.1")]["top_cost"] == (3000 + 2900 + 2800) * OUT
