"""Nothing lost, nothing twice, nothing invented at ingest: each class of input that once
lost, merged or invented records, checked against sums worked out by hand or by a plain
Python model of what the store must hold."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costkit.core.errors import InputError
from costkit.ingest.run import ingest
from costkit.pricing.book import load_price_book

BOOK = load_price_book([])
T0 = 1790812800  # 2026-10-01 00:00:00 UTC


def chat(rid: str | None, prompt: int = 2000, completion: int = 10, created: int = T0,
         model: object = "deepseek-v3-2", **usage: object) -> str:
    record: dict = {"object": "chat.completion", "created": created,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                 "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": completion, **usage}}
    if model is not None:
        record["model"] = model
    if rid is not None:
        record["id"] = rid
    return json.dumps(record)


def ledger(rid: str, inp: str = "100", out: str = "10", amount: str = "0.0001") -> str:
    """A gateway usage event; the counts and amount are JSON text, written as given."""
    head = ('"object": "usage_event", "model": "deepseek-v3-2", '
            '"endpoint": "/v1/chat/completions", "status": "success", '
            '"created_at": "2026-10-20T10:00:00Z"')
    return (f'{{"id": {json.dumps(rid)}, {head}, '
            f'"tokens": {{"input": {inp}, "output": {out}, "cached": 0}}, '
            f'"cost": {{"amount": {amount}, "currency": "USD"}}}}')


def write(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def reasons(db: Path, ingest_id: int | None = None) -> list[str]:
    where = f"WHERE ingest_id = {int(ingest_id)}" if ingest_id else ""
    return [r[0] for r in query(db, f"SELECT reason FROM rejects {where} ORDER BY line")]


def balanced(s) -> None:
    assert s.read == s.inserted + s.duplicates + s.conflicts + s.rejected


# --- ids -------------------------------------------------------------------------------------

def test_empty_blank_and_missing_ids_are_three_requests(tmp_path):
    """Three distinct completions, two with a blank id and one with none: 6,000 input tokens,
    not 4,000."""
    log = write(tmp_path / "a.jsonl", [chat(""), chat("   ", created=T0 + 1),
                                       chat(None, created=T0 + 2)])
    db = tmp_path / "s.duckdb"
    s = ingest([log], db=db, prices=BOOK)
    assert (s.read, s.inserted, s.duplicates, s.conflicts, s.rejected) == (3, 3, 0, 0, 0)
    assert query(db, "SELECT count(*), sum(input_tokens) FROM usage") == [(3, 6000)]
    # and they are the same three next time, not three more
    again = ingest([log], db=db, prices=BOOK)
    assert (again.inserted, again.duplicates) == (0, 3)


@pytest.mark.parametrize("other", [
    {"prompt": 5}, {"created": T0 + 60}, {"model": "deepseek-chat"}, {"completion": 11}])
def test_same_id_with_other_values_is_a_conflict_set_aside(tmp_path, other):
    db = tmp_path / "s.duckdb"
    first = write(tmp_path / "a.jsonl", [chat("x1")])
    second = write(tmp_path / "b.jsonl", [chat("x1", **other), chat("x1")])
    s = ingest([first, second], db=db, prices=BOOK)
    balanced(s)
    assert (s.inserted, s.duplicates, s.conflicts, s.rejected) == (1, 1, 1, 0)
    assert query(db, "SELECT count(*), sum(input_tokens), sum(output_tokens) FROM usage") == \
        [(1, 2000, 10)]
    [why] = reasons(db)
    assert why.startswith("conflict: request_id x1")
    # across runs too: the stored one stays, the other is set aside again, counted
    s = ingest([second], db=db, prices=BOOK)
    assert (s.inserted, s.duplicates, s.conflicts) == (0, 1, 1)
    assert query(db, "SELECT count(*), sum(input_tokens) FROM usage") == [(1, 2000)]


@pytest.mark.parametrize("model", ["", " ", "\t", None])
def test_empty_blank_or_missing_model_is_rejected_alike(tmp_path, model):
    db = tmp_path / "s.duckdb"
    s = ingest([write(tmp_path / "a.jsonl", [chat("m1", model=model), chat("ok")])],
               db=db, prices=BOOK)
    assert (s.inserted, s.rejected) == (1, 1)
    assert reasons(db) == ["missing model"]


def test_each_term_is_what_the_store_holds(tmp_path):
    db = tmp_path / "s.duckdb"
    log = write(tmp_path / "a.jsonl", [chat("a"), chat("a"), chat("a", prompt=7), chat("b"),
                                       chat("c", model=""), "not json", chat("d")])
    s = ingest([log], db=db, prices=BOOK)
    balanced(s)
    assert (s.read, s.inserted, s.duplicates, s.conflicts, s.rejected) == (7, 3, 1, 1, 2)
    stored = query(db, f"SELECT count(*) FROM usage WHERE ingest_id = {s.ingest_id}")[0][0]
    set_aside = query(db, f"SELECT count(*) FROM rejects WHERE ingest_id = {s.ingest_id}")[0][0]
    assert stored == s.inserted
    assert set_aside == s.conflicts + s.rejected
    assert query(db, f"SELECT read, inserted, duplicates, conflicts, rejected FROM ingests "
                     f"WHERE ingest_id = {s.ingest_id}") == [(7, 3, 1, 1, 2)]


# --- paths -----------------------------------------------------------------------------------

def spellings(tmp_path: Path, log: Path) -> list[list[Path]]:
    link = tmp_path / "link.jsonl"
    link.symlink_to(log)
    hard = tmp_path / "hard.jsonl"
    os.link(log, hard)
    return [[log, log], [log.parent, log], [log, link], [log, hard],
            [log.parent / "." / log.name, log]]


@pytest.mark.parametrize("case", range(5))
@pytest.mark.parametrize("before", [0, 3])
def test_the_same_file_twice_in_one_run_is_read_once(tmp_path, case, before):
    logs = tmp_path / "logs"
    log = write(logs / "a.jsonl", [chat(f"r{i}", created=T0 + i) for i in range(25)])
    db = tmp_path / "s.duckdb"
    if before:
        ingest([write(tmp_path / "old.jsonl", [chat(f"r{i}", created=T0 + i)
                                               for i in range(before)])], db=db, prices=BOOK)
    s = ingest(spellings(tmp_path, log)[case], db=db, prices=BOOK)
    balanced(s)
    assert s.read == 25 and s.inserted == 25 - before and s.duplicates == before
    assert len(s.repeated_paths) == 1
    assert query(db, "SELECT count(*), count(DISTINCT request_id), sum(input_tokens) "
                     "FROM usage") == [(25, 25, 50_000)]


# --- what counts as a count -------------------------------------------------------------------

@pytest.mark.parametrize("value", [True, False, "12", 1.5, -1, None])
def test_only_whole_json_numbers_are_counts(tmp_path, value):
    db = tmp_path / "s.duckdb"
    s = ingest([write(tmp_path / "a.jsonl", [chat("b", prompt=value), chat("ok")])],
               db=db, prices=BOOK)
    assert (s.inserted, s.rejected) == (1, 1)
    assert query(db, "SELECT sum(input_tokens) FROM usage") == [(2000,)]


@pytest.mark.parametrize("cell", ["1e400", "NaN", "Infinity", "-Infinity", str(2**70), "1.5",
                                  "true"])
def test_one_bad_csv_count_is_one_reject(tmp_path, cell):
    path = tmp_path / "u.csv"
    path.write_text("ts,model,input_tokens,output_tokens\n"
                    "2026-10-01 00:00:00,deepseek-v3-2,100,10\n"
                    f"2026-10-01 00:00:01,deepseek-v3-2,{cell},10\n"
                    "2026-10-01 00:00:02,deepseek-v3-2,300,30\n")
    db = tmp_path / "s.duckdb"
    s = ingest([path], db=db, prices=BOOK)
    assert (s.read, s.inserted, s.rejected) == (3, 2, 1)
    assert query(db, "SELECT sum(input_tokens), sum(output_tokens) FROM usage") == [(400, 40)]
    [why] = reasons(db)
    assert why.startswith("input_tokens") and cell in why


@pytest.mark.parametrize("line, field", [
    (ledger("l2", inp='""'), "tokens.input"),
    (ledger("l2", out='""'), "tokens.output"),
    (ledger("l2", amount="1e400"), "cost.amount"),
    (ledger("l2", inp="true"), "tokens.input"),
])
def test_one_bad_ledger_value_is_one_reject(tmp_path, line, field):
    db = tmp_path / "s.duckdb"
    s = ingest([write(tmp_path / "l.jsonl", [ledger("l1"), line, ledger("l3")])],
               db=db, prices=BOOK)
    assert (s.read, s.inserted, s.rejected) == (3, 2, 1)
    assert query(db, "SELECT sum(input_tokens), sum(billed_cost) FROM usage")[0][0] == 200
    [why] = reasons(db)
    assert field in why


def test_ledger_jsonl_behind_comment_lines_is_read(tmp_path):
    db = tmp_path / "s.duckdb"
    lines = ["# exported by the gateway", "# account acme, October", "// one event a line",
             ledger("l1"), ledger("l2"), ledger("l3")]
    s = ingest([write(tmp_path / "l.jsonl", lines)], db=db, prices=BOOK)
    assert (s.inserted, s.rejected) == (3, 3)
    assert query(db, "SELECT count(*), sum(input_tokens) FROM usage") == [(3, 300)]


def otel_span(span_id: str, value: dict) -> dict:
    return {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": span_id,
            "name": "chat deepseek-v3-2", "kind": 3,
            "startTimeUnixNano": "1791192598000000000", "endTimeUnixNano": "1791192600000000000",
            "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                {"key": "gen_ai.request.model", "value": {"stringValue": "deepseek-v3-2"}},
                {"key": "gen_ai.usage.input_tokens", "value": value},
                {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "10"}}]}


@pytest.mark.parametrize("value", [{"intValue": ""}, {"intValue": "1e400"}, {"intValue": True}])
def test_one_bad_otel_count_is_one_reject(tmp_path, value):
    doc = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [
        otel_span("aaa0000000000001", {"intValue": "100"}), otel_span("aaa0000000000002", value),
        otel_span("aaa0000000000003", {"intValue": "300"})]}]}]}
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    db = tmp_path / "s.duckdb"
    s = ingest([path], db=db, prices=BOOK)
    assert (s.inserted, s.rejected) == (2, 1)
    assert query(db, "SELECT sum(input_tokens) FROM usage") == [(400,)]


# --- reading ---------------------------------------------------------------------------------

def unprivileged() -> list[str]:
    """A prefix that runs a command without the power to read what its mode forbids (root
    reads anything; setpriv drops exactly that capability)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot make a path unreadable")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


