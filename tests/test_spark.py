"""The breakdown on Spark local mode over the exported Parquet equals the store's (issue 19).

Needs the spark extra (`pip install -e '.[dev,spark]'`) and a JVM; skipped without them,
except where COSTKIT_REQUIRE_SPARK=1 (CI) makes a missing Spark a failure. One Spark session
for the whole module: starting one takes many seconds on a small machine.
"""

from __future__ import annotations

import os
import shutil
import warnings
from datetime import date
from decimal import Decimal

import pytest
from lake_data import BOUNDARY, BOUNDARY_MONTHS, CASES, OUTPUT_RATE, make_store

# The spark extra (pyspark, sqlglot) is checked before costkit.spend.spark is imported: that
# module needs sqlglot, so a `.[dev]` install would otherwise fail at collection.
if os.environ.get("COSTKIT_REQUIRE_SPARK") != "1":
    pytest.importorskip("sqlglot")
    pytest.importorskip("pyspark")
    if shutil.which("java") is None:
        pytest.skip("no JVM (java) on PATH", allow_module_level=True)

from costkit.spend.breakdown import spend  # noqa: E402
from costkit.spend.spark import SparkEngine, render, session  # noqa: E402
from costkit.store.parquet import export_parquet  # noqa: E402


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """The generated store and its export; the store stays open for the reference rows."""
    folder = tmp_path_factory.mktemp("lake")
    con = make_store(folder / "store.duckdb")
    export_parquet(con, folder / "lake")
    edges = make_store(folder / "edges.duckdb", n=0)
    export_parquet(edges, folder / "edges")
    edges.close()
    yield con, folder
    con.close()


@pytest.fixture(scope="module")
def spark():
    return session("local[2]")


def breakdown(con, by, tz, since=None, until=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spend(con, by, tz=tz, since=since and date.fromisoformat(since),
                     until=until and date.fromisoformat(until))


@pytest.mark.parametrize(("by", "tz", "since", "until"), CASES)
def test_spark_gives_the_store_breakdown_exactly(lake, spark, by, tz, since, until):
    con, folder = lake
    expected = breakdown(con, by, tz, since, until)
    got = breakdown(SparkEngine(spark, folder / "lake"), by, tz, since, until)
    assert got.schema == expected.schema  # DECIMAL(38,12) money, DECIMAL(38,0) token sums
    assert got.rows() == expected.rows()
    assert got.height > 0


@pytest.mark.parametrize("tz", sorted(BOUNDARY_MONTHS))
def test_spark_tz_month_boundaries_match_the_hand_worked_months(lake, spark, tz):
    _, folder = lake
    rows = breakdown(SparkEngine(spark, folder / "edges"), ["month"], tz)
    expected: dict[str, Decimal] = {}
    for request_id, _, output in BOUNDARY:
        month = BOUNDARY_MONTHS[tz][request_id]
        expected[month] = expected.get(month, Decimal(0)) + output * OUTPUT_RATE / 1_000_000
    assert dict(rows.select("month", "total_cost").rows()) == expected


def test_spark_keeps_all_twelve_places_where_it_would_cut_to_six(lake, spark):
    # 3 tokens at $0.57/1M is $0.00000171: below Spark's default decimal scale of 6 after a
    # wide multiplication, so a session that allowed precision loss would show $0.000002.
    got = spark.sql(render("SELECT CAST(CAST(3 AS HUGEINT) * CAST(? AS DECIMAL(38,12)) "
                           "AS DECIMAL(38,12)) AS c", [Decimal("0.00000057")])).collect()
    assert got[0]["c"] == Decimal("0.000001710000")


def test_cli_report_on_spark_prints_the_duckdb_table(lake, cli):
    # DuckDB over the same directory prints the store's table (tests/test_lake.py)
    _, folder = lake
    args = ["report", "--by", "month", "--tz", "America/New_York",
            "--source", str(folder / "lake")]
    on_spark = cli(*args, "--engine", "spark", "--spark-master", "local[2]")
    on_duckdb = cli(*args, "--engine", "duckdb")
    assert on_spark.exit_code == on_duckdb.exit_code == 0, on_spark.stderr
    assert on_spark.stdout == on_duckdb.stdout
    assert "2026-02" in on_spark.stdout
    assert "unpriced usage: mystery-model" in on_spark.stderr
