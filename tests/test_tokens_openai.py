"""OpenAI's encodings from costkit's offline copies: the same file OpenAI publishes, the same
ids tiktoken gives, and never a download."""

from __future__ import annotations

import base64
import hashlib
import re
import socket
from pathlib import Path

import pytest
import tiktoken_ext.openai_public

from costkit.tokens import count_inputs, get_encoding, tokenizer_info
from costkit.tokens.openai import encoding_of_model, openai_encoding
from costkit.tokens.ranks import unpack_ranks

DATA = Path(__file__).resolve().parents[1] / "costkit" / "tokens" / "data"


def _pinned_hashes() -> dict[str, str]:
    """The sha256 tiktoken pins for each encoding file, read from tiktoken's own source."""
    source = Path(tiktoken_ext.openai_public.__file__).read_text(encoding="utf-8")
    pinned = re.findall(r"encodings/(\w+)\.tiktoken\",\s*expected_hash=\"([0-9a-f]{64})\"",
                        source)
    return dict(pinned)


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_shipped_ranks_are_the_file_tiktoken_pins(name):
    # Written back in tiktoken's file format (base64 token, space, rank, one per line, in
    # rank order), the shipped ranks must hash to what tiktoken checks its download against.
    ranks = unpack_ranks((DATA / f"{name}.ranks").read_bytes())
    text = b"".join(base64.b64encode(token) + b" " + str(rank).encode() + b"\n"
                    for token, rank in sorted(ranks.items(), key=lambda kv: kv[1]))
    assert hashlib.sha256(text).hexdigest() == _pinned_hashes()[name]


def test_ids_match_openai_published_examples():
    # OpenAI cookbook, "How to count tokens with tiktoken" (examples/
    # How_to_count_tokens_with_tiktoken.ipynb): "tiktoken is great!" in each encoding.
    assert get_encoding("cl100k_base").encode("tiktoken is great!") == [83, 1609, 5963, 374,
                                                                         2294, 0]
    assert get_encoding("o200k_base").encode("tiktoken is great!") == [83, 8251, 2488, 382,
                                                                        2212, 0]
    assert get_encoding("o200k_base").decode([83, 8251, 2488, 382, 2212, 0]) == (
        "tiktoken is great!")


def test_special_tokens_are_tiktoken_s():
    enc = get_encoding("o200k_base")
    assert enc.encode("<|endoftext|>", allowed_special="all") == [199999]
    assert get_encoding("cl100k_base").encode("<|endoftext|>", allowed_special="all") == [100257]


def test_building_an_encoding_never_touches_the_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("costkit tried to open a socket")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    openai_encoding.cache_clear()
    try:
        assert len(openai_encoding("o200k_base").encode("hello world")) == 2
    finally:
        openai_encoding.cache_clear()


def test_tiktoken_model_table_picks_the_encoding():
    assert encoding_of_model("gpt-4o-2024-08-06") == "o200k_base"
    assert encoding_of_model("gpt-4") == "cl100k_base"
    assert encoding_of_model("gpt-3.5-turbo") == "cl100k_base"
    assert encoding_of_model("o3") == "o200k_base"
    assert encoding_of_model("claude-sonnet-4-5") is None


def test_info_names_the_source_and_the_pinned_hash():
    info = tokenizer_info("o200k_base")
    assert info["source"]["package"] == "bpe-openai"
    assert info["source"]["sha256"] == _pinned_hashes()["o200k_base"]
    assert "special_tokens" not in info
    assert "Copyright (c) 2022 OpenAI" in (DATA / "LICENSE-tiktoken.txt").read_text()



def test_count_for_a_catalog_openai_model_is_exact():
    result = count_inputs([("text", "tiktoken is great!")], "gpt-4o")
    assert result.tokens == 6
    assert result.tokenizer.exact is True
    assert result.tokenizer.encoding_name == "o200k_base"


def test_the_nearest_stand_in_is_the_measured_one():
    # bench/tokenizer_nearest.py: Llama 3's tokenizer counts like cl100k_base (median error
    # 0.0%), DeepSeek V3 / V4 like deepseek-v3-2 (0.0%), others are closest to o200k_base.
    from costkit.tokens.nearest import nearest

    assert nearest("llama-3") == ("cl100k_base", False)
    assert nearest("deepseek-v4") == ("deepseek-v3-2", False)
    assert nearest("claude") == ("o200k_base", False)
    assert nearest("o200k_base") == ("o200k_base", True)
    assert nearest("") == ("deepseek-v3-2", False)  # a card naming none: as before
    count = count_inputs([("text", "The quick brown fox.")], "llama-3.3-70b-versatile")
    assert count.tokenizer.encoding_name == "cl100k_base" and count.tokenizer.exact is False
