"""Estimates for a JSONL file of requests, streamed in chunks with flat memory.

Each line is a request body, or a batch-API line: `{"custom_id", "method", "url", "body"}`
(OpenAI; the url picks the endpoint unless one is forced) or `{"custom_id", "params"}`
(Anthropic message batches). Blank lines are skipped; a bad line (not JSON, not a request,
a parameter out of range, a prompt over the context window...) becomes a `LineResult` with
its line number and reason, and is counted in the totals, never dropped silently.

Lines are read, parsed and rendered one chunk at a time; a large input's prompts are counted
in worker processes while this process parses and renders the next chunk, so the tokenizer
(the limit) is kept busy. Totals add up as results stream out.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any

from costkit.core import clock
from costkit.core.errors import CostkitError, InputError
from costkit.estimator.estimate import (
    Estimate,
    Prepared,
    Scenario,
    finish,
    model_names,
    prepare,
    unwrap_request,
)
from costkit.estimator.history import HistorySource
from costkit.pricing.book import PriceBook
from costkit.tokens import get_encoding, tokenizer_for_model
from costkit.tokens.templates import normalize_endpoint

try:
    import orjson as _orjson
except ImportError:  # the standard library reads the same lines, more slowly
    _orjson = None

ZERO = Decimal(0)
# A run of 19 digits may be an integer past 64 bits: with every ASCII digit mapped to "0" and
# every other byte to " ", such a run is a plain substring search (a regex took 10x longer).
_DIGIT_MAP = bytes(0x30 if 0x30 <= i <= 0x39 else 0x20 for i in range(256))
_LONG_DIGITS = b"0" * 19
SCENARIOS = ("low", "expected", "high")


@dataclass
class LineResult:
    line: int
    custom_id: str | None
    estimate: Estimate | None = None
    error: str | None = None  # "file:line: reason" when the line was skipped


@dataclass
class ScenarioTotals:
    output_tokens: int = 0
    reasoning_tokens: int = 0
    search_calls: int = 0
    input_cost: Decimal = ZERO
    output_cost: Decimal = ZERO
    reasoning_cost: Decimal = ZERO
    web_search_cost: Decimal = ZERO

    @property
    def total_cost(self) -> Decimal:
        return self.input_cost + self.output_cost + self.reasoning_cost + self.web_search_cost

    def add(self, s: Scenario) -> None:
        self.output_tokens += s.output_tokens
        self.reasoning_tokens += s.reasoning_tokens
        self.search_calls += s.search_calls
        self.input_cost += s.input_cost
        self.output_cost += s.output_cost
        self.reasoning_cost += s.reasoning_cost
        self.web_search_cost += s.web_search_cost


@dataclass
class Totals:
    """Sums over the estimated lines, and counts of what was skipped."""

    requests: int = 0
    bad_lines: int = 0
    blank_lines: int = 0
    input_tokens: int = 0
    exact: bool = True
    with_warnings: int = 0
    low: ScenarioTotals = field(default_factory=ScenarioTotals)
    expected: ScenarioTotals = field(default_factory=ScenarioTotals)
    high: ScenarioTotals = field(default_factory=ScenarioTotals)
    models: Counter = field(default_factory=Counter)
    expected_sources: Counter = field(default_factory=Counter)
    currencies: set = field(default_factory=set)

    @property
    def input_cost(self) -> Decimal:
        return self.low.input_cost

    def add(self, est: Estimate) -> None:
        self.requests += 1
        self.input_tokens += est.input_tokens
        self.exact = self.exact and est.exact
        self.with_warnings += bool(est.warnings)
        self.low.add(est.low)
        self.expected.add(est.expected)
        self.high.add(est.high)
        self.models[est.model] += 1
        self.expected_sources[est.expected_source] += 1
        self.currencies.add(est.currency)

    @property
    def currency(self) -> str:
        return next(iter(self.currencies)) if len(self.currencies) == 1 else (
            "mixed" if self.currencies else "USD")


def read_lines(
    path: str | Path, on_bytes: Callable[[int], None] | None = None
) -> Iterator[bytes]:
    """The lines of `path` ('-' = stdin) as bytes, streamed; `on_bytes(n)` after each line."""
    name = "stdin" if str(path) == "-" else str(path)
    try:
        stream = sys.stdin.buffer if str(path) == "-" else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise InputError(f"{name}: cannot read: {exc.strerror or exc}") from None
    try:
        for line in stream:
            if on_bytes is not None:
                on_bytes(len(line))
            yield line
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def parse_line(raw: str | bytes) -> Any:
    """One JSONL line as the standard library reads it, via orjson when that reads it alike.

    orjson is about three times faster; it reads integers past 64 bits as floats (which
    would re-render differently in a tool call) and rejects NaN, so such lines, and any it
    rejects, go to `json`, whose messages name the column.
    """
    data = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    if _orjson is not None and _LONG_DIGITS not in data.translate(_DIGIT_MAP):
        try:
            return _orjson.loads(raw)
        except _orjson.JSONDecodeError:
            pass
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start + 1})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc.msg} (column {exc.colno})") from None


def count_texts(encoding_name: str, texts: list[str | tuple[str, str, str]]) -> list[int]:
    """Token counts of prompts with a named encoding, added tokens counting one each (runs in
    a worker process). A prompt given as (head, tools block body, tail) is counted in parts;
    a body already seen in this process is not counted again."""
    encode = get_encoding(encoding_name).encode
    seen = _TOOLS_COUNTS.setdefault(encoding_name, {})
    counts = []
    for text in texts:
        if isinstance(text, str):
            counts.append(len(encode(text, allowed_special="all")))
            continue
        head, body, tail = text
        body_count = seen.get(body)
        if body_count is None:
            if len(seen) >= 1024:
                seen.clear()
            body_count = seen[body] = len(encode(body, allowed_special="all"))
        counts.append(len(encode(head, allowed_special="all")) + body_count
                      + len(encode(tail, allowed_special="all")))
    return counts


_TOOLS_COUNTS: dict[str, dict[str, int]] = {}  # per process: encoding -> tools body -> tokens


class _InlineExecutor(Executor):
    """Counts in the calling thread: small inputs do not pay for starting workers."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the caller through the future
            future.set_exception(exc)
        return future


