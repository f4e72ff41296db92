"""A generated usage store for the Parquet and engine tests, and the breakdowns they compare.

Deterministic (arithmetic on the row number, no random seed): N requests over 2026 with odd
token counts (costs with all 12 decimal places), unreported reasoning and search counts
(NULL), tags, four projects, an unpriced model; plus hand-placed requests on both sides of
month boundaries in the zones the tests use.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from costkit.store.connection import open_store

# Requests placed by hand: (id, UTC instant, output tokens), worked out per zone below.
BOUNDARY = [
    # 2026-01-31 23:30 UTC: 2026-02-01 08:30 in Tokyo (+09:00), January in UTC and New York.
    ("edge-tokyo", datetime(2026, 1, 31, 23, 30, tzinfo=UTC), 1_000_000),
    # 2026-03-01 03:00 UTC: 2026-02-28 22:00 in New York (EST, -05:00), March in UTC.
    ("edge-new-york", datetime(2026, 3, 1, 3, 0, tzinfo=UTC), 2_000_000),
]
# by month, per zone: which month each hand-placed request falls in
BOUNDARY_MONTHS = {
    "UTC": {"edge-tokyo": "2026-01", "edge-new-york": "2026-03"},
    "Asia/Tokyo": {"edge-tokyo": "2026-02", "edge-new-york": "2026-03"},
    "America/New_York": {"edge-tokyo": "2026-01", "edge-new-york": "2026-02"},
}
OUTPUT_RATE = Decimal("1.71")  # USD per 1M output tokens (the built-in deepseek-v3-2 card)

# The breakdowns compared on every engine: (by, tz, since, until).
CASES = [
    (["month"], "UTC", None, None),
    (["month"], "Asia/Tokyo", None, None),
    (["month", "model"], "America/New_York", None, None),
    (["week", "tag:team"], "Asia/Kolkata", None, None),
    (["day", "project"], "Europe/Berlin", "2026-03-01", "2026-04-15"),
    (["month", "api_key", "user", "endpoint"], "UTC", "2026-02-01", None),
    ([], "America/New_York", None, "2026-06-01"),
]


def make_store(path: Path, n: int = 3000):
    """A store at `path` holding the generated requests and BOUNDARY; returns it open."""
    con = open_store(path)
    con.execute(f"""
        INSERT INTO usage (request_id, ts, provider, endpoint, model, input_tokens,
                           cached_input_tokens, cache_write_tokens, output_tokens,
                           reasoning_tokens, search_calls, project, api_key_id, "user", tags,
                           billed_cost, source_format, source_file, source_line)
        SELECT 'req-' || i,
               TIMESTAMPTZ '2026-01-01 00:00:00+00' + to_seconds((i * 10513) % 31536000),
               'deepseek',
               CASE i % 3 WHEN 0 THEN 'chat.completions' WHEN 1 THEN 'responses'
                          ELSE 'messages' END,
               CASE WHEN i % 97 = 0 THEN 'mystery-model' ELSE 'deepseek-v3-2' END,
               501 + (i * 31) % 8000,
               ((501 + (i * 31) % 8000) * (i % 5)) // 10,
               0,
               53 + (i * 17) % 2000,
               CASE WHEN i % 4 = 0 THEN NULL ELSE (i * 13) % 3001 END,
               CASE WHEN i % 50 = 0 THEN 1 WHEN i % 61 = 0 THEN NULL ELSE 0 END,
               'project-' || (i % 4),
               'key-' || (i % 5),
               'user-' || (i % 7),
               CASE WHEN i % 3 = 0 THEN NULL
                    WHEN i % 2 = 0 THEN '{{"team": "growth"}}' ELSE '{{"team": "search"}}' END,
               CASE WHEN i % 11 = 0 THEN CAST(i AS DECIMAL(38,12)) / 1000000 END,
               'generated', 'gen.jsonl', i + 1
        FROM range({n}) t(i)
    """)
    for request_id, ts, output in BOUNDARY:
        con.execute(
            "INSERT INTO usage (request_id, ts, model, input_tokens, output_tokens, "
            "source_format) VALUES (?, ?, 'deepseek-v3-2', 0, ?, 'hand')",
            [request_id, ts, output])
    return con
