"""costkit: price LLM API calls before they are sent; explain, forecast and audit spend after.

The public Python API is `count_tokens` and `estimate`; both import their machinery lazily so
`import costkit` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["count_tokens", "estimate", "__version__"]


def count_tokens(text: str, model: str = "deepseek-v3-2") -> int:
    """Tokens of `text` as `model` counts them (its own tokenizer; see costkit.tokens)."""
    from costkit.tokens import count_tokens as _count

    return _count(text, model=model)


def estimate(request: Any, model: str | None = None, endpoint: str | None = None, **options: Any):
    """Price a prompt or request body before sending it (costkit.estimator.estimate)."""
    from costkit.estimator.estimate import estimate as _estimate

    return _estimate(request, model=model, endpoint=endpoint, **options)
