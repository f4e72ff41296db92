"""`costkit forecast` end to end: fixture logs ingested with `costkit ingest`, then forecast.

The fixture logs in tests/fixtures/forecast/ are chat.completion JSONL written by
`generate()` below (run this file to rewrite them; a test checks they are up to date):
- alpha.jsonl: project alpha, 2026-08-01..2026-10-20, three requests a weekday, one a
  weekend day, growing slowly;
- beta.jsonl: project beta, launched 2026-09-14 (a level shift in the total), two requests a
  day, plus one request a week of `mystery-model`, which has no price card.
Most tests forecast as of 2026-10-10, so the days from then on must not count.
"""

from __future__ import annotations

import json
import random
import tempfile
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import FIXTURES
from goldens import check, produces

from costkit.core.usage import Usage
from costkit.pricing.book import load_price_book
from costkit.pricing.cost import price

FORECAST_FIXTURES = FIXTURES / "forecast"
AS_OF = "2026-10-10"
CARDS = Path(__file__).resolve().parents[1] / "data" / "prices" / "example-cards.toml"


# --- the fixture logs -------------------------------------------------------------------------

def _line(rng: random.Random, rid: str, when: datetime, model: str, scale: float) -> dict:
    prompt = int(rng.randint(40_000, 110_000) * scale)
    cached = prompt // 4 if rng.random() < 0.6 else 0
    reasoning = rng.randint(200, 2_500)
    answer = rng.randint(100, 900)
    return {
        "id": rid, "object": "chat.completion", "created": int(when.timestamp()),
        "model": model,
        "usage": {"prompt_tokens": prompt, "completion_tokens": answer + reasoning,
                  "total_tokens": prompt + answer + reasoning,
                  "prompt_tokens_details": {"cached_tokens": cached},
                  "completion_tokens_details": {"reasoning_tokens": reasoning}},
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                     "finish_reason": "stop"}],
    }


def generate(until: date | None = None) -> dict[str, list[dict]]:
    """The fixture records per file name; `until` (exclusive) cuts them short."""
    files: dict[str, list[dict]] = {"alpha.jsonl": [], "beta.jsonl": []}
    rng = random.Random(20261010)
    day = date(2026, 8, 1)
    while day <= date(2026, 10, 20):
        if until is not None and day >= until:
            break
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        growth = 1 + (day - date(2026, 8, 1)).days / 300
        for i in range(3 if day.weekday() < 5 else 1):
            when = start + timedelta(hours=9 + 3 * i, minutes=rng.randint(0, 59))
            files["alpha.jsonl"].append(
                _line(rng, f"chatcmpl-a{day:%m%d}{i}", when, "deepseek-v3-2", growth))
        if day >= date(2026, 9, 14):
            for i in range(2):
                when = start + timedelta(hours=10 + 5 * i, minutes=rng.randint(0, 59))
                files["beta.jsonl"].append(
                    _line(rng, f"chatcmpl-b{day:%m%d}{i}", when, "deepseek-v3-2", 1.0))
            if day.weekday() == 2:
                files["beta.jsonl"].append(_line(rng, f"chatcmpl-m{day:%m%d}",
                                                 start + timedelta(hours=20), "mystery-model", 1))
        day += timedelta(days=1)
    return files


def write_fixtures(directory: Path, until: date | None = None) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, records in generate(until).items():
        path = directory / name
        path.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records),
                        encoding="utf-8")
        paths.append(path)
    return paths


def test_fixture_files_are_what_the_generator_writes(tmp_path):
    for path in write_fixtures(tmp_path):
        assert path.read_bytes() == (FORECAST_FIXTURES / path.name).read_bytes(), \
            "stale fixture: run python tests/test_forecast_cli.py"


# --- stores -----------------------------------------------------------------------------------

