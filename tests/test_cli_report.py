"""`costkit report`: golden table / JSON / CSV outputs, filters, time zones, errors."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal

import polars as pl
import pytest
from goldens import check, produces

from costkit.store.connection import open_store

# (id, time, project, key, user, endpoint, model, input, cached, cache write, output,
#  reasoning (None: unknown split), searches, tags)
ROWS = [
    ("r01", "2026-10-01T08:00:00", "search-bot", "key-a", "alice", "chat.completions",
     "deepseek-v3-2", 12000, 8000, 0, 900, 2100, 2, '{"team": "growth"}'),
    ("r02", "2026-10-01T09:30:00", "search-bot", "key-a", "bob", "responses",
     "deepseek-v3-2", 3000, 0, 0, 400, 0, 1, '{"team": "growth"}'),
    ("r03", "2026-10-02T23:59:59", "support", "key-b", "carol", "messages",
     "deepseek-v3-2", 45000, 40000, 2000, 1500, None, 0, '{"team": "support"}'),
    ("r04", "2026-10-15T12:00:00", "support", "key-b", "carol", "chat.completions",
     "deepseek-v3-2", 800, 0, 0, 1234567, 0, 0, '{"team": "support"}'),
    # 23:30 UTC on Oct 31 is 00:30 on Nov 1 in Berlin.
    ("r05", "2026-10-31T23:30:00", "search-bot", "key-a", "alice", "chat.completions",
     "deepseek-v3-2", 5000, 1000, 0, 700, 300, 0, '{"team": "growth"}'),
    ("r06", "2026-11-02T10:00:00", None, "key-c", "dave", "chat.completions",
     "deepseek-v3-2", 2000, 0, 0, 100, 50, 0, None),
    ("r07", "2026-11-03T10:00:00", "support", "key-b", "carol", "chat.completions",
     "gpt-unknown", 1000, 0, 0, 200, 0, 0, '{"team": "support"}'),
    # Dec 31 2026 and Jan 1 2027 are in ISO week 2026-W53; Jan 4 2027 starts 2027-W01.
    ("r08", "2026-12-31T12:00:00", "search-bot", "key-a", "alice", "chat.completions",
     "deepseek-v3-2", 100, 0, 0, 100, 0, 0, '{"team": "growth"}'),
    ("r09", "2027-01-01T12:00:00", "search-bot", "key-a", "alice", "chat.completions",
     "deepseek-v3-2", 100, 0, 0, 100, 0, 0, '{"team": "growth"}'),
    ("r10", "2027-01-04T12:00:00", "search-bot", "key-a", "alice", "chat.completions",
     "deepseek-v3-2", 100, 0, 0, 100, 0, 0, '{"team": "growth"}'),
]


@pytest.fixture
def store():
    """The test's store (COSTKIT_DB) holding ROWS."""
    return fill_store()


def fill_store() -> str:
    """Put ROWS into the store at COSTKIT_DB (empty before); its path."""
    con = open_store()
    for row in ROWS:
        rid, ts, project, key, user, endpoint, model, *counts, tags = row
        con.execute(
            """INSERT INTO usage (request_id, ts, project, api_key_id, "user", endpoint, model,
                   input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
                   reasoning_tokens, search_calls, tags, source_format)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'test')""",
            [rid, datetime.fromisoformat(ts).replace(tzinfo=UTC), project, key, user, endpoint,
             model, *counts, tags],
        )
    con.close()
    return os.environ["COSTKIT_DB"]


UNPRICED_WARNING = ("costkit: warning: unpriced usage: gpt-unknown (1 request); costs are null "
                    "in the 1 group holding it (add a price card with --prices)\n")


@produces("report_month_model_berlin.txt", "report_month_model_berlin.json")
def month_by_model_in_berlin(cli) -> dict:
    fill_store()
    args = ("report", "--by", "month", "--by", "model", "--tz", "Europe/Berlin")
    return {"report_month_model_berlin.txt": cli(*args),
            "report_month_model_berlin.json": cli(*args, "--format", "json")}


