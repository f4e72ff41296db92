"""Tokenizer throughput on real text: costkit's DeepSeek V3.2 counter against Hugging Face
`tokenizers` (DeepSeek's own tokenizer.json) and against tiktoken's `cl100k_base`.

Real text found on disk, nothing generated or downloaded; each kind is repeated up to
--mb MB, in documents of a few KB:
  code   this repository's Python source (costkit/), one file a document
  prose  README.md and docs/*.md, cut at paragraphs
  CJK    CPython's own test texts in Chinese, Japanese and Korean
         (Lib/test/cjkencodings/*-utf8.txt of the running interpreter)
  JSON   the recorded API responses and logs in tests/fixtures (*.json, *.jsonl)

Measured in the same run, best of --repeat rounds each, per kind:
  costkit     `Tokenizer.count` per document (1 thread); `Tokenizer.count_batch` (--threads)
  baseline    Hugging Face tokenizers, its cheapest call that gives the same ids:
              `encode(doc, add_special_tokens=False)` per document (1 thread) and
              `encode_batch_fast(docs, add_special_tokens=False)` (no offsets; rayon,
              --threads)
  ceiling     tiktoken `cl100k_base` (costkit's offline copy) `encode_ordinary` /
              `encode_ordinary_batch` on the same text: the same technique (a regex and
              BPE merges in Rust) with a pattern tiktoken tuned; what costkit can hope for
Each line: MB/s of costkit and of the other, their ratio (costkit's speed / the other's),
and whether costkit and Hugging Face counted the same tokens in every document. Then the
encoding's cold load with its full table (fresh interpreter, median of --loads).

    python bench/tokenizer.py            # 2 MB of each kind
    python bench/tokenizer.py --mb 0.3   # quick
"""

from __future__ import annotations

import argparse
import lzma
import os
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

from figures import figure

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "tests" / "fixtures" / "tokens" / "deepseek-v3.2-tokenizer.json.xz"
CJK = Path(sysconfig.get_paths()["stdlib"]) / "test" / "cjkencodings"
LOAD_SNIPPET = (
    "import time; t = time.perf_counter(); "
    "from costkit.tokens import get_encoding; get_encoding().encode_ordinary('x' * 1000); "
    "print(time.perf_counter() - t)"
)


def _chunks(text: str, size: int, sep: str) -> list[str]:
    """`text` cut at `sep` into pieces of about `size` characters."""
    out, current = [], ""
    for part in text.split(sep):
        current = f"{current}{sep}{part}" if current else part
        if len(current) >= size:
            out.append(current)
            current = ""
    return out + ([current] if current else [])


def texts() -> dict[str, list[str]]:
    """Each kind's documents, read once."""
    code = [p.read_text() for p in sorted((ROOT / "costkit").rglob("*.py"))]
    prose_files = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    prose = _chunks("\n\n".join(p.read_text() for p in prose_files), 4000, "\n\n")
    # several files hold the same sample: each distinct text once
    cjk = sorted({p.read_text(encoding="utf-8") for p in CJK.glob("*-utf8.txt")})
    fixtures = ROOT / "tests" / "fixtures"
    json_docs: list[str] = []
    for path in sorted([*fixtures.rglob("*.json"), *fixtures.rglob("*.jsonl")]):
        json_docs += _chunks(path.read_text(encoding="utf-8", errors="replace"), 4000, "\n")
    return {"code": code, "prose": prose, "CJK": cjk, "JSON": json_docs}


def repeat_to(docs: list[str], mb: float) -> list[str]:
    target, out, size = int(mb * 1e6), [], 0
    while size < target:
        for doc in docs:
            out.append(doc)
            size += len(doc.encode())
            if size >= target:
                break
    return out


def best(repeat: int, fn):
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def speed(name: str, ours: float, theirs: float, baseline: str) -> str:
    return figure(name, ours, theirs, baseline, "MB/s", "x baseline speed")


def run(mb: float, threads: int, repeat: int, loads: int) -> list[str]:
    os.environ.setdefault("RAYON_NUM_THREADS", str(threads))
    from tokenizers import Tokenizer as HF

    from costkit.tokens import tokenizer_for_model
    from costkit.tokens.openai import openai_encoding

    hf = HF.from_str(lzma.decompress(REFERENCE.read_bytes()).decode("utf-8"))
    tok = tokenizer_for_model("deepseek-v3-2")
    cl100k = openai_encoding("cl100k_base")
    # build every table before timing (costkit's is built on first need)
    for warm in (lambda t: tok.count(t), lambda t: hf.encode(t), cl100k.encode_ordinary):
        warm("warm up " * 100)
    lines = []
    for kind, found in texts().items():
        docs = repeat_to(found, mb)
        size = sum(len(d.encode()) for d in docs) / 1e6
        t_ours, ours = best(repeat, lambda docs=docs: [tok.count(d) for d in docs])
        t_hf, ref = best(repeat, lambda docs=docs: [
            len(hf.encode(d, add_special_tokens=False).ids) for d in docs])
        t_cl, _ = best(repeat, lambda docs=docs: [len(cl100k.encode_ordinary(d)) for d in docs])
        b_ours, ours_b = best(repeat, lambda docs=docs: tok.count_batch(docs, threads))
        b_hf, _ = best(repeat, lambda docs=docs: hf.encode_batch_fast(
            docs, add_special_tokens=False))
        b_cl, _ = best(repeat, lambda docs=docs: cl100k.encode_ordinary_batch(
            docs, num_threads=threads))
        same = "same counts" if ours == ref == ours_b else "COUNTS DIFFER"
        label = f"tokenizer {kind} ({size:.1f} MB, {same})"
        lines += [
            speed(f"{label} 1 thread", size / t_ours, size / t_hf, "HF tokenizers encode"),
            speed(f"{label} 1 thread", size / t_ours, size / t_cl,
                   "tiktoken cl100k_base encode_ordinary (ceiling)"),
            speed(f"{label} {threads} threads", size / b_ours, size / b_hf,
                   "HF tokenizers encode_batch_fast"),
            speed(f"{label} {threads} threads", size / b_ours, size / b_cl,
                   "tiktoken cl100k_base encode_ordinary_batch (ceiling)"),
        ]
    if loads:
        cold = [float(subprocess.run([sys.executable, "-c", LOAD_SNIPPET], capture_output=True,
                                     text=True, check=True, cwd="/").stdout)
                for _ in range(loads)]
        lines.append(f"DeepSeek encoding cold load (import + full table, fresh interpreter, "
                     f"median of {loads}): {statistics.median(cold):.3f} s")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=2.0, help="MB of each kind of text")
    parser.add_argument("--threads", type=int, default=2, help="threads of the batch runs")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per measurement")
    parser.add_argument("--loads", type=int, default=5, help="cold load runs")
    args = parser.parse_args()
    for line in run(args.mb, args.threads, args.repeat, args.loads):
        print(line)


if __name__ == "__main__":
    main()