@pytest.mark.parametrize("what", ["directory", "file"])
def test_an_unreadable_directory_or_file_is_listed_and_exits_1(tmp_path, what):
    logs = tmp_path / "logs"
    write(logs / "a.jsonl", [chat("a")])
    hidden = write(logs / "sub" / "b.jsonl", [chat("b")])
    locked = hidden.parent if what == "directory" else hidden
    locked.chmod(0)
    db = tmp_path / "s.duckdb"
    try:
        done = subprocess.run(
            [*unprivileged(), sys.executable, "-m", "costkit", "ingest", str(logs), "--db",
             str(db)], capture_output=True, text=True, timeout=120)
    finally:
        locked.chmod(0o755)
    assert done.returncode == 1, done.stderr
    assert "not read" in done.stdout + done.stderr
    assert str(locked.resolve()) in done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert query(db, "SELECT request_id FROM usage") == [("a",)]


def test_a_gzip_bomb_of_one_endless_line_stops_in_bounded_memory(tmp_path):
    bomb = tmp_path / "bomb.jsonl.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as f:
        block = b"\0" * (1 << 20)
        for _ in range(80):  # 80 MB of NULs, no newline: past the 64 MB line bound
            f.write(block)
    assert bomb.stat().st_size < 200_000
    with pytest.raises(InputError, match="longer than 64 MB"):
        ingest([bomb], db=tmp_path / "s.duckdb", prices=BOOK)
    done = subprocess.run([sys.executable, "-m", "costkit", "ingest", str(bomb), "--db",
                           str(tmp_path / "s.duckdb")], capture_output=True, text=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_millions_of_blank_lines_are_skipped_and_the_records_kept(tmp_path):
    bomb = tmp_path / "blank.jsonl.gz"
    with gzip.open(bomb, "wb") as f:
        f.write((chat("first") + "\n").encode())
        f.write(b"\n" * 5_000_000)
        f.write((chat("last", created=T0 + 1) + "\n").encode())
    db = tmp_path / "s.duckdb"
    s = ingest([bomb], db=db, prices=BOOK)
    assert (s.read, s.inserted) == (2, 2)
    assert query(db, "SELECT request_id, source_line FROM usage ORDER BY source_line") == \
        [("first", 1), ("last", 5_000_002)]


def test_csv_lines_stay_true_after_ragged_and_blank_rows(tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("ts,model,input_tokens,output_tokens\n"       # 1
                    "2026-10-01 00:00:00,deepseek-v3-2,1,1\n"     # 2
                    "\n"                                          # 3
                    "2026-10-01 00:00:01,deepseek-v3-2,2\n"       # 4 ragged
                    "2026-10-01 00:00:02,deepseek-v3-2,3,1,9\n"   # 5 ragged
                    "2026-10-01 00:00:03,,4,1\n"                  # 6 no model
                    "\n"                                          # 7
                    "2026-10-01 00:00:04,deepseek-v3-2,5,1\n")    # 8
    db = tmp_path / "s.duckdb"
    s = ingest([path], db=db, prices=BOOK)
    assert (s.inserted, s.rejected) == (2, 3)
    assert query(db, "SELECT input_tokens, source_line FROM usage ORDER BY 1") == [(1, 2), (5, 8)]
    assert [r[0] for r in query(db, "SELECT line FROM rejects ORDER BY line")] == [4, 5, 6]


# --- web search ------------------------------------------------------------------------------

def test_search_counts_from_every_shape_a_chat_completion_carries(tmp_path):
    lines = [
        chat("s1", server_tool_use={"web_search_requests": 3}),
        chat("s2", num_search_queries=2),
        json.dumps({"timestamp": "2026-10-02T00:00:00Z", "search_calls": 4,
                    "request": {"model": "deepseek-v3-2", "enable_search": True},
                    "response": json.loads(chat("s3"))}),
        json.dumps({"timestamp": "2026-10-02T00:00:00Z",
                    "request": {"model": "deepseek-v3-2", "enable_search": True},
                    "response": json.loads(chat("s4"))}),
        json.dumps({"timestamp": "2026-10-02T00:00:00Z",
                    "request": {"model": "deepseek-v3-2",
                                "tools": [{"type": "web_search_preview"}]},
                    "response": json.loads(chat("s5"))}),
        chat("s6"),
    ]
    db = tmp_path / "s.duckdb"
    s = ingest([write(tmp_path / "a.jsonl", lines)], db=db, prices=BOOK)
    assert s.inserted == 6 and s.search_unknown == 2
    assert query(db, "SELECT request_id, search_calls FROM usage ORDER BY 1") == [
        ("s1", 3), ("s2", 2), ("s3", 4), ("s4", None), ("s5", None), ("s6", 0)]


def test_unreported_search_is_said_never_0(tmp_path, cli):
    lines = [json.dumps({"timestamp": "2026-10-02T00:00:00Z",
                         "request": {"model": "deepseek-v3-2", "enable_search": True},
                         "response": json.loads(chat("s4"))})]
    db = tmp_path / "s.duckdb"
    done = cli("ingest", str(write(tmp_path / "a.jsonl", lines)), "--db", str(db))
    assert "not as $0" in done.stderr
    table = cli("report", "--db", str(db), "--by", "month")
    assert "search not reported: 1 request" in table.stdout + table.stderr


# --- the property: any inputs, any splits, orders and spellings, any number of times ---------

GOOD = st.builds(lambda i, p, c, s: ("good", i, p, c, s), st.integers(0, 7),
                 st.integers(0, 5000), st.integers(0, 500), st.integers(0, 3))
RECORD = st.one_of(
    GOOD,
    st.tuples(st.just("conflict"), st.integers(0, 7), st.integers(1, 99)),
    st.tuples(st.just("idless"), st.integers(0, 5)),
    st.tuples(st.just("blank-id"), st.integers(0, 5)),
    st.tuples(st.sampled_from(["bad-model", "bad-count", "not-json"]), st.integers(0, 3)),
)


def render(record: tuple) -> tuple[str, tuple | None]:
    """The line for a drawn record and what a correct store keeps of it: (identity, values)
    or None for a record that must be rejected."""
    kind = record[0]
    if kind == "good":
        _, i, p, c, s = record
        values = (100 + p, 10 + c, s)
        return chat(f"id{i}-{p}-{c}-{s}", 100 + p, 10 + c, T0 + i,
                    server_tool_use={"web_search_requests": s}), (f"id{i}-{p}-{c}-{s}", values)
    if kind == "conflict":  # the id of good record (i, 0, 0, 0) with other counts
        _, i, extra = record
        return chat(f"id{i}-0-0-0", 100 + extra, 10, T0 + i,
                    server_tool_use={"web_search_requests": 0}), \
            (f"id{i}-0-0-0", (100 + extra, 10, 0))
    if kind in ("idless", "blank-id"):
        _, i = record
        line = chat(None if kind == "idless" else " ", 1000 + i, 1, T0 + 1000 + i)
        return line, (f"{kind}{i}", (1000 + i, 1, 0))  # same content, same identity
    _, i = record
    if kind == "bad-model":
        return chat(f"bm{i}", model=""), None
    if kind == "bad-count":
        return chat(f"bc{i}", prompt=True), None
    return "{not json", None


def expected_run(files: list[list[tuple]], kept: dict) -> tuple[int, int, int, int]:
    """(inserted, duplicates, conflicts, rejected) of one run over these files' records, in
    order, updating `kept` (identity -> values): first one wins, a repeat with other values
    is a conflict."""
    inserted = duplicates = conflicts = rejected = 0
    for records in files:
        for record in records:
            _, kept_as = render(record)
            if kept_as is None:
                rejected += 1
            elif kept_as[0] not in kept:
                kept[kept_as[0]] = kept_as[1]
                inserted += 1
            elif kept[kept_as[0]] == kept_as[1]:
                duplicates += 1
            else:
                conflicts += 1
    return inserted, duplicates, conflicts, rejected


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(RECORD, min_size=1, max_size=30), data=st.data())
def test_any_mix_split_ordered_and_spelled_any_way_gives_the_distinct_good_sums(records, data):
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(records) - 1)), max_size=3)))
    bounds = [0, *[c for c in cuts if c < len(records)], len(records)]
    pieces = [records[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    runs = data.draw(st.lists(st.lists(st.integers(0, len(pieces) - 1), min_size=1, max_size=3),
                              min_size=1, max_size=4))
    spell = data.draw(st.lists(st.sampled_from(["plain", "dot", "link"]), min_size=12,
                               max_size=12))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i, piece in enumerate(pieces):
            write(tmp / f"piece{i:02d}.jsonl", [render(r)[0] for r in piece])
            (tmp / f"link{i:02d}.jsonl").symlink_to(tmp / f"piece{i:02d}.jsonl")
        db = tmp / "store.duckdb"
        kept: dict = {}
        for n, run in enumerate(runs):
            paths, order = [], []
            for k, i in enumerate(run):
                how = spell[(n * 3 + k) % len(spell)]
                name = f"piece{i:02d}.jsonl"
                paths.append(tmp / name if how == "plain" else
                             tmp / "." / name if how == "dot" else tmp / f"link{i:02d}.jsonl")
                if i not in order:
                    order.append(i)
            s = ingest(paths, db=db, prices=BOOK)
            balanced(s)
            want = expected_run([pieces[i] for i in order], kept)
            assert (s.inserted, s.duplicates, s.conflicts, s.rejected) == want
            assert query(db, f"SELECT count(*) FROM usage WHERE ingest_id = {s.ingest_id}") == \
                [(s.inserted,)]
        sums = query(db, "SELECT count(*), coalesce(sum(input_tokens), 0), "
                         "coalesce(sum(output_tokens), 0), coalesce(sum(search_calls), 0) "
                         "FROM usage")[0]
        assert sums == (len(kept), sum(v[0] for v in kept.values()),
                        sum(v[1] for v in kept.values()), sum(v[2] for v in kept.values()))
