"""Time the spend breakdown on the exported Parquet layout beside the store's own.

Generates N usage rows (bench/breakdown.py's generator: deterministic, 2026, 0.1% unpriced)
into a scratch store, exports them with `costkit.store.parquet.export_parquet`, then times
in the same run, best of --repeat:
  store     spend(store connection, by=...)
  parquet   spend(DuckDB over the Parquet directory, by=...)
  spark     the same on Spark local mode (with --spark; needs the spark extra and Java)
and prints the store's and the layout's sizes on disk. The rows of every engine are checked
equal to the store's before any time is printed.

    python bench/parquet.py --rows 10000000 [--spark]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from breakdown import best_of, generate  # noqa: E402

from costkit.spend.breakdown import spend  # noqa: E402
from costkit.spend.engine import parquet_engine  # noqa: E402
from costkit.store.connection import open_store  # noqa: E402
from costkit.store.parquet import export_parquet  # noqa: E402

GROUPINGS = (["month", "model"], ["day", "project"])


def size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(
        p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--spark", action="store_true", help="also time Spark local mode")
    parser.add_argument("--tz", default="America/New_York")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # the generated unpriced model warns on every run
    work = Path(tempfile.mkdtemp(prefix="costkit-bench-parquet-"))
    try:
        con = open_store(work / "store.duckdb")
        start = time.perf_counter()
        generate(con, args.rows)
        con.execute("CHECKPOINT")
        print(f"generated {args.rows:,} rows in {time.perf_counter() - start:.1f} s")
        start = time.perf_counter()
        written = export_parquet(con, work / "lake")
        print(f"exported {len(written)} month partitions in {time.perf_counter() - start:.1f} s")
        print(f"size: store {size(work / 'store.duckdb') / 1e6:,.0f} MB, "
              f"parquet {size(work / 'lake') / 1e6:,.0f} MB")
        engines = []
        lake = parquet_engine(work / "lake")
        engines.append(("parquet", lake.__enter__()))
        if args.spark:
            from costkit.spend.spark import SparkEngine, session
            engines.append(("spark", SparkEngine(session(), work / "lake")))
        for by in GROUPINGS:
            expected = spend(con, by, tz=args.tz)
            for name, engine in engines:
                got = spend(engine, by, tz=args.tz)
                assert got.rows() == expected.rows(), f"{name} differs from the store on {by}"
            best, median = best_of(args.repeat, lambda by=by: spend(con, by, tz=args.tz))
            line = f"by {'+'.join(by):13s} store {best:6.2f} s"
            for name, engine in engines:
                best, median = best_of(args.repeat,
                                       lambda by=by, e=engine: spend(e, by, tz=args.tz))
                line += f"   {name} {best:6.2f} s"
            print(line + f"   ({expected.height:,} rows, equal on every engine)")
        lake.__exit__(None, None, None)
        con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
