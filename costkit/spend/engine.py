"""Where a spend query runs: the engine a breakdown's SQL is executed by.

The spend SQL is written once, in DuckDB's dialect (costkit.spend.breakdown, costed,
pricing.sql). An engine runs it over a relation named `usage` shaped like the store's table
(columns and types: store.migrations, the Parquet layout: store.parquet) with the price
cards registered as `price_rates`:
- `DuckDBEngine`: a DuckDB connection, to the store or to an in-memory database whose
  `usage` is a view over a Parquet directory (`parquet_engine`). The SQL runs as written.
- `costkit.spend.spark.SparkEngine`: the same SQL rendered for Spark SQL with sqlglot.

`scans_offsets` says whether the engine may look at the data's time range first to bucket
local days by a few UTC offsets (DuckDB's fast path); an engine without it converts each
row's time zone, which gives the same days.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import duckdb
import polars as pl

from costkit.core.errors import InputError
from costkit.core.sql import quote
from costkit.core.timezones import canonical
from costkit.pricing.book import PriceBook
from costkit.pricing.sql import register_prices
from costkit.store.connection import memory_limit, open_store
from costkit.store.parquet import check_layout, parquet_glob

ENGINES = ("duckdb", "spark")


class Engine(Protocol):
    name: str
    scans_offsets: bool

    def check_tz(self, tz: str) -> str: ...
    def register_prices(self, book: PriceBook) -> None: ...
    def frame(self, sql: str, params: list[Any]) -> pl.DataFrame: ...
    def rows(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]: ...


class DuckDBEngine:
    """The spend SQL as written, on a DuckDB connection."""

    name = "duckdb"
    scans_offsets = True

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con

    def check_tz(self, tz: str) -> str:
        """`tz`'s IANA key (costkit.core.timezones.canonical), checked against DuckDB too.

        Run first by every query: the `execute` also discards a result the caller left
        unread, which would make DuckDB refuse `con.sql`.
        """
        key = canonical(tz)
        self.con.execute("SELECT timezone(?, TIMESTAMP '2000-01-01')", [key]).fetchall()
        return key

    def register_prices(self, book: PriceBook) -> None:
        register_prices(self.con, book)

    def frame(self, sql: str, params: list[Any]) -> pl.DataFrame:
        """A query's result as polars (through Arrow, Decimals kept)."""
        return self.con.sql(sql, params=params).pl()

    def rows(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, params).fetchall()


def as_engine(con: duckdb.DuckDBPyConnection | Engine) -> Engine:
    """A DuckDB connection (the store's, as every caller passed before engines) or an engine."""
    if isinstance(con, duckdb.DuckDBPyConnection):
        return DuckDBEngine(con)
    return con


@contextmanager
def parquet_engine(source: Path | str) -> Iterator[DuckDBEngine]:
    """DuckDB over an exported Parquet directory (store.parquet's layout), without a store."""
    source = Path(source)
    check_layout(source)
    con = duckdb.connect(":memory:", config={"memory_limit": memory_limit()})
    try:
        try:
            con.execute(
                "CREATE TEMP VIEW usage AS SELECT * EXCLUDE (month) FROM read_parquet("
                f"{quote(parquet_glob(source))}, hive_partitioning = true, "
                "hive_types = {'month': VARCHAR})"
            )
        except duckdb.Error as exc:
            raise InputError(f"{source}: cannot read its Parquet partitions: "
                             f"{str(exc).splitlines()[0]}") from None
        yield DuckDBEngine(con)
    finally:
        con.close()


@contextmanager
def usage_engine(
    engine: str = "duckdb",
    source: Path | str | None = None,
    store: Path | str | None = None,
    spark_master: str | None = None,
) -> Iterator[Engine]:
    """Where a command reads usage: the store (read-only) when no `source` is given, else
    the exported Parquet directory `source` on `engine`."""
    if source is not None:
        with source_engine(engine, source, spark_master) as found:
            yield found
        return
    if engine != "duckdb":
        raise InputError(f"--engine {engine} reads exported usage: give it --source DIR "
                         "(written by `costkit export --parquet DIR`)")
    con = open_store(store, read_only=True)
    try:
        yield DuckDBEngine(con)
    finally:
        con.close()


@contextmanager
def source_engine(engine: str, source: Path | str, spark_master: str | None = None
                  ) -> Iterator[Engine]:
    """The engine named `engine` ('duckdb' or 'spark') over the Parquet directory `source`."""
    if engine == "duckdb":
        with parquet_engine(source) as found:
            yield found
    elif engine == "spark":
        from costkit.spend.spark import spark_engine  # optional extra: imported on use

        with spark_engine(source, spark_master) as found:
            yield found
    else:
        raise InputError(f"unknown engine {engine!r}; valid: {', '.join(ENGINES)}")
