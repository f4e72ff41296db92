"""`costkit estimate` end to end: real tokenizer, real price card, real store."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from conftest import FIXTURES, GOLDEN

import costkit
from costkit.estimator.batch import BatchEstimator
from costkit.estimator.history import HistorySource
from costkit.pricing.book import load_price_book
from costkit.store.connection import open_store

BODIES = FIXTURES / "estimate"
HAIKU = "Write a haiku about the ocean."
RATE_IN = Decimal("0.57") / 10**6
RATE_OUT = Decimal("1.71") / 10**6


def run_json(cli, *args, input=None):
    result = cli("estimate", *args, "--format", "json", input=input)
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout), result


# --- the seed's example -----------------------------------------------------------------------

def test_seed_example_is_12_prompt_tokens_costing_684_millionths_of_a_cent(cli):
    data, result = run_json(cli, HAIKU)
    assert data["input_tokens"] == 12
    assert data["input_cost"] == "0.00000684"
    assert data["exact"] is True
    assert (data["model"], data["endpoint"]) == ("deepseek-v3-2", "chat.completions")
    assert data["high"]["total_cost"] == str(Decimal("0.00000684") + (4096 + 32768) * RATE_OUT)
    assert data["expected_source"] == "defaults"
    assert result.stderr == ""


def test_seed_example_python_api():
    est = costkit.estimate(HAIKU)
    assert (est.input_tokens, est.input_cost, est.exact) == (12, Decimal("0.00000684"), True)
    assert est.prompt == "<｜begin▁of▁sentence｜><｜User｜>" + HAIKU + "<｜Assistant｜><think>"
    assert costkit.estimate(HAIKU, thinking=False).input_tokens == 12


def test_seed_example_table_matches_golden(cli):
    result = cli("estimate", HAIKU)
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout == (GOLDEN / "estimate_haiku.txt").read_text(encoding="utf-8")


def test_the_seed_request_body_gives_the_same_count(cli, tmp_path):
    body = tmp_path / "body.json"
    body.write_text(json.dumps({"model": "deepseek-v3-2", "messages": [
        {"role": "user", "content": HAIKU}]}), encoding="utf-8")
    data, _ = run_json(cli, "--request", str(body))
    assert (data["input_tokens"], data["input_cost"]) == (12, "0.00000684")


# --- each endpoint: a multi-turn body with tools ----------------------------------------------

@pytest.mark.parametrize("scenario", ["multiturn", "agent"])
def test_the_same_conversation_costs_the_same_on_every_endpoint(cli, scenario):
    counts = {}
    for endpoint in ("chat", "responses", "messages"):
        data, result = run_json(cli, "--request", str(BODIES / f"{endpoint}_{scenario}.json"))
        assert data["endpoint"] == {"chat": "chat.completions"}.get(endpoint, endpoint)
        assert data["thinking"] is True and data["exact"] is True
        counts[endpoint] = data["input_tokens"]
        assert Decimal(data["input_cost"]) == data["input_tokens"] * RATE_IN
        assert result.stderr == ""
    assert len(set(counts.values())) == 1, counts
    assert counts["chat"] > 400  # the tools block alone is a few hundred tokens


def test_counts_match_the_golden_prompt_text():
    from costkit.tokens import count_tokens

    body = json.loads((BODIES / "messages_agent.json").read_text(encoding="utf-8"))
    golden = (GOLDEN / "template_agent_thinking.txt").read_text(encoding="utf-8")
    est = costkit.estimate(body)
    assert est.prompt == golden
    assert est.input_tokens == count_tokens(golden, "deepseek-v3-2")
    assert est.thinking_budget == 8000 and est.high.reasoning_tokens == 8000
    assert est.max_tokens == 2000 and est.high.output_tokens == 2000


# --- validation: one line on stderr, exit 2 ---------------------------------------------------

def test_unknown_model(cli):
    result = cli("estimate", HAIKU, "--model", "gpt-9")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == ("costkit: error: unknown model 'gpt-9': no price card for it; "
                             "known models: deepseek-v3-2; the catalog (genai-prices 0.2.3) has "
                             "no card of that name either (closest: openai/gpt-5, openai/gpt-4)\n")


def test_body_not_valid_json(cli, tmp_path):
    path = tmp_path / "body.json"
    path.write_text('{"messages": [\n  {"role": "user",}\n]}', encoding="utf-8")
    result = cli("estimate", "--request", str(path))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"costkit: error: {path}: not valid JSON: Expecting property name "
                             "enclosed in double quotes (line 2, column 19)\n")


def test_body_not_a_request_names_the_missing_field(cli, tmp_path):
    path = tmp_path / "body.json"
    path.write_text('{"model": "deepseek-v3-2", "prompt": "hi"}', encoding="utf-8")
    result = cli("estimate", "--request", str(path))
    assert result.exit_code == 2
    assert result.stderr == (
        f"costkit: error: {path}: not a request for any of the three endpoints: missing field "
        "'messages' (chat.completions, messages) or 'input' (responses)\n"
    )


@pytest.mark.parametrize("field, value, message", [
    ("temperature", 2.5, "temperature is 2.5; it must be in 0..2"),
    ("top_p", -0.1, "top_p is -0.1; it must be in 0..1"),
    ("max_tokens", 65537, "max_tokens is 65537; it must be in 1..65536"),
    ("thinking_budget", 393217, "thinking_budget is 393217; it must be in 1..393216"),
    ("reasoning_effort", "turbo",
     "reasoning_effort is 'turbo'; it must be one of none|low|medium|high|max"),
])
def test_parameter_outside_its_range_or_enum(cli, field, value, message):
    body = {"messages": [{"role": "user", "content": "hi"}], field: value}
    result = cli("estimate", "--request", "-", input=json.dumps(body))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"costkit: error: stdin: {message}\n"


def test_prompt_over_the_context_window(cli):
    text = "ocean " * 140_000
    result = cli("estimate", "--no-history", input=text)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("costkit: error: prompt is 14")
    assert result.stderr.endswith(
        " tokens, over deepseek-v3-2's context window of 131,072 tokens\n")
    assert result.stderr.count("\n") == 1


def test_warnings_go_to_stderr_and_do_not_fail(cli):
    result = cli("estimate", HAIKU, "--max-tokens", "50000", "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == (
        "costkit: warning: max_tokens 50,000 is above deepseek-v3-2's documented max output "
        "of 32,768 tokens: the provider may reject the request or cap the answer\n"
    )
    assert json.loads(result.stdout)["warnings"] == [result.stderr[len("costkit: warning: "):-1]]


def test_prompt_plus_max_tokens_over_the_window_warns(cli):
    text = "ocean " * 125_000
    data, result = run_json(cli, "--max-tokens", "8000", "--no-thinking", input=text)
    assert "exceeds the context window of 131,072 tokens" in result.stderr
    assert data["high"]["output_tokens"] == 131072 - data["input_tokens"]


def test_one_input_at_a_time(cli, tmp_path):
    result = cli("estimate", HAIKU, "--batch", str(tmp_path / "x.jsonl"))
    assert result.exit_code == 2
    assert result.stderr == (
        "costkit: error: give one of TEXT, --request or --batch, not TEXT and --batch\n"
    )


# --- stdin and flags --------------------------------------------------------------------------

def test_piped_prompt_with_flags(cli):
    data, result = run_json(cli, "--model", "deepseek-v3-2", "--max-tokens", "2000",
                            "--no-thinking", input=HAIKU)
    assert data["input_tokens"] == 12 and data["thinking"] is False
    assert data["high"]["output_tokens"] == 2000 and data["high"]["reasoning_tokens"] == 0
    assert data["high"]["total_cost"] == str(Decimal("0.00000684") + 2000 * RATE_OUT)
    assert result.stderr == ""


def test_search_flag_prices_calls(cli):
    data, _ = run_json(cli, HAIKU, "--search", "--search-calls", "3", "--no-thinking")
    assert data["search"] is True
    assert (data["high"]["search_calls"], data["high"]["web_search_cost"]) == (3, "0.045")
    assert (data["expected"]["search_calls"], data["expected"]["web_search_cost"]) == (1, "0.015")


# --- --budget -------------------------------------------------------------------------------

def test_budget_exceeded_exits_3(cli):
    result = cli("estimate", HAIKU, "--budget", "0.01")
    assert result.exit_code == 3
    assert "total" in result.stdout  # the estimate is still shown
    assert result.stderr == (
        "costkit: error: the high estimate $0.06304428 is over the budget $0.01\n"
    )


def test_budget_respected_exits_0(cli):
    result = cli("estimate", HAIKU, "--budget", "0.07", "--format", "json")
    assert result.exit_code == 0 and result.stderr == ""
    result = cli("estimate", HAIKU, "--budget", "0.01", "--no-thinking", "--max-tokens", "100")
    assert result.exit_code == 0


def test_bad_budget(cli):
    result = cli("estimate", HAIKU, "--budget", "lots")
    assert result.exit_code == 2
    assert result.stderr == (
        "costkit: error: --budget is 'lots'; give an amount in USD such as 0.50\n"
    )


# --- batch ---------------------------------------------------------------------------------

def test_batch_csv_rows_totals_and_bad_lines(cli):
    path = BODIES / "batch.jsonl"
    result = cli("estimate", "--batch", str(path), "--format", "csv")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    body, total = rows[:-1], rows[-1]
    assert [r["line"] for r in body] == ["1", "2", "5", "7", "11"]
    assert [r["custom_id"] for r in body] == ["", "req-2", "req-5", "req-7", "req-11"]
    assert [r["endpoint"] for r in body] == ["chat.completions", "chat.completions", "responses",
                                             "messages", "chat.completions"]
    assert [r["input_tokens"] for r in body[:4]] == ["12"] * 4
    assert total["line"] == "total" and total["custom_id"] == "5 requests"
    for column in ("input_tokens", "expected_output_tokens", "high_reasoning_tokens"):
        assert int(total[column]) == sum(int(r[column]) for r in body)
    for column in ("input_cost", "low_total_cost", "expected_total_cost", "high_total_cost"):
        assert Decimal(total[column]) == sum(Decimal(r[column]) for r in body)
    assert body[4]["high_search_calls"] == "5"
    assert total["warnings"] == "5 bad lines skipped"
    errors = result.stderr.splitlines()
    assert errors[0] == (f"costkit: warning: {path}:3: not valid JSON: Expecting value "
                         "(column 41); line skipped")
    assert errors[1:5] == [
        f"costkit: warning: {path}:6: not a request for any of the three endpoints: missing "
        "field 'messages' (chat.completions, messages) or 'input' (responses); line skipped",
        f"costkit: warning: {path}:8: temperature is 5; it must be in 0..2; line skipped",
        f"costkit: warning: {path}:9: unknown model 'gpt-nope': no price card for it; known "
        "models: deepseek-v3-2; the catalog (genai-prices 0.2.3) has no card of that name "
        "either; line skipped",
        f"costkit: warning: {path}:10: a JSON array, not a request object; line skipped",
    ]
    assert errors[-1] == "costkit: 5 requests estimated, 5 bad lines skipped, 1 blank line ignored"


def test_batch_json_lines_and_totals(cli):
    result = cli("estimate", "--batch", str(BODIES / "batch.jsonl"), "--format", "json")
    assert result.exit_code == 0
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    requests, totals = lines[:-1], lines[-1]["totals"]
    assert [r["line"] for r in requests] == [1, 2, 5, 7, 11]
    assert totals["requests"] == 5 and totals["bad_lines"] == 5 and totals["blank_lines"] == 1
    assert Decimal(totals["high"]["total_cost"]) == sum(
        Decimal(r["high"]["total_cost"]) for r in requests)
    assert totals["input_tokens"] == sum(r["input_tokens"] for r in requests)
    assert requests[1]["max_tokens"] == 100 and requests[1]["thinking"] is False


def test_batch_table(cli):
    result = cli("estimate", "--batch", str(BODIES / "batch.jsonl"))
    assert result.exit_code == 0
    assert "5 requests, " in result.stdout and "5 bad lines skipped" in result.stdout
    assert "req-11" in result.stdout


def test_batch_budget_exceeded_exits_3(cli):
    result = cli("estimate", "--batch", str(BODIES / "batch.jsonl"), "--budget", "0.05",
                 "--format", "csv")
    assert result.exit_code == 3
    assert result.stderr.splitlines()[-1].startswith(
        "costkit: error: the batch's high estimate $")


def test_batch_missing_file(cli, tmp_path):
    result = cli("estimate", "--batch", str(tmp_path / "none.jsonl"))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"costkit: error: {tmp_path / 'none.jsonl'}: cannot read")


def test_batch_results_do_not_depend_on_chunking():
    lines = (BODIES / "batch.jsonl").read_bytes().splitlines(keepends=True) * 7
    book = load_price_book([])
    results = {}
    for chunk in (1, 3, 1000):
        with HistorySource(enabled=False) as history:
            est = BatchEstimator(book=book, history=history, chunk_size=chunk)
            out = [(r.line, r.error, r.estimate and r.estimate.as_dict()) for r in est.run(lines)]
            results[chunk] = (out, est.totals.high.total_cost, est.totals.bad_lines)
    assert results[1] == results[3] == results[1000]
    assert results[1][2] == 35


# --- expected learned from history ---------------------------------------------------------

def test_expected_learned_from_the_store(cli, tmp_path):
    db = tmp_path / "usage.duckdb"
    con = open_store(db)
    con.execute("""
        INSERT INTO usage (request_id, ts, model, input_tokens, output_tokens, reasoning_tokens,
                           search_calls, source_format, endpoint)
        SELECT 'r' || i, now(), 'deepseek-v3-2', 100, 200 + i, 1000 + 10 * i, 0, 'test',
               'chat.completions'
        FROM range(11) t(i)
    """)
    con.close()
    data, result = run_json(cli, HAIKU, "--db", str(db))
    assert data["expected_source"] == "history" and data["history_requests"] == 11
    assert data["expected"]["output_tokens"] == 205
    assert data["expected"]["reasoning_tokens"] == 1050
    assert any(a.startswith("expected: learned from 11 requests in the store")
               for a in data["assumptions"])
    data, _ = run_json(cli, HAIKU, "--db", str(db), "--no-history")
    assert data["expected_source"] == "defaults"


def test_expected_learned_after_ingesting_fixture_logs(cli, tmp_path):
    db = str(tmp_path / "usage.duckdb")
    ingest = cli("ingest", str(BODIES / "history" / "usage.jsonl"), "--db", db, "--format", "json")
    assert ingest.exit_code == 0, ingest.stderr
    assert json.loads(ingest.stdout)["inserted"] == 8
    data, result = run_json(cli, HAIKU, "--search", "--db", db)
    # visible output 200 300 400 500 600 (chat) and 200 900 (responses): median 400;
    # reasoning of those that reasoned 500 1000 2000 800: median 900; searches 3 and 1: 2.
    # The other model's request and the rejected record are not part of it.
    assert data["expected_source"] == "history" and data["history_requests"] == 7
    expected = data["expected"]
    assert (expected["output_tokens"], expected["reasoning_tokens"]) == (400, 900)
    assert expected["search_calls"] == 2
    assert expected["total_cost"] == str(
        Decimal("0.00000684") + (400 + 900) * RATE_OUT + 2 * Decimal("0.015"))
    assert ("expected: learned from 7 requests in the store: median output 400 tokens, median "
            "reasoning 900 tokens (of 4 that reasoned), median 2 search calls (of 2 that "
            "searched)") in data["assumptions"]
    assert result.stderr == ""
    table = cli("estimate", HAIKU, "--db", db)
    assert "learned from 7 requests" in table.stdout


def test_single_request_csv_and_show_prompt(cli):
    result = cli("estimate", HAIKU, "--format", "csv")
    assert result.exit_code == 0 and result.stderr == ""
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1
    assert (rows[0]["input_tokens"], rows[0]["input_cost"]) == ("12", "0.00000684")
    assert rows[0]["high_total_cost"] == "0.06304428"
    shown = cli("estimate", HAIKU, "--no-thinking", "--show-prompt")
    assert shown.stdout.rstrip().endswith(
        "prompt text:\n<｜begin▁of▁sentence｜><｜User｜>" + HAIKU + "<｜Assistant｜></think>")


def test_show_prompt_prints_the_prompt_byte_for_byte(cli, tmp_path):
    # The prompt is data, not console markup: a tab stays a tab, ":smile:" and "[bold]" stay
    # text, a carriage return and a control character are printed as they are.
    system = "Tab\there :smile: [bold]x[/bold]\r\nend\x07"
    path = tmp_path / "body.json"
    path.write_text(json.dumps({"model": "deepseek-v3-2", "messages": [
        {"role": "system", "content": system}, {"role": "user", "content": "Hi"}]}),
        encoding="utf-8")
    shown = cli("estimate", "--request", str(path), "--no-thinking", "--show-prompt")
    assert shown.exit_code == 0 and shown.stderr == ""
    printed = shown.stdout_bytes.decode("utf-8").split("prompt text:\n", 1)[1]
    assert printed == f"<｜begin▁of▁sentence｜>{system}<｜User｜>Hi<｜Assistant｜></think>\n"


def test_a_batch_line_as_the_request(cli, tmp_path):
    line = {"custom_id": "x", "method": "POST", "url": "/v1/responses",
            "body": {"model": "deepseek-v3-2", "input": HAIKU, "max_output_tokens": 50}}
    data, _ = run_json(cli, "--request", "-", input=json.dumps(line))
    assert (data["endpoint"], data["input_tokens"], data["max_tokens"]) == ("responses", 12, 50)
