"""The OTLP JSON span reader (`costkit.readers.otel`): one export per file and the
collector's JSONL, GenAI attributes to canonical rows, skipped spans, rejections."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path

import duckdb
import pytest
from conftest import FIXTURES

from costkit.ingest.rejects import list_rejects
from costkit.ingest.run import ingest
from costkit.pricing.book import load_price_book
from costkit.readers import otel
from costkit.readers.lines import Source

OTEL = FIXTURES / "logs" / "otel"
EXPORT = OTEL / "export.json"
COLLECTOR = OTEL / "collector.jsonl"


def stage(path: Path, **options) -> list[dict]:
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    try:
        sql = otel.select_sql(con, Source(0, path, str(path)), **options)
        cursor = con.execute(f"SELECT * FROM ({sql}) ORDER BY line, kind, request_id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def records(rows: list[dict]) -> dict[str, dict]:
    return {r["request_id"]: r for r in rows if r["kind"] == "record" and r["request_id"]}


def attr(key: str, value) -> dict:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def span(span_id: str = "00000000000000a1", **attrs) -> dict:
    base = {"gen_ai.operation.name": "chat", "gen_ai.request.model": "deepseek-v3-2",
            "gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 40}
    base.update(attrs)
    return {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": span_id, "parentSpanId": "",
            "name": "chat", "kind": 3, "startTimeUnixNano": "1791800000000000000",
            "endTimeUnixNano": "1791800002000000000",
            "attributes": [attr(k, v) for k, v in base.items() if v is not None]}


def export(*spans: dict, service: str = "svc") -> dict:
    return {"resourceSpans": [{"resource": {"attributes": [attr("service.name", service)]},
                               "scopeSpans": [{"scope": {"name": "t"}, "spans": list(spans)}]}]}


def write(tmp_path: Path, doc: dict, name: str = "spans.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2))
    return path


# --- the pretty-printed export with several resources and scopes --------------------------

def test_export_spans_recorded_skipped_and_rejected():
    rows = stage(EXPORT)
    assert len(rows) == 12  # every span of every scope of every resource
    assert [r["line"] for r in rows] == list(range(1, 13))  # one document: span positions
    kinds = {r["line"]: r["kind"] for r in rows}
    assert [line for line, kind in kinds.items() if kind == "skip"] == [2, 4, 5]
    good = [r for r in rows if r["kind"] == "record" and r["reason"] is None]
    assert len(good) == 6
    assert {r["format"] for r in rows} == {"otel"}


def test_chat_span_with_cache_and_reasoning():
    row = records(stage(EXPORT))["chatcmpl-otel-0001"]
    # input includes cached; output_tokens includes reasoning, the store keeps them apart
    assert (row["input_tokens"], row["cached_input_tokens"], row["cache_write_tokens"]) == (
        1250, 1024, 0)
    assert (row["output_tokens"], row["reasoning_tokens"]) == (120, 300)
    assert row["ts"].isoformat() == "2026-10-05T09:30:00.123456+00:00"  # the span's end
    assert (row["provider"], row["endpoint"], row["model"]) == (
        "deepseek", "chat.completions", "deepseek-v3-2")
    assert (row["project"], row["user"], row["status"]) == ("search-bot", "u-17", "ok")


def test_response_model_preferred_and_anthropic_is_messages():
    row = records(stage(EXPORT))["msg_01OtelFixture"]
    assert row["model"] == "claude-sonnet-4-5-20250929"
    assert row["endpoint"] == "messages"
    assert (row["input_tokens"], row["cached_input_tokens"], row["cache_write_tokens"]) == (
        5200, 4000, 1000)
    assert row["reasoning_tokens"] is None and row["output_tokens"] == 300
    assert row["project"] == "support-assistant"


def test_deprecated_attributes_and_hash_id():
    rows = stage(EXPORT)
    old = [r for r in rows if r["line"] == 9][0]
    assert (old["input_tokens"], old["output_tokens"]) == (640, 128)
    assert old["provider"] == "deepseek"  # gen_ai.system
    assert old["request_id"].startswith("sha256:")
    error = [r for r in rows if r["line"] == 3][0]
    assert error["status"] == "error" and error["reason"] is None
    assert error["request_id"].startswith("sha256:")
    assert error["request_id"] != old["request_id"]


def test_hash_id_is_stable_and_depends_on_trace_and_span(tmp_path):
    a = stage(write(tmp_path, export(span(**{"gen_ai.response.id": None})), "a.json"))[0]
    b = stage(write(tmp_path, export(span(**{"gen_ai.response.id": None}), service="x"),
                    "b.json"))[0]
    c = stage(write(tmp_path, export(span("00000000000000a2", **{"gen_ai.response.id": None})),
                    "c.json"))[0]
    assert a["request_id"] == b["request_id"]  # same trace and span: the same request
    assert a["request_id"] != c["request_id"]


def test_agent_span_aggregating_child_chat_spans_is_skipped():
    rows = stage(EXPORT)
    agent = [r for r in rows if r["line"] == 4][0]
    assert agent["kind"] == "skip"  # its 3000 / 900 tokens are the two chat spans below it
    children = records(rows)
    assert children["chatcmpl-otel-0003"]["input_tokens"] == 1000  # under a tool span
    assert children["chatcmpl-otel-0004"]["input_tokens"] == 2000
    total = sum(r["input_tokens"] for r in children.values()
                if r["reason"] is None and r["project"] == "search-bot")
    assert total == 1250 + 800 + 1000 + 2000


def test_agent_span_without_usage_children_counts(tmp_path):
    agent = span("00000000000000b1", **{"gen_ai.operation.name": "invoke_agent",
                                         "gen_ai.response.id": "agent-1"})
    tool = span("00000000000000b2", **{"gen_ai.operation.name": "execute_tool",
                                        "gen_ai.usage.input_tokens": None,
                                        "gen_ai.usage.output_tokens": None})
    tool["parentSpanId"] = "00000000000000b1"
    rows = stage(write(tmp_path, export(agent, tool)))
    assert [(r["kind"], r["request_id"]) for r in rows] == [("record", "agent-1"), ("skip", None)]
    assert rows[0]["endpoint"] == "invoke_agent"


def test_project_option_wins_over_service_name():
    rows = records(stage(EXPORT, project="cli-project", tags={"team": "ml"}))
    assert {r["project"] for r in rows.values()} == {"cli-project"}
    assert {r["tags"] for r in rows.values()} == {'{"team": "ml"}'}


REJECTS = {
    10: "resourceSpans[1].scopeSpans[1].spans[0]: gen_ai.usage.output_tokens is 12.5; "
        "token counts must be whole numbers >= 0",
    11: "resourceSpans[1].scopeSpans[1].spans[1]: gen_ai.usage.reasoning.output_tokens (80) "
        "> gen_ai.usage.output_tokens (50)",
    12: "resourceSpans[1].scopeSpans[1].spans[2]: missing model (gen_ai.response.model / "
        "gen_ai.request.model)",
}


@pytest.mark.parametrize("line", sorted(REJECTS))
def test_export_rejections(line):
    row = [r for r in stage(EXPORT) if r["line"] == line][0]
    assert row["kind"] == "record"
    assert row["reason"] == REJECTS[line]
    assert json.loads(row["raw"])["spanId"]  # the span itself, as evidence


@pytest.mark.parametrize(("attrs", "reason"), [
    ({"gen_ai.usage.input_tokens": None}, "missing usage: no gen_ai.usage.input_tokens"),
    ({"gen_ai.usage.output_tokens": None}, "missing usage: no gen_ai.usage.output_tokens"),
    ({"gen_ai.usage.input_tokens": "lots"},
     "gen_ai.usage.input_tokens is lots; token counts must be whole numbers >= 0"),
    ({"gen_ai.usage.input_tokens": -1},
     "gen_ai.usage.input_tokens is -1; token counts must be whole numbers >= 0"),
    ({"gen_ai.usage.cache_read.input_tokens": 90, "gen_ai.usage.cache_creation.input_tokens": 20},
     "gen_ai.usage.cache_read.input_tokens + gen_ai.usage.cache_creation.input_tokens (110) > "
     "gen_ai.usage.input_tokens (100)"),
    ({"gen_ai.usage.input_tokens": None, "gen_ai.usage.prompt_tokens": 5,
      "gen_ai.usage.cache_read_input_tokens": 9},
     "gen_ai.usage.cache_read_input_tokens + gen_ai.usage.cache_creation.input_tokens (9) > "
     "gen_ai.usage.prompt_tokens (5)"),
])
def test_span_rejections(tmp_path, attrs, reason):
    row = stage(write(tmp_path, export(span(**attrs))))[0]
    assert row["reason"] == "resourceSpans[0].scopeSpans[0].spans[0]: " + reason


@pytest.mark.parametrize(("end", "start", "reason"), [
    ("1791800002000", "0", "unparseable time: endTimeUnixNano is 1791800002000; expected "
                           "nanoseconds since the unix epoch, within 2000..2099"),
    ("soon", "0", "unparseable time: endTimeUnixNano is soon; expected nanoseconds since the "
                  "unix epoch, within 2000..2099"),
    ("0", "0", "no span time (endTimeUnixNano)"),
    (None, None, "no span time (endTimeUnixNano)"),
])
def test_span_time_rejections(tmp_path, end, start, reason):
    s = span()
    s["endTimeUnixNano"], s["startTimeUnixNano"] = end, start
    row = stage(write(tmp_path, export(s)))[0]
    assert row["reason"] == "resourceSpans[0].scopeSpans[0].spans[0]: " + reason


def test_start_time_when_end_is_missing(tmp_path):
    s = span()
    s["endTimeUnixNano"] = "0"
    row = stage(write(tmp_path, export(s)))[0]
    assert row["reason"] is None
    assert row["ts"].isoformat() == "2026-10-12T10:13:20+00:00"


def test_counts_as_json_numbers_and_double_values(tmp_path):
    s = span()
    s["attributes"] = [a for a in s["attributes"] if not a["key"].startswith("gen_ai.usage")]
    s["attributes"] += [{"key": "gen_ai.usage.input_tokens", "value": {"intValue": 100}},
                        {"key": "gen_ai.usage.output_tokens", "value": {"doubleValue": 40.0}}]
    row = stage(write(tmp_path, export(s)))[0]
    assert (row["reason"], row["input_tokens"], row["output_tokens"]) == (None, 100, 40)


def test_repeated_attribute_takes_the_first(tmp_path):
    s = span()
    s["attributes"].append(attr("gen_ai.usage.input_tokens", 999))
    assert stage(write(tmp_path, export(s)))[0]["input_tokens"] == 100


# --- the collector's JSONL ---------------------------------------------------------------

def test_collector_jsonl_lines():
    rows = stage(COLLECTOR)
    summary = [(r["line"], r["kind"], r["reason"]) for r in rows]
    assert summary == [
        (1, "record", None), (1, "record", None),
        (2, "skip", None),  # a resourceMetrics line: another signal
        (4, "record", None), (4, "skip", None),  # an embeddings span; an HTTP span
        (5, "record", "not JSON"),
        (6, "record", "not an OTLP JSON span export (no resourceSpans list)"),
    ]
    rec = records(rows)
    assert rec["chatcmpl-otel-0101"]["ts"].isoformat() == "2026-10-10T14:00:02.500000+00:00"
    assert {r["project"] for r in rec.values()} == {"docs-qa"}
    embed = [r for r in rows if r["line"] == 4 and r["kind"] == "record"][0]
    assert (embed["endpoint"], embed["input_tokens"], embed["output_tokens"]) == (
        "embeddings", 64, 0)


def test_same_response_id_in_both_files():
    # the ingest dedupes on request_id: the collector file repeats the export's first span
    assert "chatcmpl-otel-0001" in records(stage(COLLECTOR))
    assert "chatcmpl-otel-0001" in records(stage(EXPORT))


def test_recognition_and_gzip(tmp_path):
    assert otel.recognises(Source(0, EXPORT, str(EXPORT)))
    assert otel.recognises(Source(0, COLLECTOR, str(COLLECTOR)))
    gz = tmp_path / "spans.json.gz"
    gz.write_bytes(gzip.compress(EXPORT.read_bytes()))
    assert otel.recognises(Source(0, gz, str(gz)))
    assert len(stage(gz)) == 12
    other = tmp_path / "chat.jsonl"
    other.write_text('{"object": "chat.completion"}\n')
    assert not otel.recognises(Source(0, other, str(other)))
    quoted = tmp_path / "quoted.jsonl"
    quoted.write_text(json.dumps({"object": "chat.completion", "choices": [
        {"message": {"content": json.dumps(export(span()))}}]}) + "\n")
    assert not otel.recognises(Source(0, quoted, str(quoted)))


def test_a_broken_document_is_one_reject(tmp_path):
    path = tmp_path / "broken.json"
    text = EXPORT.read_text()
    path.write_text(text[: len(text) // 2])
    rows = stage(path)
    assert [(r["line"], r["kind"], r["reason"]) for r in rows] == [(1, "record", "not JSON")]


def test_empty_export_reads_nothing(tmp_path):
    rows = stage(write(tmp_path, {"resourceSpans": []}))
    assert rows == []
    doc = copy.deepcopy(export(span()))
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"] = []
    assert stage(write(tmp_path, doc, "none.json")) == []


# --- through costkit ingest and the CLI -------------------------------------------------------

def store(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_ingest_counts_spans_and_dedupes_across_files(tmp_path):
    db = tmp_path / "s.duckdb"
    s = ingest([EXPORT, COLLECTOR], db=db, prices=load_price_book([]))
    assert s.read == s.inserted + s.duplicates + s.rejected
    # export: 9 usage spans (3 rejected); collector: 3 usage spans + 2 bad lines
    assert (s.read, s.inserted, s.duplicates, s.rejected) == (14, 8, 1, 5)
    # export: an HTTP span, an agent span summing two chat spans, a tool span; collector:
    # an HTTP span and a metrics line
    assert s.skipped_records == 5
    assert s.skipped == 0
    assert store(db, "SELECT count(*) FROM usage WHERE request_id = 'chatcmpl-otel-0001'") == [(1,)]
    assert store(db, "SELECT project, sum(input_tokens) FROM usage GROUP BY ALL ORDER BY 1") == [
        ("docs-qa", 2048 + 64), ("search-bot", 1250 + 800 + 1000 + 2000),
        ("support-assistant", 5200 + 640)]
    reasons = {r["reason"] for r in list_rejects(db, limit=None)}
    assert set(REJECTS.values()) <= reasons and "not JSON" in reasons


def test_ingest_again_adds_nothing(tmp_path):
    db = tmp_path / "s.duckdb"
    ingest([EXPORT], db=db, prices=load_price_book([]))
    again = ingest([EXPORT], db=db, prices=load_price_book([]))
    assert (again.inserted, again.duplicates, again.rejected) == (0, 6, 3)
    assert store(db, "SELECT count(*) FROM usage") == [(6,)]


def test_cli_summary_shows_skipped_spans(cli, tmp_path):
    db = tmp_path / "s.duckdb"
    result = cli("ingest", str(EXPORT), "--db", str(db), "--project", "traced")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ingest 1: 9 records read from 1 file in ")
    assert lines[1:] == ["  6  inserted", "  0  duplicates", "  3  rejected",
                         "  3  spans skipped (no GenAI usage of their own)"]
    assert "3 records rejected; see `costkit rejects --ingest 1`" in result.stderr
    assert store(db, "SELECT DISTINCT project FROM usage") == [("traced",)]
    json_result = cli("ingest", str(COLLECTOR), "--db", str(db), "--format", "json")
    summary = json.loads(json_result.stdout)
    assert (summary["skipped_records"], summary["duplicates"]) == (2, 1)
