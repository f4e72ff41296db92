"""Token counts per model: the encoding a model's price card names, exact or declared approximate.

A card's `tokenizer` field names the tokenizer. costkit counts exactly with the ones it ships
(see encoding.SHIPPED: DeepSeek V3.2's, OpenAI's o200k_base and cl100k_base); for any other
it counts with the nearest shipped one (`nearest.nearest`) and every result says so (`exact`
is False), because other vendors' tokenizers cannot be fetched at run time.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from costkit.core.errors import InputError, NoCardInEffectError
from costkit.pricing.book import ENV_PRICES, PriceBook, load_price_book
from costkit.tokens.encoding import DEEPSEEK_V3_2, get_encoding
from costkit.tokens.nearest import nearest

if TYPE_CHECKING:
    import tiktoken

# Above this many characters one text is cut into parts counted on separate threads.
PARALLEL_MIN_CHARS = 1 << 20
# A cut between a newline and an ASCII letter never falls inside a pre-tokenizer piece or
# an added token (see split_text), so the parts' counts add up to the whole text's.
_SAFE_CUT = re.compile(r"\n(?=[A-Za-z])")


@dataclass(frozen=True)
class Tokenizer:
    """How a model's text is counted: its card's tokenizer and the encoding that counts."""

    model: str
    tokenizer: str
    encoding_name: str
    exact: bool
    encoding: tiktoken.Encoding = field(repr=False, compare=False)

    @property
    def note(self) -> str:
        """'exact', or the declared approximation in one phrase."""
        if self.exact:
            return "exact"
        named = f"tokenizer {self.tokenizer!r}" if self.tokenizer else "no tokenizer named"
        return (
            f"approximate: {named} on {self.model}'s card has no offline copy; "
            f"counted with {self.encoding_name}"
        )

    def count(self, text: str) -> int:
        """Tokens of `text`, added tokens (`<think>`, `<｜User｜>`, ...) counting one each."""
        return len(self.encoding.encode(text, allowed_special="all"))

    def count_batch(self, texts: Sequence[str], num_threads: int = 2) -> list[int]:
        """Tokens of each text, on `num_threads` threads (tiktoken releases the GIL)."""
        if num_threads <= 1 or len(texts) < 2:
            return self._count_all(texts)
        # a few chunks per thread rather than one future per text: futures cost more than
        # encoding a short prompt
        size = -(-len(texts) // (num_threads * 4))
        chunks = [texts[i : i + size] for i in range(0, len(texts), size)]
        with ThreadPoolExecutor(num_threads) as pool:
            return [n for counts in pool.map(self._count_all, chunks) for n in counts]

    def _count_all(self, texts: Sequence[str]) -> list[int]:
        encode = self.encoding.encode
        return [len(encode(t, allowed_special="all")) for t in texts]

    def count_large(self, text: str, num_threads: int = 2) -> int:
        """Tokens of one text, cut at safe points and counted in parallel when it is large."""
        if num_threads <= 1 or len(text) < PARALLEL_MIN_CHARS:
            return self.count(text)
        parts = split_text(text, max(num_threads * 4, len(text) // PARALLEL_MIN_CHARS))
        if len(parts) == 1:
            return self.count(text)
        with ThreadPoolExecutor(num_threads) as pool:
            return sum(pool.map(self.count, parts))


def split_text(text: str, parts: int) -> list[str]:
    """`text` cut into about `parts` pieces whose token counts sum to the whole text's.

    Cuts fall right after a newline that an ASCII letter follows: the newline always ends
    a pre-tokenizer piece there (the whitespace branches end at a newline, the letter
    branch's optional prefix excludes newlines) and no added token contains a newline or
    starts with an ASCII letter.
    """
    if parts <= 1 or not text:
        return [text]
    step = max(1, len(text) // parts)
    pieces: list[str] = []
    start = 0
    while len(text) - start > step:
        match = _SAFE_CUT.search(text, start + step)
        if match is None:
            break
        pieces.append(text[start : match.end()])
        start = match.end()
    pieces.append(text[start:])
    return pieces


def tokenizer_for_model(model: str, book: PriceBook | None = None) -> Tokenizer:
    """The tokenizer of `model` (a card's model or alias) as its card in effect names it.

    Raises UnknownModelError (listing the known models) when no card names `model`.
    """
    book = book if book is not None else load_price_book()
    try:
        card = book.card_for(model)
    except NoCardInEffectError:
        # The vocabulary does not change with the rates: any card of the model will do.
        card = book.cards_for(model)[-1]
    name, exact = nearest(card.tokenizer)
    return Tokenizer(card.model, card.tokenizer, name, exact, get_encoding(name))


def encoding_for_model(model: str, book: PriceBook | None = None) -> tuple[tiktoken.Encoding, bool]:
    """The tiktoken Encoding that counts `model`'s tokens, and whether the count is exact."""
    tok = _cached_tokenizer(model) if book is None else tokenizer_for_model(model, book)
    return tok.encoding, tok.exact


def count_tokens(text: str, model: str = DEEPSEEK_V3_2) -> int:
    """Tokens of `text` as `model` counts them (added tokens count one each)."""
    return _cached_tokenizer(model).count(text)


def count_tokens_batch(
    texts: Sequence[str], model: str = DEEPSEEK_V3_2, num_threads: int = 2
) -> list[int]:
    """Tokens of each of `texts` as `model` counts them, on `num_threads` threads."""
    return _cached_tokenizer(model).count_batch(texts, num_threads=num_threads)


def _cached_tokenizer(model: str) -> Tokenizer:
    return _tokenizer_with_env(model, os.environ.get(ENV_PRICES))


@functools.lru_cache(maxsize=128)
def _tokenizer_with_env(model: str, prices_env: str | None) -> Tokenizer:
    # Keyed on $COSTKIT_PRICES so a changed user card directory is looked up afresh.
    return tokenizer_for_model(model, load_price_book())


@dataclass(frozen=True)
class InputCount:
    """One counted input: where it came from and its tokens, characters and UTF-8 bytes."""

    source: str
    tokens: int
    characters: int
    bytes: int


@dataclass(frozen=True)
class CountResult:
    """The counts of one or more inputs with one model's tokenizer."""

    tokenizer: Tokenizer
    inputs: tuple[InputCount, ...]

    @property
    def tokens(self) -> int:
        return sum(i.tokens for i in self.inputs)

    @property
    def characters(self) -> int:
        return sum(i.characters for i in self.inputs)

    @property
    def bytes(self) -> int:
        return sum(i.bytes for i in self.inputs)

    def as_dict(self) -> dict:
        tok = self.tokenizer
        return {
            "model": tok.model,
            "tokenizer": tok.tokenizer or None,
            "encoding": tok.encoding_name,
            "exact": tok.exact,
            "approximate": not tok.exact,
            "note": tok.note,
            "tokens": self.tokens,
            "characters": self.characters,
            "bytes": self.bytes,
            "inputs": [
                {
                    "source": i.source,
                    "tokens": i.tokens,
                    "characters": i.characters,
                    "bytes": i.bytes,
                }
                for i in self.inputs
            ],
        }


def count_inputs(
    inputs: Sequence[tuple[str, str]],
    model: str = DEEPSEEK_V3_2,
    book: PriceBook | None = None,
    num_threads: int = 2,
) -> CountResult:
    """Count each `(source, text)` with `model`'s tokenizer; large texts use `num_threads`."""
    tok = tokenizer_for_model(model, book)
    counted = []
    for source, text in inputs:
        counted.append(
            InputCount(source, tok.count_large(text, num_threads), len(text), _utf8_len(text))
        )
    return CountResult(tok, tuple(counted))


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def decode_text(data: bytes, source: str) -> str:
    """UTF-8 `data` as text (a leading byte-order mark dropped); InputError naming `source`."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{source}:{line}: not UTF-8 text (byte {exc.start} is 0x{data[exc.start]:02x}); "
            "save it as UTF-8"
        ) from None
    return text.removeprefix("\ufeff")


def read_text(path: str | os.PathLike) -> str:
    """A text file's exact content (newlines untranslated), or InputError naming the file."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{p}: is a directory; give a text file") from None
    except OSError as exc:
        raise InputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    return decode_text(data, str(p))
