"""The gateway ledger reader (`costkit.readers.ledger`): every layout, every field's meaning
(checked against the values the audit fixtures were generated from), exact debits and the
amounts that explain them, and each rejection reason. The audit reads through this reader
too: tests/test_audit_ledger_ingest.py holds the two to the same reading."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costkit.core.errors import InputError
from costkit.ingest.rejects import list_rejects
from costkit.ingest.run import ingest
from costkit.pricing.book import load_price_book
from costkit.readers import ledger
from costkit.readers.lines import Source

LEDGER = FIXTURES / "logs" / "ledger"
PAGE = LEDGER / "page-discount.json"
EVENTS = LEDGER / "events.jsonl"
AUDIT_FIXTURES = FIXTURES / "audit"


def stage(path: Path, **options) -> list[dict]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        sql = ledger.select_sql(con, Source(0, path, str(path)), **options)
        cursor = con.execute(f"SELECT * FROM ({sql}) ORDER BY line, request_id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def by_id(rows: list[dict]) -> dict[str, dict]:
    return {r["request_id"]: r for r in rows if r["request_id"]}


def write(tmp_path: Path, name: str, lines: list) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return path


def event(**fields) -> dict:
    base = {"id": "req_x", "object": "usage_event", "model": "deepseek-v3-2",
            "endpoint": "/v1/chat/completions", "status": "success", "status_code": 200,
            "tokens": {"input": 100, "output": 50, "cached": 0, "total": 150},
            "cost": {"amount": 0.0001425, "currency": "USD"}, "metadata": {},
            "created_at": "2026-10-20T10:00:00Z"}
    base.update(fields)
    return base


# --- the pretty-printed page with a discount, a search and a failed request ---------------

def test_page_document_every_event_read():
    rows = stage(PAGE, project="acct", tags={"team": "growth"})
    assert [r["request_id"] for r in rows] == [
        "req_ledger_0001", "req_ledger_0002", "req_ledger_0003", "req_ledger_0004"]
    assert all(r["reason"] is None and r["kind"] == "record" for r in rows)
    # one document: each event's line is its 1-based position in the page
    assert [r["line"] for r in rows] == [1, 2, 3, 4]
    assert {r["format"] for r in rows} == {"ledger"}
    assert {r["project"] for r in rows} == {"acct"}


def test_page_discount_billed_cost_is_the_debit_not_the_list_cost():
    row = by_id(stage(PAGE))["req_ledger_0001"]
    assert row["billed_cost"] == Decimal("0.0125685")  # cost.amount = metadata.billed_cost
    assert row["billed_cost"] != Decimal("0.013965")  # metadata.list_cost
    assert row["billed_currency"] == "USD"
    assert (row["input_tokens"], row["cached_input_tokens"], row["output_tokens"]) == (
        20000, 8000, 1500)


def test_page_fields_search_status_endpoint_time_and_source_tag():
    rows = by_id(stage(PAGE, tags={"team": "growth"}))
    search = rows["req_ledger_0002"]
    assert search["search_calls"] == 2
    assert search["endpoint"] == "responses"
    assert search["ts"].isoformat() == "2026-10-12T10:13:20+00:00"  # `created`, unix seconds
    assert json.loads(search["tags"]) == {"team": "growth", "source": "playground"}
    failed = rows["req_ledger_0003"]
    assert failed["status"] == "failed"
    assert failed["billed_cost"] == Decimal("0.00228")  # billed although it failed: kept
    assert failed["ts"].isoformat() == "2026-10-13T20:01:07.250000+00:00"  # `timestamp`, +02:00
    messages = rows["req_ledger_0004"]
    assert messages["endpoint"] == "messages"
    assert messages["billed_cost"] == Decimal("0.004104")  # an amount written as a string
    assert rows["req_ledger_0001"]["endpoint"] == "chat.completions"


def test_output_includes_reasoning_by_default():
    rows = stage(PAGE)
    assert all(r["reasoning_tokens"] is None for r in rows)
    assert by_id(rows)["req_ledger_0004"]["output_tokens"] == 2100


def test_from_total_splits_reasoning_off_the_total(tmp_path):
    path = write(tmp_path, "r.jsonl", [
        event(id="a", tokens={"input": 100, "output": 50, "cached": 0, "total": 180}),
        event(id="b", tokens={"input": 100, "output": 50, "cached": 0}),  # no total: unknown
        event(id="c", tokens={"input": 100, "output": 50, "cached": 0, "total": 120}),
    ])
    rows = by_id(stage(path, ledger_reasoning="from-total"))
    assert (rows["a"]["output_tokens"], rows["a"]["reasoning_tokens"]) == (50, 30)
    assert rows["b"]["reasoning_tokens"] is None
    assert rows["c"]["reasoning_tokens"] == 0  # a total short of input + output: none
    default = by_id(stage(path))
    assert (default["a"]["output_tokens"], default["a"]["reasoning_tokens"]) == (50, None)


def test_unknown_reasoning_mode_is_an_input_error():
    with pytest.raises(InputError, match="from-total"):
        stage(PAGE, ledger_reasoning="split")


# --- JSONL: events and page lines, and every rejection --------------------------------------

def test_jsonl_records_and_lines():
    rows = stage(EVENTS)
    good = [r for r in rows if r["reason"] is None]
    assert [(r["line"], r["request_id"]) for r in good] == [
        (1, "req_jsonl_0001"), (2, "req_jsonl_0001"),  # a repeat: the ingest dedupes it
        (4, "req_jsonl_0002"), (4, "req_jsonl_0003"),  # a page on one line: two events
        (5, "req_jsonl_0004"), (6, "req_jsonl_0005"),
        (7, good[6]["request_id"]),
    ]
    assert 3 not in {r["line"] for r in rows}  # the blank line is no record
    assert len(rows) == 15


def test_input_that_excluded_cached_is_made_whole_when_the_total_says_so():
    row = by_id(stage(EVENTS))["req_jsonl_0004"]
    # input 300, cached 400, output 100, total 800 = 300 + 400 + 100
    assert (row["input_tokens"], row["cached_input_tokens"]) == (700, 400)


def test_debit_kept_exactly_beyond_a_doubles_digits():
    row = by_id(stage(EVENTS))["req_jsonl_0005"]
    assert row["billed_cost"] == Decimal("98765.432109876543")
    # through a double it would have been 98765.43210987654
    assert row["billed_cost"] != Decimal(repr(float("98765.432109876543")))
    assert row["endpoint"] == "/v1/batch"  # not one of the three: kept as written


def test_failed_rate_limited_event_kept_with_its_status():
    row = by_id(stage(EVENTS))["req_jsonl_0003"]
    assert row["status"] == "error"
    assert row["billed_cost"] == Decimal(0)


def test_event_without_id_gets_a_stable_hash(tmp_path):
    rows = stage(EVENTS)
    hashed = [r for r in rows if r["line"] == 7][0]
    assert hashed["request_id"].startswith("sha256:") and len(hashed["request_id"]) == 39
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(EVENTS.read_bytes())
    again = [r for r in stage(copy) if r["line"] == 7][0]
    assert again["request_id"] == hashed["request_id"]
    other = write(tmp_path, "other.jsonl", [{**json.loads(EVENTS.read_text().splitlines()[6]),
                                             "tokens": {"input": 71, "output": 30}}])
    assert stage(other)[0]["request_id"] != hashed["request_id"]


REJECTS = {
    8: "no time field (created_at, created or timestamp)",
    9: "unparseable time: created_at is yesterday; expected unix seconds or ISO 8601, "
       "within 2000..2099",
    10: "tokens.input is 12.5; token counts must be whole numbers >= 0",
    11: "missing cost.amount (what was debited)",
    12: "tokens.cached (300) > tokens.input (100)",
    13: "cost.amount 0.1234567890123 has more than 12 decimal places",
    14: "not JSON",
    15: "missing model",
}


@pytest.mark.parametrize("line", sorted(REJECTS))
def test_each_rejection_reason(line):
    rows = [r for r in stage(EVENTS) if r["line"] == line]
    assert len(rows) == 1
    assert rows[0]["reason"] == REJECTS[line]
    assert rows[0]["kind"] == "record"
    assert rows[0]["raw"] == EVENTS.read_text().splitlines()[line - 1]


def test_rejects_inside_a_page_name_their_index(tmp_path):
    path = write(tmp_path, "page.jsonl", [{"object": "list", "data": [
        event(id="ok"), event(id="bad", tokens={"input": -3, "output": 1})]}])
    rows = by_id(stage(path))
    assert rows["ok"]["reason"] is None
    assert rows["bad"]["reason"] == ("data[1]: tokens.input is -3; token counts must be whole "
                                     "numbers >= 0")
    assert json.loads(rows["bad"]["raw"])["id"] == "bad"


def test_missing_counts_and_bad_search_count(tmp_path):
    path = write(tmp_path, "e.jsonl", [
        event(id="no-input", tokens={"output": 1}),
        event(id="no-output", tokens={"input": 1}),
        event(id="text-count", tokens={"input": "many", "output": 1}),
        event(id="bad-search", metadata={"tool_usage": {"web_search": 1.5}}),
        event(id="cost-not-number", cost={"amount": "ten cents"}),
        event(id="millis", created_at=1791800000000),
    ])
    rows = by_id(stage(path))
    assert rows["no-input"]["reason"] == "missing usage: no tokens.input"
    assert rows["no-output"]["reason"] == "missing usage: no tokens.output"
    assert rows["text-count"]["reason"] == ("tokens.input is many; token counts must be whole "
                                            "numbers >= 0")
    assert rows["bad-search"]["reason"] == ("metadata.tool_usage.web_search is 1.5; token counts "
                                            "must be whole numbers >= 0")
    assert rows["cost-not-number"]["reason"].startswith("cost.amount is ten cents")
    assert rows["millis"]["reason"].startswith("unparseable time: created_at is 1791800000000")


def test_document_level_rejects(tmp_path):
    path = write(tmp_path, "mixed.jsonl", [
        event(id="fine"), "[1, 2]", '"just a string"', '{"object": "list", "total": 3}'])
    reasons = [(r["line"], r["reason"]) for r in stage(path)]
    assert reasons[0] == (1, None)
    assert reasons[1:3] == [(2, "[0]: not a usage_event object (JSON ubigint)"),
                            (2, "[1]: not a usage_event object (JSON ubigint)")]
    assert reasons[3] == (3, "JSON, but not an object")
    assert reasons[4][0] == 4
    assert reasons[4][1].startswith("not a usage_event (object, tokens, cost) nor a page")
    assert len(reasons) == 5


def test_top_level_array_of_events(tmp_path):
    path = tmp_path / "list.json"
    path.write_text(json.dumps([event(id="a"), event(id="b", cost={"amount": 0.5})], indent=2))
    rows = stage(path)
    assert [(r["request_id"], r["line"], r["billed_cost"]) for r in rows] == [
        ("a", 1, Decimal("0.0001425")), ("b", 2, Decimal("0.5"))]


def test_amount_found_when_another_cost_object_comes_first(tmp_path):
    path = write(tmp_path, "nested.jsonl", [
        event(id="a", metadata={"cost": {"amount": 5}}, cost={"amount": 0.25}),
        {"object": "list", "data": [
            event(id="b", cost={"amount": 0.5}),
            event(id="c", metadata={"cost": {"amount": 7}}, cost={"amount": 1.75}),
            event(id="d", cost={"amount": 1.5})]},
    ])
    rows = by_id(stage(path))
    assert {k: r["billed_cost"] for k, r in rows.items()} == {
        "a": Decimal("0.25"), "b": Decimal("0.5"), "c": Decimal("1.75"), "d": Decimal("1.5")}
    assert all(r["reason"] is None for r in rows.values())


def test_gzip_and_recognition(tmp_path):
    gz = tmp_path / "ledger.jsonl.gz"
    gz.write_bytes(gzip.compress(EVENTS.read_bytes()))
    assert ledger.recognises(Source(0, gz, str(gz)))
    assert ledger.recognises(Source(0, PAGE, str(PAGE)))
    assert len(stage(gz)) == len(stage(EVENTS))
    chat = write(tmp_path, "chat.jsonl", [{"id": "chatcmpl-1", "object": "chat.completion"}])
    assert not ledger.recognises(Source(0, chat, str(chat)))
    # a chat log that merely talks about usage events is still a chat log
    talk = write(tmp_path, "talk.jsonl", [{"id": "chatcmpl-2", "object": "chat.completion",
                                           "choices": [{"message": {"content": json.dumps(
                                               {"object": "usage_event"})}}]}])
    assert b'usage_event' in talk.read_bytes()
    assert not ledger.recognises(Source(0, talk, str(talk)))
    assert not ledger.recognises(Source(0, tmp_path / "missing.jsonl", "missing"))


# --- the audit fixtures, against the values they were generated from --------------------------

def generated(planted: bool) -> list[dict]:
    import test_audit  # the fixture generator, loaded once there

    gen = test_audit.fixtures
    return gen.ledger_events(gen.requests(), planted=planted)


@pytest.mark.parametrize("path, planted", [(AUDIT_FIXTURES / "ledger-page.json", False),
                                           (AUDIT_FIXTURES / "ledger-clean.jsonl", False),
                                           (AUDIT_FIXTURES / "ledger-planted.jsonl", True)])
@pytest.mark.parametrize("mode", ["in-output", "from-total"])
def test_reads_what_the_fixtures_were_made_of(path, planted, mode):
    rows = ledger.read_events(path, mode)
    events = generated(planted)
    assert len(rows) == len(events)
    assert all(r["reason"] is None for r in rows)
    for row, ev in zip(rows, events, strict=True):
        tokens, metadata = ev["tokens"], ev["metadata"]
        assert row["request_id"] == ev["id"] and row["model"] == ev["model"]
        when = next(ev[f] for f in ("created_at", "created", "timestamp") if f in ev)
        assert row["ts"] == (datetime.fromtimestamp(when, UTC) if isinstance(when, int)
                             else datetime.fromisoformat(when.replace("Z", "+00:00")))
        assert (row["input_tokens"], row["cached_input_tokens"], row["output_tokens"]) == \
            (tokens["input"], tokens["cached"], tokens["output"])
        # the generator's totals are input + output: no reasoning beyond the output
        assert row["reasoning_tokens"] == (None if mode == "in-output" else 0)
        assert row["search_calls"] == metadata.get("tool_usage", {}).get("web_search", 0)
        # amounts: the generator's Decimals as the gateway writes them (shortest float text)
        written = {k: Decimal(repr(float(v))) for k, v in metadata.items() if k != "tool_usage"}
        assert row["billed_cost"] == Decimal(repr(float(ev["cost"]["amount"])))
        assert (row["list_cost"], row["stated_cost"], row["discount_amount"]) == (
            written.get("list_cost"), written.get("billed_cost"), written.get("discount_amount"))
        assert row["failed"] == (ev["status"] != "success")
        assert row["billed_currency"] == "USD"


def test_the_amounts_only_the_audit_reads():
    rows = by_id(ledger.read_events(PAGE))
    first = rows["req_ledger_0001"]
    assert (first["list_cost"], first["stated_cost"], first["discount_amount"]) == (
        Decimal("0.013965"), Decimal("0.0125685"), Decimal("0.0013965"))
    assert first["places"] == 7  # 0.0125685 and 0.0013965
    assert (first["line"], first["pos"], first["whole"], first["item"]) == (1, 1, True, "data[0]")
    assert rows["req_ledger_0002"]["list_cost"] is None and rows["req_ledger_0002"]["places"] == 6
    assert [r["failed"] for r in rows.values()] == [False, False, True, False]
    lone = ledger.read_events(EVENTS)[0]
    assert (lone["pos"], lone["whole"], lone["item"]) == (1, False, None)


def test_failed_is_a_bad_status_code_or_any_status_but_success(tmp_path):
    path = write(tmp_path, "s.jsonl", [
        event(id="a", status="Succeeded", status_code=200),
        event(id="b", status="success", status_code=503),  # the code says otherwise
        event(id="c", status=None, status_code=429),
        event(id="d", status="cancelled", status_code=None),
        event(id="e", status=None, status_code=None),
    ])
    rows = by_id(ledger.read_events(path))
    assert {k: r["failed"] for k, r in rows.items()} == {
        "a": False, "b": True, "c": True, "d": True, "e": False}


def test_explaining_amounts_are_exact_and_found_past_a_stray_key(tmp_path):
    path = write(tmp_path, "m.jsonl", [
        '{"object": "list", "data": ['
        + json.dumps(event(id="a", metadata={"note": {"list_cost": 5}}))[:-1]
        + ', "x": 1}, '
        + json.dumps(event(id="b", cost={"amount": 0.0001425}))[:-1].replace(
            '"metadata": {}', '"metadata": {"list_cost": 12345678.123456789012, '
                              '"discount_amount": "0.000000000001"}') + "}]}",
    ])
    rows = by_id(ledger.read_events(path))
    assert rows["a"]["list_cost"] is None  # a list_cost inside another object is not its own
    assert rows["b"]["list_cost"] == Decimal("12345678.123456789012")  # 20 digits, all kept
    assert rows["b"]["discount_amount"] == Decimal("1E-12")
    assert rows["b"]["places"] == 12
    assert all(r["reason"] is None for r in rows.values())


@pytest.mark.parametrize("amount, places", [(0.0000074, 7), ("0.50", 2), (5, 0), ("1E+2", -2)])
def test_places_as_written(tmp_path, amount, places):
    # as Python's Decimal counts them: 7.4e-06 has 7, 1E+2 has -2
    path = write(tmp_path, "p.jsonl", [event(cost={"amount": amount})])
    (row,) = ledger.read_events(path)
    assert row["places"] == places == -Decimal(str(amount)).as_tuple().exponent


@pytest.mark.parametrize("metadata, reason", [
    ({"list_cost": "n/a"}, "metadata.list_cost is n/a; expected a number written as decimal "
                           "digits"),
    ({"discount_amount": True}, "metadata.discount_amount is true; expected a number written "
                                "as decimal digits"),
    ({"billed_cost": 1e30}, "metadata.billed_cost 1e+30 is out of range (at most 26 digits "
                            "before the point)"),
    ({"discount_amount": 0.1234567890123}, "metadata.discount_amount 0.1234567890123 has more "
                                           "than 12 decimal places"),
])
def test_an_amount_explaining_the_debit_must_be_readable(tmp_path, metadata, reason):
    path = write(tmp_path, "m.jsonl", [event(id="a", metadata=metadata), event(id="b")])
    rows = stage(path)
    assert [r["reason"] for r in rows] == [reason, None]


# --- through costkit ingest and the CLI -------------------------------------------------------

def store(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_ingest_stores_the_exact_debit_and_keeps_failed_requests(tmp_path):
    db = tmp_path / "s.duckdb"
    s = ingest([PAGE, EVENTS], db=db, prices=load_price_book([]))
    assert s.read == s.inserted + s.duplicates + s.rejected
    # 4 page events + 15 JSONL records; one repeated request, 8 rejects
    assert (s.read, s.inserted, s.duplicates, s.rejected) == (19, 10, 1, 8)
    rows = dict(store(db, "SELECT request_id, billed_cost FROM usage"))
    assert rows["req_ledger_0001"] == Decimal("0.0125685")
    assert rows["req_jsonl_0005"] == Decimal("98765.432109876543")
    assert sum(rows.values()) == sum(Decimal(x) for x in (
        "0.0125685", "0.033078", "0.00228", "0.004104", "0.000912", "0.000456", "0",
        "0.00057", "98765.432109876543", "0.0000912"))
    assert store(db, "SELECT status, billed_currency, source_format, source_line FROM usage "
                     "WHERE request_id = 'req_ledger_0003'") == [("failed", "USD", "ledger", 3)]
    rejects = {(r["line"], r["reason"]) for r in list_rejects(db, limit=None)}
    assert rejects == {(line, reason) for line, reason in REJECTS.items()}


def test_ingest_twice_adds_nothing(tmp_path):
    db = tmp_path / "s.duckdb"
    first = ingest([EVENTS], db=db, prices=load_price_book([]))
    again = ingest([EVENTS, PAGE], db=db, prices=load_price_book([]))
    assert (first.inserted, first.duplicates) == (6, 1)
    assert (again.inserted, again.duplicates) == (4, 7)  # only the page's events are new
    assert store(db, "SELECT count(*) FROM rejects") == [(8,)]  # rejects not recorded twice


def test_a_copy_in_the_same_run_into_an_empty_store_adds_nothing(tmp_path):
    # The staged insert skips its dedupe steps when they cannot matter; here both matter.
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(EVENTS.read_bytes())
    db = tmp_path / "s.duckdb"
    summary = ingest([EVENTS, copy], db=db, prices=load_price_book([]))
    assert (summary.inserted, summary.duplicates) == (6, 8)
    assert store(db, "SELECT count(*), count(DISTINCT request_id) FROM usage") == [(6, 6)]
    assert store(db, "SELECT DISTINCT source_file FROM usage") == [(str(EVENTS),)]


def test_ledger_priced_from_tokens_agrees_with_the_debit(cli, tmp_path):
    db = tmp_path / "s.duckdb"
    result = cli("ingest", str(PAGE), "--db", str(db), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["inserted"] == 4
    assert result.stderr == ""
    report = cli("report", "--by", "month", "--db", str(db), "--format", "json")
    assert report.exit_code == 0
    [month] = json.loads(report.stdout)
    billed = store(db, "SELECT sum(billed_cost) FROM usage")[0][0]
    discount = Decimal("0.0013965")
    # the cards price the tokens at list; the ledger debited list less the discount
    assert Decimal(month["total_cost"]) - discount == billed


def test_cli_ledger_reasoning_option(cli, tmp_path):
    path = write(tmp_path, "r.jsonl", [
        event(id="a", tokens={"input": 100, "output": 50, "cached": 0, "total": 180})])
    db = tmp_path / "s.duckdb"
    result = cli("ingest", str(path), "--db", str(db), "--ledger-reasoning", "from-total")
    assert result.exit_code == 0, result.stderr
    assert store(db, "SELECT output_tokens, reasoning_tokens FROM usage") == [(50, 30)]
    bad = cli("ingest", str(path), "--db", str(db), "--ledger-reasoning", "both")
    assert bad.exit_code == 2
    assert "--ledger-reasoning" in bad.stderr


def test_forced_format_and_stdin(cli, tmp_path):
    db = tmp_path / "s.duckdb"
    result = cli("ingest", "-", "--input-format", "usage_event", "--db", str(db),
                 "--format", "json", input=PAGE.read_text())
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["inserted"] == 4
    assert store(db, "SELECT DISTINCT source_file FROM usage") == [("<stdin>",)]


TOTALS = ("SELECT count(*), sum(input_tokens), sum(output_tokens), sum(search_calls), "
          "sum(billed_cost) FROM usage")


@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(min_value=1, max_value=14), max_size=4, unique=True),
       repeats=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=6))
def test_any_split_ingested_any_number_of_times_gives_the_same_totals(tmp_path, cuts, repeats):
    lines = EVENTS.read_text().splitlines(keepends=True)
    run = tmp_path / f"run-{len(list(tmp_path.iterdir()))}"
    run.mkdir()
    bounds = [0, *sorted(cuts), len(lines)]
    parts = []
    for i, (a, b) in enumerate(zip(bounds, bounds[1:], strict=False)):
        part = run / f"part{i}.jsonl"
        part.write_text("".join(lines[a:b]))
        parts.append(part)
    once = run / "once.duckdb"
    ingest([EVENTS], db=once, prices=load_price_book([]))
    split = run / "split.duckdb"
    for k in repeats:
        ingest([parts[k % len(parts)]], db=split, prices=load_price_book([]))
    for part in parts:  # every part at least once
        ingest([part], db=split, prices=load_price_book([]))
    assert store(split, TOTALS) == store(once, TOTALS)
