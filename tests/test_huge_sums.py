"""Token sums past 64 bits (issue 13): the readers accept per-request counts up to 9e15, so
a thousand such requests sum past 2^63. Reports must stay exact: every expected figure here is
worked out by hand from the published DeepSeek V3.2 rates ($0.57 per 1M input tokens, cached
ones too; $1.71 per 1M output tokens, reasoning billed as output)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from costkit.ingest.run import ingest
from costkit.spend import breakdown
from costkit.store.connection import open_store

N = 1100  # requests: N x 9e15 > 2^63 - 1 = 9,223,372,036,854,775,807
PROMPT = 8_999_999_999_999_998      # per request, cached included
CACHED = 4_000_000_000_000_001
COMPLETION = 8_999_999_999_999_990  # reasoning included, as chat.completions counts it
REASONING = 8_999_999_999_999
DAYS = (datetime(2026, 9, 10, 12, tzinfo=UTC), datetime(2026, 9, 11, 12, tzinfo=UTC))

INPUT = N * PROMPT
CACHED_SUM = N * CACHED
OUTPUT = N * (COMPLETION - REASONING)
REASONING_SUM = N * REASONING
PER_TOKEN_IN, PER_TOKEN_OUT = Decimal("0.57") / 10**6, Decimal("1.71") / 10**6
COSTS = {
    "input_cost": (INPUT - CACHED_SUM) * PER_TOKEN_IN,
    "cached_input_cost": CACHED_SUM * PER_TOKEN_IN,
    "output_cost": OUTPUT * PER_TOKEN_OUT,
    "reasoning_cost": REASONING_SUM * PER_TOKEN_OUT,
}
TOTAL = sum(COSTS.values(), Decimal(0))


def test_the_sums_overflow_64_bits():
    assert INPUT > 2**63 - 1 and OUTPUT > 2**63 - 1 and CACHED_SUM < 2**63 - 1
    # by hand: 5,499,999,999,999,996,700 uncached x 0.57/1M = 3,134,999,999,999.998119;
    # 4,400,000,000,000,001,100 cached x 0.57/1M = 2,508,000,000,000.000627;
    # 9,890,099,999,999,990,100 output x 1.71/1M = 16,912,070,999,999.983071;
    # 9,899,999,999,998,900 reasoning x 1.71/1M = 16,928,999,999.998119
    assert TOTAL == Decimal("22571999999999.979936")


@pytest.fixture(scope="module")
def huge_store(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("huge")
    log = folder / "huge.jsonl"
    with open(log, "w", encoding="utf-8") as f:
        for i in range(N):
            day = DAYS[i % 2]
            f.write(json.dumps({
                "id": f"chatcmpl-{i:05d}", "object": "chat.completion",
                "created": int(day.timestamp()) + i, "model": "deepseek-v3-2",
                "usage": {"prompt_tokens": PROMPT, "completion_tokens": COMPLETION,
                          "prompt_tokens_details": {"cached_tokens": CACHED},
                          "completion_tokens_details": {"reasoning_tokens": REASONING}},
            }) + "\n")
    db = folder / "huge.duckdb"
    summary = ingest([log], db=db, prices=[])
    assert (summary.inserted, summary.rejected) == (N, 0)
    return db


def test_breakdown_sums_are_exact(huge_store):
    con = open_store(huge_store, read_only=True)
    try:
        frame = breakdown.spend(con, ["day"], book=None)
    finally:
        con.close()
    assert frame["requests"].to_list() == [N // 2, N // 2]
    assert [int(v) for v in frame["input_tokens"].to_list()] == [INPUT // 2] * 2
    total = breakdown.totals(frame)
    assert (total["requests"], total["input_tokens"], total["cached_input_tokens"],
            total["output_tokens"], total["reasoning_tokens"], total["search_calls"]) == (
        N, INPUT, CACHED_SUM, OUTPUT, REASONING_SUM, 0)
    assert all(type(total[c]) is int for c in breakdown.REQUEST_COLUMNS)
    for column, cost in COSTS.items():
        assert total[column] == cost, column
    assert total["total_cost"] == TOTAL


def test_report_json_has_exact_integers(cli, huge_store):
    result = cli("report", "--db", str(huge_store), "--format", "json")
    assert result.exit_code == 0, result.stderr
    [row] = json.loads(result.stdout)
    assert row["month"] == "2026-09"
    assert (row["requests"], row["input_tokens"], row["cached_input_tokens"],
            row["output_tokens"], row["reasoning_tokens"]) == (
        N, INPUT, CACHED_SUM, OUTPUT, REASONING_SUM)
    assert type(row["input_tokens"]) is int  # a JSON number, as for small stores
    assert Decimal(row["total_cost"]) == TOTAL
    for column, cost in COSTS.items():
        assert Decimal(row[column]) == cost


def test_report_table_totals_are_exact(cli, huge_store):
    result = cli("report", "--db", str(huge_store), "--by", "day", "--wide")
    assert result.exit_code == 0, result.stderr
    total_line = next(line for line in result.stdout.splitlines() if line.startswith("total "))
    cells = re.split(r"\s{2,}", total_line.strip())
    assert cells[:3] == ["total", f"{N:,}", f"{INPUT:,}"]
    assert f"{OUTPUT:,}" in cells and f"{REASONING_SUM:,}" in cells
    assert cells[-1] == f"${TOTAL.quantize(Decimal('0.01')):,}"
    assert "-" not in "".join(cells[1:])  # no sum wrapped around to a negative


def test_report_csv_and_parquet_keep_every_digit(cli, huge_store, tmp_path):
    result = cli("report", "--db", str(huge_store), "--format", "csv")
    assert result.exit_code == 0, result.stderr
    [row] = list(csv.DictReader(io.StringIO(result.stdout)))
    assert int(row["input_tokens"]) == INPUT and int(row["output_tokens"]) == OUTPUT
    out = tmp_path / "r.parquet"
    assert cli("report", "--db", str(huge_store), "--format", "parquet", "--out",
               str(out)).exit_code == 0
    [(tokens,)] = duckdb.sql(f"SELECT input_tokens FROM '{out}'").fetchall()
    assert tokens == INPUT


def test_monthly_page_over_huge_sums(cli, huge_store, tmp_path):
    result = cli("report", "monthly", "--db", str(huge_store), "--month", "2026-09",
                 "--out", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    assert f"${TOTAL.quantize(Decimal('0.01')):,} over {N:,} requests" in result.stderr
    page = (tmp_path / "costkit-2026-09.html").read_text(encoding="utf-8")
    assert f"{INPUT:,}" in page
