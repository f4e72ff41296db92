"""costkit: price LLM API calls before they are sent; explain, forecast and audit spend after.

The public Python API, and only it: `count_tokens`, `estimate`, `Store` and `PriceBook`.
Everything is imported on first use, so `import costkit` loads no duckdb, polars or tiktoken
(the CLI and every subpackage import this module first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from costkit.api import Store
    from costkit.estimator.estimate import Estimate
    from costkit.pricing.book import PriceBook

from costkit.core.version import __version__

__all__ = ["PriceBook", "Store", "count_tokens", "estimate", "__version__"]


def count_tokens(text: str, model: str = "deepseek-v3-2") -> int:
    """Tokens of `text` as `model` counts them (its own tokenizer; see costkit.tokens)."""
    from costkit.tokens import count_tokens as _count

    return _count(text, model=model)


def estimate(
    request: Any, model: str | None = None, endpoint: str | None = None, **options: Any
) -> Estimate:
    """Price a prompt or request body before sending it (costkit.estimator.estimate)."""
    from costkit.estimator.estimate import estimate as _estimate

    return _estimate(request, model=model, endpoint=endpoint, **options)


def __getattr__(name: str) -> Any:
    # PEP 562: the classes are looked up on first access, not at import.
    if name == "Store":
        from costkit.api import Store

        return Store
    if name == "PriceBook":
        from costkit.pricing.book import PriceBook

        return PriceBook
    raise AttributeError(f"module 'costkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
