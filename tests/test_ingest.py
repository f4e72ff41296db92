"""Ingest as a whole: inputs (directories, .gz, stdin), nothing lost and nothing twice,
atomicity (a real process killed mid-run), unpriced models, and the two commands."""

from __future__ import annotations

import gzip
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import pytest
from conftest import FIXTURES, ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costkit.core.errors import InputError
from costkit.ingest.rejects import list_rejects
from costkit.ingest.run import ingest, parse_tags
from costkit.pricing.book import load_price_book
from costkit.readers import DOCUMENT_READERS
from costkit.readers.records import STAGE_COLUMNS
from costkit.store.connection import open_store

LOGS = FIXTURES / "logs"
BOOK = load_price_book([])
TOTALS = ("SELECT count(*), sum(input_tokens), sum(cached_input_tokens), sum(cache_write_tokens), "
          "sum(output_tokens), sum(reasoning_tokens), sum(search_calls) FROM usage")


def chat(i: int, prompt: int = 100, completion: int = 20, created: int = 1790812800) -> str:
    return json.dumps({
        "id": f"chatcmpl-{i:07d}", "object": "chat.completion", "created": created + i,
        "model": "deepseek-v3-2",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": prompt + i % 7, "completion_tokens": completion + i % 5,
                  "total_tokens": prompt + completion + i % 7 + i % 5,
                  "prompt_tokens_details": {"cached_tokens": i % 3},
                  "completion_tokens_details": {"reasoning_tokens": i % 2}},
    }, separators=(",", ":"))


CHAT_LINE = ('{"id":"chatcmpl-%07d","object":"chat.completion","created":%d,'
             '"model":"deepseek-v3-2","choices":[{"index":0,"message":{"role":"assistant",'
             '"content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":%d,'
             '"completion_tokens":%d,"prompt_tokens_details":{"cached_tokens":%d},'
             '"completion_tokens_details":{"reasoning_tokens":%d}}}\n')


def write_chat_log(path: Path, n: int) -> tuple:
    """n records like chat(i), written fast; returns the TOTALS they add."""
    with open(path, "w", encoding="utf-8") as f:
        for start in range(0, n, 20_000):
            f.write("".join(CHAT_LINE % (i, 1790812800 + i, 100 + i % 7, 20 + i % 5, i % 3, i % 2)
                            for i in range(start, min(start + 20_000, n))))
    prompt = sum(100 + i % 7 for i in range(n))
    completion = sum(20 + i % 5 for i in range(n))
    cached = sum(i % 3 for i in range(n))
    reasoning = sum(i % 2 for i in range(n))
    return (n, prompt, cached, 0, completion - reasoning, reasoning, 0)


