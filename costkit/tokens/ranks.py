"""The compact rank file costkit ships for a byte-level BPE vocabulary, and its reader and writer.

A BPE vocabulary whose token ids follow merge order (rank = id) is fully described by its
tokens' bytes listed in id order, so the file holds only that:

    zlib( b"CKRANKS1" | first_id: u32 LE | count: u32 LE | count lengths: u8 | bytes... )

Token `first_id + i` is the i-th byte string. A tiktoken `mergeable_ranks` dict is rebuilt
from it in a few milliseconds, which is what keeps `get_encoding` under the load budget.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

MAGIC = b"CKRANKS1"
_HEADER = struct.Struct("<8sII")
MAX_TOKEN_BYTES = 255
_FIELDS = [f"{n}s".encode() for n in range(MAX_TOKEN_BYTES + 1)]


class RankFileError(ValueError):
    """A rank file is truncated, corrupt or not a costkit rank file."""


def pack_ranks(ranks: Mapping[bytes, int], level: int = 9) -> bytes:
    """The compressed rank file of `ranks` (token bytes -> rank); ranks must be contiguous."""
    if not ranks:
        raise RankFileError("no tokens to pack")
    ordered = sorted(ranks.items(), key=lambda item: item[1])
    first = ordered[0][1]
    for offset, (token, rank) in enumerate(ordered):
        if rank != first + offset:
            raise RankFileError(f"ranks are not contiguous: expected {first + offset}, got {rank}")
        if not 0 < len(token) <= MAX_TOKEN_BYTES:
            raise RankFileError(f"token of rank {rank} is {len(token)} bytes; must be 1..255")
    tokens = [token for token, _ in ordered]
    header = _HEADER.pack(MAGIC, first, len(tokens))
    return zlib.compress(header + bytes(len(t) for t in tokens) + b"".join(tokens), level)


def unpack_ranks(blob: bytes) -> dict[bytes, int]:
    """Token bytes -> rank, read back from a rank file made by `pack_ranks`."""
    try:
        raw = zlib.decompress(blob)
    except zlib.error as exc:
        raise RankFileError(f"not a zlib stream: {exc}") from None
    if len(raw) < _HEADER.size:
        raise RankFileError("truncated header")
    magic, first, count = _HEADER.unpack_from(raw)
    if magic != MAGIC:
        raise RankFileError(f"bad magic {magic!r}; expected {MAGIC!r}")
    start = _HEADER.size + count
    lengths = raw[_HEADER.size : start]
    end = start + sum(lengths)
    if len(lengths) != count or end != len(raw):
        raise RankFileError(
            f"size mismatch: header says {count} tokens ending at byte {end}, "
            f"file has {len(raw)} bytes"
        )
    # One struct format of every token's length ("3s5s2s..."), so the 128k byte strings are
    # cut in C: twice as fast as slicing them in Python, and this is on `count`'s start-up.
    layout = b"<" + b"".join(map(_FIELDS.__getitem__, lengths))  # "<": no alignment
    tokens = struct.unpack_from(layout, raw, start)
    return dict(zip(tokens, range(first, first + count), strict=True))
