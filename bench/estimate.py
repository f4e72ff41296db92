"""Batch estimation throughput vs the tokenizer alone, on the same generated requests.

Generates N request bodies (deterministic; a mix of /v1/chat/completions, /v1/responses and
/v1/messages shapes, some multi-turn with tools; prompts of about 1 KB) into a JSONL file,
then measures in the same run:

  baseline  the rendered prompts of all N requests counted by the tokenizer alone in one
            batch call (`count_tokens_batch`'s own path: `Tokenizer.count_batch`, every added
            token allowed, --threads threads); rendering is done beforehand and not timed
  estimate  `costkit estimate --batch`'s library path (BatchEstimator over the file): read,
            JSON-parse, render, count in chunks, validate and price every request, totals;
            a tools block that recurs is counted once per worker (as in real agent batches,
            1 in 5 generated requests carries the same tools)
  estimate* the same with every tools block counted anew: the pure overhead of parsing,
            rendering and pricing over the tokenizer

in --repeat interleaved rounds (the best of each), and prints requests/s of each and the
ratios (target: estimate >= 70% of the baseline), by wall time and by CPU time (this
process plus the estimate's worker processes). On a machine shared with other work the
wall-time ratio swings from run to run; the CPU-time ratio is the steadier figure.

    python bench/estimate.py --n 100000
"""

from __future__ import annotations

import argparse
import json
import math
import random
import resource
import tempfile
import time
from pathlib import Path

from figures import figure

from costkit.estimator.batch import BatchEstimator, read_lines
from costkit.estimator.estimate import prepare
from costkit.estimator.history import HistorySource
from costkit.pricing.book import load_price_book
from costkit.tokens import tokenizer_for_model

WORDS = (
    "the of and to in is for on that with as by this be are from at it or an was which "
    "request model token price budget estimate customer invoice report forecast audit "
    "deployment latency gateway cluster region pipeline dataset schema query function "
    "ocean mountain river city summer winter quickly carefully however therefore because "
    "summarise explain compare translate classify extract rewrite review improve list"
).split()
CJK = "模型价格预算估计客户发票报告预测审计部署延迟网关"
TOOL = {"name": "lookup_order", "description": "Find an order by its id.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"},
                                                        "verbose": {"type": "boolean"}},
                       "required": ["order_id"]}}


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.15:
        words.insert(rng.randrange(len(words)), "".join(rng.choice(CJK) for _ in range(6)))
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words)), f"{rng.randrange(10**6):,}")
    return " ".join(words).capitalize() + "."


def text(rng: random.Random, target_chars: int) -> str:
    parts, size = [], 0
    while size < target_chars:
        s = sentence(rng, rng.randint(8, 20))
        parts.append(s)
        size += len(s) + 1
    return " ".join(parts)


def body(rng: random.Random, i: int) -> dict:
    kind = i % 3
    system = "You are a helpful assistant for an operations team. " + sentence(rng, 10)
    question = text(rng, rng.randint(450, 800))
    multi = i % 5 == 0
    args = json.dumps({"order_id": f"A{i:07d}", "verbose": True})
    if kind == 0:
        messages = [{"role": "system", "content": system}, {"role": "user", "content": question}]
        if multi:
            messages[1:1] = [
                {"role": "user", "content": "Where is order A1?"},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c1", "type": "function",
                     "function": {"name": "lookup_order", "arguments": args}}]},
                {"role": "tool", "tool_call_id": "c1", "content": "Shipped on Monday."},
                {"role": "assistant", "content": "It shipped on Monday."},
            ]
        out = {"model": "deepseek-v3-2", "messages": messages, "max_tokens": 1000 + i % 3000}
        if multi:
            out["tools"] = [{"type": "function", "function": TOOL}]
        return {"custom_id": f"req-{i}", "method": "POST", "url": "/v1/chat/completions",
                "body": out}
    if kind == 1:
        items = [{"role": "user", "content": question}]
        if multi:
            items[0:0] = [
                {"role": "user", "content": "Where is order A1?"},
                {"type": "function_call", "call_id": "c1", "name": "lookup_order",
                 "arguments": args},
                {"type": "function_call_output", "call_id": "c1", "output": "Shipped."},
            ]
        out = {"model": "deepseek-v3-2", "instructions": system, "input": items,
               "max_output_tokens": 2000, "reasoning": {"effort": "low"}}
        if multi:
            out["tools"] = [{"type": "function", **TOOL}]
        return out
    messages = [{"role": "user", "content": [{"type": "text", "text": question}]}]
    out = {"model": "deepseek-v3-2", "system": system, "max_tokens": 1500,
           "thinking": {"type": "disabled" if i % 2 else "enabled", "budget_tokens": 4000},
           "messages": messages}
    if multi:
        messages[0:0] = [
            {"role": "user", "content": "Where is order A1?"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1",
                                               "name": "lookup_order",
                                               "input": json.loads(args)}]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                          "content": "Shipped."}]},
            {"role": "assistant", "content": "It shipped."},
        ]
        out["tools"] = [{"name": TOOL["name"], "description": TOOL["description"],
                         "input_schema": TOOL["parameters"]}]
    return out


