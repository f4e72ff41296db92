"""Tokenizer throughput: costkit's DeepSeek V3.2 counter vs Hugging Face `tokenizers`.

Builds about --mb MB of mixed text (English, code, JSON, numbers, Chinese, Japanese,
Korean, Arabic, emoji, combining marks, controls, whitespace, added tokens: the generators
of tests/tokens_corpus.py, seeded) cut into documents of about --doc-kb KB, then measures
in the same run, best of --repeat rounds each:

  baseline   Hugging Face tokenizers loading DeepSeek's own tokenizer.json (the compressed
             copy in tests/fixtures/tokens/): `encode` per document on one thread, and
             `encode_batch` over all documents (rayon, --threads threads)
  costkit    `Tokenizer.count` per document on one thread, and `count_tokens_batch`'s path
             (`Tokenizer.count_batch`, --threads threads)

and prints MB/s (UTF-8) and tokens/s of each, costkit's speed-up (target: >= 4x single
threaded), whether both counted the same tokens, and the encoding's cold load time from the
installed package in a fresh interpreter (target: < 0.3 s), median of --loads runs.

    python bench/tokenizer.py             # ~20 MB
    python bench/tokenizer.py --mb 2      # quick
"""

from __future__ import annotations

import argparse
import lzma
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from tokens_corpus import corpus  # noqa: E402

REFERENCE = ROOT / "tests" / "fixtures" / "tokens" / "deepseek-v3.2-tokenizer.json.xz"
LOAD_SNIPPET = (
    "import time; t = time.perf_counter(); c = time.process_time(); "
    "from costkit.tokens import get_encoding; t1 = time.perf_counter(); get_encoding(); "
    "t2 = time.perf_counter(); print(t1 - t, t2 - t1, t2 - t, time.process_time() - c)"
)


def documents(mb: float, doc_kb: float, seed: int = 1) -> list[str]:
    target, doc_target = int(mb * 1_000_000), int(doc_kb * 1000)
    docs, current, size, total, batch = [], [], 0, 0, 0
    while total < target:
        for _, text in corpus(2000, seed=seed + batch):
            current.append(text)
            size += len(text.encode())
            if size >= doc_target:
                docs.append("\n".join(current))
                total += size
                current, size = [], 0
                if total >= target:
                    break
        batch += 1
    return docs


def best(repeat: int, fn):
    """(best wall seconds, CPU seconds of that round, result) over `repeat` rounds."""
    rounds, result = [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        rounds.append((time.perf_counter() - start, time.process_time() - cpu))
    wall, cpu = min(rounds)
    return wall, cpu, result


def cold_loads(runs: int) -> list[tuple[float, ...]]:
    out = []
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", LOAD_SNIPPET],
            capture_output=True,
            text=True,
            check=True,
            cwd="/",
        )
        out.append(tuple(float(x) for x in proc.stdout.split()))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20.0, help="MB of mixed text (UTF-8)")
    parser.add_argument("--doc-kb", type=float, default=4.0, help="document size in KB")
    parser.add_argument("--threads", type=int, default=2, help="threads of the batch runs")
    parser.add_argument("--repeat", type=int, default=2, help="rounds per measurement")
    parser.add_argument("--loads", type=int, default=5, help="cold load runs")
    args = parser.parse_args()
    os.environ.setdefault("RAYON_NUM_THREADS", str(args.threads))

    import tiktoken
    import tokenizers
    from tokenizers import Tokenizer

    from costkit.pricing.book import load_price_book
    from costkit.tokens import tokenizer_for_model

    docs = documents(args.mb, args.doc_kb)
    nbytes = sum(len(d.encode("utf-8", "surrogatepass")) for d in docs)
    mb = nbytes / 1e6
    print(
        f"text: {mb:.1f} MB in {len(docs):,} documents of ~{args.doc_kb:g} KB; "
        f"{os.cpu_count()} CPUs; python {platform.python_version()}, tiktoken "
        f"{tiktoken.__version__}, tokenizers {tokenizers.__version__}"
    )

    hf = Tokenizer.from_str(lzma.decompress(REFERENCE.read_bytes()).decode("utf-8"))
    tok = tokenizer_for_model("deepseek-v3-2", load_price_book())
    tok.count("warm up")
    hf.encode("warm up", add_special_tokens=False)

    rows = []
    wall, cpu, ref_counts = best(
        args.repeat, lambda: [len(hf.encode(d, add_special_tokens=False).ids) for d in docs]
    )
    rows.append(("baseline  tokenizers encode, 1 thread", wall, cpu, sum(ref_counts)))
    wall, cpu, ref_batch = best(
        args.repeat, lambda: [len(e.ids) for e in hf.encode_batch(docs, add_special_tokens=False)]
    )
    rows.append(
        (f"baseline  tokenizers encode_batch, {args.threads} threads", wall, cpu, sum(ref_batch))
    )
    wall, cpu, ours = best(args.repeat, lambda: [tok.count(d) for d in docs])
    rows.append(("costkit   count, 1 thread", wall, cpu, sum(ours)))
    wall, cpu, ours_batch = best(
        args.repeat, lambda: tok.count_batch(docs, num_threads=args.threads)
    )
    rows.append((f"costkit   count_batch, {args.threads} threads", wall, cpu, sum(ours_batch)))

    # CPU seconds are shown because the wall clock of a shared machine is noisy; on one
    # thread they are the fairer comparison, on two the wall clock is the point
    for label, wall, cpu, tokens in rows:
        print(
            f"{label:<44} {wall:7.2f} s wall ({cpu:6.2f} s CPU)  {mb / wall:6.2f} MB/s  "
            f"{tokens / wall / 1e6:5.2f} M tokens/s"
        )
    print(
        f"speed-up vs baseline, 1 thread: {rows[0][1] / rows[2][1]:.2f}x wall, "
        f"{rows[0][2] / rows[2][2]:.2f}x CPU (target >= 4x); "
        f"batch: {rows[1][1] / rows[3][1]:.2f}x wall"
    )
    same = ours == ref_counts == ref_batch == ours_batch
    print(f"same token counts per document: {'yes' if same else 'NO'} ({sum(ours):,} tokens)")

    loads = cold_loads(args.loads)
    imp, build, total, cpu = (statistics.median(x[i] for x in loads) for i in range(4))
    ranks = resources.files("costkit.tokens").joinpath("data", "deepseek-v3-2.ranks")
    print(
        f"encoding cold load (fresh interpreter, median of {args.loads}): {total:.3f} s wall "
        f"= import {imp:.3f} s + build {build:.3f} s; {cpu:.3f} s CPU (target < 0.3 s); "
        f"rank data {len(ranks.read_bytes()) / 1e6:.2f} MB compressed"
    )


if __name__ == "__main__":
    main()
