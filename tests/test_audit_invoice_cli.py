"""`costkit audit FILE` against a real store: the fixture usage ingested, then the invoices and
FOCUS exports checked from the command line (exit codes, stdout, stderr, golden output)."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import FIXTURES, GOLDEN, ROOT
from goldens import check, produces

from costkit.ingest.run import ingest
from costkit.store.connection import open_store

AUDIT = FIXTURES / "audit"
CARDS = "tests/fixtures/audit/cards.toml"
KINDS_PLANTED = ["amount_mismatch", "out_of_period", "quantity_mismatch", "unbilled_usage",
                 "unit_price_mismatch", "unlogged_charge"]


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """One store with the fixture usage (both models, 2026-09-28 .. 2026-11-03)."""
    path = tmp_path_factory.mktemp("audit-store") / "usage.duckdb"
    summary = ingest([AUDIT / "usage-deepseek.jsonl", AUDIT / "usage-acme.jsonl"], db=path,
                     prices=[AUDIT / "cards.toml"])
    assert summary.rejected == 0 and summary.inserted == summary.read > 200
    return str(path)


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def audit_json(cli, *args):
    result = cli("audit", *args, "--format", "json")
    return result, json.loads(result.stdout) if result.stdout else None


def test_the_store_holds_what_the_fixtures_say(db):
    """The readers and the generator agree, so the invoices are checked against known sums."""
    import test_audit

    from costkit.audit.logged import logged_from_rows
    from costkit.pricing.book import load_price_book
    from costkit.spend.breakdown import spend
    from costkit.store.connection import open_store

    book = load_price_book([AUDIT / "cards.toml"])
    con = open_store(db, read_only=True)
    try:
        frame = spend(con, by=["model"], since=datetime(2026, 10, 1, tzinfo=UTC),
                      until=datetime(2026, 11, 1, tzinfo=UTC), book=book)
    finally:
        con.close()
    logged = logged_from_rows(frame.iter_rows(named=True), book)
    expected = test_audit.logged_for(test_audit.OCTOBER, book)
    assert {m: lg.usage for m, lg in logged.items()} == {m: lg.usage for m, lg in expected.items()}
    assert {m: lg.cost.total for m, lg in logged.items()} == \
        {m: lg.cost.total for m, lg in expected.items()}


@pytest.mark.parametrize("name", ["invoice-clean.csv", "focus-clean.csv"])
def test_clean_documents_exit_0(cli, db, at_root, name):
    result = cli("audit", f"tests/fixtures/audit/{name}", "--db", db, "--prices", CARDS)
    assert result.exit_code == 0, result.stdout
    assert result.stderr == ""
    assert "No findings: everything matches within tolerance." in result.stdout
    assert "Reconciliation" in result.stdout


@pytest.mark.parametrize("name", ["invoice-planted.csv", "focus-planted.csv"])
def test_planted_documents_exit_1_with_each_kind_once(cli, db, at_root, name):
    result, data = audit_json(cli, f"tests/fixtures/audit/{name}", "--db", db, "--prices", CARDS)
    assert result.exit_code == 1
    assert result.stderr == ""
    assert sorted(f["kind"] for f in data["findings"]) == KINDS_PLANTED
    assert data["summary"]["findings"] == 6
    assert data["summary"]["by_kind"] == {kind: 1 for kind in KINDS_PLANTED}


def _fixture_store(folder: Path) -> str:
    path = folder / "usage.duckdb"
    ingest([AUDIT / "usage-deepseek.jsonl", AUDIT / "usage-acme.jsonl"], db=path,
           prices=[AUDIT / "cards.toml"])
    return str(path)


@produces("audit_invoice_planted.txt", exit_code=1)
def planted_invoice_table(cli, db: str | None = None) -> dict:
    """The planted invoice's table (`python tests/goldens.py audit_invoice_planted.txt`
    builds the fixture store in a temporary folder)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = db or _fixture_store(Path(tmp))
        return {"audit_invoice_planted.txt": cli(
            "audit", "tests/fixtures/audit/invoice-planted.csv", "--db", store,
            "--prices", CARDS)}


def test_planted_invoice_table_golden(cli, db, at_root):
    result = planted_invoice_table(cli, db)["audit_invoice_planted.txt"]
    assert result.exit_code == 1
    check("audit_invoice_planted.txt", result.stdout)