def generate(path: Path, n: int, seed: int) -> int:
    rng = random.Random(seed)
    size = 0
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            line = json.dumps(body(rng, i), ensure_ascii=False) + "\n"
            size += len(line.encode())
            f.write(line)
    return size


def rendered_prompts(path: Path, book) -> list[str]:
    prompts = []
    for raw in read_lines(path):
        obj = json.loads(raw)
        if "body" in obj:
            prep = prepare(obj["body"], endpoint=obj["url"], book=book)
        else:
            prep = prepare(obj, book=book)
        prompts.append(prep.prompt)
    return prompts


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the estimate's worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def keep(wall: dict, cpu: dict, name: str, wall_s: float, cpu_s: float) -> None:
    wall[name] = min(wall[name], wall_s)
    cpu[name] = min(cpu[name], cpu_s)


def tools_tokens(path: Path, book, tokenizer) -> int:
    """Tokens of the prompts that sit in a tools block (the part counted once)."""
    total = 0
    for raw in read_lines(path):
        obj = json.loads(raw)
        body, endpoint = (obj["body"], obj["url"]) if "body" in obj else (obj, None)
        parts = prepare(body, endpoint=endpoint, book=book, split_tools=True).parts
        if parts:
            total += tokenizer.count(parts[1])
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="requests (default 20,000)")
    parser.add_argument("--threads", type=int, default=2, help="tokenizer threads (default 2)")
    parser.add_argument("--chunk", type=int, default=1024, help="lines per chunk (default 1024)")
    parser.add_argument("--repeat", type=int, default=2,
                        help="interleaved rounds; the best of each is reported (default 2)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    book = load_price_book([])
    tokenizer = tokenizer_for_model("deepseek-v3-2", book)
    exact = tokenizer.exact
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "requests.jsonl"
        t0 = time.perf_counter()
        file_bytes = generate(path, args.n, args.seed)
        print(f"generated {args.n:,} requests ({file_bytes / 1e6:.1f} MB JSONL) "
              f"in {time.perf_counter() - t0:.1f}s")

        prompts = rendered_prompts(path, book)
        tools_share = tools_tokens(path, book, tokenizer) / sum(
            tokenizer.count_batch(prompts, num_threads=args.threads))
        prompt_bytes = sum(len(p.encode()) for p in prompts)
        print(f"rendered prompts: {prompt_bytes / 1e6:.1f} MB, "
              f"{prompt_bytes / len(prompts):,.0f} bytes per request on average")

        # Interleaved rounds, best of each: other work on the machine slows both alike.
        wall = {"baseline": math.inf, "estimate": math.inf, "estimate*": math.inf}
        cpu = dict(wall)
        for _ in range(args.repeat):
            c0, t0 = cpu_seconds(), time.perf_counter()
            counts = tokenizer.count_batch(prompts, num_threads=args.threads)
            keep(wall, cpu, "baseline", time.perf_counter() - t0, cpu_seconds() - c0)
            base_tokens = sum(counts)

            for name, once in (("estimate", True), ("estimate*", False)):
                with HistorySource(enabled=False) as history:
                    estimator = BatchEstimator(book=book, history=history,
                                               chunk_size=args.chunk, num_threads=args.threads,
                                               source=str(path), count_tools_once=once)
                    c0, t0 = cpu_seconds(), time.perf_counter()
                    for _ in estimator.run(read_lines(path)):
                        pass
                    keep(wall, cpu, name, time.perf_counter() - t0, cpu_seconds() - c0)
                totals = estimator.totals
                assert totals.requests == args.n and totals.bad_lines == 0, totals
                assert totals.input_tokens == base_tokens, (totals.input_tokens, base_tokens)

    mb = prompt_bytes / 1e6
    print(f"tokenizer ({'exact' if exact else 'approximate'}): {base_tokens:,} prompt tokens, "
          "the same in both")
    what = {
        "baseline": "tokenizer alone, one count_batch call",
        "estimate": "read + parse + render + count + validate + price + totals",
        "estimate*": "the same, each request's tools block counted anew",
    }
    print(f"{'':<10}{'':<58} {'wall':>7} {'req/s':>8} {'MB/s':>5} {'CPU':>7} {'req/CPU-s':>9}")
    for name in wall:
        print(f"{name:<10}{what[name]:<58} {wall[name]:6.2f}s {args.n / wall[name]:>8,.0f} "
              f"{mb / wall[name]:5.1f} {cpu[name]:6.2f}s {args.n / cpu[name]:>9,.0f}")
    for name in ("estimate", "estimate*"):
        print(f"{name} / baseline: {wall['baseline'] / wall[name]:.0%} by wall time, "
              f"{cpu['baseline'] / cpu[name]:.0%} by CPU time (target >= 70%)")
        print(figure(f"{name} --batch {args.n:,} requests (CPU)", args.n / cpu[name],
                     args.n / cpu["baseline"], "count_tokens_batch on the rendered prompts",
                     "req/CPU-s", "x baseline rate, target >= 0.7"))
    print(f"{tools_share:.0%} of the prompt tokens are in tools blocks "
          "(1 in 5 requests carries the same block; `estimate` counts it once per worker)")
    print(f"batch totals: high {totals.high.total_cost} USD, expected "
          f"{totals.expected.total_cost} USD, input {totals.input_cost} USD")


if __name__ == "__main__":
    main()
