"""Which shipped encoding stands in for a tokenizer costkit has no offline copy of.

A card names its model's tokenizer. When costkit ships it (`encoding.SHIPPED`) the count is
exact; otherwise the count is made with the nearest shipped encoding and marked approximate:
DeepSeek's other tokenizers with DeepSeek V3.2's (the same 128K byte-level BPE family), every
other named tokenizer with OpenAI's o200k_base (a modern 200K byte-level BPE). A card that
names no tokenizer keeps `encoding.APPROXIMATION`. How far each stand-in is from the real
tokenizer, where one can be had offline, is measured by bench/tokenizer_nearest.py and
stated in the README.
"""

from __future__ import annotations

from costkit.tokens.encoding import APPROXIMATION, DEEPSEEK_V3_2, shipped_name
from costkit.tokens.openai import O200K_BASE


def nearest(tokenizer: str) -> tuple[str, bool]:
    """The shipped encoding that counts for `tokenizer`, and whether that count is exact."""
    if not tokenizer:
        return APPROXIMATION, False
    shipped = shipped_name(tokenizer)
    if shipped is not None:
        return shipped, True
    if tokenizer.strip().lower().startswith("deepseek"):
        return DEEPSEEK_V3_2, False
    return O200K_BASE, False
