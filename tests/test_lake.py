"""`costkit export --parquet` and the breakdown on DuckDB over that layout (issue 19).

The reference is the store's own breakdown (`spend` on the store connection), plus the
hand-placed requests of tests/lake_data.py whose months per zone and costs are worked out by
hand. Spark runs the same comparison in tests/test_spark.py.
"""

from __future__ import annotations

import os
import warnings
from datetime import date
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
from lake_data import BOUNDARY, BOUNDARY_MONTHS, CASES, OUTPUT_RATE, make_store

from costkit.core.errors import InputError, OutputError
from costkit.spend.breakdown import spend
from costkit.spend.engine import parquet_engine
from costkit.store.parquet import export_parquet, partitions

MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]


@pytest.fixture
def store(tmp_path):
    con = make_store(tmp_path / "store.duckdb")
    yield con
    con.close()


def breakdown(con, by, tz, since, until):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the unpriced model warns on every engine alike
        return spend(con, by, tz=tz, since=since and date.fromisoformat(since),
                     until=until and date.fromisoformat(until))


def test_export_writes_one_partition_per_utc_month_with_every_row(store, tmp_path):
    lake = tmp_path / "lake"
    written = export_parquet(store, lake)
    assert [m for m, _ in written] == MONTHS
    assert partitions(lake) == MONTHS
    assert sum(rows for _, rows in written) == 3000 + len(BOUNDARY)
    # each hand-placed request is in its UTC month's file
    for request_id, month in BOUNDARY_MONTHS["UTC"].items():
        ids = pq.read_table(lake / f"month={month}" / "usage.parquet").column("request_id")
        assert request_id in ids.to_pylist()


def test_the_parquet_schema_is_the_documented_one(store, tmp_path):
    export_parquet(store, tmp_path / "lake")
    schema = pq.read_schema(tmp_path / "lake" / "month=2026-01" / "usage.parquet")
    kinds = {field.name: str(field.type) for field in schema}
    assert list(kinds) == [row[0] for row in store.execute("DESCRIBE usage").fetchall()]
    assert kinds["ts"] == "timestamp[us, tz=UTC]"
    assert kinds["billed_cost"] == "decimal128(38, 12)"
    for column in ("input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
                   "reasoning_tokens", "search_calls", "source_line", "ingest_id"):
        assert kinds[column] == "int64", column
    for column in ("request_id", "model", "tags", "source_format", "source_file"):
        assert kinds[column] == "string", column
    assert "month" not in kinds  # the partition lives in the directory name only
    billed = pq.read_table(tmp_path / "lake" / "month=2026-01" / "usage.parquet",
                           filters=[("request_id", "=", "req-11")]).column("billed_cost")
    assert billed.to_pylist() in ([], [Decimal("0.000011000000")])


@pytest.mark.parametrize(("by", "tz", "since", "until"), CASES)
def test_duckdb_over_parquet_gives_the_store_breakdown_exactly(store, tmp_path, by, tz,
                                                                 since, until):
    export_parquet(store, tmp_path / "lake")
    expected = breakdown(store, by, tz, since, until)
    with parquet_engine(tmp_path / "lake") as engine:
        got = breakdown(engine, by, tz, since, until)
    assert got.schema == expected.schema
    assert got.rows() == expected.rows()
    assert got.height > 0


@pytest.mark.parametrize("tz", sorted(BOUNDARY_MONTHS))
def test_tz_month_boundaries_over_parquet_match_the_hand_worked_months(tmp_path, tz):
    con = make_store(tmp_path / "only-edges.duckdb", n=0)
    export_parquet(con, tmp_path / "lake")
    with parquet_engine(tmp_path / "lake") as engine:
        rows = breakdown(engine, ["month"], tz, None, None)
    expected: dict[str, Decimal] = {}
    for request_id, _, output in BOUNDARY:
        month = BOUNDARY_MONTHS[tz][request_id]
        expected[month] = expected.get(month, Decimal(0)) + output * OUTPUT_RATE / 1_000_000
    assert dict(rows.select("month", "total_cost").rows()) == expected
    con.close()


