"""The public Python API: `import costkit` stays cheap, and `costkit.Store` does what the
commands do on a store, with every number here worked out by hand from the logs written in
the test and the seed's rates ($0.57 per 1M input tokens, cached or not; $1.71 per 1M output
and reasoning tokens)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from conftest import ROOT

import costkit
from costkit.core.errors import InputError, StoreError

HEAVY = ("duckdb", "polars", "tiktoken", "numpy", "pyarrow", "plotly", "typer")


def chat(request_id: str, at: str, prompt: int, completion: int, cached: int = 0,
         reasoning: int = 0, model: str = "deepseek-v3-2") -> str:
    """One chat completion as the gateway logs it (completion_tokens includes reasoning)."""
    created = int(datetime.fromisoformat(at).replace(tzinfo=UTC).timestamp())
    return json.dumps({
        "id": request_id, "object": "chat.completion", "created": created, "model": model,
        "choices": [],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                  "total_tokens": prompt + completion,
                  "prompt_tokens_details": {"cached_tokens": cached},
                  "completion_tokens_details": {"reasoning_tokens": reasoning}}})


@pytest.fixture
def log(tmp_path) -> Path:
    """Three requests and one bad line (line 4).

    September: 1,000 in, 200 out                  -> 1000 x 0.57 + 200 x 1.71 = $0.000912
    October:   2,000 in (500 cached), 300 out of which 100 reasoning; 3,000 in, 100 out
               -> input 5,000 x 0.57 = 2,850 and output 400 x 1.71 = 684 (per 1M): $0.003534
    """
    path = tmp_path / "logs" / "gateway.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join([
        chat("chatcmpl-a", "2026-09-10T12:00:00", 1000, 200),
        chat("chatcmpl-b", "2026-10-05T12:00:00", 2000, 300, cached=500, reasoning=100),
        chat("chatcmpl-c", "2026-10-20T12:00:00", 3000, 100),
        "this line is not JSON",
    ]) + "\n")
    return path


@pytest.fixture
def store(tmp_path, log) -> costkit.Store:
    store = costkit.Store(tmp_path / "usage.duckdb")
    store.ingest(log)
    return store


# --- import costkit ----------------------------------------------------------------------------

def test_import_costkit_loads_no_heavy_dependency():
    code = ("import sys, costkit; "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_the_public_names_are_exactly_the_api():
    assert sorted(costkit.__all__) == ["PriceBook", "Store", "__version__", "count_tokens",
                                       "estimate"]
    from costkit.api import Store
    from costkit.pricing.book import PriceBook

    assert costkit.Store is Store and costkit.PriceBook is PriceBook
    assert {"Store", "PriceBook"} <= set(dir(costkit))
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        costkit.Nothing  # noqa: B018


def test_count_tokens_and_estimate_give_the_seed_figures():
    # The seed page's example: 12 prompt tokens, $0.00000684 (12 x $0.57 / 1M).
    assert costkit.count_tokens("hello world") == 2
    quote = costkit.estimate("Write a haiku about the ocean.", history=False)
    assert (quote.input_tokens, quote.input_cost) == (12, Decimal("0.00000684"))


# --- reading never creates a store --------------------------------------------------------------

READERS = {
    "spend": lambda s, tmp: s.spend(by="month"),
    "rejects": lambda s, tmp: s.rejects(),
    "forecast": lambda s, tmp: s.forecast(as_of="2026-10-15"),
    "audit": lambda s, tmp: s.audit(ROOT / "data" / "invoices" / "invoice-2026-10.csv"),
    "monthly_report": lambda s, tmp: s.monthly_report("2026-10", tmp / "out"),
}


@pytest.mark.parametrize("method", sorted(READERS))
def test_reading_a_missing_store_says_so_and_creates_nothing(tmp_path, method):
    path = tmp_path / "sub" / "usage.duckdb"
    with pytest.raises(StoreError, match=f"^no store at {re.escape(str(path))}"):
        READERS[method](costkit.Store(path), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("method", sorted(READERS))
def test_a_directory_is_no_store(tmp_path, method):
    with pytest.raises(StoreError, match="it is a directory"):
        READERS[method](costkit.Store(tmp_path), tmp_path)


def test_the_default_path_is_costkit_db_at_construction(tmp_path, monkeypatch, log):
    monkeypatch.setenv("COSTKIT_DB", str(tmp_path / "env.duckdb"))
    store = costkit.Store()
    monkeypatch.setenv("COSTKIT_DB", str(tmp_path / "other.duckdb"))
    store.ingest(log)
    assert store.path == tmp_path / "env.duckdb" and store.path.exists()
    assert not (tmp_path / "other.duckdb").exists()


# --- ingest, spend, rejects ----------------------------------------------------------------------

def test_ingest_creates_the_store_and_returns_the_summary(tmp_path, log):
    store = costkit.Store(tmp_path / "new" / "usage.duckdb")
    summary = store.ingest(log)
    assert (summary.read, summary.inserted, summary.duplicates, summary.rejected) == (4, 3, 0, 1)
    again = store.ingest([str(log.parent)])  # a list, a directory, a str: all paths
    assert (again.read, again.inserted, again.duplicates, again.rejected) == (4, 0, 3, 1)


def test_spend_is_a_polars_frame_with_decimal_money(store):
    frame = store.spend(by=["month", "model"])
    assert isinstance(frame, pl.DataFrame)
    assert isinstance(frame.schema["total_cost"], pl.Decimal)
    rows = frame.select("month", "model", "requests", "input_tokens", "cached_input_tokens",
                        "output_tokens", "reasoning_tokens", "total_cost").rows()
    assert rows == [
        ("2026-09", "deepseek-v3-2", 1, 1000, 0, 200, 0, Decimal("0.000912")),
        ("2026-10", "deepseek-v3-2", 2, 5000, 500, 300, 100, Decimal("0.003534")),
    ]
    assert all(type(v) is Decimal for v in frame["total_cost"].to_list())


def test_spend_takes_one_dimension_and_a_period(store):
    october = store.spend(by="model", since=date(2026, 10, 1), until=date(2026, 11, 1))
    assert october.select("model", "requests", "total_cost").rows() == [
        ("deepseek-v3-2", 2, Decimal("0.003534"))]
    late = store.spend(by="month", since=datetime(2026, 10, 10, tzinfo=UTC))
    assert late.select("month", "input_tokens").rows() == [("2026-10", 3000)]
    with pytest.raises(InputError, match="unknown --by value 'colour'"):
        store.spend(by="colour")


def test_rejects_name_file_line_and_reason(store, log):
    (reject,) = store.rejects()
    assert (Path(reject["source_file"]), reject["line"], reject["reason"]) == (log, 4,
                                                                               "not JSON")
    assert reject["raw"] == "this line is not JSON"
    assert store.rejects(limit=0) == []


def test_store_prices_with_the_cards_it_is_given(tmp_path):
    path = tmp_path / "lc.jsonl"
    # 1,000 in and 100 out of the example card's model (by its alias): $1.25 and $5.00 per 1M
    # -> 0.00125 + 0.0005 = $0.00175.
    path.write_text(chat("chatcmpl-lc", "2026-10-02T08:00:00", 1000, 100, model="example-lc"))
    plain = costkit.Store(tmp_path / "usage.duckdb")
    plain.ingest(path)
    with pytest.warns(UserWarning, match="unpriced"):
        assert plain.spend(by="model")["total_cost"].to_list() == [None]
    cards = costkit.Store(plain.path, prices=[ROOT / "data" / "prices" / "example-cards.toml"])
    assert isinstance(cards.book, costkit.PriceBook)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        priced = cards.spend(by="model")
    assert priced.select("model", "total_cost").rows() == [
        ("example-long-context", Decimal("0.00175"))]


# --- forecast, audit, monthly report -------------------------------------------------------------

def test_forecast_counts_the_days_before_as_of_exactly(tmp_path):
    # Ten days of one request: 1,000 in and 1,000 out = 570 + 1,710 per 1M = $0.00228 a day.
    path = tmp_path / "days.jsonl"
    path.write_text("\n".join(chat(f"chatcmpl-{d}", f"2026-10-{d:02d}T10:00:00", 1000, 1000)
                              for d in range(1, 11)) + "\n")
    store = costkit.Store(tmp_path / "usage.duckdb")
    store.ingest(path)
    run = store.forecast(as_of=date(2026, 10, 11))
    assert run.forecast.total.actual == Decimal("0.0228")
    assert run.forecast.total.projected_total > Decimal("0.0228")
    assert run.currency == "USD"


def test_forecast_budget_is_never_a_float(store):
    with pytest.raises(InputError, match="never a float"):
        store.forecast(as_of="2026-10-15", budget=0.5)


def test_forecast_budget_over_is_in_the_run(tmp_path):
    path = tmp_path / "days.jsonl"
    path.write_text("\n".join(chat(f"chatcmpl-{d}", f"2026-10-{d:02d}T10:00:00", 1000, 1000)
                              for d in range(1, 11)) + "\n")
    store = costkit.Store(tmp_path / "usage.duckdb")
    store.ingest(path)
    # $0.0228 is already spent before the 11th: a $0.01 budget is over, $100 is not.
    assert store.forecast(as_of="2026-10-11", budget=Decimal("0.01")).over_budget
    assert not store.forecast(as_of="2026-10-11", budget="100").over_budget


INVOICE = """\
invoice_id,period_start,period_end,model,charge,quantity,unit,unit_price,amount,currency
INV-1,2026-10-01,2026-10-31,deepseek-v3-2,input_tokens,{input},token,0.00000057,{amount},USD
INV-1,2026-10-01,2026-10-31,deepseek-v3-2,output_tokens,400,token,0.00000171,0.000684,USD
"""


def test_audit_checks_an_invoice_against_the_store(store, tmp_path):
    # October: 5,000 input tokens at $0.00000057 = $0.00285; output with reasoning 400 tokens.
    clean = tmp_path / "clean.csv"
    clean.write_text(INVOICE.format(input=5000, amount="0.00285"))
    result = store.audit(clean)
    assert result.findings == [] and result.summary["billed_total"] == Decimal("0.003534")
    # 7,000 billed is 2,000 over: beyond max(0.5%, 1,000 tokens).
    over = tmp_path / "over.csv"
    over.write_text(INVOICE.format(input=7000, amount="0.00399"))
    assert [f.kind for f in store.audit(over).findings] == ["quantity_mismatch"]


def test_monthly_report_writes_the_page_and_returns_its_path(store, tmp_path, monkeypatch):
    out = tmp_path / "pages"
    page = store.monthly_report("2026-10", out)
    assert page == out / "costkit-2026-10.html"
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "October 2026" in text
    # A date names its month; no month is the last full one at "now" (pinned here: the
    # suite may run at any COSTKIT_TEST_NOW).
    assert store.monthly_report(datetime(2026, 10, 31, 23, 0), out) == page
    monkeypatch.setenv("COSTKIT_NOW", "2026-11-15T12:00:00Z")
    assert store.monthly_report(out_dir=out) == page
