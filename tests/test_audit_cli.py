"""`costkit audit` end to end: exit codes, stdout and stderr, golden output, the HTML page."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from conftest import FIXTURES, GOLDEN, ROOT

AUDIT = FIXTURES / "audit"
CARDS = "tests/fixtures/audit/cards.toml"


@pytest.fixture
def at_root(monkeypatch):
    """Run from the project root so file paths in the output are the relative ones."""
    monkeypatch.chdir(ROOT)


def test_planted_ledger_table_golden(cli, at_root):
    result = cli("audit", "--ledger", "tests/fixtures/audit/ledger-planted.jsonl",
                 "--prices", CARDS)
    assert result.exit_code == 1
    assert result.stderr == ""
    assert result.stdout == (GOLDEN / "audit_ledger_planted.txt").read_text(encoding="utf-8")


def test_planted_ledger_json_golden(cli, at_root):
    result = cli("audit", "--ledger", "tests/fixtures/audit/ledger-planted.jsonl",
                 "--prices", CARDS, "--format", "json")
    assert result.exit_code == 1
    assert result.stderr == ""
    data = json.loads(result.stdout)
    assert data == json.loads((GOLDEN / "audit_ledger_planted.json").read_text(encoding="utf-8"))
    assert [f["kind"] for f in data["findings"]] == \
        ["ledger_overcharge", "ledger_undercharge", "duplicate_charge"]


def test_clean_ledger_exits_0(cli, at_root):
    for name in ("ledger-clean.jsonl", "ledger-page.json"):
        result = cli("audit", "--ledger", f"tests/fixtures/audit/{name}", "--prices", CARDS)
        assert result.exit_code == 0, result.stdout
        assert result.stderr == ""
        assert "No findings: everything matches within tolerance." in result.stdout
        assert "billed total $1.11300229, expected total $1.11300229, net difference $0" \
            in result.stdout


def test_ledger_without_the_cards_reports_what_it_could_not_check(cli, at_root):
    result = cli("audit", "--ledger", "tests/fixtures/audit/ledger-clean.jsonl",
                 "--format", "json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)["summary"]
    assert summary["unpriced"]["models"] == ["acme-mini"]
    assert summary["unpriced"]["events"] == 31
    assert summary["difference"] == "0"


def test_csv_output(cli, at_root):
    result = cli("audit", "--ledger", "tests/fixtures/audit/ledger-planted.jsonl",
                 "--prices", CARDS, "--format", "csv")
    assert result.exit_code == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["kind"] for r in rows] == ["ledger_overcharge", "ledger_undercharge",
                                         "duplicate_charge"]
    assert rows[0]["difference"] == "0.001" and rows[0]["lines"] == "4"
    assert rows[2]["expected"] == "0"


def test_rounding_none_from_the_cli(cli, tmp_path):
    # 1,234 x 0.57/1M = 0.00070338; a gateway that writes 6 places debits 0.000703
    ledger = tmp_path / "six.jsonl"
    ledger.write_text(json.dumps({"id": "a", "model": "deepseek-v3-2", "created": 1791000000,
                                  "tokens": {"input": 1234, "output": 0},
                                  "cost": {"amount": 0.000703}}) + "\n")
    assert cli("audit", "--ledger", str(ledger)).exit_code == 0
    result = cli("audit", "--ledger", str(ledger), "--rounding", "none", "--format", "json")
    assert result.exit_code == 1
    (finding,) = json.loads(result.stdout)["findings"]
    assert (finding["kind"], finding["difference"]) == ("ledger_undercharge", "-0.00000038")


@pytest.mark.parametrize("args, message", [
    ((), "costkit: error: give an invoice FILE or --ledger FILE (one of them)\n"),
    (("x.csv", "--ledger", "y.jsonl"),
     "costkit: error: give an invoice FILE or --ledger FILE (one of them)\n"),
    (("--ledger", "missing.jsonl"),
     "costkit: error: missing.jsonl: cannot read: No such file or directory\n"),
    (("tests/fixtures/audit/invoice-clean.csv", "--tolerance", "much"),
     "costkit: error: --tolerance 'much': expected e.g. 0.5%, 1000 or 0.5%,1000\n"),
    (("tests/fixtures/audit/invoice-clean.csv", "--tz", "Mars/Olympus"),
     "costkit: error: --tz: unknown time zone 'Mars/Olympus'; use an IANA name such as UTC, "
     "Europe/Berlin or America/New_York\n"),
])
def test_usage_errors_exit_2_with_one_line(cli, at_root, args, message):
    result = cli("audit", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == message


def test_unreadable_input_names_file_line_and_field(cli, tmp_path):
    bad = tmp_path / "ledger.jsonl"
    good = json.dumps({"id": "a", "model": "deepseek-v3-2", "created": 1791000000,
                       "tokens": {"input": 1, "output": 1}, "cost": {"amount": 0.00000228}})
    bad.write_text(good + "\n" + good.replace('"created": 1791000000, ', "") + "\n")
    # a ledger record that cannot be read is a finding (the ingest rejects it alike), and
    # the rest of the file is still checked
    result = cli("audit", "--ledger", str(bad), "--format", "json")
    assert result.exit_code == 1
    assert result.stderr == ""
    data = json.loads(result.stdout)
    (finding,) = data["findings"]
    assert (finding["kind"], finding["ref"], finding["lines"]) == \
        ("unreadable_event", "ledger.jsonl:2", [2])
    assert finding["detail"] == ("no time field (created_at, created or timestamp); not read, "
                                 "so its debit is not checked")
    assert (data["summary"]["events"], data["summary"]["not_read"]) == (1, {"records": 1})
    table = cli("audit", "--ledger", str(bad), "--html", "--out", str(tmp_path / "page"))
    assert table.exit_code == 1
    assert "unreadable_event ledger.jsonl:2: no time field (created_at, created or timestamp)" \
        in table.stdout
    assert "records not read: 1 (the unreadable_event findings; `costkit ingest` rejects them " \
        "alike)" in table.stdout
    html = (tmp_path / "page" / "costkit-audit-ledger.html").read_text(encoding="utf-8")
    assert '<td class="kind">unreadable_event</td>' in html and "Records not read: 1" in html
    # nothing in it readable: the input cannot be read, exit 2 and one line
    bad.write_text(good.replace('"created": 1791000000, ', "") + "\n"
                   + good.replace('"deepseek-v3-2"', '" "') + "\nnot json\n")
    result = cli("audit", "--ledger", str(bad))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (f"costkit: error: {bad}: no usage event could be read (3 records "
                             "rejected; the first, at line 1: no time field (created_at, "
                             "created or timestamp)); is it a gateway ledger (usage_event "
                             "JSONL or pages), a LiteLLM spend log or OpenRouter generation "
                             "stats?\n")
    invoice = tmp_path / "invoice.csv"
    invoice.write_text((AUDIT / "invoice-clean.csv").read_text().replace("2.164852", "2.16.4"))
    result = cli("audit", str(invoice))
    assert result.exit_code == 2
    assert result.stderr == \
        f"costkit: error: {invoice}:2: quantity is '2.16.4'; expected a number\n"


def test_html_page_default_folder(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("audit", "--ledger", str(AUDIT / "ledger-planted.jsonl"), "--prices",
                 str(AUDIT / "cards.toml"), "--html")
    assert result.exit_code == 1
    page = tmp_path / "reports" / "costkit-audit-ledger-planted.html"
    assert result.stderr == "costkit: wrote reports/costkit-audit-ledger-planted.html\n"
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "3 finding(s) beyond tolerance" in html
    for kind in ("ledger_overcharge", "ledger_undercharge", "duplicate_charge"):
        assert f'<td class="kind">{kind}</td>' in html
    assert "req_failed_billed" in html  # the billed failure is visible
    _assert_self_contained(html)


def _assert_self_contained(html: str) -> None:
    assert "<script" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "@import" not in html and "url(" not in html


def test_html_escapes_every_user_string(cli, tmp_path):
    evil = "<img src=x onerror=alert(1)>"
    records = [
        {"id": "<script>alert('id')</script>", "model": "deepseek-v3-2",
         "created": 1791000000, "tokens": {"input": 1, "output": 1},
         "cost": {"amount": 1, "currency": "USD"}},
        {"id": "u", "model": evil, "created": 1791000000, "tokens": {"input": 1, "output": 1},
         "cost": {"amount": 1, "currency": "USD"}},
        {"id": "a&b\"c", "model": "deepseek-v3-2", "created": 1791000000,
         "tokens": {"input": 1000, "output": 0}, "cost": {"amount": 5, "currency": "USD"}},
    ]
    ledger = tmp_path / "evil<b>.jsonl"
    ledger.write_text("".join(json.dumps(r) + "\n" for r in records))
    result = cli("audit", "--ledger", str(ledger), "--html", "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    (page,) = (tmp_path / "out").iterdir()
    assert page.name == "costkit-audit-evil-b.html"
    html = page.read_text(encoding="utf-8")
    assert evil not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "a&amp;b&quot;c" in html
    assert "evil&lt;b&gt;.jsonl" in html and "evil<b>" not in html
    _assert_self_contained(html)