def test_reexporting_a_month_replaces_only_that_partition(store, tmp_path):
    lake = tmp_path / "lake"
    export_parquet(store, lake)
    before = {m: os.stat(lake / f"month={m}" / "usage.parquet") for m in MONTHS}
    store.execute("DELETE FROM usage WHERE request_id = 'edge-new-york'")  # a March row
    written = export_parquet(store, lake, date(2026, 3, 10), date(2026, 3, 11))
    assert [m for m, _ in written] == ["2026-03"]  # the whole month, not the day
    after = {m: os.stat(lake / f"month={m}" / "usage.parquet") for m in MONTHS}
    for month in MONTHS:
        same = (after[month].st_ino, after[month].st_mtime_ns) == \
               (before[month].st_ino, before[month].st_mtime_ns)
        assert same is (month != "2026-03"), month
    march = pq.read_table(lake / "month=2026-03" / "usage.parquet")
    [(in_store,)] = store.execute("SELECT count(*) FROM usage WHERE ts >= '2026-03-01' "
                                  "AND ts < '2026-04-01'").fetchall()
    assert march.num_rows == in_store == written[0][1]
    assert "edge-new-york" not in march.column("request_id").to_pylist()
    assert not [p for p in lake.rglob(".*")]  # no temporary file left


def test_a_month_the_store_no_longer_holds_becomes_empty_when_reexported(store, tmp_path):
    lake = tmp_path / "lake"
    export_parquet(store, lake)
    store.execute("DELETE FROM usage WHERE ts >= '2026-05-01' AND ts < '2026-06-01'")
    written = export_parquet(store, lake, date(2026, 5, 1), date(2026, 6, 1))
    assert written == [("2026-05", 0)]
    assert pq.read_table(lake / "month=2026-05" / "usage.parquet").num_rows == 0


def test_a_failed_write_keeps_the_old_partition(store, tmp_path):
    lake = tmp_path / "lake"
    export_parquet(store, lake)
    old = (lake / "month=2026-02" / "usage.parquet").read_bytes()
    # the temporary file's name taken by a directory: the write fails before the rename
    (lake / "month=2026-02" / f".usage.parquet.{os.getpid()}.tmp").mkdir()
    with pytest.raises(OutputError, match="month=2026-02/usage.parquet: cannot write"):
        export_parquet(store, lake, date(2026, 2, 1), date(2026, 3, 1))
    assert (lake / "month=2026-02" / "usage.parquet").read_bytes() == old


def test_reading_a_directory_without_partitions_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="no such directory"):
        with parquet_engine(tmp_path / "missing"):
            pass
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no month=YYYY-MM/usage.parquet partitions"):
        with parquet_engine(tmp_path / "empty"):
            pass


def test_cli_export_then_report_from_the_source_prints_the_same_table(cli, store, tmp_path):
    store.close()
    db = str(tmp_path / "store.duckdb")
    result = cli("export", "--parquet", str(tmp_path / "lake"), "--db", db)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == \
        f"{tmp_path / 'lake' / 'month=2026-01' / 'usage.parquet'}\t" \
        f"{len(pq.read_table(tmp_path / 'lake' / 'month=2026-01').to_pylist())} rows"
    args = ["report", "--by", "month", "--by", "model", "--tz", "Asia/Tokyo"]
    from_store = cli(*args, "--db", db)
    from_lake = cli(*args, "--source", str(tmp_path / "lake"))
    assert from_store.exit_code == from_lake.exit_code == 0
    assert from_lake.stdout == from_store.stdout
    assert from_lake.stderr == from_store.stderr  # the same unpriced warning
    assert "2026-02" in from_lake.stdout


@pytest.mark.parametrize(("args", "message"), [
    (["report", "--engine", "spark"], "--engine spark reads exported usage: give it --source"),
    (["report", "--source", "nowhere"], "nowhere: no such directory"),
    (["report", "--source", "x", "--db", "y"], "--db and --source are two places"),
    (["export", "--parquet", "lake", "--since", "2026-13-01"], "--since '2026-13-01' is not"),
    (["export", "--parquet", "lake", "--since", "2026-02-01", "--until", "2026-01-01"],
     "is not before until"),
])
def test_cli_mistakes_are_one_line_and_exit_2(cli, store, tmp_path, args, message):
    store.close()
    if args[0] == "export":
        args = [*args, "--db", str(tmp_path / "store.duckdb")]
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
