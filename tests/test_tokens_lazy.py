"""The DeepSeek encoding builds its full BPE table only when needed (issue 17: `costkit count
hello` under 0.2 s), and short texts encoded without it get the reference's ids: Hugging Face
`tokenizers` loading DeepSeek's own tokenizer.json."""

from __future__ import annotations

import lzma

import pytest
from tokenizers import Tokenizer
from tokens_corpus import corpus

from costkit.tokens import added_tokens
from costkit.tokens.encoding import _build
from tests.conftest import FIXTURES

REFERENCE = FIXTURES / "tokens" / "deepseek-v3.2-tokenizer.json.xz"


@pytest.fixture(scope="module")
def hf() -> Tokenizer:
    return Tokenizer.from_str(lzma.decompress(REFERENCE.read_bytes()).decode("utf-8"))


def fresh():
    return _build.__wrapped__("deepseek-v3-2")  # not the process-wide cached one


def test_counting_hello_builds_no_full_table(hf) -> None:
    enc = fresh()
    assert enc.encode("hello", allowed_special="all") == hf.encode(
        "hello", add_special_tokens=False).ids
    assert not enc.table_built


def test_short_texts_without_the_table_match_the_reference(hf, monkeypatch) -> None:
    monkeypatch.setattr(added_tokens, "SHORT_CALLS", 10**9)
    enc = fresh()
    texts = [t for _, t in corpus(3000, seed=17)
             if len(t.encode("utf-8", "surrogatepass")) <= added_tokens.SHORT_TEXT_BYTES]
    texts += ["", " ", "hello", "Hello, world!", "价格是多少？", "{\"a\": 1}", "\n\n  x"]
    # those without added tokens first: the first one with an added token builds the table
    texts.sort(key=lambda t: enc.added_tokens_in(t) != frozenset())
    plain = sum(enc.added_tokens_in(t) == frozenset() for t in texts)
    assert plain > 500
    ours = [enc.encode(t, allowed_special="all") for t in texts]
    theirs = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
    bad = [t for t, a, b in zip(texts, ours, theirs, strict=True) if a != b]
    assert bad == []
    assert 10**9 - enc._short_left == plain  # each of those went the short way
    assert enc.table_built


def test_the_table_is_built_after_a_few_short_texts(hf) -> None:
    enc = fresh()
    texts = [f"request {i} costs {i * 7} tokens" for i in range(added_tokens.SHORT_CALLS + 3)]
    ours = [enc.encode(t, allowed_special="all") for t in texts]
    assert enc.table_built
    assert ours == [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
