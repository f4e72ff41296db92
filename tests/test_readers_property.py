"""Property: the new whole-file readers never crash on what a log may hold. A record of each
fixture has its fields replaced by arbitrary JSON (numbers of any size and sign, floats,
strings, lists, objects, null); every record then comes out as an accepted row with sane
counts or as a reject with a reason, never as an exception."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from readers_support import stage

from costkit.readers import (
    anthropic_stream,
    codex,
    langfuse,
    litellm_daily,
    litellm_spend,
    openai_usage,
    openrouter,
)

LOGS = FIXTURES / "logs"

SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6)


def paths(value, prefix=()):
    """Every key path in a JSON value."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield (*prefix, key)
            yield from paths(child, (*prefix, key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from paths(child, (*prefix, i))


def replaced(value, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = replaced(copy[head], rest, new)
    return copy


# reader, a fixture, and how its records sit in the file ("lines": JSONL, "doc": one doc)
CASES = {
    "openai-usage": (openai_usage.select_sql, LOGS / "openai-usage" / "pages.jsonl", "lines"),
    "litellm-spend": (litellm_spend.select_sql, LOGS / "litellm" / "spend-logs-v2.jsonl",
                      "lines"),
    "litellm-daily": (litellm_daily.select_sql, LOGS / "litellm" / "daily-activity.json", "doc"),
    "codex": (codex.select_sql, next((LOGS / "codex").rglob("*.jsonl")), "lines"),
    "messages-stream": (anthropic_stream.select_sql, LOGS / "messages-stream" /
                        "enveloped.jsonl", "lines"),
    "openrouter": (openrouter.select_sql, LOGS / "openrouter" / "generations.jsonl", "lines"),
    "langfuse": (langfuse.select_sql, LOGS / "langfuse" / "observations.jsonl", "lines"),
}


def records(path: Path, layout: str) -> list:
    if layout == "doc":
        return [json.loads(path.read_text())]
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.parametrize("name", sorted(CASES))
def test_arbitrary_values_never_crash(name, tmp_path_factory):
    select, fixture, layout = CASES[name]
    originals = records(fixture, layout)

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(data=st.data())
    def check(data):
        i = data.draw(st.integers(0, len(originals) - 1))
        record = originals[i]
        path = data.draw(st.sampled_from(list(paths(record))))
        changed = replaced(record, path, data.draw(VALUES))
        lines = [changed if k == i else r for k, r in enumerate(originals)]
        target = tmp_path_factory.mktemp(name) / fixture.name
        text = "\n".join(json.dumps(x) for x in lines) + "\n"
        target.write_text(json.dumps(lines[0], indent=2) if layout == "doc" else text)
        for row in stage(select, target):
            if row["kind"] == "record" and row["reason"] is None:
                for column in ("input_tokens", "cached_input_tokens", "cache_write_tokens",
                               "output_tokens"):
                    assert row[column] is not None and row[column] >= 0, (column, row)
                assert row["cached_input_tokens"] + row["cache_write_tokens"] <= \
                    row["input_tokens"], row
                assert row["model"] and row["ts"] is not None, row

    check()
