"""Batch lines: parsing like the standard library, worker processes, flat chunks."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES

from costkit.core.errors import InputError
from costkit.estimator.batch import BatchEstimator, parse_line, read_lines
from costkit.estimator.history import HistorySource
from costkit.pricing.book import load_price_book

BOOK = load_price_book([])


@pytest.mark.parametrize("raw", [
    b'{"a": 1, "b": [1.5, -2e-3, true, null], "c": "\\u00e9\\n"}',
    b'{"big": 123456789012345678901234567890, "x": 1}',
    b'{"neg": -99999999999999999999}',
    b'{"nan": NaN, "inf": Infinity}',
    '{"text": "caf\u00e9 \U0001f600"}',
    b'{"dup": 1, "dup": 2}',
])
def test_lines_read_as_the_standard_library_reads_them(raw):
    expected = json.loads(raw)
    got = parse_line(raw)
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert type(got.get("big", 0)) is type(expected.get("big", 0))  # never a float for an int


def test_bad_lines_name_the_column():
    with pytest.raises(InputError, match=r"not valid JSON: Expecting ',' delimiter \(column 9\)"):
        parse_line(b'{"a": 1 "b": 2}')
    with pytest.raises(InputError, match=r"not UTF-8 text \(byte 8\)"):
        parse_line(b'{"a": "\xff"}')


def test_worker_processes_give_the_same_results_as_counting_inline(tmp_path):
    lines = (FIXTURES / "estimate" / "batch.jsonl").read_bytes().splitlines(keepends=True)
    path = tmp_path / "many.jsonl"
    path.write_bytes(b"".join(lines * 30))
    runs = []
    for chunk, threads in ((10_000, 2), (16, 2), (16, 0)):  # inline; processes; inline
        with HistorySource(enabled=False) as history:
            est = BatchEstimator(book=BOOK, history=history, chunk_size=chunk, num_threads=threads)
            out = [(r.line, r.error, r.estimate and r.estimate.as_dict())
                   for r in est.run(read_lines(path))]
        runs.append((out, est.totals.requests, est.totals.bad_lines, est.totals.high.total_cost))
    assert runs[0] == runs[1] == runs[2]
    assert runs[0][1:3] == (150, 150)


def test_results_stream_before_the_input_ends():
    seen = []

    def lines():
        for i in range(5000):
            seen.append(i)
            yield b'{"messages": [{"role": "user", "content": "hi"}]}\n'

    with HistorySource(enabled=False) as history:
        est = BatchEstimator(book=BOOK, history=history, chunk_size=100)
        first = next(iter(est.run(lines())))
    assert first.line == 1 and first.estimate.input_tokens > 0
    assert len(seen) <= 300  # at most the chunk being counted and the next one were read


def _count(text: str) -> int:
    from costkit.tokens import count_tokens

    return count_tokens(text, "deepseek-v3-2")


SYSTEMS = ["", "Be brief.", "Trailing spaces   ", "ends with newlines\n\n\n", "数字 123\t",
           "emoji 😀\r\n", " ", "\n", "x" * 500]
TOOLS = [
    [{"name": "f", "description": "Find.", "parameters": {"type": "object"}}],
    [{"name": "g", "parameters": {"type": "object", "properties": {"q": {"type": "string",
                                                                       "description": "é ü"}}}},
     {"name": "h"}],
]


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("tools", TOOLS)
def test_tools_block_counts_add_up(system, tools):
    from costkit.tokens.templates import render

    body = {"messages": [{"role": "user", "content": "Go " + system}],
            "tools": [{"type": "function", "function": t} for t in tools]}
    if system:
        body["messages"].insert(0, {"role": "system", "content": system})
    for thinking in (True, False):
        rendered = render(body, thinking=thinking)
        parts = rendered.parts()
        assert parts is not None and "".join(parts) == rendered.text
        assert parts[1].startswith("You have access to a set of tools")
        assert sum(_count(p) for p in parts) == _count(rendered.text)


def test_tools_block_not_split_where_counts_may_not_add():
    from costkit.tokens.templates import render

    # the block is followed by an assistant turn's text, not an added token
    body = {"messages": [{"role": "system", "content": "S"},
                         {"role": "assistant", "content": "Hi"}],
            "tools": [{"type": "function", "function": TOOLS[0][0]}]}
    assert render(body).parts() is None
    assert render({"messages": [{"role": "user", "content": "x"}]}).parts() is None


def test_counting_tools_once_gives_the_same_results(tmp_path):
    body = json.loads((FIXTURES / "estimate" / "chat_multiturn.json").read_text())
    lines = []
    for i in range(40):
        more = [{"role": "user", "content": "and " + "more " * i}]
        b = dict(body, messages=body["messages"] + more)
        lines.append(json.dumps(b).encode() + b"\n")
    results = []
    for once, chunk in ((True, 8), (False, 8), (True, 1000)):
        with HistorySource(enabled=False) as history:
            est = BatchEstimator(book=BOOK, history=history, chunk_size=chunk,
                                 count_tools_once=once)
            results.append([r.estimate.input_tokens for r in est.run(lines)])
    assert results[0] == results[1] == results[2]
    assert len(set(results[0])) > 1