def query(db, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def invariant(s) -> None:
    assert s.read == s.inserted + s.duplicates + s.conflicts + s.rejected


@pytest.fixture
def db(tmp_path):
    return tmp_path / "store.duckdb"


# --- inputs ---------------------------------------------------------------------------------

def test_directories_are_read_recursively_hidden_files_skipped(tmp_path, db):
    logs = tmp_path / "logs"
    shutil.copytree(LOGS / "chat", logs / "a" / "chat")
    shutil.copy(LOGS / "stream" / "capture.sse", logs / "b.sse")
    (logs / ".hidden").mkdir()
    (logs / ".hidden" / "x.jsonl").write_text(chat(1) + "\n", encoding="utf-8")
    (logs / ".DS_Store").write_bytes(b"\x00\x01binary")
    s = ingest([logs], db=db, prices=BOOK)
    invariant(s)
    assert (s.files, s.read, s.inserted, s.rejected) == (3, 6, 6, 0)
    names = query(db, "SELECT DISTINCT source_file FROM usage")
    files = {Path(r[0]).relative_to(logs).as_posix() for r in names}
    assert files == {"a/chat/deepseek.jsonl", "a/chat/openai.jsonl", "b.sse"}


def test_gzip_is_detected_by_its_bytes(tmp_path, db):
    lines = "\n".join(chat(i) for i in range(50)) + "\n"
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    (tmp_path / "rotated.1").write_bytes(gzip.compress((chat(50) + "\n").encode()))  # no .gz
    s = ingest([tmp_path / "a.jsonl.gz", tmp_path / "rotated.1"], db=db, prices=BOOK)
    assert (s.read, s.inserted, s.rejected) == (51, 51, 0)
    last = "SELECT max(source_line) FROM usage WHERE source_file LIKE '%a.jsonl.gz'"
    assert query(db, last) == [(50,)]


def test_corrupt_gzip_stops_the_ingest_and_leaves_the_store_unchanged(tmp_path, db):
    ingest([LOGS / "chat" / "deepseek.jsonl"], db=db, prices=BOOK)
    before = query(db, TOTALS)
    good = gzip.compress(("\n".join(chat(i) for i in range(2000)) + "\n").encode())
    (tmp_path / "cut.jsonl.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match=r"cut\.jsonl\.gz: cannot read: .*truncated or corrupt"):
        ingest([LOGS / "chat" / "openai.jsonl", tmp_path / "cut.jsonl.gz"], db=db, prices=BOOK)
    assert query(db, TOTALS) == before
    assert query(db, "SELECT count(*) FROM ingests") == [(1,)]


def test_missing_input_is_refused_before_any_work(tmp_path, db):
    with pytest.raises(InputError, match=r"nope\.jsonl: no such file or directory"):
        ingest([LOGS / "chat", tmp_path / "nope.jsonl"], db=db, prices=BOOK)
    assert not db.exists()


def test_progress_reports_bytes_up_to_the_total(tmp_path, db):
    log = tmp_path / "big.jsonl"
    log.write_text("\n".join(chat(i) for i in range(3000)) + "\n", encoding="utf-8")
    seen = []
    ingest([log], db=db, prices=BOOK, progress=lambda done, total: seen.append((done, total)))
    size = log.stat().st_size
    assert seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


# --- nothing lost, nothing twice ---------------------------------------------------------------

def test_same_file_copy_and_overlap_add_nothing(tmp_path, db):
    a = tmp_path / "a.jsonl"
    a.write_text("\n".join(chat(i) for i in range(100)) + "\n", encoding="utf-8")
    first = ingest([a], db=db, prices=BOOK)
    totals = query(db, TOTALS)
    again = ingest([a], db=db, prices=BOOK)
    copy = tmp_path / "elsewhere" / "a-copy.jsonl"
    copy.parent.mkdir()
    shutil.copy(a, copy)
    copied = ingest([copy], db=db, prices=BOOK)
    overlap = tmp_path / "overlap.jsonl"
    overlap.write_text("\n".join(chat(i) for i in range(90, 120)) + "\n", encoding="utf-8")
    more = ingest([overlap], db=db, prices=BOOK)
    for s in (first, again, copied, more):
        invariant(s)
    assert (first.inserted, again.inserted, copied.inserted) == (100, 0, 0)
    assert (again.duplicates, copied.duplicates) == (100, 100)
    assert (more.inserted, more.duplicates) == (20, 10)
    assert query(db, TOTALS)[0][0] == 120
    assert totals[0][0] == 100


def test_duplicates_within_one_ingest_keep_the_first(tmp_path, db):
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.jsonl"
    a.write_text(chat(1) + "\n" + chat(2) + "\n" + chat(1) + "\n", encoding="utf-8")
    b.write_text(chat(2) + "\n" + chat(3) + "\n", encoding="utf-8")
    s = ingest([a, b], db=db, prices=BOOK)
    invariant(s)
    assert (s.read, s.inserted, s.duplicates) == (5, 3, 2)
    rows = query(db, "SELECT request_id, regexp_extract(source_file, '[^/]+$'), source_line "
                     "FROM usage ORDER BY request_id")
    assert rows == [("chatcmpl-0000001", "a.jsonl", 1), ("chatcmpl-0000002", "a.jsonl", 2),
                    ("chatcmpl-0000003", "b.jsonl", 2)]


def test_rejects_are_not_recorded_twice(db):
    first = ingest([LOGS / "bad"], db=db, prices=BOOK)
    again = ingest([LOGS / "bad"], db=db, prices=BOOK)
    assert first.rejected == again.rejected == 18
    invariant(again)
    assert query(db, "SELECT count(*) FROM rejects") == [(18,)]


def test_ingests_table_records_each_run(db):
    s = ingest([LOGS / "chat", LOGS / "bad"], db=db, prices=BOOK)
    rows = query(db, "SELECT ingest_id, sources, read, inserted, duplicates, rejected, "
                     "finished_at >= started_at FROM ingests")
    assert rows == [(s.ingest_id, json.dumps([str(LOGS / "chat"), str(LOGS / "bad")]),
                     24, 6, 0, 18, True)]
    assert query(db, "SELECT DISTINCT ingest_id FROM usage") == [(s.ingest_id,)]


# A log with everything that could upset a split: duplicates, a record without an id, bad
# lines, a stream (its chunks may land in different pieces), blank lines.
MIXED = [chat(i) for i in range(12)] + [
    chat(3), "not json", "",
    json.dumps({"object": "chat.completion", "created": 1790812900, "model": "deepseek-v3-2",
                "usage": {"prompt_tokens": 5, "completion_tokens": 5}}),
    (LOGS / "stream" / "chunks.jsonl").read_text(encoding="utf-8").strip(),
    chat(20, prompt=-1),
    chat(7),
]
MIXED_TEXT = "\n".join(MIXED).split("\n")


@pytest.fixture(scope="module")
def clean_totals(tmp_path_factory):
    path = tmp_path_factory.mktemp("clean")
    (path / "log.jsonl").write_text("\n".join(MIXED_TEXT) + "\n", encoding="utf-8")
    db = path / "store.duckdb"
    ingest([path / "log.jsonl"], db=db, prices=BOOK)
    return query(db, TOTALS)


@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_split_ingested_any_number_of_times_gives_the_same_totals(clean_totals, data):
    cuts = sorted(data.draw(st.sets(st.integers(1, len(MIXED_TEXT) - 1), max_size=3)))
    bounds = [0, *cuts, len(MIXED_TEXT)]
    pieces = [MIXED_TEXT[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    runs = data.draw(st.lists(st.integers(0, len(pieces) - 1), min_size=len(pieces), max_size=5)
                     .filter(lambda r: set(r) == set(range(len(pieces)))))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for i, piece in enumerate(pieces):
            (tmp / f"piece{i}.jsonl").write_text("\n".join(piece) + "\n", encoding="utf-8")
        db = tmp / "store.duckdb"
        for i in runs:
            invariant(ingest([tmp / f"piece{i}.jsonl"], db=db, prices=BOOK))
        assert query(db, TOTALS) == clean_totals


# --- atomicity ------------------------------------------------------------------------------

def test_a_killed_ingest_leaves_the_store_as_before_and_a_rerun_gives_clean_totals(tmp_path):
    log = tmp_path / "big.jsonl"
    added = write_chat_log(log, 200_000)
    db = tmp_path / "store.duckdb"
    ingest([LOGS / "chat" / "deepseek.jsonl"], db=db, prices=BOOK)
    before = query(db, TOTALS)[0]
    baseline = db.stat().st_size
    env = dict(os.environ, COSTKIT_DB=str(db))
    proc = subprocess.Popen([sys.executable, "-m", "costkit", "ingest", str(log)], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    # DuckDB writes a big transaction's rows into the file before it commits: once the file
    # grows, the ingest is mid-way.
    while proc.poll() is None and db.stat().st_size <= baseline and time.monotonic() < deadline:
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the ingest finished before it could be killed"
    assert proc.stdout.read() == b""
    assert query(db, TOTALS) == [before]
    assert query(db, "SELECT count(*) FROM ingests") == [(1,)]

    rerun = ingest([log], db=db, prices=BOOK)
    assert (rerun.read, rerun.inserted) == (200_000, 200_000)
    expected = tuple(a + b for a, b in zip(before, added, strict=True))
    assert query(db, TOTALS) == [expected]


def test_a_second_writer_waits_then_fails_clearly(cli, db, monkeypatch):
    open_store(db).close()
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys; c = duckdb.connect({str(db)!r}); "
                               "print('held', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("COSTKIT_LOCK_WAIT", "0.3")
        result = cli("ingest", str(LOGS / "chat"), "--db", str(db))
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "the store is in use by another costkit process; waited 0.3s" in result.stderr
    assert query(db, "SELECT count(*) FROM usage") == [(0,)]


# --- prices ---------------------------------------------------------------------------------

def test_unpriced_model_keeps_its_tokens_with_a_warning(cli, db, tmp_path):
    # The catalog prices gpt-4o and o3-mini (issue 16): the same log with models no card
    # knows stays unpriced.
    text = (LOGS / "chat" / "openai.jsonl").read_text(encoding="utf-8")
    logs = tmp_path / "openai.jsonl"
    logs.write_text(text.replace("gpt-4o-2024-08-06", "acme-chat-1").replace("o3-mini",
                                                                               "acme-think-1"))
    result = cli("ingest", str(logs), "--db", str(db), "--format", "json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["unpriced"] == {"acme-chat-1": 1, "acme-think-1": 1}
    assert ("costkit: warning: 1 request of model 'acme-think-1' is unpriced (no price card in "
            "effect at their time)") in result.stderr
    assert query(db, "SELECT sum(input_tokens), sum(output_tokens) FROM usage") == [(2067, 74)]


def test_a_card_prices_a_model_and_names_its_provider(tmp_path, db):
    card = tmp_path / "cards.toml"
    card.write_text('[[card]]\nmodel = "o3-mini"\nprovider = "openai"\n'
                    '[card.rates]\ninput = "1.10"\noutput = "4.40"\n', encoding="utf-8")
    s = ingest([LOGS / "chat" / "openai.jsonl"], db=db, prices=[card])
    assert s.unpriced == {}  # gpt-4o-2024-08-06: the catalog's openai/gpt-4o (issue 16)
    assert query(db, "SELECT provider FROM usage WHERE model = 'o3-mini'") == [("openai",)]


# --- whole-file readers plug into the same staging -----------------------------------------

def test_a_document_reader_shares_dedupe_and_rejects(tmp_path, db, monkeypatch):
    """A minimal whole-file reader (two columns of a TSV) registered like the real ones."""
    def recognises(source):
        return source.path is not None and source.path.suffix == ".tsv"

    def select(con, source, project, tags):
        values = {name: f"NULL::{kind}" for name, kind in STAGE_COLUMNS.items()}
        values.update(
            file_id=str(source.file_id), line="line", kind="'record'", format="'tsv'",
            request_id="id", ts="TIMESTAMPTZ '2026-10-02 00:00:00+00'", model="'deepseek-v3-2'",
            input_tokens="n", cached_input_tokens="0", cache_write_tokens="0",
            output_tokens="0", search_calls="0",
            reason="CASE WHEN n IS NULL THEN 'bad count' END",
            raw="CASE WHEN n IS NULL THEN id END")
        cols = ", ".join(f'{sql} AS "{name}"' for name, sql in values.items())
        return (f"SELECT {cols} FROM (SELECT column0 AS id, TRY_CAST(column1 AS BIGINT) AS n, "
                f"row_number() OVER () AS line FROM read_csv('{source.path}', delim='\t', "
                f"header=false, columns={{'column0': 'VARCHAR', 'column1': 'VARCHAR'}}))")

    monkeypatch.setitem(DOCUMENT_READERS, "tsv", (recognises, select))
    (tmp_path / "u.tsv").write_text("t1\t5\nt2\tx\nt1\t5\n", encoding="utf-8")
    s = ingest([tmp_path / "u.tsv", LOGS / "chat" / "deepseek.jsonl"], db=db, prices=BOOK)
    invariant(s)
    assert (s.read, s.inserted, s.duplicates, s.rejected) == (6, 4, 1, 1)
    assert query(db, "SELECT input_tokens, source_format, source_line FROM usage "
                     "WHERE request_id = 't1'") == [(5, "tsv", 1)]
    assert query(db, "SELECT line, reason, raw FROM rejects") == [(2, "bad count", "t2")]


# --- the commands ---------------------------------------------------------------------------

def test_cli_table_summary(cli, db):
    result = cli("ingest", str(LOGS / "chat"), str(LOGS / "stream"), "--db", str(db))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ingest 1: 8 records read from 4 files in ")
    assert lines[1:] == ["  7  inserted", "  0  duplicates", "  1  rejected",
                         "  2  lines skipped (stream events, SSE control lines)"]
    assert "costkit: warning: 1 record rejected; see `costkit rejects --ingest 1`" in result.stderr


def test_cli_json_summary_has_integer_counts(cli, db):
    result = cli("ingest", str(LOGS / "bad"), "--db", str(db), "--format", "json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert {k: summary[k] for k in ("read", "inserted", "duplicates", "rejected")} == {
        "read": 19, "inserted": 1, "duplicates": 0, "rejected": 18}
    assert all(type(summary[k]) is int for k in ("read", "inserted", "duplicates", "rejected"))


def test_cli_stdin(cli, db):
    text = (LOGS / "chat" / "deepseek.jsonl").read_text(encoding="utf-8")
    result = cli("ingest", "-", "--db", str(db), "--project", "piped", "--tag", "src=stdin",
                 input=text)
    assert result.exit_code == 0, result.stderr
    assert query(db, "SELECT DISTINCT source_file, project, tags FROM usage") == [
        ("<stdin>", "piped", '{"src": "stdin"}')]
    assert query(db, "SELECT source_line FROM usage ORDER BY 1") == [(1,), (2,), (4,)]


def test_cli_stdin_gzip(cli, db, runner):
    from costkit.cli.app import app
    data = gzip.compress((LOGS / "chat" / "deepseek.jsonl").read_bytes())
    result = runner.invoke(app, ["ingest", "-", "--db", str(db)], input=data)
    assert result.exit_code == 0, result.stderr
    assert query(db, "SELECT count(*) FROM usage") == [(3,)]


@pytest.mark.parametrize("name", ["emptydir", "emptydir/", "hidden-only"])
def test_an_empty_directory_is_one_line_and_no_store(cli, db, tmp_path, monkeypatch, name):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "emptydir").mkdir()
    (tmp_path / "hidden-only" / ".cache").mkdir(parents=True)
    (tmp_path / "hidden-only" / ".notes.jsonl").write_text("{}\n", encoding="utf-8")
    result = cli("ingest", name, "--db", str(db))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"costkit: error: {name}: no files to read\n"
    assert not db.exists()
    done = subprocess.run([sys.executable, "-m", "costkit", "ingest", name, "--db", str(db)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"costkit: error: {name}: no files to read\n"
    assert not db.exists()


def test_cli_errors_are_one_line(cli, db, tmp_path):
    result = cli("ingest", str(tmp_path / "missing.jsonl"), "--db", str(db))
    assert (result.exit_code, result.stdout) == (2, "")
    missing = tmp_path / "missing.jsonl"
    assert result.stderr == f"costkit: error: {missing}: no such file or directory\n"
    result = cli("ingest", str(LOGS / "chat"), "--tag", "oops", "--db", str(db))
    assert result.exit_code == 2
    assert result.stderr == ("costkit: error: --tag 'oops': expected NAME=VALUE, "
                             "e.g. --tag team=growth\n")
    result = cli("ingest", str(LOGS / "chat"), "--input-format", "xml", "--db", str(db))
    assert result.exit_code == 2
    assert result.stderr.startswith("costkit: error: --input-format 'xml' is not a known format")


def test_parse_tags():
    assert parse_tags(["team=growth", " env = prod ", "note=a=b"]) == {
        "team": "growth", "env": "prod", "note": "a=b"}
    with pytest.raises(InputError):
        parse_tags(["=x"])


def test_cli_rejects_lists_and_filters(cli, db):
    cli("ingest", str(LOGS / "bad"), "--db", str(db))
    cli("ingest", str(LOGS / "stream"), "--db", str(db))
    result = cli("rejects", "--db", str(db), "--format", "json", "--limit", "0")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert len(rows) == 19
    assert [r["ingest_id"] for r in rows][:1] == [max(r["ingest_id"] for r in rows)]
    assert set(rows[0]) == {"ingest_id", "source_file", "line", "format", "reason", "raw",
                            "rejected_at"}
    streams = json.loads(cli("rejects", "--db", str(db), "--format", "json",
                             "--input-format", "chat.completion.chunk").stdout)
    assert [(Path(r["source_file"]).name, r["line"]) for r in streams] == [("chunks.jsonl", 2)]
    first = json.loads(cli("rejects", "--db", str(db), "--format", "json", "--ingest", "1",
                           "--limit", "2").stdout)
    assert [r["line"] for r in first] == [1, 2]
    assert json.loads(cli("rejects", "--db", str(db), "--format", "json",
                          "--since", "2100-01-01").stdout) == []
    table = cli("rejects", "--db", str(db), "--limit", "3")
    assert table.exit_code == 0
    assert "chunks.jsonl:2" in table.stdout and "stream ended without a usage chunk" in table.stdout
    bad = cli("rejects", "--db", str(db), "--since", "last week")
    assert (bad.exit_code, bad.stderr) == (
        2, "costkit: error: --since 'last week' is not a date; expected YYYY-MM-DD\n")


def test_cli_rejects_on_an_empty_store(cli, db):
    result = cli("rejects", "--db", str(db))  # no store: an error, and none is made
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"costkit: error: no store at {db}; ")
    assert not db.exists()
    open_store(db).close()
    result = cli("rejects", "--db", str(db))
    assert (result.exit_code, result.stdout, result.stderr) == (0, "", "no rejects\n")


def test_list_rejects_library(db):
    ingest([LOGS / "bad"], db=db, prices=BOOK)
    rows = list_rejects(db, limit=None)
    assert len(rows) == 18
    assert {r["format"] for r in list_rejects(db, input_format="envelope", limit=None)} == set()
    assert len(list_rejects(db, input_format="messages", limit=None)) == 1


def test_shuffled_inputs_give_the_same_totals(tmp_path):
    logs = [LOGS / d for d in ("chat", "stream", "responses", "messages", "envelope", "bad")]
    totals = []
    for seed in (1, 2):
        order = logs[:]
        random.Random(seed).shuffle(order)
        db = tmp_path / f"s{seed}.duckdb"
        ingest(order, db=db, prices=BOOK)
        totals.append(query(db, TOTALS))
    assert totals[0] == totals[1]
    assert totals[0][0][0] == 17


def test_progress_bar_only_on_a_terminal(monkeypatch, tmp_path):
    import io

    from costkit.cli.output import progress

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    with progress("reading") as bar:
        assert bar is None  # pytest's stderr is no terminal
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    log = tmp_path / "log.jsonl"
    write_chat_log(log, 2000)
    with progress("reading") as bar:
        summary = ingest([log], db=tmp_path / "s.duckdb", prices=BOOK, progress=bar.update)
    assert summary.inserted == 2000
    assert "reading" in terminal.getvalue()


def test_options_reach_records_on_both_paths(db):
    """--project and --tag apply to fast-path records and to stitched streams alike."""
    s = ingest([LOGS / "chat" / "deepseek.jsonl", LOGS / "stream"], db=db, prices=BOOK,
               project="p", tags={"team": "t"})
    assert (s.inserted, s.rejected, s.skipped) == (5, 1, 2)
    rows = query(db, "SELECT source_format, project, tags FROM usage ORDER BY source_format")
    assert {r[0] for r in rows} == {"chat", "chat-stream"}
    assert all(r[1:] == ("p", '{"team": "t"}') for r in rows)


def test_forced_stream_format(db, tmp_path):
    log = tmp_path / "chunks.jsonl"
    text = (LOGS / "stream" / "chunks.jsonl").read_text(encoding="utf-8")
    log.write_text(text.replace('"object":"chat.completion.chunk",', ""), encoding="utf-8")
    detected = ingest([log], db=tmp_path / "a.duckdb", prices=BOOK)
    # without `object`, chunks look like nothing known, except the usage chunk (a chat
    # completion's usage): per-line detection cannot see streams
    assert (detected.read, detected.inserted, detected.rejected) == (6, 1, 5)
    forced = ingest([log], db=db, prices=BOOK, input_format="chat-stream")
    assert (forced.read, forced.inserted, forced.rejected) == (2, 1, 1)
