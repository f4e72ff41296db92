"""Each usage format read into canonical rows: the fixture logs (shapes from the providers'
SDK types and docs) go through the real ingest, and the stored rows are checked exactly."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import duckdb
import pytest
from conftest import FIXTURES

from costkit.core.errors import InputError
from costkit.core.secrets import mask_secrets
from costkit.ingest.run import ingest
from costkit.pricing.book import load_price_book
from costkit.readers import FORMATS, resolve_format
from costkit.readers.records import merge_structures

LOGS = FIXTURES / "logs"
BOOK = load_price_book([])
COLUMNS = ("request_id", "ts", "provider", "endpoint", "model", "input_tokens",
           "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
           "search_calls", "project", "api_key_id", "user", "tags", "status", "source_format",
           "source_line")


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def stored(db, where: str = "TRUE") -> dict[str, dict]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = ", ".join(f'"{c}"' for c in COLUMNS)
        rows = con.execute(f"SELECT {cols} FROM usage WHERE {where} ORDER BY request_id").fetchall()
    finally:
        con.close()
    return {r[0]: dict(zip(COLUMNS, r, strict=True)) for r in rows}


def rejects(db) -> list[tuple[str, int, str | None, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT regexp_extract(source_file, '[^/]+$'), line, format, reason FROM rejects "
            "ORDER BY source_file, line").fetchall()
    finally:
        con.close()


def tokens(row: dict) -> tuple:
    return (row["input_tokens"], row["cached_input_tokens"], row["cache_write_tokens"],
            row["output_tokens"], row["reasoning_tokens"], row["search_calls"])


@pytest.fixture
def db(tmp_path):
    return tmp_path / "store.duckdb"


def test_deepseek_chat_completions(db):
    s = ingest([LOGS / "chat" / "deepseek.jsonl"], db=db, prices=BOOK)
    assert (s.read, s.inserted, s.duplicates, s.rejected) == (3, 3, 0, 0)
    rows = stored(db)
    # completion_tokens includes reasoning; the store keeps the visible answer only
    assert tokens(rows["ds-0001"]) == (1200, 1000, 0, 180, 120, 0)
    # no details object: cached from prompt_cache_hit_tokens, reasoning split unknown (NULL)
    assert tokens(rows["ds-0002"]) == (64, 0, 0, 10, None, 0)
    assert tokens(rows["ds-0003"]) == (500, 256, 0, 50, 850, 0)
    first = rows["ds-0001"]
    assert first["ts"] == t("2026-10-01T00:00:00")
    assert (first["provider"], first["endpoint"], first["model"]) == (
        "deepseek", "chat.completions", "deepseek-v3-2")
    assert first["source_format"] == "chat"
    # line numbers count the blank line before ds-0003
    assert [rows[i]["source_line"] for i in ("ds-0001", "ds-0002", "ds-0003")] == [1, 2, 4]


def test_openai_chat_completions_and_unknown_provider(db):
    s = ingest([LOGS / "chat" / "openai.jsonl"], db=db, prices=BOOK)
    rows = stored(db)
    assert tokens(rows["chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"]) == (2048, 1024, 0, 64, 1472, 0)
    assert tokens(rows["chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT"]) == (19, 0, 0, 10, 0, 0)
    assert rows["chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG"]["provider"] is None  # no card says
    assert s.unpriced == {}  # both priced by the catalog since issue 16


def test_chunk_stream_is_one_record_and_a_stream_without_usage_is_rejected(db):
    s = ingest([LOGS / "stream" / "chunks.jsonl"], db=db, prices=BOOK)
    # two streams = two records; chunk lines are no records of their own
    assert (s.read, s.inserted, s.rejected, s.skipped) == (2, 1, 1, 0)
    row = stored(db)["chatcmpl-s1"]
    assert tokens(row) == (40, 0, 0, 20, 5, 0)
    assert row["source_line"] == 1  # where the stream began
    assert row["source_format"] == "chat-stream"
    assert rejects(db) == [("chunks.jsonl", 2, "chat-stream",
                            "stream ended without a usage chunk (the request did not set "
                            "stream_options.include_usage, or the stream was interrupted); "
                            "not counted as $0")]


def test_raw_sse_capture(db):
    s = ingest([LOGS / "stream" / "capture.sse"], db=db, prices=BOOK)
    # the ": keep-alive" comment and "data: [DONE]" are skipped lines, not records
    assert (s.read, s.inserted, s.rejected, s.skipped) == (1, 1, 0, 2)
    row = stored(db)["chatcmpl-sse1"]
    assert tokens(row) == (12, 0, 0, 3, None, 0)
    assert row["source_line"] == 3
    assert row["ts"] == t("2026-10-01T05:10:00")


def test_responses_objects_count_completed_searches(db):
    ingest([LOGS / "responses" / "responses.jsonl"], db=db, prices=BOOK)
    rows = stored(db)
    searched = rows["resp_67ccd2bed1ec8190b14f964abc0542670bb6a6b452d3795b"]
    # 4 web_search_call items: 2 completed searches count; open_page and failed do not
    assert tokens(searched) == (328, 0, 0, 356, 0, 2)
    assert (searched["endpoint"], searched["status"], searched["user"]) == (
        "responses", "completed", "alice")
    assert tokens(rows["resp_reasoning_1"]) == (5000, 4096, 0, 200, 1800, 0)


def test_responses_stream_events(db):
    s = ingest([LOGS / "responses" / "events.jsonl"], db=db, prices=BOOK)
    # resp_stream_1: created + in_progress + completed = one record; the delta is skipped;
    # resp_stream_2 never completed: rejected
    assert (s.read, s.inserted, s.rejected, s.skipped) == (2, 1, 1, 1)
    row = stored(db)["resp_stream_1"]
    assert tokens(row) == (37, 0, 0, 11, 0, 0)
    assert (row["source_line"], row["status"]) == (1, "completed")
    assert rejects(db)[0][:3] == ("events.jsonl", 4, "responses")
    assert "without a response carrying usage" in rejects(db)[0][3]


def test_messages_input_includes_cache_reads_and_writes(db):
    ingest([LOGS / "messages" / "enveloped.jsonl"], db=db, prices=BOOK)
    rows = stored(db)
    first = rows["msg_013Zva2CMHLNnXjNJJKqJ2EF"]
    # input = 2095 + cache writes 2051 + cache reads 0; two server-side web searches
    assert tokens(first) == (4146, 0, 2051, 503, None, 2)
    assert (first["ts"], first["project"], first["user"], first["api_key_id"]) == (
        t("2026-10-05T09:30:00"), "support", "u-17", "key_support_1")
    assert json.loads(first["tags"]) == {"team": "cx"}
    assert first["endpoint"] == "messages"
    assert first["source_format"] == "envelope/messages"
    # thinking is inside output_tokens: split out as reasoning
    assert tokens(rows["msg_02"]) == (4010, 4000, 0, 150, 650, 0)
    assert rows["msg_02"]["ts"] == t("2026-10-05T10:30:00")  # unix seconds envelope time


def test_envelope_fields_override_options_and_record(db):
    ingest([LOGS / "envelope" / "mixed.jsonl"], db=db, prices=BOOK, project="cli-project",
           tags={"team": "cli", "owner": "ops"})
    rows = stored(db)
    chat = rows["env-chat-1"]
    assert chat["project"] == "search-bot"  # the envelope's, not --project
    assert json.loads(chat["tags"]) == {"team": "growth", "owner": "ops", "env": "prod"}
    assert chat["ts"] == t("2026-10-06T08:00:00")  # envelope timestamp over `created`
    assert chat["api_key_id"].startswith("sk-…0d9e#")  # a secret-looking key is masked
    assert "4f9a8b7c" not in chat["api_key_id"]
    resp = rows["env-resp-1"]
    assert resp["project"] == "cli-project"  # no project in the envelope: --project
    assert json.loads(resp["tags"]) == {"team": "cli", "owner": "ops"}
    assert resp["ts"] == t("2026-10-06T12:00:00")  # a naive ISO time is UTC
    assert resp["api_key_id"] == "key_team_2"  # not a secret: kept as is
    assert tokens(resp) == (1000, 200, 0, 300, 100, 1)
    # a response without id takes the envelope's request_id; model from the request
    assert tokens(rows["gw-req-77"]) == (10, 0, 0, 5, None, 0)
    assert rows["gw-req-77"]["model"] == "deepseek-v3-2"
    # an envelope around a response.completed event; offset time converted to UTC
    assert rows["env-resp-2"]["ts"] == t("2026-10-07T08:00:00")
    assert json.loads(rows["env-resp-2"]["tags"]) == {"team": "cli", "owner": "ops",
                                                      "env": "staging"}


REJECT_REASONS = {
    1: (None, "not JSON"),
    2: ("chat", "missing usage: no usage.prompt_tokens / usage.completion_tokens"),
    3: ("chat", "usage.prompt_tokens is -5; token counts must be whole numbers >= 0"),
    4: ("chat", "usage.completion_tokens is 12.5; token counts must be whole numbers >= 0"),
    5: ("chat", "usage.prompt_tokens_details.cached_tokens (or prompt_cache_hit_tokens) (150) "
                "> usage.prompt_tokens (100)"),
    6: ("chat", "usage.completion_tokens_details.reasoning_tokens (20) > "
                "usage.completion_tokens (10)"),
    7: ("envelope/chat", "unparseable time: timestamp is yesterday; expected unix seconds or "
                         "ISO 8601, within 2000..2099"),
    8: ("chat", "unparseable time: created is 1790812800000; expected unix seconds or "
                "ISO 8601, within 2000..2099"),
    9: (None, "unknown shape: not one of chat, chat-stream, responses, messages"),
    10: (None, "JSON, but not an object"),
    11: ("chat", "missing model"),
    12: ("chat", "usage.prompt_cache_hit_tokens + prompt_cache_miss_tokens (90) <> "
                 "usage.prompt_tokens (100)"),
    13: ("messages", "a message carries no time: log it inside an envelope with a timestamp"),
    14: ("envelope/chat", 'envelope tags must be a JSON object of name: value, not ["team"]'),
    15: (None, "not JSON"),  # truncated, though it starts with { and ends with }
    16: ("chat", "no time: created is missing (or not a number of unix seconds)"),
    17: (None, "not UTF-8 text"),
    18: ("chat", 'usage.completion_tokens is "many"; token counts must be whole numbers >= 0'),
}


@pytest.fixture(scope="module")
def bad_store(tmp_path_factory):
    db = tmp_path_factory.mktemp("bad") / "store.duckdb"
    summary = ingest([LOGS / "bad" / "rejects.jsonl"], db=db, prices=BOOK)
    return db, summary


def test_bad_records_never_stop_the_ingest(bad_store):
    db, s = bad_store
    assert (s.read, s.inserted, s.duplicates, s.rejected) == (19, 1, 0, 18)
    assert list(stored(db)) == ["good-1"]
    assert stored(db)["good-1"]["source_line"] == 19


@pytest.mark.parametrize("line", sorted(REJECT_REASONS))
def test_each_rejection_reason(bad_store, line):
    db, _ = bad_store
    found = {r[1]: r for r in rejects(db)}
    fmt, reason = REJECT_REASONS[line]
    assert found[line][0] == "rejects.jsonl"
    assert found[line][2] == fmt
    assert found[line][3].startswith(reason)


def test_rejects_keep_raw_text_and_redact_keys(tmp_path, db):
    log = tmp_path / "k.jsonl"
    log.write_text('{"api_key_id": "sk-live-abcdefghijklmnop1234", "oops"\n', encoding="utf-8")
    ingest([log], db=db, prices=BOOK)
    con = duckdb.connect(str(db), read_only=True)
    raw, reason = con.execute("SELECT raw, reason FROM rejects").fetchone()
    con.close()
    assert reason == "not JSON"
    tag = hashlib.sha256(b"sk-live-abcdefghijklmnop1234").hexdigest()[:8]
    assert raw == '{"api_key_id": "sk-…1234#' + tag + '", "oops"'


def test_line_numbers_with_bom_crlf_blank_and_whitespace_lines(tmp_path, db):
    record = ('{{"id":"{}","object":"chat.completion","created":1790812800,'
              '"model":"deepseek-v3-2","usage":{{"prompt_tokens":2,"completion_tokens":1}}}}')
    text = ("\ufeff" + record.format("a") + "\r\n\r\n   \t   \r\n" + record.format("b")
            + "\n\n" + record.format("c"))  # no newline at the end
    log = tmp_path / "crlf.jsonl"
    log.write_bytes(text.encode("utf-8"))
    s = ingest([log], db=db, prices=BOOK)
    assert (s.read, s.inserted, s.rejected) == (3, 3, 0)
    assert {k: v["source_line"] for k, v in stored(db).items()} == {"a": 1, "b": 4, "c": 6}


def test_forced_format(tmp_path, db):
    # No `object` field and Responses-style names would be unknown to detection as chat
    log = tmp_path / "bare.jsonl"
    log.write_text('{"id":"f1","created":1790812800,"model":"deepseek-v3-2",'
                   '"usage":{"prompt_tokens":3,"completion_tokens":2}}\n'
                   '{"id":"f2","created":1790812800,"model":"deepseek-v3-2",'
                   '"usage":{"input_tokens":3,"output_tokens":2}}\n', encoding="utf-8")
    s = ingest([log], db=db, prices=BOOK, input_format="chat.completion")
    assert (s.inserted, s.rejected) == (1, 1)
    assert rejects(db)[0][2:] == ("chat", "missing usage: no usage.prompt_tokens / "
                                          "usage.completion_tokens")


def test_forced_envelope_rejects_bare_records(db):
    s = ingest([LOGS / "chat" / "deepseek.jsonl", LOGS / "messages" / "enveloped.jsonl"],
               db=db, prices=BOOK, input_format="envelope")
    assert (s.read, s.inserted, s.rejected) == (5, 2, 3)
    assert {r[3] for r in rejects(db)} == {
        "not an envelope (--input-format envelope): no response object"}


def test_unknown_input_format_is_refused():
    with pytest.raises(InputError, match="--input-format 'xml' is not a known format; known: chat"):
        resolve_format("xml")
    assert resolve_format("sse") == "chat-stream"
    assert resolve_format("message") == "messages"


def test_records_without_id_get_a_stable_hash(tmp_path, db):
    record = {"object": "chat.completion", "created": 1790812800, "model": "deepseek-v3-2",
              "usage": {"prompt_tokens": 9, "completion_tokens": 1}}
    (tmp_path / "a.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    # the same record, written differently (no spaces), in another file: the same request
    (tmp_path / "b.jsonl").write_text(json.dumps(record, separators=(",", ":")) + "\n",
                                      encoding="utf-8")
    other = dict(record, created=1790812801)
    (tmp_path / "c.jsonl").write_text(json.dumps(other) + "\n", encoding="utf-8")
    s = ingest([tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"], db=db,
               prices=BOOK)
    assert (s.read, s.inserted, s.duplicates) == (3, 2, 1)
    ids = list(stored(db))
    assert all(i.startswith("sha256:") and len(i) == 39 for i in ids)


def test_long_blank_line_is_not_a_record(tmp_path, db):
    log = tmp_path / "spaces.jsonl"
    log.write_text(" " * 50 + "\n" + "\t" * 5 + "\n", encoding="utf-8")
    s = ingest([log], db=db, prices=BOOK)
    assert (s.read, s.rejected) == (0, 0)


def test_structures_clash_is_a_programming_error():
    with pytest.raises(ValueError, match="field 'a' typed"):
        merge_structures([{"a": "DOUBLE"}, {"a": "VARCHAR"}])
    merged = merge_structures([f.structure for f in FORMATS])
    # counts are read as their JSON text, so `true` or "12" is no count (see base.number)
    assert merged["usage"]["prompt_tokens"] == "JSON"
    assert merged["usage"]["input_tokens"] == "JSON"


@pytest.mark.parametrize(("key", "expected"), [
    ("sk-proj-abcdefghijklmnop1234", "sk-…1234#"),
    ("AKIAABCDEFGHIJKLMNOPQRSTUV", "…STUV#"),
    ("key_123", "key_123"),
    ("key_search_staging", "key_search_staging"),  # a readable key id, not a secret
    ("key_support_assistant_prod", "key_support_assistant_prod"),
    ("sess_0123456789abcdefgh", "sess_…efgh#"),
    ("prod-key-1", "prod-key-1"),
])
def test_api_key_masking(key, expected):
    con = duckdb.connect()
    sql = f"SELECT {mask_secrets('k', key=True)} FROM (SELECT ?::VARCHAR AS k)"
    masked = con.execute(sql, [key]).fetchone()[0]
    assert masked.startswith(expected)
    if masked != key:
        assert len(masked) == len(expected) + 8  # 8 hex of the key's hash
        assert key[3:-4] not in masked


def test_raw_text_masks_bearer_tokens():
    con = duckdb.connect()
    text = "Authorization: Bearer abcdefghijklmnopqrstuv and sk-abcdefghijklmnop"
    out = con.execute(f"SELECT {mask_secrets('t')} FROM (SELECT ?::VARCHAR AS t)",
                      [text]).fetchone()[0]

    def tag(secret: str) -> str:
        return hashlib.sha256(secret.encode()).hexdigest()[:8]

    assert out == (f"Authorization: Bearer …stuv#{tag('abcdefghijklmnopqrstuv')} and "
                   f"sk-…mnop#{tag('sk-abcdefghijklmnop')}")
