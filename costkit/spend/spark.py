"""The spend SQL on Apache Spark (the optional extra: `pip install 'costkit[spark]'`).

The SQL is the one DuckDB runs (costkit.spend.breakdown), rendered for Spark SQL by sqlglot,
with these few spots rewritten where the two engines differ:
- `epoch_us(timezone(zone, ts))` (local wall-clock micros) -> `unix_micros(from_utc_timestamp(ts,
  zone))`; the session runs in UTC, so Spark shifts by the zone's own rules. A bare
  `epoch_us(ts)` (UTC days) -> `unix_micros(ts)`.
- HUGEINT sums -> DECIMAL(38,0) (Spark has no 128-bit integer; both are exact to 38 digits),
  and `usage` exposes token counts as DECIMAL(38,0) so that Spark sums them without the
  64-bit overflow of its BIGINT sum.
- the open ends of a card's period ('-infinity' / 'infinity') -> the first and last
  instants Spark holds.
- `isoyear(d)` -> `extract(YEAROFWEEK FROM d)`, `week(d)` -> `weekofyear(d)` (ISO weeks both).
- a tag's JSON pointer '/name' -> the JSONPath `$['name']` of `get_json_object`.
- `?` parameters -> literals (instants as UTC timestamps).
Money stays exact: decimal arithmetic runs with `allowPrecisionLoss` off, so a token sum times
a DECIMAL(38,12) rate stays DECIMAL(38,12) (Spark would otherwise cut the scale to 6), and ANSI
mode makes an overflow an error instead of a null.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import sqlglot
from sqlglot import exp

from costkit.core.errors import InputError
from costkit.core.timezones import canonical
from costkit.core.usage import COUNT_COLUMNS
from costkit.pricing.book import PriceBook
from costkit.pricing.sql import rate_rows
from costkit.store.costed import PRICE_RATE_COLUMNS
from costkit.store.parquet import PARTITION, check_layout

# Spark's TimestampType range: what a card's open period end stands for.
FIRST_INSTANT = "0001-01-01 00:00:00+00:00"
LAST_INSTANT = "9999-12-31 23:59:59.999999+00:00"
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.decimalOperations.allowPrecisionLoss": "false",
    "spark.sql.ansi.enabled": "true",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}
LOCAL_CONF = {  # a laptop or CI runner, not a cluster
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
    "spark.driver.memory": "1g",
}


class SparkEngine:
    """The spend SQL on a SparkSession whose temp view `usage` reads the Parquet layout."""

    name = "spark"
    scans_offsets = False

    def __init__(self, session: Any, source: Path) -> None:
        self.session = session
        check_layout(source)
        frame = session.read.parquet(str(source))  # Spark finds month=... and skips .hidden
        columns = [c for c in frame.columns if c != PARTITION]
        counts = [f"CAST({c} AS DECIMAL(38,0)) AS {c}" if c in COUNT_COLUMNS else f"`{c}`"
                  for c in columns]
        frame.selectExpr(*counts).createOrReplaceTempView("usage")

    def check_tz(self, tz: str) -> str:
        return canonical(tz)

    def register_prices(self, book: PriceBook) -> None:
        from pyspark.sql import types as T

        kinds = {"VARCHAR": T.StringType(), "TIMESTAMPTZ": T.TimestampType(),
                 "BIGINT": T.LongType(), "DECIMAL(38,12)": T.DecimalType(38, 12)}
        schema = T.StructType([T.StructField(name, kinds[kind], True)
                               for name, kind in PRICE_RATE_COLUMNS])
        rows = [tuple(row[name] for name, _ in PRICE_RATE_COLUMNS) for row in rate_rows(book)]
        self.session.createDataFrame(rows, schema).createOrReplaceTempView("price_rates")

    def frame(self, sql: str, params: list[Any]) -> pl.DataFrame:
        result = pl.from_arrow(self.session.sql(render(sql, params)).toArrow())
        assert isinstance(result, pl.DataFrame)
        return result

    def rows(self, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in self.session.sql(render(sql, params)).collect()]


@contextmanager
def spark_engine(source: Path | str, master: str | None = None) -> Iterator[SparkEngine]:
    """A SparkEngine over `source`: on `master` (a cluster URL, or local[N]) when given, else
    on whatever the usual Spark configuration (spark-defaults, spark-submit) says, else local.
    The session is left running for the process (Spark's own getOrCreate reuses it)."""
    yield SparkEngine(session(master), Path(source))


def session(master: str | None = None) -> Any:
    """The process's SparkSession, configured for exact money."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise InputError("--engine spark needs PySpark: pip install 'costkit[spark]'") from None
    builder = SparkSession.builder.appName("costkit")
    if master is not None:
        builder = builder.master(master)
    if master is None or master.startswith("local"):
        for key, value in LOCAL_CONF.items():
            builder = builder.config(key, value)
    for key, value in SESSION_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")  # stderr carries costkit's own one-line messages
    for key, value in SESSION_CONF.items():  # a session made earlier gets them too
        spark.conf.set(key, value)
    return spark


def render(sql: str, params: list[Any]) -> str:
    """DuckDB SQL with `?` parameters as one Spark SQL statement."""
    values = iter(params)
    tree = sqlglot.parse_one(sql, read="duckdb")
    tree = tree.transform(lambda node: _spark_node(node, values))
    return tree.sql(dialect="spark")


def _spark_node(node: exp.Expression, values: Iterator[Any]) -> exp.Expression:
    if isinstance(node, exp.Placeholder):
        return _literal(next(values))
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.INT128:
        return exp.DataType.build("DECIMAL(38,0)")
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) \
            and node.this.is_string and node.this.name in ("-infinity", "infinity"):
        edge = FIRST_INSTANT if node.this.name == "-infinity" else LAST_INSTANT
        return exp.cast(exp.Literal.string(edge), "TIMESTAMP")
    name = _function_name(node)
    args = node.expressions if isinstance(node, exp.Anonymous) else []
    if name == "EPOCH_US" and _function_name(node.this if not args else args[0]) == "TIMEZONE":
        inner = node.this if not args else args[0]
        zone, ts = inner.expressions if isinstance(inner, exp.Anonymous) else \
            (inner.args.get("zone"), inner.this)
        return exp.Anonymous(this="UNIX_MICROS", expressions=[
            exp.Anonymous(this="FROM_UTC_TIMESTAMP", expressions=[ts, zone])])
    if name == "EPOCH_US":  # a UTC day needs no zone: the instant's own micros
        return exp.Anonymous(this="UNIX_MICROS", expressions=[_first(node)])
    if name == "ISOYEAR":
        return exp.Extract(this=exp.var("YEAROFWEEK"), expression=_first(node))
    if name == "WEEK":
        return exp.Anonymous(this="WEEKOFYEAR", expressions=[_first(node)])
    if isinstance(node, exp.JSONExtractScalar | exp.JSONExtract):
        path = node.expression
        if isinstance(path, exp.Literal) and path.name.startswith("/"):
            return exp.Anonymous(this="GET_JSON_OBJECT", expressions=[
                node.this, exp.Literal.string(_json_path(path.name))])
    return node


def _function_name(node: exp.Expression | None) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).upper()
    if isinstance(node, exp.Func):
        return node.sql_name().upper()
    return ""


def _first(node: exp.Expression) -> exp.Expression:
    return node.expressions[0] if isinstance(node, exp.Anonymous) else node.this


def _json_path(pointer: str) -> str:
    """A one-step JSON pointer ('/name', '~1' for '/', '~0' for '~') as Spark's JSONPath."""
    key = pointer[1:].replace("~1", "/").replace("~0", "~")
    if "'" in key or "]" in key:
        raise InputError(f"tag {key!r}: a tag name with ' or ] cannot be read on Spark")
    return f"$['{key}']"


def _literal(value: Any) -> exp.Expression:
    if isinstance(value, datetime):
        at = value.astimezone(UTC).isoformat(sep=" ")
        return exp.cast(exp.Literal.string(at), "TIMESTAMP")
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return exp.Literal.number(str(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    raise TypeError(f"no Spark literal for {type(value).__name__}")
