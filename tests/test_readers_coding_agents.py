"""Coding agents' session logs: Claude Code (`costkit.readers.claude_code`: one request per
message id and request id, the last of its growing lines; resumed copies are duplicates)
and Codex CLI (`costkit.readers.codex`: token_count events, repeats skipped, totals turned
into deltas), and `costkit ingest --claude-code / --codex`. Expected numbers are read off
the fixtures by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import FIXTURES
from readers_support import BOOK, good, invariant, query, reasons, stage, write_lines

from costkit.core.errors import InputError
from costkit.ingest.rejects import list_rejects
from costkit.ingest.run import ingest
from costkit.readers import agent_log_folders, claude_code, codex

CLAUDE = FIXTURES / "logs" / "claude-code"
PROJECT = CLAUDE / "projects" / "-home-dev-shop"
SESSION = PROJECT / "4f6b1c2e-8d3a-4e5f-9a7b-1c2d3e4f5a6b.jsonl"
RESUMED = PROJECT / "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d.jsonl"
CODEX = FIXTURES / "logs" / "codex"
ROLLOUT = next((CODEX / "sessions").rglob("rollout-*.jsonl"))
CODEX_SESSION = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"

MSG_A = "msg_01A1b2C3d4E5f6G7h8J9k0Lm"
MSG_B = "msg_01B2c3D4e5F6g7H8j9K0mN1p"
MSG_C = "msg_01C3d4E5f6G7h8J9k0M1n2Pq"
MSG_D = "msg_01D4e5F6g7H8j9K0m1N2p3Qr"
COLUMNS = ("model", "input_tokens", "cached_input_tokens", "cache_write_tokens",
           "output_tokens", "reasoning_tokens", "search_calls", "project", "endpoint")


@pytest.fixture
def db(tmp_path):
    return tmp_path / "store.duckdb"


def stored(db: Path) -> dict[str, tuple]:
    rows = query(db, f"SELECT request_id, {', '.join(COLUMNS)} FROM usage")
    return {r[0]: r[1:] for r in rows}


# --- Claude Code --------------------------------------------------------------------------

def test_a_session_one_request_per_message(db):
    s = ingest([SESSION], db=db, prices=BOOK)
    invariant(s)
    # 8 lines: a summary, two user turns and a <synthetic> error are skipped; message A
    # is two lines (one request); B and the sidechain's C one line each
    assert (s.read, s.inserted, s.rejected, s.skipped) == (3, 3, 0, 4)
    rows = stored(db)
    sonnet, haiku = "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"
    # input = input_tokens + cache writes + cache reads; output the LAST line's (412, not 8)
    assert rows[MSG_A] == (sonnet, 3 + 3117 + 14723, 14723, 3117, 412, None, 0,
                           "/home/dev/shop", "messages")
    assert rows[MSG_B] == (sonnet, 5 + 420 + 17843, 17843, 420, 96, None, 1,
                           "/home/dev/shop", "messages")
    assert rows[MSG_C] == (haiku, 1200, 0, 0, 300, None, 0, "/home/dev/shop", "messages")
    assert query(db, "SELECT ts, source_line FROM usage WHERE request_id = ?", [MSG_A]) == \
        [(datetime(2026, 10, 5, 9, 0, 9, 876000, tzinfo=UTC), 3)]


def test_a_resumed_session_repeats_a_message_once(db):
    s = ingest([PROJECT], db=db, prices=BOOK)
    invariant(s)
    assert (s.read, s.inserted, s.duplicates) == (5, 4, 1)
    assert stored(db)[MSG_D][:5] == ("claude-sonnet-4-5-20250929", 7 + 200 + 18263, 18263,
                                     200, 55)
    again = ingest([PROJECT], db=db, prices=BOOK)
    assert (again.inserted, again.duplicates) == (0, 5)


def test_project_is_the_working_folder_unless_an_envelope_says(tmp_path):
    line = json.loads(SESSION.read_text().splitlines()[5])
    path = write_lines(tmp_path / "s.jsonl", [line])
    s = ingest([path], db=tmp_path / "a.duckdb", prices=BOOK, project="cli-project")
    assert s.inserted == 1
    assert query(tmp_path / "a.duckdb", "SELECT project FROM usage") == [("/home/dev/shop",)]
    del line["cwd"]
    path = write_lines(tmp_path / "t.jsonl", [line])
    ingest([path], db=tmp_path / "b.duckdb", prices=BOOK, project="cli-project")
    assert query(tmp_path / "b.duckdb", "SELECT project FROM usage") == [("cli-project",)]


def test_a_stream_json_capture_has_no_time(tmp_path, db):
    """`claude -p --output-format stream-json` lines carry no timestamp: rejected with that
    reason; its init and result lines (the result totals the session) are skipped."""
    lines = [
        {"type": "system", "subtype": "init", "session_id": "s-1", "model": "claude-x"},
        {"type": "assistant", "session_id": "s-1", "parent_tool_use_id": None, "message": {
            "id": "msg_1", "type": "message", "model": "claude-x",
            "usage": {"input_tokens": 3, "output_tokens": 1}}},
        {"type": "assistant", "session_id": "s-1", "parent_tool_use_id": None, "message": {
            "id": "msg_1", "type": "message", "model": "claude-x",
            "usage": {"input_tokens": 3, "output_tokens": 9}}},
        {"type": "result", "subtype": "success", "session_id": "s-1", "total_cost_usd": 0.2,
         "usage": {"input_tokens": 3, "output_tokens": 9}},
    ]
    s = ingest([write_lines(tmp_path / "stream.jsonl", lines)], db=db, prices=BOOK)
    assert (s.read, s.inserted, s.rejected, s.skipped) == (1, 0, 1, 2)
    reject = list_rejects(db)[0]
    assert reject["line"] == 2
    assert reject["reason"].startswith("no time: timestamp is missing or not ISO 8601 (a "
                                       "`claude -p --output-format stream-json` capture")


def test_claude_code_rejections(tmp_path, db):
    good_line = json.loads(SESSION.read_text().splitlines()[5])
    bad = [
        {**good_line, "timestamp": "yesterday"},
        {**good_line, "message": {**good_line["message"], "id": "m2",
                                  "usage": {"input_tokens": -1, "output_tokens": 5}}},
        {**good_line, "message": {**good_line["message"], "id": "m3",
                                  "usage": {"output_tokens": 5}}},
        {**good_line, "message": {**good_line["message"], "id": "m4", "model": ""}},
    ]
    s = ingest([write_lines(tmp_path / "bad.jsonl", bad)], db=db, prices=BOOK)
    assert (s.inserted, s.rejected) == (0, 4)
    assert [r["reason"] for r in sorted(list_rejects(db), key=lambda r: r["line"])] == [
        "no time: timestamp is missing or not ISO 8601 (a `claude -p --output-format "
        "stream-json` capture has none: ingest the session logs under ~/.claude/projects "
        "instead)",
        "message.usage.input_tokens is -1; token counts must be whole numbers >= 0",
        "missing usage: message.usage.input_tokens is absent",
        "missing model",
    ]


def test_claude_code_default_folders(tmp_path):
    home = tmp_path / "home"
    (home / ".claude" / "projects").mkdir(parents=True)
    (home / ".config" / "claude" / "projects").mkdir(parents=True)
    assert claude_code.default_folders({}, home) == [home / ".config" / "claude" / "projects",
                                                     home / ".claude" / "projects"]
    other = tmp_path / "other"
    (other / "projects").mkdir(parents=True)
    env = {"CLAUDE_CONFIG_DIR": f"{other}, {tmp_path / 'missing'}"}
    assert claude_code.default_folders(env, home) == [other / "projects"]
    assert claude_code.default_folders({}, tmp_path / "nobody") == []


# --- Codex CLI ----------------------------------------------------------------------------

def test_codex_session_token_counts():
    rows = stage(codex.select_sql, ROLLOUT)
    assert reasons(rows) == []
    # 10 lines: two token_count events report usage; the one with info null, the repeat of
    # the same totals, and the other session lines are skipped
    assert [r["line"] for r in rows if r["kind"] == "record"] == [6, 9]
    assert len([r for r in rows if r["kind"] == "skip"]) == 8
    by_id = good(rows)
    first = by_id[f"codex:{CODEX_SESSION}:2026-10-05T09:00:07.300Z:13279"]
    # output 338 includes reasoning 192 (total 13279 = 12941 + 338)
    assert (first["model"], first["input_tokens"], first["cached_input_tokens"],
            first["output_tokens"], first["reasoning_tokens"], first["endpoint"],
            first["project"]) == ("gpt-5-codex", 12941, 3456, 338 - 192, 192, "responses",
                                  "/home/dev/shop")
    assert first["ts"] == datetime(2026, 10, 5, 9, 0, 7, 300000, tzinfo=UTC)
    # only cumulative totals: the growth since the previous event, with the model of the
    # turn_context in effect
    second = by_id[f"codex:{CODEX_SESSION}:2026-10-05T09:02:31.900Z:28793"]
    assert (second["model"], second["input_tokens"], second["cached_input_tokens"],
            second["output_tokens"], second["reasoning_tokens"]) == \
        ("gpt-5", 27943 - 12941, 16256 - 3456, (850 - 338) - (512 - 192), 512 - 192)


def test_codex_output_without_reasoning_when_the_total_says_so(tmp_path):
    """ccusage's Codex fixture writes total_tokens = input + output + reasoning: there output
    excludes reasoning, and is kept whole."""
    usage = {"input_tokens": 1000, "cached_input_tokens": 250, "output_tokens": 125,
             "reasoning_output_tokens": 75, "total_tokens": 1200}
    path = write_lines(tmp_path / "s.jsonl", [
        {"timestamp": "2026-05-13T09:00:00.000Z", "type": "turn_context",
         "payload": {"model": "gpt-5.2-codex"}},
        {"timestamp": "2026-05-13T09:01:00.000Z", "type": "event_msg", "payload": {
            "type": "token_count", "info": {"last_token_usage": usage,
                                            "total_token_usage": usage}}}])
    row = next(iter(good(stage(codex.select_sql, path)).values()))
    assert (row["input_tokens"], row["cached_input_tokens"], row["output_tokens"],
            row["reasoning_tokens"]) == (1000, 250, 125, 75)


def test_codex_a_session_read_again_adds_its_new_events(tmp_path, db):
    copy = tmp_path / ROLLOUT.name
    copy.write_text(ROLLOUT.read_text())
    assert ingest([copy], db=db, prices=BOOK).inserted == 2
    grown = {"input_tokens": 30000, "cached_input_tokens": 17000, "output_tokens": 900,
             "reasoning_output_tokens": 512, "total_tokens": 30900}
    with copy.open("a") as f:
        f.write(json.dumps({"timestamp": "2026-10-05T09:05:00.000Z", "type": "event_msg",
                            "payload": {"type": "token_count", "info": {
                                "total_token_usage": grown, "last_token_usage": None}}}) + "\n")
    s = ingest([copy], db=db, prices=BOOK)
    assert (s.inserted, s.duplicates) == (1, 2)
    assert query(db, "SELECT input_tokens, output_tokens, reasoning_tokens FROM usage "
                     "WHERE ts = '2026-10-05 09:05:00+00'") == [(30000 - 27943, 50, 0)]


def test_codex_rejections(tmp_path):
    usage = {"input_tokens": 100, "cached_input_tokens": 0, "output_tokens": 10,
             "reasoning_output_tokens": 0, "total_tokens": 110}

    def count(ts, **info):
        return {"timestamp": ts, "type": "event_msg",
                "payload": {"type": "token_count", "info": info}}

    path = write_lines(tmp_path / "s.jsonl", [
        count("2026-10-05T09:00:00Z", last_token_usage=usage, total_token_usage=usage),
        {"timestamp": "2026-10-05T09:00:01Z", "type": "turn_context",
         "payload": {"model": "gpt-5"}},
        count("2026-10-05T09:00:02Z", total_token_usage={**usage, "total_tokens": 50,
                                                         "input_tokens": 40}),
        count("2026-10-05T09:00:03Z", last_token_usage={**usage, "reasoning_output_tokens": 11},
              total_token_usage={**usage, "total_tokens": 500}),
        count("soon", last_token_usage=usage, total_token_usage={**usage, "total_tokens": 600}),
        count("2026-10-05T09:00:05Z", last_token_usage={**usage, "input_tokens": "x"},
              total_token_usage={**usage, "total_tokens": 700}),
        "{not json",
        {"hello": "world"},
    ])
    assert reasons(stage(codex.select_sql, path)) == [
        "missing model: no info.model and no turn_context with a model before it",
        "total_token_usage went down since the previous token_count (another session in the "
        "same file?)",
        "reasoning_output_tokens (11) > output_tokens (10), which includes it",
        "unparseable time: timestamp is soon; expected unix seconds or ISO 8601, within "
        "2000..2099",
        "info.last_token_usage.input_tokens is x; token counts must be whole numbers >= 0",
        "not JSON",
        "not a Codex session line (type and payload)",
    ]


def test_codex_default_folder(tmp_path):
    home = tmp_path / "home"
    (home / ".codex" / "sessions").mkdir(parents=True)
    assert codex.default_folders({}, home) == [home / ".codex" / "sessions"]
    assert codex.default_folders({"CODEX_HOME": str(CODEX)}, home) == [CODEX / "sessions"]
    assert codex.default_folders({"CODEX_HOME": str(tmp_path / "none")}, home) == []


# --- the command --------------------------------------------------------------------------

def test_cli_claude_code_and_codex_find_their_folders(cli, db, monkeypatch):
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(CLAUDE))
    monkeypatch.setenv("CODEX_HOME", str(CODEX))
    result = cli("ingest", "--claude-code", "--codex", "--db", str(db), "--format", "json")
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["read"], summary["inserted"], summary["duplicates"], summary["skipped"]) \
        == (7, 6, 1, 5 + 8)
    assert query(db, "SELECT source_format, count(*) FROM usage GROUP BY 1 ORDER BY 1") == \
        [("claude-code", 4), ("codex", 2)]


def test_cli_no_logs_found_is_one_line(cli, db, monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CODEX_HOME", raising=False)
    result = cli("ingest", "--claude-code", "--db", str(db))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "costkit: error: --claude-code: no Claude Code logs found ($CLAUDE_CONFIG_DIR/projects, "
        "~/.config/claude/projects, ~/.claude/projects); set CLAUDE_CONFIG_DIR or give the "
        "folder as PATH"]
    result = cli("ingest", "--db", str(db))
    assert result.exit_code == 2
    assert "nothing to read: give PATH" in result.stderr
    assert not db.exists()


def test_agent_log_folders_raises_for_the_missing_one(tmp_path):
    with pytest.raises(InputError, match="--codex: no Codex logs found"):
        agent_log_folders(codex_cli=True, environ={"CODEX_HOME": str(tmp_path)})
    assert agent_log_folders(environ={}) == []


def test_codex_project_is_the_folder_and_the_option_fills_in(tmp_path, db):
    s = ingest([ROLLOUT], db=db, prices=BOOK, project="cli-project")
    assert s.inserted == 2
    assert query(db, "SELECT DISTINCT project FROM usage") == [("/home/dev/shop",)]
    lines = [json.loads(line) for line in ROLLOUT.read_text().splitlines()]
    for line in lines:
        line["payload"].pop("cwd", None)
    bare = write_lines(tmp_path / "bare.jsonl", lines)
    ingest([bare], db=tmp_path / "b.duckdb", prices=BOOK, project="cli-project")
    assert query(tmp_path / "b.duckdb", "SELECT DISTINCT project FROM usage") == \
        [("cli-project",)]


def test_a_session_file_with_other_records_reads_them_too(tmp_path, db):
    """A Claude Code session file that also holds a chat completion (a log gathered by
    hand) reads it as any JSONL would, not as an unknown shape."""
    lines = SESSION.read_text().splitlines()
    chat = {"id": "chatcmpl-mixed", "object": "chat.completion", "created": 1791158400,
            "model": "deepseek-v3-2", "usage": {"prompt_tokens": 10, "completion_tokens": 2}}
    path = write_lines(tmp_path / "mixed.jsonl", [*lines, chat])
    s = ingest([path], db=db, prices=BOOK)
    assert (s.inserted, s.rejected) == (4, 0)


def test_an_envelope_log_that_mentions_a_session_is_no_session_file(tmp_path):
    from costkit.readers import document_reader
    from costkit.readers.lines import Source

    body = {"id": "c1", "object": "chat.completion", "created": 1791158400,
            "model": "deepseek-v3-2", "usage": {"prompt_tokens": 1, "completion_tokens": 1}}
    path = write_lines(tmp_path / "env.jsonl", [
        {"project": "p", "tags": {"sessionId": "abc"}, "response": body}])
    assert document_reader(Source(0, path, str(path))) is None


def test_session_files_are_read_in_one_statement_with_the_same_rows(tmp_path):
    # issue 17: a folder of many session files is one query, not one per file; its staging
    # rows are those of reading each file alone (file ids keep streams apart)
    import duckdb

    from costkit.readers import FORMATS, MANY_FILE_READERS
    from costkit.readers.lines import expand

    assert claude_code.NAME in MANY_FILE_READERS
    sources = expand([PROJECT])
    assert len(sources) == 2
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    together = con.execute(
        f"SELECT * FROM ({claude_code.select_sql(con, sources, formats=FORMATS)}) "
        "ORDER BY file_id, line").fetchall()
    alone = [row for source in sources for row in con.execute(
        f"SELECT * FROM ({claude_code.select_sql(con, source, formats=FORMATS)}) "
        "ORDER BY line").fetchall()]
    assert together == alone
    assert {row[0] for row in together} == {0, 1}
