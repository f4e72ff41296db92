"""End to end: `costkit ingest` the fixture logs of every issue-5 format, then `costkit report`.

The golden is checked against an independent sum: every stored request priced on its own
with `pricing.price` and the card in effect at its time.
"""

from __future__ import annotations

import json
from decimal import Decimal

from conftest import FIXTURES
from goldens import check, produces

from costkit.core.errors import CostkitError
from costkit.core.usage import Usage
from costkit.pricing.book import load_price_book
from costkit.pricing.cost import price
from costkit.store.connection import open_store

# The formats of issue 5 (other sources have their own fixtures and tests).
FORMAT_DIRS = ("chat", "stream", "responses", "messages", "envelope", "bad")


def priced_one_by_one() -> dict[str, Decimal | None]:
    """Per model (the card's model a logged name resolves to, as the report groups it): the
    sum of each stored request's cost, or None if any is unpriced."""
    book = load_price_book([])
    con = open_store(read_only=True)
    rows = con.execute(
        "SELECT model, ts, input_tokens, cached_input_tokens, cache_write_tokens, "
        "output_tokens, coalesce(reasoning_tokens, 0), coalesce(search_calls, 0) FROM usage"
    ).fetchall()
    con.close()
    totals: dict[str, Decimal | None] = {}
    for model, ts, *counts in rows:
        try:
            card = book.card_for(model, ts)
            cost = price(Usage(*counts), card).total
            model = card.model
        except CostkitError:
            cost = None
        before = totals.get(model, Decimal(0))
        totals[model] = None if before is None or cost is None else before + cost
    return totals


@produces("report_e2e_fixture_logs.json", "report_e2e_fixture_logs.txt")
def ingest_fixture_logs_then_report(cli) -> dict:
    paths = [str(FIXTURES / "logs" / name) for name in FORMAT_DIRS]
    ingest = cli("ingest", *paths, "--format", "json")
    return {
        "ingest": ingest,
        "report_e2e_fixture_logs.json": cli("report", "--by", "month", "--by", "model",
                                            "--by", "endpoint", "--format", "json"),
        "report_e2e_fixture_logs.txt": cli("report", "--by", "month", "--by", "model",
                                           "--tz", "Europe/Berlin"),
    }


def test_ingest_fixture_logs_then_report(cli):
    runs = ingest_fixture_logs_then_report(cli)
    ingest = runs["ingest"]
    assert ingest.exit_code == 0, ingest.stderr
    summary = json.loads(ingest.stdout)
    assert summary["inserted"] > 0 and summary["rejected"] > 0

    result = runs["report_e2e_fixture_logs.json"]
    assert result.exit_code == 0
    check("report_e2e_fixture_logs.json", result.stdout)
    rows = json.loads(result.stdout)
    assert sum(r["requests"] for r in rows) == summary["inserted"]
    by_model: dict[str, Decimal | None] = {}
    for row in rows:
        cost = None if row["total_cost"] is None else Decimal(row["total_cost"])
        before = by_model.get(row["model"], Decimal(0))
        by_model[row["model"]] = None if before is None or cost is None else before + cost
    assert by_model == priced_one_by_one()
    assert by_model["deepseek-v3-2"] is not None
    # Unpriced models keep their tokens and warn; none is counted as $0. (Since the catalog,
    # issue 16, every model of these fixtures is priced; test_ingest covers unpriced ones.)
    unpriced = [m for m, cost in by_model.items() if cost is None]
    assert all(f"{m} (" in result.stderr for m in unpriced)
    assert set(by_model) == {"deepseek-v3-2", "anthropic/claude-sonnet-4-5", "openai/gpt-4.1",
                             "openai/gpt-4o", "openai/o3-mini", "openai/o4-mini"}

    # the envelope whose request enabled search logged no count: unknown, and said so
    assert sum(r["search_unreported"] for r in rows) == 1
    table = runs["report_e2e_fixture_logs.txt"]
    assert table.exit_code == 0
    assert table.stdout.endswith("search not reported: 1 request enabled web search but logged "
                                 "no search count; their search cost is not in these totals\n")
    check("report_e2e_fixture_logs.txt", table.stdout)
