"""`costkit prices` as a user runs it."""

from __future__ import annotations

import json


def test_prices_show_prints_every_seed_number(cli):
    result = cli("prices", "show", "deepseek-v3-2")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    for text in (
        "$0.57",
        "$1.71",
        "$0.015",
        "131,072",
        "32,768",
        "Singapore",
        "USD",
        "/v1/chat/completions",
        "/v1/responses",
        "/v1/messages",
        "0..2",
        "0.7",
        "0..1",
        "0.9",
        "4096",
        "1..65536",
        "32768",
        "1..393216",
        "none|low|medium|high|max",
        "medium",
        "enable_search",
        "false",
        "true",
        "cached input bills at the input rate",
    ):
        assert text in out, text


def test_prices_show_json(cli):
    result = cli("prices", "show", "deepseek-v3-2", "--format", "json")
    assert result.exit_code == 0
    [card] = json.loads(result.stdout)
    assert card["rates"] == {
        "input": "0.57",
        "cached_input": "0.57",
        "cache_write": "0.57",
        "output": "1.71",
        "reasoning": "1.71",
        "web_search": "0.015",
    }
    assert card["limits"] == {"context_window": 131072, "max_output": 32768}
    assert card["parameters"]["thinking_budget"]["max"] == "393216"


def test_prices_list(cli):
    result = cli("prices")
    assert result.exit_code == 0
    assert "deepseek-v3-2" in result.stdout and "built-in" in result.stdout


def test_unknown_model_one_line_exit_2(cli):
    result = cli("prices", "show", "gpt-9")
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "unknown model 'gpt-9'" in result.stderr and "deepseek-v3-2" in result.stderr
    assert result.stdout == ""


def test_user_prices_flag(cli, tmp_path):
    card = tmp_path / "mine.toml"
    card.write_text('[[card]]\nmodel = "acme-1"\n[card.rates]\ninput = 1\noutput = 2\n')
    result = cli("prices", "--prices", str(card), "--format", "json")
    assert result.exit_code == 0
    assert [c["model"] for c in json.loads(result.stdout)] == ["acme-1", "deepseek-v3-2"]


def test_bad_card_file_is_one_line(cli, tmp_path):
    card = tmp_path / "bad.toml"
    card.write_text('[[card]]\nmodel = "acme-1"\n[card.rates]\ninput = -1\noutput = 2\n')
    result = cli("prices", "--prices", str(card))
    assert result.exit_code == 2
    assert "bad.toml: card[0] (acme-1).rates.input: -1 is negative" in result.stderr
    assert "Traceback" not in result.stderr
