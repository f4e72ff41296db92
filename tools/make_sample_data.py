"""Generate costkit's bundled sample usage logs (data/logs/), deterministically.

A team's DeepSeek V3.2 usage from 2026-09-01 to 2026-11-24 through the gateway, in the
formats teams really have, one directory per project (`costkit demo` ingests each directory
with its name as the default project; envelopes name their own):

- search-bot/: `/v1/responses` objects inside envelopes, with web_search_call items.
- support-assistant/: chat completions inside envelopes (long cached system prompts), plus
  raw SSE captures of streamed completions (`data: {...}` lines, `data: [DONE]`).
- code-review/: Anthropic-style `/v1/messages` responses inside envelopes (thinking tokens,
  cache reads and writes).
- data-pipeline/: bare chat.completion objects, gzipped, from a nightly batch job with one
  big backfill spike.
- docs-qa/: a project launched on 2026-10-12 (a level shift), chat completions in envelopes.
Shapes: weekday/weekend cycle, growth, both thinking modes, searches, cache hits, and a few
bad records (not JSON, negative counts, cached > input, a stream cut before its usage chunk).

Run: python tools/make_sample_data.py  (rewrites data/logs/)
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "logs"
START = date(2026, 9, 1)
END = date(2026, 11, 25)  # exclusive
MODEL = "deepseek-v3-2"
KEYS = {
    "search-bot": ["key_search_prod", "key_search_staging"],
    "support-assistant": ["key_support_prod", "key_support_eu", "key_support_us"],
    "code-review": ["key_ci_runner", "key_dev_alice", "key_dev_bob"],
    "data-pipeline": ["key_batch"],
    "docs-qa": ["key_docs_prod", "key_docs_internal"],
}
USERS = ["alice", "bob", "carol", "dmitri", "eun-ji", "farah", "gustavo", "hana", "ivan", "jun"]


def rid(rng: random.Random, prefix: str) -> str:
    return prefix + hashlib.sha1(str(rng.random()).encode()).hexdigest()[:24]


def daily_volume(day: date, base: float, growth: float, rng: random.Random) -> int:
    weekend = day.weekday() >= 5
    t = (day - START).days
    level = base * (1 + growth) ** (t / 30) * (0.35 if weekend else 1.0)
    return max(0, int(rng.gauss(level, level * 0.12)))


def instant(day: date, rng: random.Random) -> datetime:
    # Office-hours heavy, in UTC.
    hour = min(23, max(0, int(rng.gauss(13, 4))))
    return datetime(
        day.year,
        day.month,
        day.day,
        hour,
        rng.randrange(60),
        rng.randrange(60),
        rng.randrange(1_000_000),
        tzinfo=UTC,
    )


def iso(ts: datetime) -> str:
    return ts.isoformat().replace("+00:00", "Z")


def envelope(ts, project, rng, request, response, tags=None):
    return {
        "timestamp": iso(ts),
        "project": project,
        "user": rng.choice(USERS),
        "api_key_id": rng.choice(KEYS[project]),
        "tags": tags or {},
        "request": request,
        "response": response,
    }


def chat_completion(rng, ts, prompt, cached, visible, reasoning):
    return {
        "id": rid(rng, "chatcmpl-"),
        "object": "chat.completion",
        "created": int(ts.timestamp()),
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "..."},
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": visible + reasoning,
            "total_tokens": prompt + visible + reasoning,
            "prompt_tokens_details": {"cached_tokens": cached},
            "completion_tokens_details": {"reasoning_tokens": reasoning},
            "prompt_cache_hit_tokens": cached,
            "prompt_cache_miss_tokens": prompt - cached,
        },
    }


def support(rng, day, lines, sse):
    for _ in range(daily_volume(day, 160, 0.10, rng)):
        ts = instant(day, rng)
        thinking = rng.random() < 0.3
        prompt = int(rng.lognormvariate(8.3, 0.4)) + 3000  # long system prompt + history
        cached = 3000 if rng.random() < 0.85 else 0
        visible = int(rng.lognormvariate(5.8, 0.5))
        reasoning = int(rng.lognormvariate(6.5, 0.6)) if thinking else 0
        request = {
            "model": MODEL,
            "messages": [{"role": "user", "content": "..."}],
            "enable_thinking": thinking,
        }
        if rng.random() < 0.25:
            sse.append(stream(rng, ts, prompt, cached, visible, reasoning))
            continue
        body = chat_completion(rng, ts, prompt, cached, visible, reasoning)
        lines.append(
            envelope(
                ts,
                "support-assistant",
                rng,
                request,
                body,
                {"team": "cx", "channel": rng.choice(["chat", "email"])},
            )
        )


def stream(rng, ts, prompt, cached, visible, reasoning, cut=False):
    ident = rid(rng, "chatcmpl-")
    base = {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": int(ts.timestamp()),
        "model": MODEL,
    }
    chunks = [
        dict(
            base,
            choices=[
                {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
            ],
            usage=None,
        )
    ]
    for piece in ("Thanks", " for", " asking", "."):
        chunks.append(
            dict(
                base,
                choices=[{"index": 0, "delta": {"content": piece}, "finish_reason": None}],
                usage=None,
            )
        )
    if not cut:
        chunks.append(
            dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}], usage=None)
        )
        chunks.append(
            dict(
                base,
                choices=[],
                usage={
                    "prompt_tokens": prompt,
                    "completion_tokens": visible + reasoning,
                    "total_tokens": prompt + visible + reasoning,
                    "prompt_tokens_details": {"cached_tokens": cached},
                    "completion_tokens_details": {"reasoning_tokens": reasoning},
                },
            )
        )
    text = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks)
    return text + ("" if cut else "data: [DONE]\n\n")


def search_bot(rng, day, lines):
    for _ in range(daily_volume(day, 90, 0.15, rng)):
        ts = instant(day, rng)
        searches = rng.choice([0, 1, 1, 2, 2, 3])
        prompt = int(rng.lognormvariate(7.2, 0.5)) + searches * 1800
        visible = int(rng.lognormvariate(6.0, 0.4))
        reasoning = int(rng.lognormvariate(6.8, 0.5))
        cached = int(prompt * rng.choice([0, 0, 0.3]))
        output = [
            {
                "type": "web_search_call",
                "id": rid(rng, "ws_"),
                "status": "completed",
                "action": {"type": "search", "query": "..."},
            }
            for _ in range(searches)
        ]
        output.append(
            {
                "type": "message",
                "id": rid(rng, "msg_"),
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": "...", "annotations": []}],
            }
        )
        response = {
            "id": rid(rng, "resp_"),
            "object": "response",
            "created_at": int(ts.timestamp()),
            "status": "completed",
            "model": MODEL,
            "output": output,
            "usage": {
                "input_tokens": prompt,
                "input_tokens_details": {"cached_tokens": cached},
                "output_tokens": visible + reasoning,
                "output_tokens_details": {"reasoning_tokens": reasoning},
                "total_tokens": prompt + visible + reasoning,
            },
        }
        request = {
            "model": MODEL,
            "input": "...",
            "tools": [{"type": "web_search"}],
            "enable_search": True,
        }
        lines.append(envelope(ts, "search-bot", rng, request, response, {"team": "growth"}))


def code_review(rng, day, lines):
    for _ in range(daily_volume(day, 60, 0.05, rng)):
        ts = instant(day, rng)
        read = rng.choice([0, 0, 4000, 8000])
        write = 0 if read else rng.choice([0, 4000])
        fresh = int(rng.lognormvariate(8.0, 0.6))
        thinking = int(rng.lognormvariate(7.2, 0.5))
        visible = int(rng.lognormvariate(6.2, 0.5))
        response = {
            "id": rid(rng, "msg_"),
            "type": "message",
            "role": "assistant",
            "model": MODEL,
            "content": [
                {"type": "thinking", "thinking": "...", "signature": "..."},
                {"type": "text", "text": "..."},
            ],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": fresh,
                "output_tokens": visible + thinking,
                "cache_creation_input_tokens": write,
                "cache_read_input_tokens": read,
                "output_tokens_details": {"thinking_tokens": thinking},
                "service_tier": "standard",
            },
        }
        request = {
            "model": MODEL,
            "max_tokens": 8192,
            "messages": [{"role": "user", "content": "..."}],
            "thinking": {"type": "enabled", "budget_tokens": 4096},
        }
        lines.append(
            envelope(
                ts,
                "code-review",
                rng,
                request,
                response,
                {"team": "platform", "repo": rng.choice(["api", "web", "infra"])},
            )
        )


def pipeline(rng, day, lines):
    n = 40 if day.weekday() < 5 else 10
    if day == date(2026, 10, 20):
        n = 2500  # one-off backfill batch
    for _ in range(n):
        ts = datetime(
            day.year, day.month, day.day, 2, rng.randrange(60), rng.randrange(60), tzinfo=UTC
        )
        prompt = int(rng.lognormvariate(7.0, 0.3))
        lines.append(chat_completion(rng, ts, prompt, 0, int(rng.lognormvariate(5.0, 0.3)), 0))


def docs_qa(rng, day, lines):
    if day < date(2026, 10, 12):
        return
    for _ in range(daily_volume(day, 120, 0.0, rng)):
        ts = instant(day, rng)
        prompt = int(rng.lognormvariate(7.8, 0.4))
        body = chat_completion(
            rng,
            ts,
            prompt,
            int(prompt * 0.5) if rng.random() < 0.6 else 0,
            int(rng.lognormvariate(5.5, 0.4)),
            0,
        )
        request = {
            "model": MODEL,
            "messages": [{"role": "user", "content": "..."}],
            "enable_thinking": False,
        }
        lines.append(envelope(ts, "docs-qa", rng, request, body, {"team": "docs"}))


def write_jsonl(path: Path, records, bad_lines=()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records)
    text += "".join(line + "\n" for line in bad_lines)
    write_text(path, text)


def write_text(path: Path, text: str) -> None:
    """Gzipped (ingest reads .gz): the sample stays small in the repository."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as fh:  # mtime 0: same bytes every run
        fh.write(text.encode("utf-8"))


