"""`costkit ingest` and `costkit audit --ledger` read a gateway ledger alike, record by record.

The ingest goes the whole way (its staging, dedupe on request_id, rejects, one transaction)
into a real store; the audit reads the same file for itself. On every file here, what the
ingest stored is what the audit checked, what it rejected the audit says it could not read
(with the same reason), and what it counted as a duplicate or a conflict the audit reports
as a duplicate charge of an identical or a different record.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import FIXTURES

from costkit.audit.ledger import audit_ledger, read_ledger
from costkit.ingest.rejects import list_rejects
from costkit.ingest.run import ingest
from costkit.pricing.book import load_price_book

AUDIT = FIXTURES / "audit"
LOGS = FIXTURES / "logs" / "ledger"
NOT_READ = "; not read, so its debit is not checked"


@pytest.fixture(scope="module")
def book():
    return load_price_book([AUDIT / "cards.toml"])


def event(**fields) -> dict:
    base = {"id": "req_1", "object": "usage_event", "model": "deepseek-v3-2",
            "created_at": "2026-10-02T10:00:00Z", "status": "success", "status_code": 200,
            "tokens": {"input": 1000, "output": 100, "cached": 0, "total": 1100},
            "cost": {"amount": 0.000741, "currency": "USD"}}
    base.update(fields)
    return base


def mixed(tmp_path: Path) -> Path:
    """Good events, one without an id, a bad count, a blank model, a request repeated as it
    was and repeated with another debit."""
    records = [
        event(id="a"),
        {k: v for k, v in event().items() if k != "id"},  # no id: a stable hash stands in
        event(id="b", tokens={"input": "12x", "output": 100}),  # a bad count
        event(id="c", model="  "),  # a blank model
        event(id="a"),  # the same request again, the same record
        event(id="d", cost={"amount": 0.000741, "currency": "USD"}),
        event(id="d", cost={"amount": 0.000742, "currency": "USD"}),  # debited again, otherwise
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def ingested(path: Path, db: Path, book, mode: str) -> dict:
    """What `costkit ingest` makes of `path`: its summary, the stored rows, the rejects."""
    summary = ingest([path], db=db, prices=book, input_format="ledger", ledger_reasoning=mode)
    con = duckdb.connect(str(db), read_only=True)
    try:
        cursor = con.execute("""
            SELECT request_id, source_line, ts, model, input_tokens, cached_input_tokens,
                   output_tokens, reasoning_tokens, search_calls, billed_cost, billed_currency,
                   status
            FROM usage ORDER BY source_line""")
        names = [d[0] for d in cursor.description]
        stored = {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}
    finally:
        con.close()
    rejects = list_rejects(db, limit=None)
    return {
        "summary": summary,
        "stored": stored,
        "rejects": sorted((r["line"], r["reason"]) for r in rejects
                          if not r["reason"].startswith("conflict:")),
        "conflicts": sorted(r["line"] for r in rejects if r["reason"].startswith("conflict:")),
    }


def assert_agree(path: Path, tmp_path: Path, book, mode: str = "in-output") -> dict:
    seen = ingested(path, tmp_path / f"{path.stem}-{mode}.duckdb", book, mode)
    result = audit_ledger(path, book, output_includes_reasoning=(mode == "in-output"))
    ledger = read_ledger(path, output_includes_reasoning=(mode == "in-output"))

    # every request the ingest stored is the request the audit checked, value for value
    first: dict[str, object] = {}
    for ev in ledger.events:
        first.setdefault(ev.event_id, ev)
    assert set(first) == set(seen["stored"])
    for rid, row in seen["stored"].items():
        ev = first[rid]
        assert (ev.line, ev.ts, ev.model) == (row["source_line"], row["ts"], row["model"])
        assert (ev.input_tokens, ev.cached_tokens, ev.output_tokens, ev.search_calls) == (
            row["input_tokens"], row["cached_input_tokens"], row["output_tokens"],
            row["search_calls"])
        assert ev.reasoning_tokens == (row["reasoning_tokens"] or 0)
        assert (ev.amount, ev.currency) == (row["billed_cost"], row["billed_currency"])

    # every record the ingest rejected, the audit could not read, for the same reason
    unread = sorted((f.lines[0], f.detail) for f in result.findings
                    if f.kind == "unreadable_event")
    assert unread == [(line, reason + NOT_READ) for line, reason in seen["rejects"]]

    # a duplicate for the ingest is a repeat of an identical record for the audit; a conflict
    # a repeat of a different one
    again = [f for f in result.findings if f.kind == "duplicate_charge"]
    identical = [f for f in again if "an identical record" in f.detail]
    different = sorted(f.lines[0] for f in again if "a different record" in f.detail)
    s = seen["summary"]
    assert (len(identical), different) == (s.duplicates, seen["conflicts"])

    # the counts and the money
    assert result.summary["requests"] == s.inserted
    assert result.summary["events"] == s.inserted + s.duplicates + s.conflicts
    assert result.summary.get("not_read", {"records": 0})["records"] == s.rejected
    stored_billed = sum((row["billed_cost"] for row in seen["stored"].values()), Decimal(0))
    assert result.summary["billed_total"] - sum((f.billed for f in again), Decimal(0)) \
        == stored_billed
    return {"ingest": s, "audit": result}


@pytest.mark.parametrize("path", [AUDIT / "ledger-planted.jsonl", AUDIT / "ledger-clean.jsonl",
                                  AUDIT / "ledger-page.json", LOGS / "events.jsonl",
                                  LOGS / "page-discount.json"], ids=lambda p: p.name)
@pytest.mark.parametrize("mode", ["in-output", "from-total"])
def test_ingest_and_audit_agree_on_the_fixtures(path, mode, tmp_path, book):
    assert_agree(path, tmp_path, book, mode)


def test_the_planted_ledger_counts_by_hand(tmp_path, book):
    both = assert_agree(AUDIT / "ledger-planted.jsonl", tmp_path, book)
    s, result = both["ingest"], both["audit"]
    # 63 events: 62 requests, one of them debited twice (line 21 repeats line 15)
    assert (s.read, s.inserted, s.duplicates, s.conflicts, s.rejected) == (63, 62, 1, 0, 0)
    assert [(f.kind, f.lines) for f in result.findings] == [
        ("ledger_overcharge", (4,)), ("ledger_undercharge", (13,)), ("duplicate_charge", (21,))]


def test_a_missing_id_a_bad_count_and_a_blank_model(tmp_path, book):
    path = mixed(tmp_path)
    both = assert_agree(path, tmp_path, book)
    s, result = both["ingest"], both["audit"]
    # 7 records: a, the id-less one, d are stored; b and c rejected; a again is a duplicate,
    # d again a conflict
    assert (s.read, s.inserted, s.duplicates, s.conflicts, s.rejected) == (7, 3, 1, 1, 2)
    by_line = {f.lines[0]: f for f in result.findings}
    assert sorted(by_line) == [3, 4, 5, 7]
    assert by_line[3].kind == by_line[4].kind == "unreadable_event"
    assert by_line[3].detail == ("tokens.input is 12x; token counts must be whole numbers >= 0"
                                 + NOT_READ)
    assert by_line[4].detail == "missing model" + NOT_READ
    assert "an identical record; first at mixed.jsonl:1" in by_line[5].detail
    assert "a different record; first at mixed.jsonl:6" in by_line[7].detail
    # the id-less event is checked like any other: 1,000 x 0.57/1M + 100 x 1.71/1M = 0.000741
    hashed = [ev for ev in read_ledger(path).events if ev.line == 2]
    assert hashed[0].event_id.startswith("sha256:") and hashed[0].amount == Decimal("0.000741")
    s_ = result.summary
    assert (s_["events"], s_["requests"], s_["not_read"]) == (5, 3, {"records": 2})
    assert s_["expected_total"] == Decimal("0.002223")  # three requests at 0.000741
    assert s_["billed_total"] == Decimal("0.003706")  # five debits, 0.000742 among them


def test_the_same_from_the_command_line(cli, tmp_path):
    path = mixed(tmp_path)
    db = tmp_path / "cli.duckdb"
    done = cli("ingest", str(path), "--db", str(db), "--input-format", "ledger",
               "--format", "json")
    assert done.exit_code == 0, done.stderr
    counts = json.loads(done.stdout)
    audited = cli("audit", "--ledger", str(path), "--format", "json")
    assert audited.exit_code == 1 and audited.stderr == ""
    summary = json.loads(audited.stdout)["summary"]
    assert (summary["requests"], summary["not_read"]["records"]) == \
        (counts["inserted"], counts["rejected"]) == (3, 2)
    assert summary["by_kind"] == {"unreadable_event": 2, "duplicate_charge": 2}
