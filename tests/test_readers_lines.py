"""The line reader (exact line numbers across chunk boundaries, mapped and streamed inputs,
bad UTF-8) and the composed SQL on arbitrary input: it never raises, and every non-blank
line comes out exactly once."""

from __future__ import annotations

import gzip
import json
import string

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costkit.core.errors import InputError
from costkit.readers import FORMATS, lines
from costkit.readers.lines import LineCounts, batches, expand, reader
from costkit.readers.records import STAGE_COLUMNS, records_sql


def read_all(paths, counts=None) -> list[dict]:
    return [row for b in batches(expand(paths), counts=counts) for row in b.to_pylist()]


@pytest.fixture
def tiny_chunks(monkeypatch):
    """Chunks of a few bytes, so every line crosses a chunk boundary somewhere."""
    monkeypatch.setattr(lines, "CHUNK", 7)
    monkeypatch.setattr(lines, "KEEP_MAPPED", 1)


TEXT = "first line\n\nthird, a longer line than a chunk\r\n  \n{\"a\": 1}\nlast without newline"
EXPECTED = [(1, "first line\n"), (2, "\n"), (3, "third, a longer line than a chunk\r\n"),
            (4, "  \n"), (5, '{"a": 1}\n'), (6, "last without newline\n")]


@pytest.mark.parametrize("compress", [False, True])
def test_line_numbers_are_exact_across_chunks(tmp_path, tiny_chunks, compress):
    path = tmp_path / "log"
    data = TEXT.encode()
    path.write_bytes(gzip.compress(data) if compress else data)
    counts = LineCounts()
    rows = read_all([path], counts)
    # short blank lines are counted here and never handed on (a newline bomb costs numpy
    # time only); "  " is found blank by the SQL (and sends the file down the staging path,
    # where it is dropped); the numbers of the lines after them stay exact
    assert [(r["line"], r["text"]) for r in rows] == [e for e in EXPECTED if e[1] != "\n"]
    assert counts.lines == {0: 6} and counts.blank == {0: 1}
    assert [r["braced"] for r in rows] == [False, False, False, True, False]


def test_several_files_keep_their_ids_and_numbers(tmp_path):
    (tmp_path / "a").write_text("x\ny\n", encoding="utf-8")
    (tmp_path / "b").write_text("z\n", encoding="utf-8")
    rows = read_all([tmp_path / "a", tmp_path / "b"])
    assert [(r["file_id"], r["line"], r["text"]) for r in rows] == [
        (0, 1, "x\n"), (0, 2, "y\n"), (1, 1, "z\n")]


def test_bad_utf8_lines_are_flagged_not_fatal(tmp_path):
    path = tmp_path / "log"
    path.write_bytes(b'{"a": "ok"}\n{"a": "caf\xe9"}\n{"a": "\xc3\xa9t\xc3\xa9"}\n')
    rows = read_all([path])
    assert [r["bad_utf8"] for r in rows] == [False, True, False]
    assert rows[1]["text"] == '{"a": "caf\ufffd"}\n'
    assert rows[2]["text"] == '{"a": "été"}\n'


def test_bom_is_dropped_and_empty_files_have_no_lines(tmp_path):
    (tmp_path / "bom").write_bytes(b"\xef\xbb\xbfhello\n")
    (tmp_path / "empty").write_bytes(b"")
    assert [r["text"] for r in read_all([tmp_path / "bom", tmp_path / "empty"])] == ["hello\n"]


def test_progress_of_a_gzip_counts_compressed_bytes(tmp_path, tiny_chunks):
    path = tmp_path / "log.gz"
    path.write_bytes(gzip.compress(("line\n" * 2000).encode()))
    seen = []
    list(batches(expand([path]), progress=lambda done, total: seen.append((done, total))))
    size = path.stat().st_size
    assert all(total == size for _, total in seen)
    assert seen[-1] == (size, size)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_reader_reports_a_corrupt_gzip_instead_of_raising_inside_duckdb(tmp_path):
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(b"x\n" * 100000)[:200])
    errors: list[BaseException] = []
    table = reader(expand([path]), errors=errors).read_all()
    assert len(errors) == 1 and isinstance(errors[0], InputError)
    assert "cut.gz: cannot read" in str(errors[0])
    assert table.num_rows >= 0


def test_expand_errors():
    with pytest.raises(InputError, match="stdin \\(-\\) given more than once"):
        expand(["-", "-"])


# --- the composed SQL on arbitrary input --------------------------------------------------

def stage(text: str, optimistic: bool = False) -> list[dict]:
    data = text.encode("utf-8", errors="surrogatepass")
    n = data.count(b"\n")
    if not data.endswith(b"\n"):
        data += b"\n"
        n += 1
    ends = [i for i, byte in enumerate(data) if byte == 10]
    batch = lines._batch(0, 1, data, np.array(ends), None)
    source = pa.Table.from_batches([batch])  # noqa: F841 (scanned by name)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    cursor = con.execute(records_sql(FORMATS, "source", optimistic=optimistic))
    names = [d[0] for d in cursor.description]
    assert names == list(STAGE_COLUMNS)
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