def test_planted_focus_json_golden(cli, db, at_root):
    result, data = audit_json(cli, "tests/fixtures/audit/focus-planted.csv", "--db", db,
                              "--prices", CARDS)
    assert result.exit_code == 1
    golden = json.loads((GOLDEN / "audit_focus_planted.json").read_text(encoding="utf-8"))
    assert data == golden
    summary = data["summary"]
    assert Decimal(summary["difference"]) == \
        Decimal(summary["billed_total"]) - Decimal(summary["expected_total"])
    assert summary["corrections_to_other_periods"]["lines"] == [228]


def test_tolerance_and_rounding_options(cli, db, at_root):
    # the output line is 3% over: inside a 5% tolerance
    _, data = audit_json(cli, "tests/fixtures/audit/invoice-planted.csv", "--db", db,
                         "--prices", CARDS, "--tolerance", "5%")
    assert "quantity_mismatch" not in data["summary"]["by_kind"]
    assert data["summary"]["tolerance"] == "5% or 0 tokens, whichever is larger"
    # exact amounts: every cent-rounded line of the clean invoice differs from its product
    result, data = audit_json(cli, "tests/fixtures/audit/invoice-clean.csv", "--db", db,
                              "--prices", CARDS, "--rounding", "none")
    assert result.exit_code == 1
    assert set(data["summary"]["by_kind"]) == {"amount_mismatch"}


def test_without_the_cards_the_unpriced_model_is_said(cli, db, at_root):
    result, data = audit_json(cli, "tests/fixtures/audit/invoice-clean.csv", "--db", db)
    assert result.stderr == ""
    assert data["summary"]["unpriced_models"] == ["acme-mini"]
    # acme's quantities are still checked; only its prices cannot be
    assert result.exit_code == 0


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_an_empty_store_is_an_error_not_unlogged_charges(cli, at_root, tmp_path, fmt):
    """With nothing ingested every charge would read as unlogged: the store is what is wrong."""
    empty = tmp_path / "empty.duckdb"
    open_store(empty).close()
    result = cli("audit", "tests/fixtures/audit/invoice-clean.csv", "--db", str(empty),
                 "--prices", CARDS, "--format", fmt)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"costkit: error: {empty}: the store holds no usage, so there is nothing to check "
        "tests/fixtures/audit/invoice-clean.csv against; ingest the logs of its period first "
        "(costkit ingest PATH)\n")


def test_a_store_without_usage_in_the_period_still_finds_unlogged_charges(cli, at_root,
                                                                          tmp_path):
    """Only an empty store is refused: usage elsewhere in time makes the charges unlogged."""
    log = tmp_path / "september.jsonl"
    log.write_text(json.dumps({
        "id": "sept-1", "object": "chat.completion", "model": "deepseek-v3-2",
        "created": int(datetime(2026, 9, 15, tzinfo=UTC).timestamp()),
        "usage": {"prompt_tokens": 100, "completion_tokens": 10}}) + "\n", encoding="utf-8")
    other_time = tmp_path / "september.duckdb"
    assert ingest([log], db=other_time, prices=[AUDIT / "cards.toml"]).inserted == 1
    result, data = audit_json(cli, "tests/fixtures/audit/invoice-clean.csv",
                              "--db", str(other_time), "--prices", CARDS)
    assert result.exit_code == 1
    assert data["summary"]["by_kind"] == {"unlogged_charge": 2}  # one per model


@pytest.mark.parametrize("column, value", [("amount", "1e400"), ("quantity", "1e400"),
                                           ("unit_price", "1e400"), ("amount", "-1E+15")])
