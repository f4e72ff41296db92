"""The README's "From Python" example runs as written, and what it computes agrees with the
sample logs read here on their own (gzip + json, one small rule per format) and with the
seed's rates: $0.57 per 1M input tokens (cached input too: no other rate is published),
$1.71 per 1M output tokens (reasoning included), $0.015 per web-search call."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from conftest import PINNED_NOW, ROOT

MILLION = Decimal(1_000_000)
INPUT, OUTPUT, SEARCH = Decimal("0.57"), Decimal("1.71"), Decimal("0.015")


def readme_example() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("\n## From Python\n"):]
    match = re.search(r"```python\n(.+?)\n```", section, re.S)
    assert match, "README's From Python section has no ```python block"
    return match.group(1)


@dataclass
class Sample:
    """What the sample logs hold, per UTC month: requests, input tokens, cost."""

    requests: Counter = field(default_factory=Counter)
    input_tokens: Counter = field(default_factory=Counter)
    cost: defaultdict = field(default_factory=lambda: defaultdict(Decimal))
    cost_before_oct_15: Decimal = Decimal(0)
    bad: int = 0


def read_sample(folder: Path) -> Sample:
    """Every record of the sample logs, read without costkit.

    A record is a chat completion (prompt_tokens includes cached), a Responses object
    (input_tokens includes cached; searches are its completed web_search_call items) or an
    Anthropic message (input_tokens + cache writes + cache reads), bare, inside an envelope
    (its `timestamp` is the time) or as the last chunk of a stream (SSE `data:` lines; the
    chunk with usage carries the counts). Bad: not JSON, a negative count, cached > input, a
    stream that never sent its usage."""
    out = Sample()
    streams: dict[str, bool] = {}
    for path in sorted(folder.rglob("*.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                text = line.strip().removeprefix("data:").strip()
                if not text or text == "[DONE]":
                    continue
                try:
                    record = json.loads(text)
                except ValueError:
                    out.bad += 1
                    continue
                body = record.get("response", record)
                usage = body.get("usage")
                if body.get("object") == "chat.completion.chunk":
                    streams[body["id"]] = streams.get(body["id"], False) or bool(usage)
                    if not usage:
                        continue
                searches, cached = 0, 0
                if body.get("type") == "message":
                    prompt = (usage["input_tokens"] + usage["cache_creation_input_tokens"]
                              + usage["cache_read_input_tokens"])
                    searches = usage.get("server_tool_use", {}).get("web_search_requests", 0)
                elif body.get("object") == "response":
                    prompt, cached = usage["input_tokens"], usage["input_tokens_details"][
                        "cached_tokens"]
                    searches = sum(1 for item in body["output"]
                                   if item["type"] == "web_search_call"
                                   and item["status"] == "completed"
                                   and item["action"]["type"] == "search")
                else:
                    prompt = usage["prompt_tokens"]
                    cached = usage.get("prompt_tokens_details", {}).get("cached_tokens", 0)
                completion = usage.get("completion_tokens", usage.get("output_tokens"))
                if min(prompt, completion) < 0 or cached > prompt:
                    out.bad += 1
                    continue
                if "timestamp" in record:
                    at = datetime.fromisoformat(record["timestamp"])
                else:
                    at = datetime.fromtimestamp(body.get("created", body.get("created_at")), UTC)
                month = f"{at:%Y-%m}"
                cost = (prompt * INPUT + completion * OUTPUT) / MILLION + searches * SEARCH
                out.requests[month] += 1
                out.input_tokens[month] += prompt
                out.cost[month] += cost
                if month == "2026-10" and at.day < 15:
                    out.cost_before_oct_15 += cost
    out.bad += sum(1 for has_usage in streams.values() if not has_usage)
    return out


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    """The example, run from the project root as the README says; its names and its output."""
    namespace: dict = {"__name__": "__main__"}
    printed = io.StringIO()
    # Module-scoped, so conftest's per-test isolation is not in place yet: do the same here.
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(printed):
        env.setenv("COSTKIT_DB", str(tmp_path_factory.mktemp("db") / "costkit-test.duckdb"))
        env.delenv("COSTKIT_PRICES", raising=False)
        env.setenv("COSTKIT_NOW", PINNED_NOW)
        env.chdir(ROOT)
        exec(compile(readme_example(), "README.md (From Python)", "exec"), namespace)
    return namespace, printed.getvalue()


@pytest.fixture(scope="module")
def sample() -> Sample:
    return read_sample(ROOT / "data" / "logs")


def test_the_example_ingests_every_good_record_and_sets_aside_the_bad(ran, sample):
    summary = ran[0]["summary"]
    assert summary.inserted == sum(sample.requests.values()) == 34_255
    assert summary.rejected == sample.bad == 4
    assert f"{summary.inserted:,} requests stored, {summary.rejected} set aside" in ran[1]


def test_spend_by_month_matches_the_logs_read_on_their_own(ran, sample):
    frame = ran[0]["by_month"]
    assert isinstance(frame.schema["total_cost"], pl.Decimal)
    assert frame["model"].unique().to_list() == ["deepseek-v3-2"]
    got = {r["month"]: r for r in frame.iter_rows(named=True)}
    assert sorted(got) == sorted(sample.requests) == ["2026-09", "2026-10", "2026-11"]
    for month, row in got.items():
        assert row["requests"] == sample.requests[month], month
        assert row["input_tokens"] == sample.input_tokens[month], month
        # Every input token bills at $0.57 / 1M, whether cached, cache-write or not.
        input_cost = row["input_cost"] + row["cached_input_cost"] + row["cache_write_cost"]
        assert input_cost == sample.input_tokens[month] * INPUT / MILLION, month
        assert row["total_cost"] == sample.cost[month], month


def test_the_audit_finds_what_was_planted_in_the_invoice(ran):
    # data/invoices/README.md: web search billed 4% over the logged count, and the output
    # line's amount one cent over quantity x unit price.
    kinds = sorted(f.kind for f in ran[0]["audit"].findings)
    assert kinds == ["amount_mismatch", "quantity_mismatch"]


def test_the_forecast_counts_what_was_spent_before_as_of(ran, sample):
    total = ran[0]["run"].forecast.total
    assert total.actual == sample.cost_before_oct_15
    assert total.projected_total > total.actual


def test_the_report_is_octobers_page(ran):
    assert ran[0]["page"].name == "costkit-2026-10.html"


def test_the_estimate_is_the_seed_example(ran):
    # The rate card page's example: 12 prompt tokens, 12 x $0.57 / 1M = $0.00000684.
    quote = ran[0]["quote"]
    assert (quote.input_tokens, quote.input_cost) == (12, Decimal("0.00000684"))
    assert quote.expected_source == "history"
    assert "12 0.00000684" in ran[1]