def test_golden_month_by_model_in_berlin(cli):
    runs = month_by_model_in_berlin(cli)
    table, as_json = runs["report_month_model_berlin.txt"], runs["report_month_model_berlin.json"]
    assert table.exit_code == 0
    assert table.stderr == UNPRICED_WARNING
    check("report_month_model_berlin.txt", table.stdout)
    assert as_json.exit_code == 0 and as_json.stderr == UNPRICED_WARNING
    check("report_month_model_berlin.json", as_json.stdout)
    rows = json.loads(as_json.stdout)
    assert [(r["month"], r["model"]) for r in rows] == [
        ("2026-10", "deepseek-v3-2"), ("2026-11", "deepseek-v3-2"), ("2026-11", "gpt-unknown"),
        ("2026-12", "deepseek-v3-2"), ("2027-01", "deepseek-v3-2")]
    unknown = rows[2]
    assert unknown["total_cost"] is None and unknown["input_tokens"] == 1000  # never $0


@produces("report_day_project.csv")
def day_by_project_csv_with_a_period(cli) -> dict:
    fill_store()
    return {"report_day_project.csv": cli(
        "report", "--by", "day", "--by", "project", "--since", "2026-10-01",
        "--until", "2026-11-01", "--format", "csv")}


def test_golden_day_by_project_csv_with_a_period(cli):
    result = day_by_project_csv_with_a_period(cli)["report_day_project.csv"]
    assert result.exit_code == 0 and result.stderr == ""
    check("report_day_project.csv", result.stdout)
    lines = result.stdout.splitlines()
    assert lines[0].startswith("day,project,requests,input_tokens,")
    assert [line.split(",")[0] for line in lines[1:]] == [
        "2026-10-01", "2026-10-02", "2026-10-15", "2026-10-31"]


@produces("report_week_tag.json")
def week_by_tag_json(cli) -> dict:
    fill_store()
    return {"report_week_tag.json": cli("report", "--by", "week", "--by", "tag:team",
                                        "--format", "json")}


def test_golden_week_by_tag_json(cli):
    result = week_by_tag_json(cli)["report_week_tag.json"]
    assert result.exit_code == 0 and result.stderr == UNPRICED_WARNING
    check("report_week_tag.json", result.stdout)
    weeks = [(r["week"], r["tag:team"], r["requests"]) for r in json.loads(result.stdout)]
    assert weeks[-2:] == [("2026-W53", "growth", 2), ("2027-W01", "growth", 1)]


def test_exact_decimal_strings(cli, store):
    result = cli("report", "--by", "month", "--since", "2026-10-15", "--until", "2026-10-16",
                 "--format", "json")
    [row] = json.loads(result.stdout)
    # r04: 800 input tokens and 1,234,567 output tokens.
    assert row["output_cost"] == "2.11110957" and row["input_cost"] == "0.000456"
    assert row["total_cost"] == "2.11156557"
    assert Decimal(row["total_cost"]) == Decimal(row["output_cost"]) + Decimal(row["input_cost"])


def test_the_tz_moves_the_month_boundary(cli, store):
    def month_of_r05(tz):
        result = cli("report", "--by", "month", "--model", "deepseek-v3-2", "--project",
                     "search-bot", "--tz", tz, "--format", "json")
        assert result.exit_code == 0, result.stderr
        return {r["month"]: r["requests"] for r in json.loads(result.stdout)}

    assert month_of_r05("UTC") == {"2026-10": 3, "2026-12": 1, "2027-01": 2}
    assert month_of_r05("Europe/Berlin") == {"2026-10": 2, "2026-11": 1, "2026-12": 1,
                                             "2027-01": 2}


