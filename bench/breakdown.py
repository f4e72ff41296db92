"""Time the spend queries against the same queries written by hand directly in DuckDB.

Generates N usage rows directly in DuckDB (range(), deterministic) into a scratch store, then
times, in the same run, on the same table, best of --repeat, each costkit query and its
like-for-like baseline:

  baseline  hand-written DuckDB SQL giving the same answer the same way: UTC day buckets
            from epoch arithmetic (no per-row time zone conversion, as costkit does for
            UTC), GROUP BY the same keys, token sums, the DeepSeek V3.2 rates typed in
            here ($0.57 / $1.71 per 1M, $0.015 a search) and multiplied once per sum
            (per request for the per-request queries), exact DECIMAL
  costkit   costkit.spend.breakdown: spend(by=...), requests, cost_quantiles, concentration

Each line prints both times, costkit / baseline (target: <= 1.3x on 2M rows) and whether
the two totals agree to the last digit.

    python bench/breakdown.py --n 2000000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
import warnings
from decimal import Decimal
from pathlib import Path

from figures import figure

from costkit.pricing.book import load_price_book
from costkit.spend.breakdown import concentration, cost_quantiles, requests, spend
from costkit.store.connection import open_store

DAY_US = 86_400_000_000
# DeepSeek V3.2's card, per token (USD 0.57 and 1.71 per 1M) and per search call
RATES = """(SELECT 'deepseek-v3-2' AS model, 0.00000057::DECIMAL(38,18) AS r_in,
                   0.00000057::DECIMAL(38,18) AS r_cached, 0.00000171::DECIMAL(38,18) AS r_out,
                   0.015::DECIMAL(38,18) AS r_search)"""
# one request's cost (costkit prices the unpriced model and a search without a rate as NULL)
ROW_COST = """(CAST(input_tokens - cached_input_tokens - cache_write_tokens AS DECIMAL(38,0))
                * r_in + CAST(cached_input_tokens AS DECIMAL(38,0)) * r_cached
                + CAST(output_tokens AS DECIMAL(38,0)) * r_out
                + CAST(coalesce(reasoning_tokens, 0) AS DECIMAL(38,0)) * r_out
                + CAST(coalesce(search_calls, 0) AS DECIMAL(38,0)) * r_search)"""
TOKENS = ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
          "reasoning_tokens", "search_calls")
KEY_SQL = {"project": "project", "api_key": "api_key_id", "user": '"user"',
           "tag:team": "json_extract_string(tags, '$.team')"}


def generate(con, n: int) -> None:
    """N requests over 2026: 2 models (0.1% unpriced), 8 projects, 50 keys, 200 users, tags."""
    con.execute(f"""
        INSERT INTO usage (request_id, ts, provider, endpoint, model, input_tokens,
                           cached_input_tokens, cache_write_tokens, output_tokens,
                           reasoning_tokens, search_calls, project, api_key_id, "user", tags,
                           source_format)
        SELECT 'req-' || i,
               TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds((i * 7919) % 31536000),
               'deepseek',
               CASE i % 3 WHEN 0 THEN 'chat.completions' WHEN 1 THEN 'responses'
                          ELSE 'messages' END,
               CASE WHEN i % 1000 = 0 THEN 'mystery-model' ELSE 'deepseek-v3-2' END,
               500 + (i * 31) % 8000,
               ((500 + (i * 31) % 8000) * (i % 5)) // 10,
               0,
               50 + (i * 17) % 2000,
               CASE WHEN i % 4 = 0 THEN NULL ELSE (i * 13) % 3000 END,
               CASE WHEN i % 50 = 0 THEN 1 ELSE 0 END,
               'project-' || (i % 8),
               'key-' || (i % 50),
               'user-' || (i % 200),
               CASE WHEN i % 2 = 0 THEN '{{"team": "growth"}}' ELSE '{{"team": "search"}}' END,
               'bench'
        FROM range({n}) t(i)
    """)


def baseline_breakdown(by: list[str]) -> str:
    """By hand: day buckets and keys summed first, labelled and priced per sum after."""
    inner, outer = [], []
    for key in by:
        if key in ("day", "month"):
            inner.append(f"epoch_us(ts) // {DAY_US} AS day")
            fmt = "%Y-%m-%d" if key == "day" else "%Y-%m"
            outer.append(f"strftime(DATE '1970-01-01' + CAST(day AS INTEGER), '{fmt}') AS {key}")
        elif key == "model":
            outer.append("model")
        else:
            inner.append(f"{KEY_SQL[key]} AS k_{len(inner)}")
            outer.append(f"k_{len(inner) - 1}")
    sums = ", ".join(f"sum({c}) AS {c}" for c in TOKENS)
    costs = (
        "sum(CAST(input_tokens - cached_input_tokens - cache_write_tokens AS DECIMAL(38,0))"
        " * r_in + CAST(cached_input_tokens AS DECIMAL(38,0)) * r_cached"
        " + CAST(output_tokens + coalesce(reasoning_tokens, 0) AS DECIMAL(38,0)) * r_out"
        " + CAST(search_calls AS DECIMAL(38,0)) * r_search) AS total_cost")
    return f"""
        WITH fine AS (SELECT {', '.join(inner + ['model'])}, sum(request_count) AS requests,
                             {sums} FROM usage GROUP BY ALL)
        SELECT {', '.join(outer)}, sum(requests) AS requests,
               {', '.join(f'sum({c}) AS {c}' for c in TOKENS)}, {costs}
        FROM fine LEFT JOIN {RATES} USING (model)
        GROUP BY ALL ORDER BY ALL
    """


def total(values) -> Decimal:
    return sum((Decimal(v) for v in values if v is not None), Decimal(0))


def same_groups(ours, theirs) -> bool:
    """Same groups in the same order, same requests, and the same cost wherever costkit
    priced the group (it nulls a group holding unpriced usage; the baseline skips it)."""
    if ours["requests"].to_list() != theirs["requests"].to_list():
        return False
    return all(a is None or a == b
               for a, b in zip(ours["total_cost"], theirs["total_cost"], strict=True))


def best_of(repeat: int, fn):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def cases(con, book, tz):
    """(name, costkit call, baseline call, how to compare their answers)."""
    out = []
    for by in (["month", "model"], ["month"], ["day", "project"], ["month", "tag:team"],
               ["month", "api_key", "user"]):
        sql = baseline_breakdown(by)
        out.append((
            f"spend --by {' --by '.join(by)}",
            lambda by=by: spend(con, by, tz=tz, book=book),
            lambda sql=sql: con.sql(sql).pl(),
            lambda ours, theirs: same_groups(ours, theirs),
        ))
    priced = f"FROM usage JOIN {RATES} USING (model)"
    out.append((
        "requests: top 20 by cost",
        lambda: requests(con, tz=tz, book=book, limit=20),
        lambda: con.sql(f"SELECT request_id, {ROW_COST} AS total_cost {priced} "
                        "ORDER BY total_cost DESC, ts, request_id LIMIT 20").pl(),
        lambda ours, theirs: ours["request_id"].to_list() == theirs["request_id"].to_list(),
    ))
    out.append((
        "cost_quantiles 0.5/0.9/0.99",
        lambda: cost_quantiles(con, tz=tz, book=book),
        lambda: con.sql(f"SELECT quantile_disc({ROW_COST}, [0.5, 0.9, 0.99]) {priced}"
                        ).fetchall(),
        lambda ours, theirs: ours["cost"].to_list() == list(theirs[0][0]),
    ))
    out.append((
        "concentration: top 1% share",
        lambda: concentration(con, "0.01", tz=tz, book=book),
        lambda: con.sql(f"SELECT sum(c), list_sum(max(c, (SELECT ceil(count(*) / 100)::BIGINT "
                        f"{priced}))) FROM (SELECT {ROW_COST} AS c {priced})").fetchall(),
        lambda ours, theirs: (ours["total_cost"], ours["top_cost"]) == theirs[0],
    ))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000_000, help="rows to generate")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each query")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="costkit-bench-"))
    try:
        con = open_store(folder / "bench.duckdb")
        generate(con, args.n)
        con.execute("CHECKPOINT")
        book = load_price_book([])
        warnings.simplefilter("ignore")  # the bench's unpriced model warns on every run
        print(f"{args.n:,} rows; baseline: the same query hand-written in DuckDB SQL "
              "(UTC day buckets by epoch arithmetic, typed-in DeepSeek V3.2 rates)")
        for name, ours, theirs, same in cases(con, book, "UTC"):
            ours_s, ours_out = best_of(args.repeat, ours)
            base_s, base_out = best_of(args.repeat, theirs)
            answer = "same answer" if same(ours_out, base_out) else "ANSWERS DIFFER"
            print(figure(f"breakdown {args.n:,} rows, {name}", ours_s, base_s,
                         "hand-written DuckDB SQL", "s",
                         f"x baseline time, target <= 1.3x; {answer}"))
        con.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
