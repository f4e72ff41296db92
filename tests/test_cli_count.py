"""`costkit count`: text, files and stdin; table and JSON output; approximate and bad input."""

from __future__ import annotations

import json

import pytest
from goldens import check, produces

from tests.conftest import FIXTURES, ROOT

PROMPT = FIXTURES / "tokens" / "prompt.txt"
PROMPT_REL = PROMPT.relative_to(ROOT).as_posix()
HAIKU_PROMPT = (
    "<｜begin▁of▁sentence｜><｜User｜>Write a haiku about the ocean.<｜Assistant｜></think>"
)


@pytest.fixture
def at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


@produces("count_text.txt")
def count_text(cli) -> dict:
    return {"count_text.txt": cli("count", "Write a haiku about the ocean.")}


def test_text_argument_table_golden(cli):
    result = count_text(cli)["count_text.txt"]
    assert result.exit_code == 0
    assert result.stderr == ""
    check("count_text.txt", result.stdout)


@produces("count_file.json")
def count_file(cli) -> dict:
    return {"count_file.json": cli("count", "--file", PROMPT_REL, "--format", "json")}


def test_file_json_golden(cli, at_root):
    result = count_file(cli)["count_file.json"]
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    data = json.loads(result.stdout)
    # 92 is what Hugging Face tokenizers gives for this file (checked when it was written)
    assert data["tokens"] == 92
    assert data["exact"] is True and data["model"] == "deepseek-v3-2"
    check("count_file.json", result.stdout)


@produces("count_files.txt")
def count_files(cli) -> dict:
    return {"count_files.txt": cli("count", "-f", PROMPT_REL, "-f", PROMPT_REL)}


def test_files_table_has_a_total_row_golden(cli, at_root):
    result = count_files(cli)["count_files.txt"]
    assert result.exit_code == 0, result.stderr
    assert "│ total" in result.stdout
    check("count_files.txt", result.stdout)


def test_seed_prompt_special_tokens_count_one_each(cli):
    result = cli("count", HAIKU_PROMPT, "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["tokens"] == 12


def test_stdin_when_text_is_dash(cli):
    result = cli("count", "-", "--format", "json", input="hello world")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["tokens"] == 2
    assert data["inputs"] == [{"source": "stdin", "tokens": 2, "characters": 11, "bytes": 11}]


def test_stdin_when_no_text_and_stdin_is_piped(cli):
    result = cli("count", "--format", "json", input="héllo\r\nwörld\n")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["characters"] == 13 and data["bytes"] == 15
    assert data["inputs"][0]["source"] == "stdin"


def test_stdin_and_files_together(cli, at_root):
    result = cli("count", "-", "-f", PROMPT_REL, "--format", "json", input="hello world")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert [i["source"] for i in data["inputs"]] == ["stdin", PROMPT_REL]
    assert data["tokens"] == 2 + 92


def test_stdin_not_utf8_is_one_line_error(cli):
    result = cli("count", "-", input=b"abc\n\xff\xfe")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert (
        result.stderr == "costkit: error: stdin:2: not UTF-8 text (byte 4 is 0xff); "
        "save it as UTF-8\n"
    )


def test_unknown_model_lists_known_models(cli):
    result = cli("count", "hi", "--model", "gpt-9")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "costkit: error: unknown model 'gpt-9': no price card for it; known models: deepseek-v3-2;"
        " the catalog (genai-prices 0.2.3) has no card of that name either (closest: openai/gpt-5,"
        " openai/gpt-4)\n"
    )


def test_missing_file_is_one_line_error(cli, tmp_path):
    missing = tmp_path / "nope.txt"
    result = cli("count", "--file", str(missing))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"costkit: error: {missing}: no such file\n"


def test_text_and_file_together_is_an_error(cli, at_root):
    result = cli("count", "hello", "--file", PROMPT_REL)
    assert result.exit_code == 2
    assert result.stderr == "costkit: error: give TEXT or --file, not both\n"


def test_bad_format_is_a_usage_error(cli):
    result = cli("count", "hi", "--format", "xml")
    assert result.exit_code == 2
    assert "xml" in result.stderr


def test_approximate_model_says_so_in_both_formats(cli, tmp_path):
    cards = tmp_path / "cards.toml"
    cards.write_text("""
[[card]]
model = "gpt-4o"
tokenizer = "claude"
[card.rates]
input = "2.50"
output = "10.00"
""")
    # costkit has no copy of a tokenizer named "claude": o200k_base stands in, said twice
    table = cli("count", "hello world", "--model", "gpt-4o", "--prices", str(cards))
    assert table.exit_code == 0
    assert "gpt-4o tokens (approximate)" in table.stdout
    assert "approximate: tokenizer 'claude'" in table.stdout
    assert table.stderr == ""
    js = cli(
        "count", "hello world", "--model", "gpt-4o", "--prices", str(cards), "--format", "json"
    )
    data = json.loads(js.stdout)
    assert data["exact"] is False and data["approximate"] is True
    assert data["tokenizer"] == "claude" and data["encoding"] == "o200k_base"
    assert data["tokens"] == 2


def test_alias_resolves_to_the_cards_model(cli, tmp_path):
    cards = tmp_path / "cards.toml"
    cards.write_text("""
[[card]]
model = "deepseek-v3-2"
aliases = ["deepseek-chat"]
tokenizer = "deepseek-v3-2"
[card.rates]
input = "0.57"
output = "1.71"
""")
    result = cli(
        "count", "hi there", "-m", "deepseek-chat", "--prices", str(cards), "--format", "json"
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model"] == "deepseek-v3-2" and data["exact"] is True


def test_large_file_with_threads_counts_the_same(cli, tmp_path):
    from costkit.tokens import count_tokens

    text = PROMPT.read_text(encoding="utf-8") * 4000  # ~1 MB: parallel path
    big = tmp_path / "big.txt"
    big.write_text(text, encoding="utf-8", newline="")
    one = json.loads(cli("count", "-f", str(big), "--threads", "1", "--format", "json").stdout)
    two = json.loads(cli("count", "-f", str(big), "--threads", "2", "--format", "json").stdout)
    assert one["tokens"] == two["tokens"] == count_tokens(text)