def test_filters_combine(cli, store):
    result = cli("report", "--by", "user", "--project", "support", "--project", "search-bot",
                 "--model", "deepseek-v3-2", "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    users = {r["user"]: r["requests"] for r in json.loads(result.stdout)}
    assert users == {"alice": 5, "bob": 1, "carol": 2}


def table_rows(stdout: str) -> list[list[str]]:
    """The cells of a report table's rows and its totals row (the lines between the rules and
    the one after the last rule); a cell's second line, if any, joined to the first."""
    lines = stdout.splitlines()
    rules = [i for i, line in enumerate(lines) if line and set(line) == {"─"}]
    tail = lines[rules[-1] + 1:]
    footer = tail[:1] + list(itertools.takewhile(lambda line: line.startswith(" "), tail[1:]))
    rows: list[list[str]] = []
    for line in lines[rules[0] + 1:rules[-1]] + footer:
        cells = re.split(r"\s{2,}", line.strip())
        if line.startswith(" "):  # a second line of a cell: the unpriced count
            rows[-1] = [c if not c.startswith("$") else f"{c} {cells[0]}" for c in rows[-1]]
        else:
            rows.append(cells)
    return rows


def test_the_table_has_a_totals_row(cli, store):
    result = cli("report", "--by", "api_key", "--model", "deepseek-v3-2")
    assert result.exit_code == 0
    rows = table_rows(result.stdout)
    assert [r[0] for r in rows] == ["key-a", "key-b", "key-c", "total"]
    cells = rows[-1]
    assert cells[:2] == ["total", "9"]
    # $2.19914457 + $0.0059565 + $0.000228 + $0.000456, shown to the cent.
    assert cells[-2:] == ["$2.21", "100.0%"]


# One model without a card among priced requests: the rows a project has, by hand.
# alpha: 1,000,000 input x $0.57/M + 1,000,000 output x $1.71/M = $2.28, and 2 unpriced.
# beta: 1,000,000 reasoning x $1.71/M + 2 searches x $0.015 = $1.74.
# gamma: one unpriced request only. Priced total $2.28 + $1.74 = $4.02 beside 3 unpriced;
# shares 2.28 / 4.02 = 56.7% and 1.74 / 4.02 = 43.3%.
LONG_NAME = "delta-" + "x" * 60
UNPRICED_ROWS = [
    ("alpha", "deepseek-v3-2", 1_000_000, 1_000_000, 0, 0),
    ("alpha", "mystery-model", 500, 20, 0, 0),
    ("alpha", "mystery-model", 500, 20, 0, 0),
    ("beta", "deepseek-v3-2", 0, 0, 1_000_000, 2),
    ("gamma", "mystery-model", 10, 10, 0, 0),
]


def fill_unpriced_store(rows=UNPRICED_ROWS) -> None:
    con = open_store()
    for i, (project, model, inp, out, reasoning, searches) in enumerate(rows):
        con.execute(
            """INSERT INTO usage (request_id, ts, project, endpoint, model, input_tokens,
                   cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
                   search_calls, source_format)
               VALUES (?, ?, ?, 'chat.completions', ?, ?, 0, 0, ?, ?, ?, 'test')""",
            [f"u{i}", datetime(2026, 10, 5, 12, i, tzinfo=UTC), project, model, inp, out,
             reasoning, searches])
    con.close()


@pytest.mark.parametrize("columns", ["100", "80"])
def test_unpriced_groups_are_marked_per_row_and_the_total_keeps_the_priced_sum(
        cli, monkeypatch, columns):
    fill_unpriced_store()
    monkeypatch.setenv("COLUMNS", columns)
    result = cli("report", "--by", "project")
    assert result.exit_code == 0
    assert "mystery-model (3 requests)" in result.stderr
    assert all(len(line) <= int(columns) for line in result.stdout.splitlines())
    assert table_rows(result.stdout) == [
        ["alpha", "3", "1,001,000", "1,000,040", "$2.28 + 2 unpriced", "56.7%"],
        ["beta", "1", "0", "1,000,000", "$1.74", "43.3%"],
        ["gamma", "1", "10", "10", "1 unpriced", "-"],
        ["total", "5", "1,001,010", "2,000,050", "$4.02 + 3 unpriced", "100.0%"],
    ]
    assert "3 unpriced: requests no card in effect can price" in result.stdout


def test_two_currencies_in_one_group_are_never_summed(cli, tmp_path):
    card = tmp_path / "euro.toml"
    card.write_text(textwrap.dedent("""
        [[card]]
        model = "mystery-model"
        currency = "EUR"
        [card.rates]
        input = 1
        output = 1
    """))
    fill_unpriced_store()
    result = cli("report", "--by", "month", "--prices", str(card))
    assert result.exit_code == 0 and "mix currencies" in result.stderr
    [row, total] = table_rows(result.stdout)
    assert row[-2:] == total[-2:] == ["mixed currencies", "-"]
    assert "unpriced" not in result.stdout  # every request has a card; no sum is made


def test_unpriced_counts_and_priced_totals_in_json_and_csv(cli):
    fill_unpriced_store()
    rows = json.loads(cli("report", "--by", "project", "--format", "json").stdout)
    assert [(r["project"], r["total_cost"], r["priced_total"], r["unpriced_requests"])
            for r in rows] == [("alpha", None, "2.28", 2), ("beta", "1.74", "1.74", 0),
                               ("gamma", None, "0", 1)]
    lines = cli("report", "--by", "project", "--format", "csv").stdout.splitlines()
    # the columns scripts read are where they were; the new ones come after them
    assert lines[0] == ("project,requests,input_tokens,cached_input_tokens,cache_write_tokens,"
                        "output_tokens,reasoning_tokens,search_calls,input_cost,"
                        "cached_input_cost,cache_write_cost,output_cost,reasoning_cost,"
                        "search_cost,total_cost,search_unreported,currency,priced_total,"
                        "unpriced_requests")
    assert lines[1].startswith("alpha,3,") and lines[1].endswith(",,0,USD,2.28,2")


@pytest.mark.parametrize("columns", [100, 80])
def test_a_long_group_value_is_shortened_never_wrapped(cli, monkeypatch, columns):
    fill_unpriced_store([*UNPRICED_ROWS, (LONG_NAME, "deepseek-v3-2", 0, 1_000_000, 0, 0)])
    monkeypatch.setenv("COLUMNS", str(columns))
    result = cli("report", "--by", "month", "--by", "project")
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= columns
    [long_row] = [line for line in lines if line.startswith("2026-10  delta-")]
    assert "…" in long_row and long_row.rstrip().endswith("%")  # the whole row on one line
    assert LONG_NAME not in result.stdout
    wide = cli("report", "--by", "month", "--by", "project", "--wide").stdout
    assert LONG_NAME in wide  # --wide shortens nothing


def test_without_columns_a_pipe_gets_100():
    """No $COLUMNS and stdout a pipe (not a terminal): the table is fitted to 100 columns."""
    fill_unpriced_store([(LONG_NAME, "deepseek-v3-2", 0, 1_000_000, 0, 0)])
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    done = subprocess.run([sys.executable, "-m", "costkit", "report", "--by", "project"],
                          capture_output=True, text=True, env=env, check=True)
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) == 100  # the long name shortened to fill it
    assert "delta-xxxx" in done.stdout and LONG_NAME not in done.stdout


