"""Time the gateway-ledger audit against parsing the same file, in one run.

Generates N usage events (JSONL, deterministic, debits rounded to 8 places, every fifth
discounted, 1 in 10,000 overcharged) into a scratch file, then times on that file:
  baseline  json.loads of every line with Decimal numbers (the least any exact reader does)
  read      costkit.audit.ledger.read_ledger (the ledger reader's SQL, the one the
            ingest stages with, into LedgerEvent records)
  audit     costkit.audit.ledger.audit_ledger (read + price every event + findings)
and prints events/s for each and the audit's share of the baseline rate.

    python bench/audit.py --n 200000
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from figures import figure

from costkit.audit.ledger import audit_ledger, read_ledger
from costkit.pricing.book import load_price_book

START = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp())


def generate(path: Path, n: int) -> int:
    planted = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            prompt = 500 + (i * 7919) % 30000
            cached = prompt // 2 if i % 3 == 0 else 0
            output = 50 + (i * 104729) % 4000
            searches = 1 if i % 7 == 0 else 0
            exact = (Decimal(prompt) * Decimal("0.57") + Decimal(output) * Decimal("1.71")) \
                / 1_000_000 + searches * Decimal("0.015")
            amount = exact.quantize(Decimal("1E-8"), rounding=ROUND_HALF_UP)
            event = {"id": f"req_{i:09d}", "object": "usage_event", "model": "deepseek-v3-2",
                     "created": START + i % 2_600_000, "status": "success", "status_code": 200,
                     "tokens": {"input": prompt, "output": output, "cached": cached,
                                "total": prompt + output},
                     "metadata": {"tool_usage": {"web_search": searches}} if searches else {}}
            if i % 5 == 4:
                discount = (amount / 10).quantize(Decimal("1E-8"), rounding=ROUND_HALF_UP)
                event["metadata"].update(list_cost=str(amount), billed_cost=str(amount - discount),
                                         discount_amount=str(discount))
                amount -= discount
            if i % 10_000 == 1:
                amount += Decimal("0.01")
                planted += 1
            event["cost"] = {"amount": str(amount), "currency": "USD"}
            out.write(json.dumps(event, separators=(",", ":")) + "\n")
    return planted


def timed(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def baseline(path: Path) -> int:
    count = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            json.loads(line, parse_float=Decimal)
            count += 1
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="events to generate")
    args = parser.parse_args()
    book = load_price_book()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.jsonl"
        planted = generate(path, args.n)
        size = path.stat().st_size / 1e6
        t_base, _ = timed(lambda: baseline(path))
        t_read, events = timed(lambda: read_ledger(path))
        t_audit, result = timed(lambda: audit_ledger(path, book))
    found = len(result.findings)
    print(f"{args.n:,} events, {size:.1f} MB; planted overcharges {planted}, found {found}")
    for name, seconds in (("baseline json.loads", t_base), ("read_ledger", t_read),
                          ("audit_ledger", t_audit)):
        print(f"  {name:20s} {seconds:7.2f} s  {args.n / seconds:>10,.0f} events/s")
    print(f"  audit rate = {t_base / t_audit:.0%} of the baseline parse rate")
    print(figure(f"audit --ledger {args.n:,} events", args.n / t_audit, args.n / t_base,
                 "json.loads of every line", "events/s", "x baseline rate"))
    assert found == planted and len(events.events) == args.n and not events.unread


if __name__ == "__main__":
    main()