record = st.fixed_dictionaries({}, optional={
    "id": st.text(max_size=5),
    "object": st.sampled_from(["chat.completion", "chat.completion.chunk", "response", "x"]),
    "type": st.sampled_from(["message", "response.completed", "response.created"]),
    "created": st.one_of(st.integers(-5, 2 * 10**12), st.floats(allow_nan=False), st.text()),
    "model": st.one_of(st.text(max_size=5), st.integers()),
    "usage": st.one_of(st.none(), st.dictionaries(
        st.sampled_from(["prompt_tokens", "completion_tokens", "input_tokens", "output_tokens",
                         "cache_read_input_tokens", "prompt_cache_hit_tokens"]),
        st.one_of(st.integers(-10, 10**6), st.floats(allow_nan=False, allow_infinity=False),
                  st.text(max_size=3), st.booleans(), st.none()))),
    "timestamp": st.one_of(st.text(max_size=12), st.integers()),
    "tags": st.one_of(st.dictionaries(st.text(max_size=3), st.text(max_size=3)), st.text()),
})
line = st.one_of(
    st.text(alphabet=string.printable.replace("\n", "").replace("\r", ""), max_size=30),
    record.map(lambda r: json.dumps(r)),
    record.map(lambda r: json.dumps({"response": r, "timestamp": "2026-10-01T00:00:00Z"})),
    record.map(lambda r: "data: " + json.dumps(r)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(line, min_size=1, max_size=8))
def test_any_input_gives_one_row_per_nonblank_line_and_never_raises(texts):
    rows = stage("\n".join(texts))
    # blank means JSON whitespace only (a form feed is not)
    nonblank = [i + 1 for i, t in enumerate(texts) if t.strip(" \t\r\n")]
    assert sorted(r["line"] for r in rows) == nonblank
    for r in rows:
        assert r["kind"] in ("record", "part", "skip")
        if r["kind"] == "record" and r["reason"] is None:
            # a good record is a complete canonical row
            assert r["request_id"] and r["model"] and r["ts"] is not None
            assert r["input_tokens"] >= r["cached_input_tokens"] + r["cache_write_tokens"] >= 0
            assert r["output_tokens"] >= 0 and r["search_calls"] >= 0
            assert r["reasoning_tokens"] is None or r["reasoning_tokens"] >= 0
        if r["kind"] == "record" and r["reason"] is not None:
            assert r["raw"] is not None


def test_optimistic_and_guarded_parses_agree_on_good_input():
    text = "\n".join(json.dumps({"id": f"r{i}", "object": "chat.completion",
                                  "created": 1790812800 + i, "model": "m",
                                  "usage": {"prompt_tokens": i, "completion_tokens": 1}})
                      for i in range(20))
    assert stage(text, optimistic=True) == stage(text, optimistic=False)


def test_optimistic_parse_fails_loudly_on_a_braced_bad_line():
    with pytest.raises(duckdb.InvalidInputException, match="Malformed JSON"):
        stage('{"id": "x", "usage": {"prompt_tokens": 1}', optimistic=True)
    assert stage('{"id": "x", "usage": {"prompt_tokens": 1}')[0]["reason"] == "not JSON"


@pytest.mark.parametrize(("text", "reason"), [
    ('{"timestamp": "2026-10-01T00:00:00Z", "response": "not an object"}',
     "envelope or event whose response is not a JSON object"),
    ('{"type": "message_start", "message": {"id": "msg_1"}}', "unknown shape"),
    ('{"timestamp": 1790812800, "response": {"id": "m", "type": "message", "model": "c", '
     '"usage": {"input_tokens": 1, "output_tokens": 2, "output_tokens_details": '
     '{"thinking_tokens": 3}}}}', "usage.output_tokens_details.thinking_tokens (3) > "
                                 "usage.output_tokens (2)"),
    ('{"object": "response", "id": "r", "model": "m", "created_at": 1790812800, "usage": '
     '{"input_tokens": 10, "output_tokens": 5, "input_tokens_details": {"cached_tokens": 8, '
     '"cache_write_tokens": 4}}}', "usage.input_tokens_details.cached_tokens (8) + "
                                  "usage.input_tokens_details.cache_write_tokens (4) > "
                                  "usage.input_tokens (10)"),
])
def test_more_reasons(text, reason):
    (row,) = stage(text)
    assert row["reason"].startswith(reason)


def test_sse_control_lines_and_done_are_skipped():
    rows = stage("event: response.completed\nid: 7\nretry: 100\n: ping\ndata: [DONE]\n")
    assert [r["kind"] for r in rows] == ["skip"] * 5
    assert all(r["reason"] is None for r in rows)