def test_repricing_with_a_corrected_card(cli, store, tmp_path):
    card = tmp_path / "corrected.toml"
    card.write_text(textwrap.dedent("""
        [[card]]
        model = "deepseek-v3-2"
        [card.rates]
        input = 0.28
        output = 0.42
        web_search = 0.01
    """))
    args = ("report", "--by", "month", "--since", "2026-10-15", "--until", "2026-10-16",
            "--format", "json")
    builtin = json.loads(cli(*args).stdout)[0]["total_cost"]
    corrected = json.loads(cli(*args, "--prices", str(card)).stdout)[0]["total_cost"]
    assert (builtin, corrected) == ("2.11156557", "0.51874214")


def test_history_keeps_its_rates_across_a_price_change(cli, store, tmp_path):
    cards = tmp_path / "history.toml"
    cards.write_text(textwrap.dedent("""
        [[card]]
        model = "deepseek-v3-2"
        effective_to = 2026-10-15
        [card.rates]
        input = 0.57
        output = 1.71

        [[card]]
        model = "deepseek-v3-2"
        effective_from = 2026-10-15
        [card.rates]
        input = 0.28
        output = 0.42
        web_search = 0.01
    """))
    result = cli("report", "--by", "day", "--since", "2026-10-01", "--until", "2026-10-16",
                 "--prices", str(cards), "--format", "json")
    assert result.exit_code == 0
    days = {r["day"]: r for r in json.loads(result.stdout)}
    # Oct 1 has 3 web searches but the old card has no search rate: its search cost is null.
    assert days["2026-10-01"]["search_cost"] is None and days["2026-10-01"]["total_cost"] is None
    assert days["2026-10-01"]["output_cost"] == str(Decimal("1.71") * 1300 / 10**6)
    assert days["2026-10-15"]["total_cost"] == "0.51874214"  # the new card
    assert "unpriced usage: deepseek-v3-2 (2 requests)" in result.stderr  # r01 and r02


