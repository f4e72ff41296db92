"""Hostile strings from an ingested store through every output of every command that prints
user strings: report (table, JSON, CSV), report monthly (HTML), rejects (table, JSON),
forecast (table, JSON), audit (table, JSON, CSV, HTML), estimate --batch (table, JSON, CSV).

What each output must do with them is written out here, by hand, not taken from the code:
terminal text shows markup as typed and control characters as \\x1b / \\x00 / \\t / \\r; CSV
cells starting with = + - @ tab or CR get a leading ' (and controls written out); JSON keeps
the exact string; HTML escapes it; secrets are masked everywhere.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from decimal import Decimal

import pytest

STRIPE = "sk_live_51HxAbCdEfGhIjKlMnOpQr"
GITHUB = "ghp_" + "Ab1" * 12
JWT = ("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
       "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U")
SECRETS = (STRIPE, GITHUB, JWT)


def h8(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:8]


# hostile string -> (terminal text, CSV cell, HTML text), each worked out by hand
EXPECTED = {
    "[/foo]": ("[/foo]", "[/foo]", "[/foo]"),
    "[bold red]x": ("[bold red]x", "[bold red]x", "[bold red]x"),
    "\x1b[31mred": ("\\x1b[31mred", "\\x1b[31mred", "\\x1b[31mred"),
    "nul\x00byte": ("nul\\x00byte", "nul\\x00byte", "nul\\x00byte"),
    "=cmd|' /C calc'!A0": ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0",
                           "=cmd|&#x27; /C calc&#x27;!A0"),
    '=HYPERLINK("http://x")': ('=HYPERLINK("http://x")', "'=HYPERLINK(\"http://x\")",
                               "=HYPERLINK(&quot;http://x&quot;)"),
    "+1": ("+1", "'+1", "+1"),
    "@SUM(1)": ("@SUM(1)", "'@SUM(1)", "@SUM(1)"),
    "\tlead": ("\\tlead", "'\\tlead", "\\tlead"),
    "\rlead": ("\\rlead", "'\\rlead", "\\rlead"),
    "<script>alert(1)</script>": ("<script>alert(1)</script>", "<script>alert(1)</script>",
                                  "&lt;script&gt;alert(1)&lt;/script&gt;"),
    STRIPE: (f"sk_…OpQr#{h8(STRIPE)}",) * 3,
    GITHUB: (f"ghp_…1Ab1#{h8(GITHUB)}",) * 3,
    JWT: (f"…sR8U#{h8(JWT)}",) * 3,
}
HOSTILE = list(EXPECTED)
# What a terminal would act on: every control character but the newline ending a line.
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def json_value(hostile: str) -> str:
    """JSON keeps the string exactly, secrets aside."""
    return EXPECTED[hostile][0] if hostile in SECRETS else hostile


def check_terminal(result, *, strings=HOSTILE) -> str:
    assert result.exit_code in (0, 1), (result.exit_code, result.stderr)
    out = result.stdout
    assert not RAW_CONTROL.search(out), repr(out)
    for hostile in strings:
        assert EXPECTED[hostile][0] in out, (hostile, out)
    for secret in SECRETS:
        assert secret not in out and secret not in result.stderr
    check_stderr(result)
    return out


def check_stderr(result) -> None:
    assert not RAW_CONTROL.search(result.stderr), repr(result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.count("costkit: error:") <= 1


def check_json(text: str, strings=HOSTILE):
    assert not RAW_CONTROL.search(text)
    for secret in SECRETS:
        assert secret not in text
    parsed = json.loads(text)
    found = set()

    def walk(value):
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(parsed)
    for hostile in strings:
        assert json_value(hostile) in found, hostile
    return parsed


def check_html(page: str, strings=HOSTILE) -> None:
    assert not RAW_CONTROL.search(page.replace("\t", "")), "raw control character in the page"
    assert "<script>alert(1)</script>" not in page
    for secret in SECRETS:
        assert secret not in page
    for hostile in strings:
        assert EXPECTED[hostile][2] in page, hostile


# --- the store ------------------------------------------------------------------------------

def envelope(i: int, day: int, model: str = "deepseek-v3-2", **who) -> str:
    return json.dumps({
        "timestamp": f"2026-10-{day:02d}T12:00:00Z", **who,
        "response": {"id": f"req-{i}", "object": "chat.completion", "created": 1790812800,
                     "model": model, "usage": {"prompt_tokens": 1000 + i,
                                               "completion_tokens": 100}}})


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """Every hostile string as project, user, key id and tag (on several October days, so
    each group has a forecastable history); a few as models (unpriced); and rejected lines
    holding them and the secrets."""
    from typer.testing import CliRunner

    from costkit.cli.app import app

    folder = tmp_path_factory.mktemp("hostile")
    lines, i = [], 0
    for hostile in HOSTILE:
        for day in (3, 6, 9, 12, 15, 18):
            lines.append(envelope(i, day, project=hostile, user=hostile, api_key_id=hostile,
                                  tags={"team": hostile}))
            i += 1
    for hostile in ("[/foo]", "\x1b[31mred", "=cmd|' /C calc'!A0", STRIPE):
        lines.append(envelope(i, 20, model=hostile, project="models"))
        i += 1
    lines.append('{"broken": "' + '", "'.join(HOSTILE[:11]) + '"')
    lines.append(json.dumps({"key": STRIPE, "gh": GITHUB, "jwt": JWT, "auth": f"Bearer {JWT}",
                             "note": "[/foo] \x1b[31mred nul\x00byte"}))
    log = folder / "hostile.jsonl"
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = folder / "store.duckdb"
    result = CliRunner().invoke(app, ["ingest", str(log), "--db", str(db)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    return db


# --- report ---------------------------------------------------------------------------------

BY = ["--by", "project", "--by", "api_key", "--by", "user", "--by", "tag:team"]


def test_report_table(cli, store):
    out = check_terminal(cli("report", *BY, "--db", str(store)))
    row = next(line for line in out.splitlines() if "[bold red]x" in line)
    assert row.count("[bold red]x") == 4  # project, key, user, tag: all the same text


def test_report_table_of_hostile_models(cli, store):
    result = cli("report", "--by", "model", "--db", str(store))
    check_terminal(result, strings=["[/foo]", "\x1b[31mred", "=cmd|' /C calc'!A0", STRIPE])
    assert "\\x1b[31mred" in result.stderr  # the unpriced warning names it, escaped


def test_report_json(cli, store):
    result = cli("report", *BY, "--format", "json", "--db", str(store))
    rows = check_json(result.stdout)
    check_stderr(result)
    by_project = {r["project"]: r for r in rows}
    for hostile in HOSTILE:
        row = by_project[json_value(hostile)]
        assert row["api_key"] == row["user"] == row["tag:team"] == json_value(hostile)


def test_report_csv(cli, store):
    result = cli("report", *BY, "--format", "csv", "--db", str(store))
    check_stderr(result)
    text = result.stdout
    assert not RAW_CONTROL.search(text.replace("\n", ""))
    rows = list(csv.DictReader(io.StringIO(text)))
    cells = {r["project"]: r for r in rows}
    assert len(rows) == len(HOSTILE) + 1 and "models" in cells  # + the hostile models' row
    for hostile in HOSTILE:
        cell = EXPECTED[hostile][1]
        row = cells[cell]
        assert row["api_key"] == row["user"] == row["tag:team"] == cell
        # numeric columns stay numbers: 6 requests of 1000+i prompt tokens, exact cost text
        assert int(row["requests"]) == 6
        assert Decimal(row["total_cost"]) > 0 and not row["total_cost"].startswith("'")


def test_report_out_file_is_the_same_csv(cli, store, tmp_path):
    path = tmp_path / "spend.csv"
    assert cli("report", *BY, "--format", "csv", "--db", str(store), "--out",
               str(path)).exit_code == 0
    assert path.read_text(encoding="utf-8") == cli("report", *BY, "--format", "csv", "--db",
                                                   str(store)).stdout


# --- report monthly -------------------------------------------------------------------------

def test_report_monthly_page(cli, store, tmp_path):
    result = cli("report", "monthly", "--month", "2026-10", "--db", str(store), "--out",
                 str(tmp_path))
    assert result.exit_code == 0, result.stderr
    check_stderr(result)
    page = (tmp_path / "costkit-2026-10.html").read_text(encoding="utf-8")
    body = page[page.index("<body>"):page.index('<script type="application/json"')]
    # projects and API keys are in the group tables, models in the data-quality section
    check_html(body, strings=HOSTILE)
    # the rejected lines are listed with their raw text, secrets masked
    assert EXPECTED[STRIPE][2] in body and EXPECTED[JWT][2] in body
    # the chart data (JSON for plotly) never holds a raw control character or a secret
    data = page[page.index('<script type="application/json"'):]
    assert not RAW_CONTROL.search(data) and not any(s in data for s in SECRETS)


# --- rejects --------------------------------------------------------------------------------

def test_rejects_table(cli, store):
    # the table shows each raw line's first 80 characters
    check_terminal(cli("rejects", "--db", str(store)),
                   strings=["[/foo]", "\x1b[31mred", STRIPE, GITHUB, JWT])


def test_rejects_json(cli, store):
    result = cli("rejects", "--format", "json", "--db", str(store))
    check_stderr(result)
    rows = check_json(result.stdout, strings=[])
    raws = " ".join(r["raw"] for r in rows)
    assert json.dumps("=cmd|' /C calc'!A0")[1:-1] in raws  # the raw line, as it was written
    assert "[/foo] \\u001b[31mred nul\\u0000byte" in raws
    assert f'"key": "sk_…OpQr#{h8(STRIPE)}"' in raws
    assert f'"gh": "ghp_…1Ab1#{h8(GITHUB)}"' in raws


# --- forecast -------------------------------------------------------------------------------

def test_forecast_table(cli, store):
    result = cli("forecast", "--as-of", "2026-10-25", "--by", "project", "--by", "api_key",
                 "--db", str(store))
    check_terminal(result)


def test_forecast_json(cli, store):
    result = cli("forecast", "--as-of", "2026-10-25", "--by", "project", "--format", "json",
                 "--db", str(store))
    check_stderr(result)
    check_json(result.stdout)


# --- audit ----------------------------------------------------------------------------------
# The invoice reader trims blanks around cells, so a leading tab or CR never reaches the
# audit's output; every other hostile string does.
IN_AUDIT = [h for h in HOSTILE if h not in ("\tlead", "\rlead")]


def invoice(tmp_path):
    """A line-item invoice whose invoice id and model names are hostile."""
    lines = ["invoice_id,period_start,period_end,model,charge,quantity,unit,unit_price,"
             "amount,currency"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)  # CR in a cell
    for hostile in HOSTILE:
        writer.writerow(["=HYPERLINK(\"http://x\")", "2026-10-01", "2026-10-31", hostile,
                         "input_tokens", "1", "1M tokens", "0.57", "0.57", "USD"])
    path = tmp_path / "invoice.csv"
    path.write_text(lines[0] + "\n" + out.getvalue(), encoding="utf-8")
    return path


def test_audit_table(cli, store, tmp_path):
    result = cli("audit", str(invoice(tmp_path)), "--db", str(store))
    assert result.exit_code == 1  # findings: nothing of these models was logged
    check_terminal(result, strings=IN_AUDIT)


def test_audit_json(cli, store, tmp_path):
    result = cli("audit", str(invoice(tmp_path)), "--format", "json", "--db", str(store))
    check_stderr(result)
    check_json(result.stdout, strings=IN_AUDIT)


def test_audit_csv(cli, store, tmp_path):
    result = cli("audit", str(invoice(tmp_path)), "--format", "csv", "--db", str(store))
    check_stderr(result)
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    models = {r["model"] for r in rows}
    for hostile in IN_AUDIT:
        assert EXPECTED[hostile][1] in models, hostile
    assert {r["invoice_id"] for r in rows} == {"'=HYPERLINK(\"http://x\")", ""}
    # a negative amount stays a number, not a quoted text: the store's 84 deepseek-v3-2
    # requests (1,000..1,083 input tokens each, 87,486 in all; 8,400 output tokens) are on
    # no invoice line: unbilled by 87,486 x $0.57/1M + 8,400 x $1.71/1M = $0.06423102
    [unbilled] = [r for r in rows if r["kind"] == "unbilled_usage"]
    assert unbilled["impact"] == "-0.06423102"


def test_audit_html(cli, store, tmp_path):
    result = cli("audit", str(invoice(tmp_path)), "--html", "--out", str(tmp_path / "pages"),
                 "--format", "json", "--db", str(store))
    check_stderr(result)
    [page] = (tmp_path / "pages").glob("*.html")
    check_html(page.read_text(encoding="utf-8"), strings=IN_AUDIT)


# --- estimate --batch -----------------------------------------------------------------------

def batch(tmp_path):
    lines = [json.dumps({"custom_id": hostile, "method": "POST",
                         "url": "/v1/chat/completions",
                         "body": {"model": "deepseek-v3-2", "max_tokens": 50,
                                  "messages": [{"role": "user", "content": "hi"}]}})
             for hostile in HOSTILE]
    path = tmp_path / "batch.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_estimate_batch_table(cli, tmp_path):
    check_terminal(cli("estimate", "--batch", str(batch(tmp_path)), "--no-history"))


def test_estimate_batch_json(cli, tmp_path):
    result = cli("estimate", "--batch", str(batch(tmp_path)), "--no-history", "--format",
                 "json")
    check_stderr(result)
    lines = result.stdout.splitlines()
    assert [check_json(line, strings=[])["custom_id"] for line in lines[:-1]] == [
        json_value(h) for h in HOSTILE]


def test_estimate_batch_csv_to_a_file(cli, tmp_path):
    path = tmp_path / "estimates.csv"
    result = cli("estimate", "--batch", str(batch(tmp_path)), "--no-history", "--format",
                 "csv", "--out", str(path))
    assert result.exit_code == 0 and result.stdout == ""
    check_stderr(result)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [r["custom_id"] for r in rows[:-1]] == [EXPECTED[h][1] for h in HOSTILE]
    assert rows[0]["exact"] == "true" and Decimal(rows[0]["input_cost"]) > 0