def ingest(cli, db: Path, directory: Path) -> None:
    for project in ("alpha", "beta"):
        result = cli("ingest", str(directory / f"{project}.jsonl"), "--project", project,
                     "--db", str(db))
        assert result.exit_code == 0, result.stderr


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One store with the full fixture logs, shared read-only by the tests of this module."""
    from typer.testing import CliRunner

    from costkit.cli.app import app

    runner = CliRunner()
    db = tmp_path_factory.mktemp("forecast") / "store.duckdb"

    def cli(*args):
        return runner.invoke(app, list(args), catch_exceptions=False)

    ingest(cli, db, FORECAST_FIXTURES)
    return db


@pytest.fixture
def forecast(cli, store):
    def run(*args: str):
        return cli("forecast", "--db", str(store), *args)
    return run


def as_json(result) -> dict:
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


def fixture_spend(month_start: date, as_of: date, book, model: str | None = None) -> Decimal:
    """The exact spend of the priced fixture requests in [month_start, as_of), in Python."""
    total = Decimal(0)
    for records in generate().values():
        for r in records:
            day = datetime.fromtimestamp(r["created"], UTC).date()
            if not month_start <= day < as_of:
                continue
            name = model or r["model"]
            try:
                card = book.card_for(name, datetime.fromtimestamp(r["created"], UTC))
            except Exception:      # unpriced: left out of the forecast
                continue
            u = r["usage"]
            reasoning = u["completion_tokens_details"]["reasoning_tokens"]
            usage = Usage(input_tokens=u["prompt_tokens"],
                          cached_input_tokens=u["prompt_tokens_details"]["cached_tokens"],
                          output_tokens=u["completion_tokens"] - reasoning,
                          reasoning_tokens=reasoning)
            total += price(usage, card).total
    return total


# --- the forecast -----------------------------------------------------------------------------

@produces("forecast_eom.txt", "forecast_eom.json", "forecast_eom_by_project.txt")
def forecast_goldens(cli) -> dict:
    """The month-end forecast of the fixture store, as a table, as JSON, and by project."""
    db = Path(tempfile.mkdtemp()) / "store.duckdb"
    ingest(cli, db, FORECAST_FIXTURES)
    return {
        "forecast_eom.txt": cli("forecast", "--db", str(db), "--as-of", AS_OF),
        "forecast_eom.json": cli("forecast", "--db", str(db), "--as-of", AS_OF,
                                 "--format", "json"),
        "forecast_eom_by_project.txt": cli("forecast", "--db", str(db), "--as-of", AS_OF,
                                           "--by", "project"),
    }


def test_month_end_goldens(cli):
    results = forecast_goldens(cli)
    for name, result in results.items():
        assert result.exit_code == 0, result.stderr
        check(name, result.stdout)
    assert results["forecast_eom.txt"].stderr == (
        "costkit: warning: left out of the forecast, unpriced: 4 request(s) of mystery-model "
        "(no price card); add a price card with --prices\n")


def test_json_carries_exact_actuals_decimal_strings_and_the_model(forecast):
    data = as_json(forecast("--as-of", AS_OF, "--format", "json"))
    book = load_price_book()
    assert Decimal(data["actual_to_date"]) == fixture_spend(date(2026, 10, 1),
                                                            date(2026, 10, 10), book)
    for key in ("projected_total", "low_95", "high_95", "low_80", "high_80"):
        assert isinstance(data[key], str)
    t = {k: Decimal(data[k]) for k in ("low_95", "low_80", "projected_total", "high_80",
                                       "high_95")}
    assert t["low_95"] <= t["low_80"] <= t["projected_total"] <= t["high_80"] <= t["high_95"]
    assert data["period"]["label"] == "2026-10" and data["tz"] == "UTC"
    assert data["model"]["history_from"] == "2026-08-01"
    assert data["model"]["history_days"] == 70
    # beta's launch on 2026-09-14 is a level shift of the total.
    assert "level shift" in data["model"]["description"]
    assert data["model"]["fitted_from"] >= "2026-09-12"
    days = [d["date"] for d in data["daily"]]
    assert days[0] == "2026-10-01" and days[-1] == "2026-10-31" and len(days) == 31
    assert {c for c, v in data["components"].items() if Decimal(v["projected"])} == {
        "input", "cached_input", "output", "reasoning"}


def test_only_days_before_as_of_count(cli, forecast, tmp_path):
    cut = tmp_path / "cut"
    write_fixtures(cut, until=date(2026, 10, 10))
    db = tmp_path / "cut.duckdb"
    ingest(cli, db, cut)
    short = cli("forecast", "--db", str(db), "--as-of", AS_OF, "--format", "json")
    full = forecast("--as-of", AS_OF, "--format", "json")
    assert short.exit_code == full.exit_code == 0
    assert short.stdout == full.stdout


def test_too_little_history_is_refused(forecast):
    result = forecast("--as-of", "2026-08-03")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "costkit: error: too little history to forecast: 2 day(s) with priced spend before "
        "2026-08-03; need at least 3\n")


def test_an_empty_store_is_refused(cli, tmp_path):
    from costkit.store.connection import open_store

    open_store(tmp_path / "empty.duckdb").close()
    result = cli("forecast", "--db", str(tmp_path / "empty.duckdb"), "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "0 day(s) with priced spend" in result.stderr
    missing = cli("forecast", "--db", str(tmp_path / "none.duckdb"), "--as-of", AS_OF)
    assert missing.exit_code == 2
    assert missing.stderr.startswith(f"costkit: error: no store at {tmp_path / 'none.duckdb'}; ")
    assert not (tmp_path / "none.duckdb").exists()


def test_budget_under_exits_0_and_over_exits_3(forecast):
    under = forecast("--as-of", AS_OF, "--budget", "1000")
    assert under.exit_code == 0, under.stderr
    assert "Budget $1,000.00" in under.stdout and "not projected" in under.stdout
    over = forecast("--as-of", AS_OF, "--budget", "$2")
    assert over.exit_code == 3
    assert "OVER" in over.stdout
    last = over.stderr.strip().splitlines()[-1]
    assert last.startswith("costkit: error: projected $") and "over the budget $2.00" in last
    data = as_json(forecast("--as-of", AS_OF, "--budget", "2", "--format", "json"))
    b = data["budget"][0]
    assert b["over"] is True and b["probability_over"] == 1.0
    assert Decimal(data["actual_to_date"]) > 2
    assert b["crossing_date"] < AS_OF                      # already spent before the 10th


def test_budget_crossing_date_in_the_future(forecast):
    data = as_json(forecast("--as-of", AS_OF, "--format", "json"))
    cumulative = {d["date"]: Decimal(d["cumulative"]) for d in data["daily"]}
    budget = (Decimal(data["actual_to_date"]) + Decimal(data["projected_total"])) / 2
    result = forecast("--as-of", AS_OF, "--budget", str(budget.quantize(Decimal("0.01"))),
                      "--format", "json")
    b = as_json(result)["budget"][0]
    assert result.exit_code == 3
    crossing = b["crossing_date"]
    assert crossing > AS_OF
    before = (date.fromisoformat(crossing) - timedelta(days=1)).isoformat()
    assert cumulative[crossing] >= Decimal(b["budget"]) > cumulative[before]


def test_three_months_by_project(forecast):
    result = forecast("--as-of", AS_OF, "--horizon", "3m", "--by", "project",
                      "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = as_json(result)
    assert [m["month"] for m in data["months"]] == ["2026-10", "2026-11", "2026-12"]
    assert data["by"] == ["project"]
    groups = {g["group"]["project"]: g["forecast"] for g in data["groups"]}
    assert set(groups) == {"alpha", "beta"}
    # beta has 26 days of history: a level, no growth.
    assert groups["beta"]["model"]["history_days"] == 26
    total_actual = sum(Decimal(g["actual_to_date"]) for g in groups.values())
    assert total_actual == Decimal(data["actual_to_date"])
    table = forecast("--as-of", AS_OF, "--horizon", "3m", "--by", "project")
    assert "By project" in table.stdout and "alpha" in table.stdout
    assert "total" in table.stdout


def test_a_group_with_too_little_history_says_so_and_forecasts_its_mean_day(forecast):
    data = as_json(forecast("--as-of", "2026-09-16", "--by", "project", "--format", "json"))
    groups = {g["group"]["project"]: g for g in data["groups"]}
    assert "problem" not in groups["alpha"]
    assert "too little history" in groups["beta"]["problem"]
    # Its mean day takes part in the reconciliation, so the groups still add up.
    assert groups["beta"]["forecast"]["model"]["name"] == "mean day"
    assert sum(Decimal(g["forecast"]["projected_total"]) for g in groups.values()) \
        == Decimal(data["projected_total"])


def test_growth_scales_the_future_only(forecast):
    base = as_json(forecast("--as-of", AS_OF, "--format", "json"))
    grown = as_json(forecast("--as-of", AS_OF, "--what-if", "growth=20%", "--format", "json"))
    assert grown["actual_to_date"] == base["actual_to_date"]
    assert Decimal(grown["expected_rest"]) == pytest.approx(
        Decimal(base["expected_rest"]) * Decimal("1.2"), abs=Decimal("0.01"))
    assert grown["what_if"] == ["growth +20% on every future day"]


def test_a_multiplier_is_the_same_change_as_its_percentage(forecast):
    # x1.2 is +20%: the same scenario, so the very same output.
    percent = forecast("--as-of", AS_OF, "--what-if", "growth=20%", "--format", "json")
    times = forecast("--as-of", AS_OF, "--what-if", "growth=x1.2", "--format", "json")
    assert percent.exit_code == times.exit_code == 0
    assert times.stdout == percent.stdout
    down = as_json(forecast("--as-of", AS_OF, "--what-if", "growth=-15%", "--format", "json"))
    assert down["what_if"] == ["growth -15% on every future day"]


def test_reasoning_share_change(forecast):
    base = as_json(forecast("--as-of", AS_OF, "--format", "json"))
    more = as_json(forecast("--as-of", AS_OF, "--what-if", "reasoning=+50%", "--format", "json"))
    reasoning = Decimal(base["components"]["reasoning"]["forecast"])
    assert Decimal(more["expected_rest"]) - Decimal(base["expected_rest"]) == pytest.approx(
        reasoning / 2, abs=Decimal("0.01"))


def test_prices_what_if_reprices_the_history_exactly(forecast, tmp_path):
    cards = tmp_path / "cheaper.toml"
    cards.write_text(
        '[[card]]\nmodel = "deepseek-v3-2"\n[card.rates]\ninput = "0.28"\n'
        'cached_input = "0.028"\noutput = "0.42"\n', encoding="utf-8")
    data = as_json(forecast("--as-of", AS_OF, "--what-if", f"prices={cards}",
                            "--format", "json"))
    book = load_price_book([cards])
    assert Decimal(data["actual_to_date"]) == fixture_spend(date(2026, 10, 1),
                                                            date(2026, 10, 10), book)
    base = as_json(forecast("--as-of", AS_OF, "--format", "json"))
    assert Decimal(data["projected_total"]) < Decimal(base["projected_total"]) / 2
    assert data["what_if"] == [f"history repriced with the cards in {cards}"]


def test_model_what_if_prices_every_request_as_that_model(forecast):
    data = as_json(forecast("--as-of", AS_OF, "--prices", str(CARDS),
                            "--what-if", "model=example-long-context", "--format", "json"))
    book = load_price_book([CARDS])
    # Every request, mystery-model's too, is priced at example-long-context's rates.
    assert Decimal(data["actual_to_date"]) == fixture_spend(
        date(2026, 10, 1), date(2026, 10, 10), book, model="example-long-context")


def test_unknown_what_if_model_lists_the_known_ones(forecast):
    result = forecast("--as-of", AS_OF, "--what-if", "model=gpt-nothing")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("costkit: error: unknown model 'gpt-nothing'")
    assert "deepseek-v3-2" in result.stderr


def test_workload_adds_its_estimated_daily_cost(forecast, tmp_path):
    bodies = tmp_path / "next-batch.jsonl"
    bodies.write_text("".join(
        json.dumps({"model": "deepseek-v3-2", "max_tokens": 300, "enable_thinking": False,
                    "messages": [{"role": "user", "content": f"Summarise ticket {i}."}]}) + "\n"
        for i in range(4)), encoding="utf-8")
    base = as_json(forecast("--as-of", AS_OF, "--format", "json"))
    result = forecast("--as-of", AS_OF, "--workload", str(bodies), "--per-day", "20000",
                      "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = as_json(result)
    w = data["workload"]
    assert w["requests_estimated"] == 4 and w["per_day"] == 20000
    per_day = Decimal(w["per_day_cost"])
    assert per_day == Decimal(w["expected_per_request"]) * 20000
    assert Decimal(data["expected_rest"]) - Decimal(base["expected_rest"]) == pytest.approx(
        per_day * 22, abs=Decimal("0.01"))
    table = forecast("--as-of", AS_OF, "--workload", str(bodies), "--per-day", "20000")
    assert "Workload: " in table.stdout and "20,000/day" in table.stdout


@pytest.mark.parametrize("args, message", [
    (["--what-if", "speed=2x"], "unknown key 'speed'"),
    (["--what-if", "growth"], "expected KEY=VALUE"),
    (["--what-if", "growth=lots"], "expected a percentage"),
    (["--what-if", "growth=20"], "growth=20: a bare number is ambiguous; write a change as "
                                 "growth=20% or growth=-15%, or a multiplier as growth=x1.2"),
    (["--what-if", "reasoning=0.5"], "reasoning=0.5: a bare number is ambiguous"),
    (["--what-if", "growth=1%", "--what-if", "growth=2%"], "given twice"),
    (["--horizon", "someday"], "--horizon 'someday'"),
    (["--as-of", "10/10/2026"], "--as-of '10/10/2026': expected a date"),
    (["--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    (["--budget", "lots"], "--budget 'lots'"),
    (["--budget", "-5"], "must be a positive amount"),
    (["--workload", "x.jsonl"], "--workload FILE and --per-day N go together"),
    (["--by", "day"], "forecasts are always per day"),
    (["--by", "colour"], "unknown --by value 'colour'"),
    (["--what-if", "prices=/no/such/cards.toml"], "no such price card file"),
    (["--stale-after", "2"], "--stale-after '2': expected a duration such as 2d or 36h; a bare "
                             "number is ambiguous, write 2d (days) or 2h (hours)"),
    (["--stale-after", "0d"], "--stale-after '0d': must be more than zero"),
    (["--stale-after", "soon"], "expected a duration such as 2d or 36h"),
])
def test_bad_options_are_one_line_errors(forecast, args, message):
    result = forecast("--as-of", AS_OF, *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("costkit: error: ")
    assert message in result.stderr


def test_days_follow_the_time_zone(forecast):
    utc = as_json(forecast("--as-of", AS_OF, "--format", "json"))
    tokyo = as_json(forecast("--as-of", AS_OF, "--tz", "Asia/Tokyo", "--format", "json"))
    assert tokyo["tz"] == "Asia/Tokyo"
    # 20:00 UTC requests fall on the next local day in Tokyo, so the month-to-date differs.
    assert tokyo["actual_to_date"] != utc["actual_to_date"]


# --- stale data: the newest usage is older than --stale-after ----------------------------------

# The fixture's newest request, read from the fixture files themselves (not the store).
NEWEST = max(datetime.fromtimestamp(r["created"], UTC)
             for records in generate().values() for r in records)
# Five days after it: 2026-10-25 09:00 - 2026-10-20 15:28 = 4 days 17 hours 32 minutes.
LATE = "2026-10-25T09:00:00Z"
STALE_WARNING = (
    "costkit: warning: data stale: the newest usage is from 2026-10-20 15:28 UTC, 4 days 17 "
    "hours before 2026-10-25 09:00 UTC (over --stale-after 2d); the days since count as no "
    "spend, so the forecast is too low; is ingestion running?")


def test_the_fixture_ends_where_the_stale_tests_say():
    assert NEWEST == datetime(2026, 10, 20, 15, 28, tzinfo=UTC)


def test_stale_data_warns_and_a_budget_exits_4_not_under(forecast, monkeypatch):
    monkeypatch.setenv("COSTKIT_NOW", LATE)
    result = forecast("--budget", "1000000")
    assert result.exit_code == 4
    lines = result.stderr.splitlines()
    assert lines[-2:] == [
        STALE_WARNING,
        "costkit: error: budget not checked: data stale (newest usage 4 days 17 hours old, "
        "over --stale-after 2d); 'under' cannot be trusted"]
    assert "unknown: stale data" in result.stdout and " under " not in result.stdout
    assert "Data stale: the newest usage is from 2026-10-20 15:28 UTC" in result.stdout


def test_stale_data_over_the_budget_still_exits_4_and_says_over(forecast, monkeypatch):
    monkeypatch.setenv("COSTKIT_NOW", LATE)
    result = forecast("--budget", "2")
    assert result.exit_code == 4
    last = result.stderr.splitlines()[-1]
    assert last.startswith("costkit: error: budget not checked: data stale (newest usage 4 days "
                           "17 hours old, over --stale-after 2d); projected over it even so ($")
    assert last.endswith(" for 2026-10)")
    assert "OVER, stale data" in result.stdout


def test_stale_data_without_a_budget_warns_and_exits_0(forecast, monkeypatch):
    monkeypatch.setenv("COSTKIT_NOW", LATE)
    result = forecast("--format", "json")
    assert result.exit_code == 0
    assert result.stderr.splitlines()[-1] == STALE_WARNING
    assert as_json(result)["data"] == {
        "newest_usage": "2026-10-20T15:28:00+00:00", "checked_at": "2026-10-25T09:00:00+00:00",
        "stale_after": "2d", "stale": True}


@pytest.mark.parametrize("threshold, stale", [
    ("2d", True), ("113h", True),       # 4 days 17 h 32 min is over 113 h...
    ("114h", False), ("5d", False),     # ...and under 114 h
])
def test_stale_after_sets_the_threshold(forecast, monkeypatch, threshold, stale):
    monkeypatch.setenv("COSTKIT_NOW", LATE)
    result = forecast("--budget", "1000000", "--stale-after", threshold)
    assert result.exit_code == (4 if stale else 0), result.stderr
    assert ("data stale" in result.stderr) is stale
    if not stale:
        assert "under" in result.stdout


def test_a_past_as_of_is_judged_at_its_own_start(forecast, monkeypatch):
    # Long after the data ends, a forecast as on 2026-10-21 reads the history up to its
    # start, when the newest usage (the 20th, 15:28) was 8 hours 32 minutes old.
    monkeypatch.setenv("COSTKIT_NOW", "2027-01-15T00:00:00Z")
    result = forecast("--as-of", "2026-10-21", "--budget", "1000000", "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert "data stale" not in result.stderr
    assert as_json(result)["data"]["checked_at"] == "2026-10-21T00:00:00+00:00"


def test_a_future_as_of_counts_the_days_until_it_as_missing(forecast, monkeypatch):
    # As on 2026-11-01 (from 2026-10-21): the history to its start has no usage after
    # 2026-10-20 15:28, 11 days 8 hours 32 minutes before it.
    monkeypatch.setenv("COSTKIT_NOW", "2026-10-21T08:00:00Z")
    result = forecast("--as-of", "2026-11-01", "--budget", "1000000")
    assert result.exit_code == 4
    assert ("the newest usage is from 2026-10-20 15:28 UTC, 11 days 8 hours before "
            "2026-11-01 00:00 UTC") in result.stderr


def test_too_little_history_from_stale_data_says_how_old(cli, tmp_path, monkeypatch):
    log = tmp_path / "two-days.jsonl"
    records = [r for r in generate()["alpha.jsonl"]
               if datetime.fromtimestamp(r["created"], UTC).date() < date(2026, 8, 3)]
    log.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    db = tmp_path / "two.duckdb"
    assert cli("ingest", str(log), "--db", str(db)).exit_code == 0
    newest = max(datetime.fromtimestamp(r["created"], UTC) for r in records)
    assert newest == datetime(2026, 8, 2, 9, 53, tzinfo=UTC)
    # 2026-08-20 09:53 is 18 days after it.
    monkeypatch.setenv("COSTKIT_NOW", "2026-08-20T09:53:00Z")
    result = cli("forecast", "--db", str(db), "--budget", "10")
    assert result.exit_code == 2
    assert result.stderr == (
        "costkit: error: too little history to forecast: 2 day(s) with priced spend before "
        "2026-08-20; need at least 3 (the newest usage is 18 days old: is ingestion running?)\n")


def test_the_issue_store_that_stops_on_the_24th(cli, tmp_path, monkeypatch):
    """Usage ends 2026-11-24 18:30 UTC; on 3 December the budget check used to say 'under'
    and exit 0. 2026-12-03 09:00 - 2026-11-24 18:30 = 8 days 14 hours 30 minutes."""
    from test_report_coverage import stopped_rows, write_log

    log, db = tmp_path / "usage.jsonl", tmp_path / "s.duckdb"
    write_log(log, stopped_rows())
    assert cli("ingest", str(log), "--db", str(db)).exit_code == 0
    monkeypatch.setenv("COSTKIT_NOW", "2026-12-03T09:00:00Z")
    result = cli("forecast", "--db", str(db), "--budget", "50")
    assert result.exit_code == 4
    assert result.stderr.splitlines() == [
        "costkit: warning: data stale: the newest usage is from 2026-11-24 18:30 UTC, 8 days 14 "
        "hours before 2026-12-03 09:00 UTC (over --stale-after 2d); the days since count as no "
        "spend, so the forecast is too low; is ingestion running?",
        "costkit: error: budget not checked: data stale (newest usage 8 days 14 hours old, over "
        "--stale-after 2d); 'under' cannot be trusted"]


if __name__ == "__main__":
    write_fixtures(FORECAST_FIXTURES)
    print(f"wrote {FORECAST_FIXTURES}")


# --- groups reconciled to the total -----------------------------------------------------------

def test_groups_add_up_to_the_total_to_the_cent_in_every_month_and_day(forecast):
    data = as_json(forecast("--as-of", AS_OF, "--horizon", "3m", "--by", "project",
                            "--format", "json"))
    groups = [g["forecast"] for g in data["groups"]]
    for key in ("actual_to_date", "expected_rest", "projected_total"):
        assert sum(Decimal(g[key]) for g in groups) == Decimal(data[key]), key
    for i, month in enumerate(data["months"]):
        for key in ("expected_rest", "projected_total"):
            assert sum(Decimal(g["months"][i][key]) for g in groups) == Decimal(month[key])
    for i, day in enumerate(data["daily"]):
        assert sum(Decimal(g["daily"][i]["spend"]) for g in groups) == Decimal(day["spend"])
    rec = data["reconciliation"]
    assert Decimal(rec["groups_projected_total"]) == Decimal(rec["total_projected_total"])
    # Each group says how far reconciliation moved it from its own forecast.
    moved = sum(Decimal(g["forecast"]["expected_rest"]) - Decimal(g["own_expected_rest"])
                for g in data["groups"])
    own = sum(Decimal(g["own_expected_rest"]) for g in data["groups"])
    assert moved == Decimal(data["expected_rest"]) - own


def test_the_table_shows_the_groups_sum_next_to_the_total(forecast):
    result = forecast("--as-of", AS_OF, "--by", "project")
    assert result.exit_code == 0, result.stderr
    data = as_json(forecast("--as-of", AS_OF, "--by", "project", "--format", "json"))
    projected = Decimal(data["projected_total"]).quantize(Decimal("0.01"))
    row = next(line for line in result.stdout.splitlines() if "all groups" in line)
    assert f"${projected}" in row
    assert "reconciled with the total (MinT): they add up to it" in result.stdout


# --- a price card taking effect inside the horizon --------------------------------------------

STEP_CARDS = """
[[card]]
model = "flat-model"
effective_to = 2026-10-20T00:00:00Z
[card.rates]
input = 1.0
output = 2.0