def test_empty_store_is_an_empty_result_with_a_hint(cli):
    open_store().close()  # a store (at $COSTKIT_DB) that holds nothing yet
    for fmt, expected in (("json", "[]\n"), ("table", "")):
        result = cli("report", "--format", fmt)
        assert result.exit_code == 0
        assert result.stdout == expected
        assert result.stderr.startswith("costkit: no usage in ")
        assert "costkit ingest PATH" in result.stderr and result.stderr.count("\n") == 1
    csv_out = cli("report", "--by", "day", "--format", "csv")
    assert csv_out.exit_code == 0 and csv_out.stdout.startswith("day,requests,input_tokens,")
    assert csv_out.stdout.count("\n") == 1


def test_no_match_names_the_filters(cli, store):
    result = cli("report", "--project", "nobody", "--format", "json")
    assert result.exit_code == 0 and result.stdout == "[]\n"
    assert "matches these filters" in result.stderr


@pytest.mark.parametrize("args, message", [
    (("--by", "hour"), "unknown --by value 'hour'; valid: day, week, month, model, project, "
                       "api_key, user, endpoint, tag:NAME"),
    (("--tz", "Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
    (("--since", "2026-13-01"), "--since '2026-13-01' is not a date; expected YYYY-MM-DD"),
    (("--until", "yesterday"), "--until 'yesterday' is not a date; expected YYYY-MM-DD"),
    (("--since", "2026-11-01", "--until", "2026-10-01"), "is not before until"),
    (("--format", "parquet"), "--format parquet writes a binary file; give it --out PATH"),
])
def test_bad_options_fail_with_one_line(cli, store, args, message):
    result = cli("report", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("costkit: error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_parquet_and_out_files(cli, store, tmp_path):
    target = tmp_path / "spend.parquet"
    result = cli("report", "--by", "project", "--format", "parquet", "--out", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    frame = pl.read_parquet(target)
    assert frame.schema["total_cost"] == pl.Decimal(38, 12)
    assert frame["project"].to_list() == ["search-bot", "support", None]
    support = frame.filter(pl.col("project") == "support").row(0, named=True)
    assert support["total_cost"] is None and support["requests"] == 3
    text = tmp_path / "spend.json"
    result = cli("report", "--by", "project", "--format", "json", "--out", str(text))
    assert result.exit_code == 0 and result.stdout == ""
    assert [r["project"] for r in json.loads(text.read_text())] == [
        "search-bot", "support", None]


def test_help_lists_the_dimensions(cli):
    result = cli("report", "--help")
    assert result.exit_code == 0
    assert "tag:NAME" in result.stdout and "--tz" in result.stdout