def main() -> None:
    rng = random.Random(20261125)
    if OUT.exists():
        shutil.rmtree(OUT)
    months: dict[str, dict[str, list]] = {}
    sse: dict[str, list[str]] = {}
    day = START
    while day < END:
        month = day.strftime("%Y-%m")
        bucket = months.setdefault(month, {p: [] for p in KEYS})
        support(rng, day, bucket["support-assistant"], sse.setdefault(month, []))
        search_bot(rng, day, bucket["search-bot"])
        code_review(rng, day, bucket["code-review"])
        pipeline(rng, day, bucket["data-pipeline"])
        docs_qa(rng, day, bucket["docs-qa"])
        day += timedelta(days=1)
    bad = {
        "2026-10": [
            '{"id": "chatcmpl-broken", "object": "chat.completion", "created": 17',  # cut short
            json.dumps(
                {
                    "id": "chatcmpl-negative",
                    "object": "chat.completion",
                    "created": 1791540000,
                    "model": MODEL,
                    "usage": {"prompt_tokens": 120, "completion_tokens": -3, "total_tokens": 117},
                }
            ),
            json.dumps(
                {
                    "id": "chatcmpl-cachebug",
                    "object": "chat.completion",
                    "created": 1791640000,
                    "model": MODEL,
                    "usage": {
                        "prompt_tokens": 100,
                        "completion_tokens": 10,
                        "total_tokens": 110,
                        "prompt_tokens_details": {"cached_tokens": 500},
                    },
                }
            ),
        ],
    }
    for month, projects in months.items():
        for project, records in projects.items():
            if project == "data-pipeline":
                write_jsonl(OUT / project / f"batch-{month}.jsonl.gz", records)
            elif project == "search-bot":
                write_jsonl(OUT / project / f"responses-{month}.jsonl.gz", records)
            elif project == "code-review":
                write_jsonl(OUT / project / f"messages-{month}.jsonl.gz", records)
            elif records:
                write_jsonl(
                    OUT / project / f"gateway-{month}.jsonl.gz",
                    records,
                    bad.get(month, ()) if project == "support-assistant" else (),
                )
        captures = sse.get(month, [])
        if month == "2026-10":
            captures.append(
                stream(rng, datetime(2026, 10, 14, 9, 30, tzinfo=UTC), 900, 0, 50, 0, cut=True)
            )
        path = OUT / "support-assistant" / f"stream-{month}.sse.gz"
        write_text(path, "".join(captures))
    total = sum(len(r) for p in months.values() for r in p.values()) + sum(map(len, sse.values()))
    print(f"wrote {total} requests under {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
