"""Time `costkit report monthly` (the whole page) against the plain monthly breakdown query.

Generates N usage rows for 2026-10 (plus N/10 for 2026-09, so the page has a previous
month to compare with) directly in DuckDB SQL (range(), deterministic) into a scratch store,
then times, in the same run, on the same store:
  baseline  breakdown.spend(con, by=["month"]) for the month: the single query behind
            `costkit report --by month`
  build     report.build_monthly_report: every query of the page
  page      build + figures + HTML + write the file (what `costkit report monthly` does)
Target (issue 17): the page for a month of 10M requests in under 1.5 s. --db keeps the
generated store for the next run; --sections also prints where build_monthly_report's time
goes, per section (each function monthly.py calls, timed around the call).

    python bench/report.py --n 10000000 --db /tmp/bench10m.duckdb --sections
"""

from __future__ import annotations

import argparse
import collections
import functools
import shutil
import statistics
import tempfile
import time
import warnings
from datetime import UTC, date, datetime
from pathlib import Path

from figures import figure

import costkit.report.monthly as monthly
from costkit.pricing.book import load_price_book
from costkit.report.monthly import build_monthly_report, write_monthly_report
from costkit.spend import breakdown
from costkit.store.connection import open_store

MONTH = date(2026, 10, 1)


def generate(con, n: int, month_start: str, seconds: int, prefix: str, offset: int = 0) -> None:
    """N requests spread over `seconds` from `month_start`: 60 projects, 400 keys, 3 endpoints,
    both thinking modes, searches, cache hits, 0.1% of an unpriced model."""
    con.execute(f"""
        INSERT INTO usage (request_id, ts, provider, endpoint, model, input_tokens,
                           cached_input_tokens, cache_write_tokens, output_tokens,
                           reasoning_tokens, search_calls, project, api_key_id, "user", tags,
                           source_format, ingest_id)
        SELECT '{prefix}-' || i,
               TIMESTAMPTZ '{month_start}' + to_seconds((i * 7919) % {seconds}),
               'deepseek',
               CASE i % 3 WHEN 0 THEN 'chat.completions' WHEN 1 THEN 'responses'
                          ELSE 'messages' END,
               CASE WHEN i % 1000 = 7 THEN 'mystery-model' ELSE 'deepseek-v3-2' END,
               500 + (i * 31) % 8000 + CASE WHEN i % 997 = 0 THEN 90000 ELSE 0 END,
               ((500 + (i * 31) % 8000) * (i % 5)) // 10,
               0,
               50 + (i * 17) % 2000,
               CASE WHEN i % 2 = 0 THEN 0 ELSE (i * 13) % 6000 END,
               CASE WHEN i % 3 = 1 AND i % 7 < 3 THEN 1 + i % 4 ELSE 0 END,
               'project-' || ((i * 11) % 60),
               'key-' || ((i * 37) % 400),
               'user-' || (i % 200),
               '{{"team": "t' || (i % 4) || '"}}',
               'bench', {offset + 1}
        FROM range({n}) t(i)
    """)


def timed(repeat: int, fn) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


# What build_monthly_report calls, by the names it imports them under.
SECTIONS = ("request_costs", "month_anomalies", "month_rejects", "month_budgets",
            "cache_savings", "month_variance", "aggregate_rows", "usage_span",
            "project_rest_of_month", "month_headline", "every_day", "rollup", "top_with_other")
BREAKDOWN = ("spend", "unpriced")


