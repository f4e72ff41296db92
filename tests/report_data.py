"""A small, fully known store for the monthly report's tests (rows written straight to SQL).

Every row is also returned as a dict, so a test can price it independently with
`costkit.pricing.book.price` and compare with what the page shows.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from costkit.core.usage import Usage
from costkit.pricing.book import PriceBook
from costkit.pricing.cost import price
from costkit.store.connection import open_store

EVIL = "<img src=x onerror=alert(1)>"
SCRIPT_BREAK = "</script><script>alert(2)</script>"
PRICE_CHANGE = """
[[card]]
model = "deepseek-v3-2"
effective_to = 2026-10-15T00:00:00Z
[card.rates]
input = 0.57
output = 1.71
web_search = 0.015

[[card]]
model = "deepseek-v3-2"
effective_from = 2026-10-15T00:00:00Z
[card.rates]
input = 0.57
cached_input = 0.07
output = 1.71
web_search = 0.015
"""
COLUMNS = ("request_id", "ts", "provider", "endpoint", "model", "input_tokens",
           "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
           "search_calls", "project", "api_key_id", "user", "tags", "source_format",
           "source_file", "source_line", "ingest_id")


def make_rows(seed: int = 7) -> list[dict]:
    """About 400 requests in Sep-Oct 2026 (UTC), and one early on 2026-11-01 UTC, which is
    still October in New York. Projects include an HTML injection and a </script> break."""
    rng = random.Random(seed)
    projects = ["search-bot", "support", EVIL, SCRIPT_BREAK, None]
    keys = [f"key-{i}" for i in range(14)]
    rows = []
    start = datetime(2026, 9, 1, tzinfo=UTC)
    for i in range(400):
        ts = start + timedelta(seconds=rng.randrange(61 * 86400))
        endpoint = rng.choice(["chat.completions", "responses", "messages"])
        prompt = rng.randrange(200, 9000)
        cached = prompt * rng.choice([0, 0, 5, 8]) // 10
        rows.append({
            "request_id": f"req-{i:04d}",
            "ts": ts,
            "provider": "deepseek",
            "endpoint": endpoint,
            "model": "mystery-model" if i % 97 == 5 else "deepseek-v3-2",
            "input_tokens": prompt,
            "cached_input_tokens": cached,
            "cache_write_tokens": 0,
            "output_tokens": rng.randrange(20, 1500),
            "reasoning_tokens": rng.choice([0, rng.randrange(100, 4000)]),
            "search_calls": rng.choice([0, 0, 1, 2]) if endpoint == "responses" else 0,
            "project": projects[i % len(projects)],
            "api_key_id": keys[i % len(keys)] if i % 3 else EVIL,
            "user": f"user-{i % 5}",
            "tags": json.dumps({"team": "growth" if i % 2 else "core"}),
            "source_format": "chat.completion",
            "source_file": "logs/fixture.jsonl",
            "source_line": i + 1,
            "ingest_id": 1,
        })
    rows.append({**rows[0], "request_id": "req-late", "ts": datetime(2026, 11, 1, 2, tzinfo=UTC),
                 "model": "deepseek-v3-2", "project": "support", "ingest_id": 2})
    return rows


def make_rejects() -> list[tuple]:
    """(ingest_id, source_file, line, format, reason, raw): which month each belongs to is
    in the comment."""
    october = json.dumps({"timestamp": "2026-10-20T10:00:00Z", "project": EVIL,
                          "response": {"usage": {"prompt_tokens": -3}}})
    september_stream = ('data: {"id": "chatcmpl-1", "object": "chat.completion.chunk", '
                        '"created": 1789000000, "choices": []}\n\ndata: [DONE]')
    return [
        (1, "logs/a.jsonl", 10, "envelope", "prompt_tokens is -3", october),        # Oct (time)
        (1, "logs/s.sse", 4, "chat.completion.chunk", "stream ended before its usage chunk",
         september_stream),                                                           # Sep (time)
        (1, "logs/a.jsonl", 11, None, "not JSON", "{oops " + SCRIPT_BREAK),             # ingest 1
        (9, "logs/b.jsonl", 3, None, "not JSON", "garbage"),                            # neither
    ]


def build_store(path: Path, rows: list[dict] | None = None, rejects: bool = True) -> Path:
    """Write `rows` (default make_rows()) and the rejects into a new store at `path`."""
    rows = make_rows() if rows is None else rows
    con = open_store(path)
    placeholders = ", ".join("?" for _ in COLUMNS)
    names = ", ".join(f'"{c}"' for c in COLUMNS)
    con.executemany(f"INSERT INTO usage ({names}) VALUES ({placeholders})",
                    [[row[c] for c in COLUMNS] for row in rows])
    if rejects:
        con.executemany(
            "INSERT INTO rejects (ingest_id, source_file, line, format, reason, raw, rejected_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [[*r, datetime(2026, 11, 2, tzinfo=UTC)] for r in make_rejects()])
    con.close()
    return path


def expected_cost(rows: list[dict], book: PriceBook, since: datetime, until: datetime) -> dict:
    """Independent pricing, request by request, with costkit.pricing.book.price: the priced total,
    per-component totals, priced and unpriced request counts."""
    total = Decimal(0)
    components = dict.fromkeys(("input", "cached_input", "cache_write", "output",
                                "reasoning", "web_search"), Decimal(0))
    priced = unpriced = 0
    for row in rows:
        if not since <= row["ts"] < until:
            continue
        if row["model"] not in book.models():
            unpriced += 1
            continue
        card = book.card_for(row["model"], at=row["ts"])
        cost = price(Usage(row["input_tokens"], row["cached_input_tokens"],
                           row["cache_write_tokens"], row["output_tokens"],
                           row["reasoning_tokens"], row["search_calls"]), card)
        total += cost.total
        for name in components:
            components[name] += getattr(cost, name)
        priced += 1
    return {"total": total, "components": components, "priced": priced, "unpriced": unpriced}