[[card]]
model = "flat-model"
effective_from = 2026-10-20T00:00:00Z
[card.rates]
input = 3.0
output = 2.0
"""


@pytest.fixture
def flat_store(cli, tmp_path):
    """28 days (2026-09-12..2026-10-09) of one request a day: 1,000,000 input and 500,000
    output tokens of flat-model, $1.00 + $1.00 = $2.00 a day under the first card."""
    cards = tmp_path / "cards.toml"
    cards.write_text(STEP_CARDS)
    log = tmp_path / "flat.jsonl"
    lines = []
    for i in range(28):
        when = datetime(2026, 9, 12, 12, tzinfo=UTC) + timedelta(days=i)
        lines.append(json.dumps({
            "id": f"chatcmpl-f{i:02d}", "object": "chat.completion",
            "created": int(when.timestamp()), "model": "flat-model",
            "usage": {"prompt_tokens": 1_000_000, "completion_tokens": 500_000,
                      "total_tokens": 1_500_000},
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                         "finish_reason": "stop"}]}))
    log.write_text("\n".join(lines) + "\n")
    db = tmp_path / "flat.duckdb"
    result = cli("ingest", str(log), "--project", "flat", "--db", str(db), "--prices", str(cards))
    assert result.exit_code == 0, result.stderr
    return db, cards


def test_a_card_starting_mid_horizon_prices_the_days_from_its_date(cli, flat_store):
    db, cards = flat_store
    result = cli("forecast", "--db", str(db), "--prices", str(cards), "--as-of", "2026-10-10",
                 "--by", "project", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = as_json(result)
    # A constant $2.00 a day is forecast as $2.00 a day. Oct 1-9 were spent: 9 x $2 = $18.
    # Oct 10-19 (10 days) under the old card: 10 x $2 = $20. From Oct 20 the new card prices
    # the same 1M input at $3 and 0.5M output at $1: 12 days x $4 = $48.
    # Rest 20 + 48 = $68; month 18 + 68 = $86.
    assert Decimal(data["actual_to_date"]) == Decimal(18)
    assert Decimal(data["expected_rest"]) == Decimal(68)
    assert Decimal(data["projected_total"]) == Decimal(86)
    # Input: 10 x $1 + 12 x $3 = $46 to come; output: 22 x $1 = $22.
    assert Decimal(data["components"]["input"]["forecast"]) == Decimal(46)
    assert Decimal(data["components"]["output"]["forecast"]) == Decimal(22)
    days = {d["date"]: Decimal(d["spend"]) for d in data["daily"]}
    assert days["2026-10-19"] == Decimal(2) and days["2026-10-20"] == Decimal(4)
    assert data["price_changes"] == [
        "from 2026-10-20, the flat-model card effective 2026-10-20T00:00:00Z"]
    # The one group is repriced alike and still adds up to the total.
    (group,) = data["groups"]
    assert Decimal(group["forecast"]["projected_total"]) == Decimal(86)
    table = cli("forecast", "--db", str(db), "--prices", str(cards), "--as-of", "2026-10-10")
    assert "Prices: from 2026-10-20, the flat-model card effective" in table.stdout


def test_a_card_ending_mid_horizon_without_a_successor_is_said(cli, flat_store, tmp_path):
    db, _ = flat_store
    ending = tmp_path / "ending.toml"
    ending.write_text(STEP_CARDS.split("\n\n[[card]]")[0] + "\n")
    result = cli("forecast", "--db", str(db), "--prices", str(ending), "--as-of", "2026-10-10",
                 "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = as_json(result)
    # Only Oct 10-19 can be priced: 10 x $2 = $20, and the rest is said to be left out.
    assert Decimal(data["expected_rest"]) == Decimal(20)
    assert "no price card for flat-model from 2026-10-20" in result.stderr
    assert data["price_changes"] == [
        "from 2026-10-20, no flat-model card after 2026-10-20T00:00:00Z"]