def test_an_out_of_range_number_is_one_line(cli, db, tmp_path, column, value):
    rows = list(csv.reader(io.StringIO(
        (AUDIT / "invoice-clean.csv").read_text(encoding="utf-8"))))
    rows[1][rows[0].index(column)] = value
    bad = tmp_path / "invoice.csv"
    with open(bad, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    for fmt in ("table", "json"):
        result = cli("audit", str(bad), "--db", db, "--prices", CARDS, "--format", fmt)
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == (f"costkit: error: {bad}:2: {column} is {value!r}; expected a "
                                 "number below 10^15 in size\n")


def test_a_line_implying_too_much_is_one_line(cli, db, tmp_path):
    """Each number in range, their product not: 9e14 x 1M tokens is 9e20 tokens."""
    rows = list(csv.reader(io.StringIO(
        (AUDIT / "invoice-clean.csv").read_text(encoding="utf-8"))))
    rows[1][rows[0].index("quantity")] = "900000000000000"
    bad = tmp_path / "invoice.csv"
    with open(bad, "w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    result = cli("audit", str(bad), "--db", db, "--prices", CARDS)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (f"costkit: error: {bad}:2: quantity x unit (tokens) is 9.000E+20; "
                             "it must be below 10^15 in size\n")


def test_invoice_dates_in_another_zone(cli, db, tmp_path):
    """Date-only periods are read in --tz: Berlin's October starts two hours earlier."""
    import test_audit

    reqs = test_audit.fixtures.requests()
    berlin = (datetime(2026, 9, 30, 22, tzinfo=UTC), datetime(2026, 10, 31, 23, tzinfo=UTC))
    t = test_audit.fixtures.totals(reqs, *berlin)["deepseek-v3-2"]
    assert t != test_audit.fixtures.totals(reqs)["deepseek-v3-2"]  # the shift matters here
    invoice = tmp_path / "berlin.csv"
    invoice.write_text(
        "invoice_id,period_start,period_end,model,charge,quantity,unit,unit_price,amount,"
        "currency\n"
        f"B-1,2026-10-01,2026-10-31,deepseek-v3-2,input_tokens,{t['input']},token,,0,USD\n"
        f"B-1,2026-10-01,2026-10-31,deepseek-v3-2,output_tokens,"
        f"{t['output'] + t['reasoning']},token,,0,USD\n"
        f"B-1,2026-10-01,2026-10-31,deepseek-v3-2,web_search_calls,{t['searches']},call,,0,USD\n")
    result, data = audit_json(cli, str(invoice), "--db", db, "--prices", str(AUDIT / "cards.toml"),
                              "--tz", "Europe/Berlin", "--tolerance", "0")
    kinds = {(f["kind"], f["model"]) for f in data["findings"]}
    assert ("quantity_mismatch", "deepseek-v3-2") not in kinds
    assert kinds == {("unbilled_usage", "acme-mini")}  # acme is not on this invoice at all
    _, utc = audit_json(cli, str(invoice), "--db", db, "--prices", str(AUDIT / "cards.toml"),
                        "--tolerance", "0")
    assert ("quantity_mismatch", "deepseek-v3-2") in {(f["kind"], f["model"])
                                                      for f in utc["findings"]}


def test_html_reconciliation_page(cli, db, tmp_path):
    out = tmp_path / "pages"
    result = cli("audit", str(AUDIT / "focus-planted.csv"), "--db", db, "--prices",
                 str(AUDIT / "cards.toml"), "--html", "--out", str(out))
    assert result.exit_code == 1
    page = out / "costkit-audit-focus-planted.html"
    assert result.stderr == f"costkit: wrote {page}\n"
    html = page.read_text(encoding="utf-8")
    assert "Reconciliation by model and charge" in html
    assert "6 finding(s) beyond tolerance" in html
    assert "Corrections to periods not in this file" in html
    assert "<script" not in html


def test_the_sample_documents_find_what_their_readme_says(cli, tmp_path):
    """data/invoices/ against data/logs/ ingested as the demo does (one project per folder)."""
    db = tmp_path / "sample.duckdb"
    for project in sorted(p for p in (ROOT / "data" / "logs").iterdir() if p.is_dir()):
        ingest([project], db=db, project=project.name)
    invoices = ROOT / "data" / "invoices"
    result, data = audit_json(cli, str(invoices / "invoice-2026-10.csv"), "--db", str(db))
    assert result.exit_code == 1
    assert [(f["kind"], f["charge"]) for f in data["findings"]] == \
        [("amount_mismatch", "output_tokens"), ("quantity_mismatch", "web_search_calls")]
    result, data = audit_json(cli, str(invoices / "focus-2026-10.csv"), "--db", str(db))
    assert result.exit_code == 0 and data["findings"] == []
    result, data = audit_json(cli, "--ledger", str(invoices / "ledger-2026-10.jsonl.gz"))
    assert result.exit_code == 1
    assert [f["kind"] for f in data["findings"]] == ["ledger_overcharge", "duplicate_charge"]
    assert data["summary"]["failed_billed"]["requests"] == 0
