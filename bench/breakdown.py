"""Time the spend breakdown (`costkit.spend.breakdown.spend`) against a plain GROUP BY
without costs.

Generates N usage rows directly in DuckDB (range(), deterministic) into a scratch store, then
times, in the same run and on the same table:
  baseline  SELECT month, model, count(*), sum(tokens...) FROM usage GROUP BY month, model
  spend     spend(con, by=["month", "model"]) (costed view, per-rate token sums, exact Decimal)
and a few other groupings and the per-request queries (which price every request).
Target (issue 5): a monthly breakdown over 10M rows in < 3 s.

    python bench/breakdown.py --n 10000000
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from costkit.pricing.book import load_price_book
from costkit.spend.breakdown import concentration, cost_quantiles, requests, spend
from costkit.store.connection import open_store


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


def best_of(repeat: int, fn) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="rows to generate")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each query")
    parser.add_argument("--tz", default="UTC", help="time zone of the time buckets")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="costkit-bench-"))
    try:
        con = open_store(folder / "bench.duckdb")
        start = time.perf_counter()
        generate(con, args.n)
        con.execute("CHECKPOINT")
        print(f"generated {args.n:,} rows in {time.perf_counter() - start:.2f} s")
        book = load_price_book([])
        warnings.simplefilter("ignore")  # the bench's unpriced model warns on every run
        month = "date_trunc('month', timezone('UTC', ts))"
        baseline_sql = f"""
            SELECT {month} AS month, model, count(*),
                   sum(input_tokens), sum(cached_input_tokens), sum(cache_write_tokens),
                   sum(output_tokens), sum(reasoning_tokens), sum(search_calls)
            FROM usage GROUP BY ALL ORDER BY ALL
        """
        cases = [
            ("baseline: plain GROUP BY month, model (no costs)",
             lambda: con.sql(baseline_sql).pl()),
            ("spend --by month --by model",
             lambda: spend(con, ["month", "model"], tz=args.tz, book=book)),
            ("spend --by month",
             lambda: spend(con, ["month"], tz=args.tz, book=book)),
            ("spend --by day --by project",
             lambda: spend(con, ["day", "project"], tz=args.tz, book=book)),
            ("spend --by month --by tag:team",
             lambda: spend(con, ["month", "tag:team"], tz=args.tz, book=book)),
            ("spend --by month --by api_key --by user",
             lambda: spend(con, ["month", "api_key", "user"], tz=args.tz, book=book)),
            ("requests: top 20 by cost (per-request costs)",
             lambda: requests(con, tz=args.tz, book=book, limit=20)),
            ("cost_quantiles 0.5/0.9/0.99",
             lambda: cost_quantiles(con, tz=args.tz, book=book)),
            ("concentration: top 1% share",
             lambda: concentration(con, "0.01", tz=args.tz, book=book)),
        ]
        results = []
        for name, fn in cases:
            best, median = best_of(args.repeat, fn)
            results.append((name, best, median))
        base = results[0][1]
        print(f"{'query':<48} {'best s':>8} {'median s':>9} {'x baseline':>11}")
        for name, best, median in results:
            print(f"{name:<48} {best:>8.3f} {median:>9.3f} {best / base:>11.2f}")
        con.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
