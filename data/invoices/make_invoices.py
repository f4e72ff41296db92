"""Generate the sample invoice, FOCUS export and gateway ledger in data/invoices/.

They bill October 2026 for the sample usage in data/logs/ as costkit reads it: the logs are
ingested into a scratch store and summed by `costkit.spend.breakdown.spend`, so the documents agree
with the store except where a discrepancy is planted on purpose (listed in README.md):

- `invoice-2026-10.csv`: the gateway's line-item invoice (reasoning billed inside output,
  cached input inside input). Planted: web search calls billed 4% over the logged count,
  and one line's amount a cent off its quantity x unit price.
- `focus-2026-10.csv`: the same month as a FOCUS 1.2 export with daily rows and a sales-tax
  row. Clean.
- `ledger-2026-10.jsonl.gz`: the gateway's per-request debits for the docs-qa project in October
  (`GET /v1/account/usage` events, money rounded to 8 places, every tenth event under a 10%
  account discount, one failed request debited nothing). Planted: one request debited twice
  and one debited $0.01 over its tokens x the card.

Run: python data/invoices/make_invoices.py   (deterministic; rewrites the three files)
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from costkit.ingest.run import ingest
from costkit.pricing.book import load_price_book
from costkit.spend.breakdown import spend
from costkit.store.connection import open_store

HERE = Path(__file__).resolve().parent
LOGS = HERE.parent / "logs"
MODEL = "deepseek-v3-2"
START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
MILLION = Decimal(1_000_000)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _eight(value: Decimal) -> Decimal:
    return value.quantize(Decimal("1E-8"), rounding=ROUND_HALF_UP)


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text == "-0" else text


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def usage_by_day() -> dict[date, dict]:
    """October's usage per UTC day, as costkit's store holds it after ingesting data/logs."""
    book = load_price_book()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sample.duckdb"
        for project in sorted(p for p in LOGS.iterdir() if p.is_dir()):
            ingest([project], db=db, prices=book, project=project.name)
        con = open_store(db, read_only=True)
        try:
            frame = spend(con, by=["day", "model"], since=START, until=END, book=book)
        finally:
            con.close()
    return {date.fromisoformat(row["day"]): row for row in frame.iter_rows(named=True)
            if row["model"] == MODEL}


def invoice(days: dict[date, dict], rates) -> str:
    total = {k: sum(int(d[k] or 0) for d in days.values())
             for k in ("input_tokens", "output_tokens", "reasoning_tokens", "search_calls")}
    lines = [
        ("input_tokens", Decimal(total["input_tokens"]) / MILLION, "1M tokens", rates.input),
        ("output_tokens", Decimal(total["output_tokens"] + total["reasoning_tokens"]) / MILLION,
         "1M tokens", rates.output),
        # planted: 4% more searches than were logged
        ("web_search_calls", Decimal(total["search_calls"] * 104 // 100), "call",
         rates.web_search),
    ]
    rows = [["invoice_id", "period_start", "period_end", "model", "charge", "quantity", "unit",
             "unit_price", "amount", "currency"]]
    subtotal = Decimal(0)
    for i, (charge, quantity, unit, price) in enumerate(lines):
        amount = _cents(quantity * price) + (Decimal("0.01") if i == 1 else 0)  # planted
        subtotal += amount
        rows.append(["EL-2026-10-0042", "2026-10-01", "2026-10-31", MODEL, charge,
                     _plain(quantity), unit, _plain(price), str(amount), "USD"])
    rows.append(["EL-2026-10-0042", "2026-10-01", "2026-10-31", "", "tax", "", "", "",
                 str(_cents(subtotal * Decimal("0.09"))), "USD"])
    return _csv(rows)


def focus(days: dict[date, dict], rates) -> str:
    rows = [["InvoiceId", "BillingAccountId", "BillingAccountName", "BillingCurrency",
             "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
             "ChargeCategory", "ChargeClass", "ChargeDescription", "Provider", "Publisher",
             "ServiceName", "ServiceCategory", "SkuId", "PricingUnit", "PricingQuantity",
             "ListUnitPrice", "ListCost", "BilledCost", "EffectiveCost", "ConsumedQuantity",
             "ConsumedUnit"]]
    billed = Decimal(0)
    for day in sorted(days):
        d = days[day]
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        end = start + timedelta(days=1)
        for sku, quantity, unit, size, price in (
            ("input-tokens", int(d["input_tokens"]), "1000 Tokens", 1000, rates.input),
            ("output-tokens", int(d["output_tokens"]) + int(d["reasoning_tokens"] or 0),
             "1000 Tokens", 1000, rates.output),
            ("web-search", int(d["search_calls"]), "Requests", 1, rates.web_search),
        ):
            if not quantity:
                continue
            per_unit = price * size / MILLION if unit != "Requests" else price
            pricing_quantity = Decimal(quantity) / size
            cost = pricing_quantity * per_unit
            billed += cost
            rows.append(["EL-2026-10-0042", "acct-7731", "Example Team", "USD",
                         "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z",
                         start.isoformat().replace("+00:00", "Z"),
                         end.isoformat().replace("+00:00", "Z"), "Usage", "",
                         f"DeepSeek V3.2 {sku.replace('-', ' ')}", "EmpirioLabs", "DeepSeek",
                         "LLM API", "AI and Machine Learning", f"{MODEL}-{sku}", unit,
                         _plain(pricing_quantity), _plain(per_unit), _plain(cost),
                         _plain(cost), _plain(cost), str(quantity),
                         "Requests" if unit == "Requests" else "Tokens"])
    tax = _cents(billed * Decimal("0.09"))
    rows.append(["EL-2026-10-0042", "acct-7731", "Example Team", "USD", "2026-10-01T00:00:00Z",
                 "2026-11-01T00:00:00Z", "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", "Tax",
                 "", "Sales tax", "EmpirioLabs", "EmpirioLabs", "LLM API",
                 "AI and Machine Learning", "", "", "", "", "", str(tax), str(tax), "", ""])
    return _csv(rows)


def ledger(rates) -> str:
    """docs-qa's October requests as the gateway's usage events, in time order."""
    records = []
    for path in sorted((LOGS / "docs-qa").glob("gateway-2026-1[01].jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for raw in handle:
                try:
                    env = json.loads(raw)
                except json.JSONDecodeError:
                    continue
                response = env.get("response") or {}
                usage = response.get("usage") or {}
                ts = datetime.fromtimestamp(response.get("created", 0), tz=UTC)
                if START <= ts < END and "prompt_tokens" in usage:
                    records.append((ts, response["id"], usage))
    records.sort()
    events = []
    for i, (ts, ident, usage) in enumerate(records):
        prompt, output = usage["prompt_tokens"], usage["completion_tokens"]
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        price = _eight((prompt * rates.input + output * rates.output) / MILLION)
        event = {"id": ident, "object": "usage_event", "source": "api", "model": MODEL,
                 "endpoint": "/v1/chat/completions", "status": "success", "status_code": 200,
                 "tokens": {"input": prompt, "output": output, "cached": cached,
                            "total": prompt + output},
                 "cost": {"amount": price, "currency": "USD"},
                 "created_at": ts.isoformat().replace("+00:00", "Z")}
        if i % 10 == 9:
            discount = _eight(price / 10)
            event["metadata"] = {"list_cost": price, "billed_cost": price - discount,
                                 "discount_amount": discount}
            event["cost"]["amount"] = price - discount
        if i == 400:  # planted: $0.01 over
            event["cost"]["amount"] += Decimal("0.01")
        events.append(event)
    failed = dict(events[100], id="chatcmpl-failed-0000000000000001", status="failed",
                  status_code=502, tokens={"input": 2400, "output": 0, "cached": 0,
                                           "total": 2400},
                  cost={"amount": Decimal(0), "currency": "USD"})
    failed.pop("metadata", None)
    events.insert(101, failed)
    events.insert(801, json.loads(json.dumps(events[800], default=str)))  # planted: twice
    events[801]["cost"]["amount"] = events[800]["cost"]["amount"]
    return "".join(json.dumps(e, separators=(",", ":"), default=float) + "\n" for e in events)


def main() -> None:
    rates = load_price_book().card_for(MODEL, START).rates
    days = usage_by_day()
    files = {"invoice-2026-10.csv": invoice(days, rates), "focus-2026-10.csv": focus(days, rates),
             "ledger-2026-10.jsonl.gz": ledger(rates)}
    for name, text in files.items():
        data = text.encode("utf-8")
        if name.endswith(".gz"):  # mtime 0: the same bytes on every run
            data = gzip.compress(data, mtime=0)
        (HERE / name).write_bytes(data)
        print(f"wrote {name} ({text.count(chr(10)):,} lines)")


if __name__ == "__main__":
    main()
