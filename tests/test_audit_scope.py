"""FOCUS exports with rows that are not LLM usage (issue 15): those rows are out of scope,
counted and summed per currency in the summary (table, JSON, CSV, HTML), never an error; the
LLM rows are told from FOCUS's own columns and reconciled as before."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import FIXTURES
from readers_support import real_formats

from costkit.audit.invoice import read_invoice
from costkit.core.errors import InputError
from costkit.core.timezones import zone
from costkit.ingest.run import ingest

AUDIT = FIXTURES / "audit"
CARDS = str(AUDIT / "cards.toml")
SHARED = real_formats()  # ../shared/data/real-formats, when the checkout has it
UTC_ZONE = zone("UTC")


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    path = tmp_path_factory.mktemp("scope-store") / "usage.duckdb"
    summary = ingest([AUDIT / "usage-deepseek.jsonl", AUDIT / "usage-acme.jsonl"], db=path,
                     prices=[AUDIT / "cards.toml"])
    assert summary.rejected == 0
    return str(path)


def audit(cli, *args, fmt="json"):
    result = cli("audit", *args, "--format", fmt)
    return result, (json.loads(result.stdout) if fmt == "json" and result.stdout else None)


# --- the project's own fixture: focus-clean.csv's LLM rows plus five cloud rows ------------

def test_cloud_rows_are_out_of_scope_and_the_llm_rows_reconcile_clean(cli, db):
    result, data = audit(cli, str(AUDIT / "focus-mixed.csv"), "--db", db, "--prices", CARDS)
    assert result.exit_code == 0, result.stderr
    s = data["summary"]
    # The five rows at the end of focus-mixed.csv: VM hours 12.5, storage 3.25 (its
    # description says "input bucket": not a token charge), queue requests 0.0004, the VM
    # service's credit -2.5 and tax 1.3: 12.5 + 3.25 + 0.0004 - 2.5 + 1.3 = 14.5504.
    assert s["out_of_scope"] == {"rows": 5, "billed": {"USD": "14.5504"},
                                 "rows_by_currency": {"USD": 5}}
    # The LLM service's own tax stays an other charge (focus-clean.csv's last row).
    assert s["other_charges"] == {"Tax": "0.37"}
    clean, _ = audit(cli, str(AUDIT / "focus-clean.csv"), "--db", db, "--prices", CARDS)
    same = json.loads(clean.stdout)["summary"]
    for key in ("billed_total", "expected_total", "difference", "lines", "periods"):
        assert s[key] == same[key]
    assert "out_of_scope" not in same


def test_out_of_scope_in_the_table_csv_and_html(cli, db, tmp_path):
    args = (str(AUDIT / "focus-mixed.csv"), "--db", db, "--prices", CARDS)
    table = cli("audit", *args)
    assert table.exit_code == 0
    assert ("out of scope (not LLM usage, not reconciled): 5 rows, $14.5504"
            in table.stdout)
    result = cli("audit", *args, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["kind"], r["unit"], r["billed"], r["detail"]) for r in rows] == [
        ("out_of_scope", "USD", "14.5504", "5 rows outside the audited models' services")]
    cli("audit", *args, "--html", "--out", str(tmp_path))
    page = (tmp_path / "costkit-audit-focus-mixed.html").read_text(encoding="utf-8")
    assert "Out of scope (not LLM usage, not reconciled): 5 rows, 14.5504 USD." in page


def test_reader_tells_the_llm_rows_from_the_columns(tmp_path):
    lines = read_invoice(AUDIT / "focus-mixed.csv", UTC_ZONE).lines
    outside = [ln.line for ln in lines if not ln.in_scope]
    assert outside == [252, 253, 254, 255, 256]
    # focus-clean.csv's Usage rows (awk -F, 'NR>1 && $8=="Usage"' focus-clean.csv | wc -l)
    assert sum(1 for ln in lines if ln.is_usage) == 249


FOCUS_HEAD = ("BilledCost,ChargePeriodStart,ChargePeriodEnd,ChargeCategory,ServiceName,"
              "ServiceCategory,SkuId,PricingUnit,PricingQuantity,ConsumedQuantity,ConsumedUnit,"
              "x_Charge,BillingCurrency\n")


def write(tmp_path, text):
    path = tmp_path / "f.csv"
    path.write_text(FOCUS_HEAD + text, encoding="utf-8")
    return path


@pytest.mark.parametrize("row, in_scope", [
    # tokens in PricingUnit or ConsumedUnit: an LLM row whatever its service says
    ("1,2026-10-01,2026-10-02,Usage,Other,Other,m-output,1M Tokens,1,,,,USD", True),
    # a cloud's hours, GB and requests: out of scope
    ("1,2026-10-01,2026-10-02,Usage,EC2,Compute,BoxUsage,Hours,1,,,,USD", False),
    ("1,2026-10-01,2026-10-02,Usage,S3,Storage,input-GB,GB,1,,,,USD", False),
    ("1,2026-10-01,2026-10-02,Usage,SQS,Integration,Requests-Tier1,Requests,1,,,,USD", False),
    # an AI service's web search calls, named by its SKU
    ("1,2026-10-01,2026-10-02,Usage,LLM API,AI and Machine Learning,m-web-search,Requests,1,,,,"
     "USD", True),
    # an AI service's other meters (a GPU hour) are not token usage
    ("1,2026-10-01,2026-10-02,Usage,ML,AI and Machine Learning,gpu-hours,Hours,1,,,,USD",
     False),
])
def test_which_rows_are_llm_usage(tmp_path, row, in_scope):
    (line,) = read_invoice(write(tmp_path, row + "\n"), UTC_ZONE).lines
    assert line.in_scope is in_scope


def test_an_llm_row_that_names_an_unknown_charge_is_still_an_error(tmp_path):
    row = "1,2026-10-01,2026-10-02,Usage,LLM,Other,sku,1M Tokens,1,,,premium,USD\n"
    with pytest.raises(InputError, match=r"f\.csv:2: x_Charge is 'premium': cannot tell the "
                                         "charge"):
        read_invoice(write(tmp_path, row), UTC_ZONE)


def test_an_llm_row_without_its_charge_is_a_finding(cli, db, tmp_path):
    # tokens of a known model in one row, the charge not named anywhere
    row = "2.5,2026-10-05,2026-10-06,Usage,LLM,Other,deepseek-v3-2,,,4000,Tokens,,USD\n"
    result, data = audit(cli, str(write(tmp_path, row)), "--db", db, "--prices", CARDS)
    assert result.exit_code == 1, result.stderr
    (finding,) = [f for f in data["findings"] if f["kind"] == "unsplit_charge"]
    assert (finding["ref"], finding["model"], finding["billed"]) == ("f.csv:2", "deepseek-v3-2",
                                                                     "2.5")
    assert "2.5 for 4000 tokens in one row that does not say which charge" in finding["detail"]


# --- the shared real exports (present in the team's checkout; skipped elsewhere) -----------

def shared(name: str) -> Path:
    if SHARED is None or not (SHARED / name).exists():
        pytest.skip(f"no shared real-formats sample {name} here")
    return SHARED / name


def test_the_finops_focus_sample_is_all_out_of_scope(cli, db):
    path = shared("focus_1_0_sample_finops.csv")
    result, data = audit(cli, str(path), "--db", db)
    assert result.exit_code == 0, result.stderr
    # Independently, with the csv module and Decimal over the file:
    #   rows = list(csv.DictReader(open(path)))
    #   len(rows) == 1000; sum(Decimal(r["BilledCost"]) for r in rows) == 20.52022672899
    # (awk agrees: awk -F'","|",|,"' 'NR>1{n++} END{print n}' gives 1000). None is LLM
    # usage: AWS, Azure, GCP and OCI compute, storage, networking; the 9 rows of "AI and
    # Machine Learning" are Azure Machine Learning disks, VMs and bandwidth.
    assert data["summary"]["out_of_scope"] == {
        "rows": 1000, "billed": {"USD": "20.52022672899"}, "rows_by_currency": {"USD": 1000}}
    assert data["findings"] == [] and data["summary"]["lines"] == 0
    table = cli("audit", str(path), "--db", db)
    assert "out of scope (not LLM usage, not reconciled): 1,000 rows, $20.52022672899" in \
        table.stdout
    assert "No LLM usage lines: nothing to reconcile." in table.stdout
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert (len(rows), sum(Decimal(r["BilledCost"]) for r in rows)) == (
        1000, Decimal("20.52022672899"))


def test_the_litellm_focus_export_is_one_unsplit_llm_row(cli, db):
    result, data = audit(cli, str(shared("litellm_focus_export_from_tests.csv")), "--db", db)
    # Its one row bills gpt-4 10.5 USD for 150 tokens (ConsumedQuantity; the tags say 100
    # prompt + 50 completion) without saying which charge: a finding, justified, since no
    # card rate can check one amount for two charges (at gpt-4's $30 / $60 per 1M it would
    # be 100 x 30/1M + 50 x 60/1M = $0.006, not $10.50).
    assert result.exit_code == 1, result.stderr
    assert [f["kind"] for f in data["findings"]] == ["unsplit_charge"]
    assert data["summary"]["billed_total"] == "10.5"
    assert "out_of_scope" not in data["summary"]
