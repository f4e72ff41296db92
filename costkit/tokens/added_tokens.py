"""A tiktoken Encoding that matches added tokens (`<think>`, `<｜User｜>`, ...) cheaply.

`Encoding.encode(text, allowed_special="all")` hands every added token (818 for DeepSeek
V3.2) to Rust on each call, which costs about 100 µs: more than encoding a short prompt.
Allowing only the added tokens that occur in the text gives the same ids (tiktoken scans
for added tokens leftmost-first, and none of DeepSeek's is a prefix of another), so
`AddedTokenEncoding.encode` first finds them with `shape`, a regex every added token
matches in full, and passes just those. When the shape matches text that is not an added
token (which could hide one inside it), it falls back to allowing all of them.

Start-up: building tiktoken's BPE table from DeepSeek's 128k ranks takes about 60 ms, more
than everything else `costkit count hello` does. The table is built on first real need. A
short text without added tokens is encoded by a table of only the ranks of its own
substrings: byte-pair encoding looks up no byte string that is not a substring of the text
(pieces, pairs of adjacent parts, and parts are all substrings), so the ids are the same.
After SHORT_CALLS such texts the full table is built, so batches pay it once.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from collections.abc import Set as AbstractSet
from typing import Literal

import tiktoken
from tiktoken import _tiktoken

# Every DeepSeek V3.2 added token: `<｜...｜>` (no ｜ inside), ｜DSML｜, <dsml: and </dsml:,
# <think> and </think>, <|EOT|>. tests/test_tokens.py checks each one matches in full.
DEEPSEEK_ADDED_SHAPE = re.compile(r"<｜[^｜<>\n]{1,40}｜>|｜DSML｜|</?dsml:|</?think>|<\|EOT\|>")
SHORT_TEXT_BYTES = 128  # a text up to this long is encoded with a table of its substrings
SHORT_CALLS = 16  # short texts encoded that way before the full table is built


class AddedTokenEncoding(tiktoken.Encoding):
    """tiktoken.Encoding whose `encode(..., allowed_special="all")` avoids the per-call cost."""

    def __init__(
        self,
        name: str,
        *,
        pat_str: str,
        mergeable_ranks: dict[bytes, int],
        special_tokens: dict[str, int],
        explicit_n_vocab: int | None = None,
        shape: re.Pattern[str],
    ) -> None:
        # tiktoken.Encoding.__init__'s attributes and checks, without building the table
        # (`_core_bpe` below builds it when first used)
        self.name = name
        self._pat_str = pat_str
        self._mergeable_ranks = mergeable_ranks
        self._special_tokens = special_tokens
        self.max_token_value = max(
            max(mergeable_ranks.values()), max(special_tokens.values(), default=0)
        )
        if explicit_n_vocab:
            assert len(mergeable_ranks) + len(special_tokens) == explicit_n_vocab
            assert self.max_token_value == explicit_n_vocab - 1
        self._special_token_values = set(special_tokens.values())
        self._table: _tiktoken.CoreBPE | None = None
        self._short_left = SHORT_CALLS
        self._shape = shape
        self._triggers = tuple(sorted({token[0] for token in self._special_tokens}))
        for token in self._special_tokens:
            if not shape.fullmatch(token):
                raise ValueError(f"added token {token!r} does not match the shape regex")

    @property
    def _core_bpe(self) -> _tiktoken.CoreBPE:
        """The full BPE table, built on first use (every tiktoken method reads it here)."""
        if self._table is None:
            self._table = _tiktoken.CoreBPE(
                self._mergeable_ranks, self._special_tokens, self._pat_str
            )
        return self._table

    @property
    def table_built(self) -> bool:
        return self._table is not None

    def _encode_short(self, text: str) -> list[int] | None:
        """`text`'s ids by a table of its substrings' ranks, while the full table is not
        built and the text is short; None otherwise."""
        if self._table is not None or self._short_left <= 0:
            return None
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: tiktoken's own path handles them
            return None
        n = len(data)
        if n > SHORT_TEXT_BYTES:
            return None
        self._short_left -= 1
        ranks = self._mergeable_ranks
        own = {}
        for i in range(n):
            for j in range(i + 1, n + 1):
                piece = data[i:j]
                rank = ranks.get(piece)
                if rank is not None:
                    own[piece] = rank
        ids: list[int] = _tiktoken.CoreBPE(own, {}, self._pat_str).encode_ordinary(text)
        return ids

    def added_tokens_in(self, text: str) -> frozenset[str] | None:
        """The added tokens occurring in `text`, or None when only a full scan can tell."""
        if not any(ch in text for ch in self._triggers):
            return frozenset()
        found = frozenset(self._shape.findall(text))
        if found <= self.special_tokens_set:
            return found
        return None

    def encode(
        self,
        text: str,
        *,
        allowed_special: Literal["all"] | AbstractSet[str] = frozenset(),
        disallowed_special: Literal["all"] | Collection[str] = "all",
    ) -> list[int]:
        # encode_batch passes the cached `special_tokens_set` itself for "all"
        if allowed_special == "all" or allowed_special is self.special_tokens_set:
            present = self.added_tokens_in(text)
            if not present and present is not None:
                short = self._encode_short(text)
                if short is not None:
                    return short
            if present is not None:
                return super().encode(text, allowed_special=present, disallowed_special=())
            allowed_special = "all"
        return super().encode(
            text, allowed_special=allowed_special, disallowed_special=disallowed_special
        )
