"""Invoice lines whose unit is many tokens (`1M tokens`, `per 1M tokens`, `1K tokens`) or
calls (`1K calls`): the quantity may be in those units or in tokens / calls, and each line is
read the way its own quantity x unit_price = amount agrees (issue 15)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from conftest import FIXTURES

from costkit.audit.invoice import read_invoice
from costkit.core.timezones import zone
from costkit.ingest.run import ingest

AUDIT = FIXTURES / "audit"
CARDS = str(AUDIT / "cards.toml")
HEADER = ("invoice_id,period_start,period_end,model,charge,quantity,unit,unit_price,amount,"
          "currency\n")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("units-store") / "usage.duckdb"
    summary = ingest([AUDIT / "usage-deepseek.jsonl", AUDIT / "usage-acme.jsonl"], db=path,
                     prices=[AUDIT / "cards.toml"])
    assert summary.rejected == 0
    return str(path)


def audit(cli, path, db):
    result = cli("audit", str(path), "--db", db, "--prices", CARDS, "--format", "json")
    return result, json.loads(result.stdout)


def test_a_clean_invoice_in_tokens_is_as_clean_as_in_millions(cli, db):
    # invoice-clean-tokens.csv is invoice-clean.csv with every quantity of a 1M / 1K unit
    # written in tokens or calls (2.164852 -> 2164852, 0.08 1K calls -> 80, ...).
    tokens, data = audit(cli, AUDIT / "invoice-clean-tokens.csv", db)
    millions, same = audit(cli, AUDIT / "invoice-clean.csv", db)
    assert tokens.exit_code == millions.exit_code == 0, tokens.stdout
    assert data["findings"] == []
    assert data["summary"]["charges"] == same["summary"]["charges"]
    readings = {r["line"]: (r["read_as"], r["base_quantity"]) for r in
                data["summary"]["unit_readings"]}
    # 2164852 x 0.57 = 1,233,965.64, not the amount 1.23; 2164852 / 1M x 0.57 = 1.23396564
    # -> 1.23: read in tokens. 80 x 10 = 800 vs 80 / 1000 x 10 = 0.80: read in calls.
    assert readings[2] == ("tokens", "2164852")
    assert readings[10] == ("calls", "80")
    assert {r["line"]: r["read_as"] for r in same["summary"]["unit_readings"]}[2] == "1M tokens"


def test_each_line_is_read_its_own_way_and_the_table_says_so(cli, db, tmp_path):
    rows = (
        "A,2026-10-01,2026-10-31,deepseek-v3-2,input_tokens,2164852,per 1M tokens,0.57,1.23,USD\n"
        "A,2026-10-01,2026-10-31,deepseek-v3-2,output_tokens,0.230631,1M tokens,1.71,0.39,USD\n"
        "A,2026-10-01,2026-10-31,deepseek-v3-2,web_search_calls,101,call,0.015,1.52,USD\n"
    )
    path = tmp_path / "mixed.csv"
    path.write_text(HEADER + rows, encoding="utf-8")
    lines = read_invoice(path, zone("UTC")).lines
    assert [(ln.reading, ln.quantity, ln.base_quantity) for ln in lines] == [
        ("base", Decimal("2.164852"), Decimal(2164852)),
        ("units", Decimal("0.230631"), Decimal(230631)),
        (None, Decimal(101), Decimal(101)),
    ]
    table = cli("audit", str(path), "--db", db, "--prices", CARDS)
    assert ("line 2: quantity 2164852 with unit 'per 1M tokens' read in tokens (2,164,852 "
            "tokens)") in table.stdout
    assert ("line 3: quantity 0.230631 with unit '1M tokens' read in 1M tokens (230,631 "
            "tokens)") in table.stdout


def test_a_line_that_fits_neither_reading_is_a_finding(cli, db, tmp_path):
    # 2164852 tokens at 0.57 per 1M is 1.23; in millions 1,233,965.64. The amount 2.23 fits
    # neither: an amount_mismatch, with both readings in its detail.
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "A,2026-10-01,2026-10-31,deepseek-v3-2,input_tokens,2164852,"
                    "1M tokens,0.57,2.23,USD\n", encoding="utf-8")
    result, data = audit(cli, path, db)
    assert result.exit_code == 1
    (finding,) = [f for f in data["findings"] if f["kind"] == "amount_mismatch"]
    assert finding["ref"] == "bad.csv:2"
    assert finding["detail"] == (
        "2164852 x 0.57 = 1233965.64, stated as 2.23; read in tokens (2164852 tokens) it would "
        "be 1.23396564: neither reading of the unit '1M tokens' agrees")
    (reading,) = data["summary"]["unit_readings"]
    assert reading["read_as"] == "neither"
