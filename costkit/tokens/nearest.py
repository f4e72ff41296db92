"""Which shipped encoding stands in for a tokenizer costkit has no offline copy of.

A card names its model's tokenizer. When costkit ships it (`encoding.SHIPPED`) the count is
exact; otherwise the count is made with the nearest shipped encoding and marked approximate.
The choice is measured (bench/tokenizer_nearest.py, figures in the README): DeepSeek's other
tokenizers with DeepSeek V3.2's (V3 and V4 count the same on the corpus), Llama 3's with
cl100k_base (its vocabulary extends cl100k's: median error 0.0%), every other named
tokenizer with o200k_base (median error 0.7-1.5% against Qwen 3, GLM-4 and MiniMax; Claude's,
Gemini's and Grok's are not published, so theirs is unmeasured). A card that names no
tokenizer keeps `encoding.APPROXIMATION`.
"""

from __future__ import annotations

from costkit.tokens.encoding import APPROXIMATION, DEEPSEEK_V3_2, shipped_name
from costkit.tokens.openai import CL100K_BASE, O200K_BASE


def nearest(tokenizer: str) -> tuple[str, bool]:
    """The shipped encoding that counts for `tokenizer`, and whether that count is exact."""
    if not tokenizer:
        return APPROXIMATION, False
    shipped = shipped_name(tokenizer)
    if shipped is not None:
        return shipped, True
    name = tokenizer.strip().lower()
    if name.startswith("deepseek"):
        return DEEPSEEK_V3_2, False
    if name in ("llama-3", "llama3"):
        return CL100K_BASE, False
    return O200K_BASE, False
