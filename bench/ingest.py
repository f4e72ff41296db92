"""Time `costkit ingest` against DuckDB's own `read_json` of the same file, in one run.

Generates N chat-completion records (the seed gateway's shape: DeepSeek usage with cached,
reasoning and cache hit/miss counts; about 390 bytes each) deterministically with DuckDB,
then times, each in a fresh process and a fresh store:
  baseline  CREATE TABLE ... AS SELECT * FROM read_json(file, explicit columns): DuckDB
            parsing the file into a table, nothing else
  ingest    `costkit ingest FILE --format json` (the real command, run in-process by the
            child so Python's start-up is reported apart): line numbers, detection,
            validation, dedupe, one transaction
  monthly   costkit.spend.breakdown.spend(con, by=["month", "model"]) over the ingested store
  ingest + report   `costkit ingest` then `costkit report --by month` on a fresh store,
            for min(N, --report-n) records (the target is for 1M)
Each child reports its wall time and peak RSS (ru_maxrss). The figure lines compare whole
processes (start-up included on both sides). Targets (issue 17, 2 cores): 1M records at no
less than 0.5x the baseline's rate, 10M at 0.7x with peak RSS under 1 GB.

    python bench/ingest.py --n 1000000
    python bench/ingest.py --n 10000000 --dir /tmp/bench   # ~3.9 GB of logs; deleted after
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RAW_COLUMNS = (
    "{'id': 'VARCHAR', 'object': 'VARCHAR', 'created': 'BIGINT', 'model': 'VARCHAR', "
    "'usage': 'STRUCT(prompt_tokens BIGINT, completion_tokens BIGINT, total_tokens BIGINT, "
    "prompt_tokens_details STRUCT(cached_tokens BIGINT), completion_tokens_details "
    "STRUCT(reasoning_tokens BIGINT), prompt_cache_hit_tokens BIGINT, "
    "prompt_cache_miss_tokens BIGINT)'}"
)


def generate(path: Path, n: int) -> None:
    """N records over Aug-Dec 2026 (so a monthly report has five months), written by DuckDB."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"""
        COPY (
            SELECT 'chatcmpl-' || lpad(i::VARCHAR, 10, '0') AS id,
                   'chat.completion' AS object,
                   1785542400 + (i * 7919) % 13219200 AS created,
                   'deepseek-v3-2' AS model,
                   [{{'index': 0, 'message': {{'role': 'assistant', 'content': 'ok'}},
                      'finish_reason': 'stop'}}] AS choices,
                   {{'prompt_tokens': p, 'completion_tokens': c, 'total_tokens': p + c,
                     'prompt_tokens_details': {{'cached_tokens': h}},
                     'completion_tokens_details': {{'reasoning_tokens': r}},
                     'prompt_cache_hit_tokens': h, 'prompt_cache_miss_tokens': p - h}} AS usage
            FROM (SELECT i, 100 + (i * 31) % 4000 AS p, 20 + (i * 17) % 1500 AS c,
                         ((i * 31) % 4000) // 2 AS h, ((i * 17) % 1500) // 3 AS r
                  FROM range({int(n)}) t(i))
        ) TO '{path}' (FORMAT json)
    """)
    con.close()


# --- children: each measures itself ---------------------------------------------------------

def child_baseline(log: str, db: str) -> dict:
    import duckdb

    con = duckdb.connect(db)
    start = time.perf_counter()
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_json('{log}', "
                f"format='newline_delimited', columns={RAW_COLUMNS})")
    seconds = time.perf_counter() - start
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.close()
    return {"seconds": seconds, "rows": rows}


def child_ingest(log: str, db: str, report: bool) -> dict:
    from typer.testing import CliRunner

    from costkit.cli.app import app

    runner = CliRunner()
    start = time.perf_counter()
    result = runner.invoke(app, ["ingest", log, "--db", db, "--format", "json"])
    ingest_seconds = time.perf_counter() - start
    if result.exit_code != 0:
        raise SystemExit(f"ingest failed: {result.stderr or result.output or result.exception!r}")
    out = {"seconds": ingest_seconds, "summary": json.loads(result.stdout)}
    if report:
        start = time.perf_counter()
        result = runner.invoke(app, ["report", "--by", "month", "--db", db, "--format", "json"])
        out["report_seconds"] = time.perf_counter() - start
        if result.exit_code != 0:
            raise SystemExit(f"report failed: {result.stderr or result.exception!r}")
        out["months"] = len(json.loads(result.stdout))
    return out


def child_monthly(db: str) -> dict:
    import warnings

    from costkit.pricing.book import load_price_book
    from costkit.spend import breakdown
    from costkit.store.connection import open_store

    book = load_price_book([])
    con = open_store(db, read_only=True)
    times = []
    for _ in range(3):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = breakdown.spend(con, ["month", "model"], book=book)
        times.append(time.perf_counter() - start)
    con.close()
    return {"first": times[0], "best": min(times), "rows": frame.height}


def run_child(args: list[str]) -> dict:
    """Run this script as a child; returns its report plus its wall time and peak RSS."""
    start = time.perf_counter()
    # -P: the bench directory must not shadow the standard library (bench/tokenize.py)
    done = subprocess.run([sys.executable, "-P", __file__, "--child", *args], cwd=ROOT,
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"child {args[0]} failed:\n{done.stderr}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report["process_seconds"] = wall
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="records (default 1,000,000)")
    parser.add_argument("--dir", type=Path, default=None,
                        help="scratch directory (default: a temporary one)")
    parser.add_argument("--report-n", type=int, default=1_000_000,
                        help="records for the ingest + report timing (default 1,000,000)")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        step, *rest = args.child
        if step == "baseline":
            out = child_baseline(*rest)
        elif step == "ingest":
            out = child_ingest(rest[0], rest[1], report=rest[2] == "report")
        else:
            out = child_monthly(*rest)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out["peak_rss_mb"] = usage.ru_maxrss / 1024
        out["cpu_seconds"] = usage.ru_utime + usage.ru_stime
        print(json.dumps(out))
        return

    scratch = Path(tempfile.mkdtemp(prefix="costkit-bench-", dir=args.dir))
    try:
        log = scratch / f"chat-{args.n}.jsonl"
        start = time.perf_counter()
        generate(log, args.n)
        size = log.stat().st_size
        print(f"{args.n:,} chat completion records, {size / 1e6:,.0f} MB "
              f"({size / args.n:.0f} B/record), generated in {time.perf_counter() - start:.1f} s; "
              f"{os.cpu_count()} CPUs")

        base = run_child(["baseline", str(log), str(scratch / "raw.duckdb")])
        (scratch / "raw.duckdb").unlink()
        base_rate = args.n / base["seconds"]
        print(f"baseline  DuckDB read_json -> table   {base['seconds']:7.2f} s  "
              f"{base_rate:>10,.0f} rows/s  peak RSS {base['peak_rss_mb']:,.0f} MB  "
              f"(process CPU {base['cpu_seconds']:.2f} s)")

        db = scratch / "costkit.duckdb"
        ing = run_child(["ingest", str(log), str(db), "-"])
        s = ing["summary"]
        assert s["read"] == s["inserted"] == args.n, s
        rate = args.n / ing["seconds"]
        print(f"costkit ingest                        {ing['seconds']:7.2f} s  "
              f"{rate:>10,.0f} rows/s"
              f"  peak RSS {ing['peak_rss_mb']:,.0f} MB  = {rate / base_rate:.2f} x baseline rate"
              f"  (process with start-up {ing['process_seconds']:.2f} s, CPU "
              f"{ing['cpu_seconds']:.2f} s)")
        from figures import figure

        target = "0.5" if args.n < 10_000_000 else "0.7"
        print(figure(f"ingest {args.n:,} chat records, whole process",
                     args.n / ing["process_seconds"], args.n / base["process_seconds"],
                     "DuckDB read_json into a table (whole process)", "rows/s",
                     f"x baseline rate, target >= {target}"))
        print(figure(f"ingest {args.n:,} chat records, peak RSS", ing["peak_rss_mb"],
                     base["peak_rss_mb"], "DuckDB read_json", "MB", "target < 1 GB"))

        monthly = run_child(["monthly", str(db)])
        print(f"monthly breakdown (month x model)     {monthly['first']:7.2f} s first, "
              f"{monthly['best']:.2f} s best of 3  ({monthly['rows']} rows)  "
              f"peak RSS {monthly['peak_rss_mb']:,.0f} MB")
        db.unlink()

        small = args.report_n
        if small < args.n:
            log.unlink()
            log = scratch / f"chat-{small}.jsonl"
            generate(log, small)
        both = run_child(["ingest", str(log), str(scratch / "fresh.duckdb"), "report"])
        total = both["seconds"] + both["report_seconds"]
        print(f"ingest + report --by month, {min(small, args.n):,}: {total:6.2f} s  (ingest "
              f"{both['seconds']:.2f} s + report {both['report_seconds']:.2f} s, "
              f"{both['months']} months; process with start-up {both['process_seconds']:.2f} s)")
    finally:
        if args.keep:
            print(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