class BatchEstimator:
    """Streams `LineResult`s for an iterable of JSONL lines; `totals` grows as they come."""

    def __init__(
        self,
        *,
        book: PriceBook,
        history: HistorySource,
        model: str | None = None,
        endpoint: str | None = None,
        options: Mapping[str, Any] | None = None,
        source: str = "batch",
        chunk_size: int = 1024,
        num_threads: int = 2,
        at: datetime | None = None,
        count_tools_once: bool = True,
    ):
        self.book = book
        self.history = history
        self.model = model
        self.endpoint = normalize_endpoint(endpoint) if endpoint else None
        # flags left unset (None) are dropped once here rather than on every line
        self.options = {k: v for k, v in (options or {}).items() if v is not None}
        self.source = source
        self.chunk_size = max(1, chunk_size)
        self.num_threads = num_threads
        self.at = at or clock.now()  # one card choice for the whole batch ($COSTKIT_NOW)
        self.count_tools_once = count_tools_once  # a tools block seen before is not re-counted
        self.totals = Totals()
        self._names: dict[str, list[str]] = {}
        self._cards: dict = {}
        self._tokenizers: dict[str, tuple[str, bool]] = {}  # model -> encoding name, exact
        self._notes: dict[str, str] = {}  # model -> its tokenizer's declared approximation

    def run(self, lines: Iterable[str | bytes]) -> Iterator[LineResult]:
        numbered = enumerate(lines, start=1)
        with ExitStack() as stack:
            pool: Executor | None = None
            pending: tuple[list, list] | None = None
            while True:
                chunk = list(islice(numbered, self.chunk_size))
                if not chunk:
                    break
                if pool is None:
                    pool = stack.enter_context(self._pool(len(chunk) >= self.chunk_size))
                items = [self._prepare_line(n, raw) for n, raw in chunk]
                items = [item for item in items if item is not None]
                jobs = self._submit(items, pool)
                if pending is not None:
                    yield from self._finish(*pending)
                pending = (items, jobs)
            if pending is not None:
                yield from self._finish(*pending)

    def _pool(self, large: bool) -> Executor:
        """Where prompts are counted: worker processes for a large input, else right here.

        Processes, not threads: tiktoken releases the GIL while it encodes, but each call
        must take the GIL back, and this thread holds it while parsing and rendering the
        next chunk; measured, tokenizer threads then ran at a fraction of their speed.
        """
        if not large or self.num_threads < 1:
            return _InlineExecutor()
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        return ProcessPoolExecutor(self.num_threads, mp_context=mp.get_context(method))

    def _prepare_line(self, n: int, raw: str | bytes) -> tuple | None:
        raw = raw.strip()
        if not raw:
            self.totals.blank_lines += 1
            return None
        custom_id = None
        try:
            obj = parse_line(raw)
            body, custom_id, endpoint = unwrap_request(obj, self.endpoint)
            prep = prepare(body, self.model, endpoint, book=self.book, at=self.at,
                           options=self.options, cache=self._cards,
                           split_tools=self.count_tools_once)
        except CostkitError as exc:
            return (n, custom_id, None, f"{self.source}:{n}: {exc}")
        return (n, custom_id, prep, None)

    def _submit(self, items: list[tuple], pool: Executor) -> list:
        """Count the chunk's prompts on the pool: per model, one slice per worker."""
        by_model: dict[str, list[tuple[int, Prepared]]] = {}
        for n, _, prep, _ in items:
            if prep is not None:
                by_model.setdefault(prep.card.model, []).append((n, prep))
        jobs = []
        for model, group in by_model.items():
            encoding_name, exact = self._tokenizer(model, group[0][1])
            texts = [prep.parts or prep.prompt for _, prep in group]
            size = -(-len(texts) // max(1, self.num_threads))
            for i in range(0, len(texts), size):
                numbers = [n for n, _ in group[i:i + size]]
                future = pool.submit(count_texts, encoding_name, texts[i:i + size])
                jobs.append((numbers, exact, future))
        return jobs

    def _tokenizer(self, model: str, prep: Prepared) -> tuple[str, bool]:
        if model not in self._tokenizers:
            tokenizer = tokenizer_for_model(prep.card.model, self.book)
            self._tokenizers[model] = (tokenizer.encoding_name, tokenizer.exact)
            if not tokenizer.exact:
                self._notes[model] = f"prompt tokens {tokenizer.note}"
        return self._tokenizers[model]

    def _finish(self, items: list[tuple], jobs: list) -> Iterator[LineResult]:
        counts: dict[int, tuple[int, bool]] = {}
        for numbers, exact, future in jobs:
            for n, count in zip(numbers, future.result(), strict=True):
                counts[n] = (count, exact)
        for n, custom_id, prep, error in items:
            if prep is not None:
                try:
                    past = self.history.for_model(self._model_names(prep.model))
                    count, exact = counts[n]
                    if not exact:
                        prep.assumptions.append(self._notes[prep.model])
                    est = finish(prep, count, exact, past, self.history.problem)
                except CostkitError as exc:
                    error = f"{self.source}:{n}: {exc}"
                else:
                    self.totals.add(est)
                    yield LineResult(n, custom_id, est)
                    continue
            self.totals.bad_lines += 1
            yield LineResult(n, custom_id, error=error)

    def _model_names(self, model: str) -> list[str]:
        if model not in self._names:
            self._names[model] = model_names(self.book, model)
        return self._names[model]