def time_sections(con, book, tz: str) -> None:
    """One build with every section's calls timed: a table of seconds and shares."""
    spent: dict[str, float] = collections.defaultdict(float)
    calls: collections.Counter = collections.Counter()

    def timer(name, fn):
        @functools.wraps(fn)
        def timed_call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
                calls[name] += 1
        return timed_call

    saved = {name: getattr(monthly, name) for name in SECTIONS}
    saved_breakdown = {name: getattr(breakdown, name) for name in BREAKDOWN}
    try:
        for name, fn in saved.items():
            setattr(monthly, name, timer(name, fn))
        for name, fn in saved_breakdown.items():
            setattr(breakdown, name, timer(f"breakdown.{name}", fn))
        start = time.perf_counter()
        build_monthly_report(con, MONTH, tz=tz, book=book)
        whole = time.perf_counter() - start
    finally:
        for name, fn in saved.items():
            setattr(monthly, name, fn)
        for name, fn in saved_breakdown.items():
            setattr(breakdown, name, fn)
    print(f"{'section (build_monthly_report)':<36} {'calls':>5} {'s':>7} {'share':>6}")
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"{name:<36} {calls[name]:>5} {seconds:>7.3f} {seconds / whole:>6.1%}")
    rest = whole - sum(spent.values())
    print(f"{'(the rest)':<36} {'':>5} {rest:>7.3f} {rest / whole:>6.1%}")
    print(f"{'whole build':<36} {'':>5} {whole:>7.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="requests in the month")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of each case")
    parser.add_argument("--tz", default="UTC", help="time zone of the month")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--db", type=Path, help="reuse this generated store (kept; made if "
                        "missing), e.g. to time the 10M case again without regenerating")
    parser.add_argument("--sections", action="store_true",
                        help="also time each section of the build once")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="costkit-bench-report-"))
    try:
        con = open_store(args.db or folder / "bench.duckdb")
        held = con.execute("SELECT count(*) FROM usage").fetchone()[0]
        if held:
            args.n = con.execute("SELECT count(*) FROM usage WHERE ts >= TIMESTAMPTZ "
                                 "'2026-10-01 00:00:00+00'").fetchone()[0]
            print(f"reusing {args.db}: {held:,} rows, {args.n:,} in the month")
        else:
            start = time.perf_counter()
            generate(con, args.n, "2026-10-01 00:00:00+00", 31 * 86400, "oct")
            generate(con, max(1, args.n // 10), "2026-09-01 00:00:00+00", 30 * 86400, "sep", 1)
            con.execute("CHECKPOINT")
            print(f"generated {args.n:,} + {max(1, args.n // 10):,} rows in "
                  f"{time.perf_counter() - start:.2f} s")
        book = load_price_book([])
        warnings.simplefilter("ignore")  # the unpriced model warns on every breakdown
        since, until = MONTH, date(2026, 11, 1)
        plain = ("SELECT epoch_us(ts) // 86400000000 AS day, count(*), sum(input_tokens), "
                 "sum(output_tokens), sum(reasoning_tokens) FROM usage WHERE ts >= ? AND ts < ? "
                 "GROUP BY day")
        instants = [datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)]
        cases = [
            ("baseline: spend(by=month) for the month",
             lambda: breakdown.spend(con, ["month"], since=since, until=until, tz=args.tz,
                                     book=book)),
            ("build_monthly_report (every query of the page)",
             lambda: build_monthly_report(con, MONTH, tz=args.tz, book=book)),
            ("costkit report monthly (queries + page + write)",
             lambda: write_monthly_report(con, MONTH, tz=args.tz, book=book,
                                          out_dir=folder / "reports")),
        ]
        # A floor that no costkit change moves: one hand-written GROUP BY of the month's rows.
        cases.append(("floor: DuckDB GROUP BY day, token sums (by hand)",
                      lambda: con.execute(plain, instants).fetchall()))
        results = [(name, *timed(args.repeat, fn)) for name, fn in cases]
        base, floor = results[0][1], results[-1][1]
        print(f"{'case':<52} {'best s':>8} {'median s':>9} {'x baseline':>11} {'x floor':>8}")
        for name, best, median in results:
            print(f"{name:<52} {best:>8.3f} {median:>9.3f} {best / base:>11.2f} "
                  f"{best / floor:>8.2f}")
        for name, best, _ in results[1:-1]:
            print(figure(f"{args.n:,} rows, {name}", best, base, "spend(by=month)", "s",
                         "x baseline time"))
            print(figure(f"{args.n:,} rows, {name}", best, floor,
                         "a hand-written DuckDB GROUP BY day of the month", "s", "x floor time"))
        if args.sections:
            time_sections(con, book, args.tz)
        page = folder / "reports" / f"costkit-{MONTH:%Y-%m}.html"
        print(f"page: {page.stat().st_size / 1e6:.1f} MB"
              + (f" at {page}" if args.keep else ""))
        con.close()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
