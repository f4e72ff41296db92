"""Tokenizers (tiktoken encodings built from each model's own vocabulary) and token counting.

Chat-template rendering per endpoint lives in `costkit.tokens.templates`.

    from costkit.tokens import count_tokens, get_encoding, encoding_for_model
    count_tokens("Write a haiku about the ocean.")          # DeepSeek V3.2, exact
    enc, exact = encoding_for_model("deepseek-v3-2")        # (tiktoken.Encoding, True)
    enc.encode(prompt, allowed_special="all")               # added tokens count one each
"""

from __future__ import annotations

from costkit.tokens.counting import (
    CountResult,
    InputCount,
    Tokenizer,
    count_inputs,
    count_tokens,
    count_tokens_batch,
    decode_text,
    encoding_for_model,
    read_text,
    split_text,
    tokenizer_for_model,
)
from costkit.tokens.encoding import (
    APPROXIMATION,
    DEEPSEEK_V3_2,
    PATTERN,
    SHIPPED,
    get_encoding,
    tokenizer_info,
)

__all__ = [
    "APPROXIMATION",
    "DEEPSEEK_V3_2",
    "PATTERN",
    "SHIPPED",
    "CountResult",
    "InputCount",
    "Tokenizer",
    "count_inputs",
    "count_tokens",
    "count_tokens_batch",
    "decode_text",
    "encoding_for_model",
    "get_encoding",
    "read_text",
    "split_text",
    "tokenizer_for_model",
    "tokenizer_info",
]
