"""Inputs to lines: expand paths (files, directories recursively, `-` for stdin), open them
(gzip detected by its magic bytes), and cut them into Arrow batches of lines for DuckDB.

Lines are found with numpy over large byte chunks and handed to DuckDB as zero-copy Arrow
string arrays, so a line's number is exact (blank lines count) and no Python runs per
line. Only a chunk that is not valid UTF-8 takes a slower path, to mark its bad lines.
"""

from __future__ import annotations

import gzip
import io
import mmap
import os
import shutil
import sys
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from costkit.core.errors import InputError

STDIN = "-"
STDIN_NAME = "<stdin>"
CHUNK = 16 << 20  # bytes per batch: ~40k typical records, large enough to amortise
MAX_LINE = 64 << 20  # a line past this is refused, never buffered whole
KEEP_MAPPED = 8  # pieces of a mapped file kept resident behind the one being read
GZIP_MAGIC = b"\x1f\x8b"
BOM = b"\xef\xbb\xbf"
BLANK_BYTES = (9, 13, 32)  # a 2-byte line of one of these and "\n" is blank

SCHEMA = pa.schema([
    ("file_id", pa.int32()),
    ("line", pa.int64()),
    ("text", pa.string()),  # the line with its line end (SQL ignores or trims it)
    ("bad_utf8", pa.bool_()),
    ("braced", pa.bool_()),  # starts with "{" and ends with "}": almost surely one JSON object
])

Progress = Callable[[int, int], None]  # (bytes read so far, total bytes or 0 when unknown)


@dataclass(frozen=True)
class Source:
    """One input. `path` None means stdin (see `spool_stdin`); `name` is what the lineage
    columns store: the absolute path, or <stdin>."""

    file_id: int
    path: Path | None
    name: str

    @property
    def size(self) -> int:
        return self.path.stat().st_size if self.path is not None else 0


@dataclass
class LineCounts:
    """Per file id, the lines read and how many of them were short blank lines."""

    lines: dict[int, int] = field(default_factory=dict)
    blank: dict[int, int] = field(default_factory=dict)

    def add(self, file_id: int, lines: int, blank: int) -> None:
        self.lines[file_id] = self.lines.get(file_id, 0) + lines
        self.blank[file_id] = self.blank.get(file_id, 0) + blank

    def nonblank(self, file_id: int) -> int:
        return self.lines.get(file_id, 0) - self.blank.get(file_id, 0)


@dataclass
class Expanded:
    """What the inputs named besides the files to read: paths that name a file already
    named (the same file twice, a directory and a file inside it, a symlink or a hard link
    to it), read once; and what could not be read, with why. Both are shown in the summary."""

    repeated: list[str] = field(default_factory=list)
    unread: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def expand(inputs: Sequence[str | Path], seen: Expanded | None = None) -> list[Source]:
    """Files as given, directories walked recursively in sorted order (hidden files and
    directories skipped), `-` for stdin. Missing paths raise InputError before any work.

    Each file is read once, however many paths name it (one file is one device and inode).
    A file or directory that cannot be read is skipped and listed in `seen.unread`; with no
    `seen`, it raises InputError.
    """
    strict = seen is None
    seen = seen if seen is not None else Expanded()
    paths: list[Path | None] = []
    identities: set[tuple[int, int]] = set()

    def add(path: Path) -> None:
        try:
            info = path.stat()
            with open(path, "rb"):
                pass
        except OSError as exc:
            why = f"cannot read: {exc.strerror or exc}"
            if strict:
                raise InputError(f"{path}: {why}") from None
            seen.unread.append((str(path.resolve()), why))
            return
        identity = (info.st_dev, info.st_ino)
        if identity in identities:
            seen.repeated.append(str(path))
            return
        identities.add(identity)
        paths.append(path)

    for item in inputs:
        if str(item) == STDIN:
            paths.append(None)
            continue
        path = Path(item)
        if path.is_dir():
            for found in _walk(path, seen):
                add(found)
        elif path.is_file():
            add(path)
        elif path.exists():
            raise InputError(f"{path}: not a regular file or directory")
        else:
            raise InputError(f"{path}: no such file or directory")
    if sum(p is None for p in paths) > 1:
        raise InputError("stdin (-) given more than once")
    return [Source(i, p, STDIN_NAME if p is None else str(p.resolve()))
            for i, p in enumerate(paths)]


def _walk(top: Path, seen: Expanded) -> list[Path]:
    """The regular files under `top` in sorted order, hidden ones skipped; a directory that
    cannot be listed goes to `seen.unread`."""
    found: list[Path] = []

    def unreadable(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else top
        seen.unread.append((str(where.resolve()), f"cannot list: {exc.strerror or exc}"))

    for root, dirs, files in os.walk(top, onerror=unreadable):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(Path(root) / f for f in files if not f.startswith("."))
    return sorted(p for p in found if p.is_file())


def spool_stdin(sources: Sequence[Source], directory: Path) -> list[Source]:
    """Copy stdin to a file in `directory` (so it can be read twice), keeping its name."""
    out = []
    for source in sources:
        if source.path is None:
            spooled = directory / "stdin"
            with open(spooled, "wb") as f:
                shutil.copyfileobj(_stdin(), f, CHUNK)
            source = replace(source, path=spooled)
        out.append(source)
    return out


def _stdin() -> BinaryIO:
    return getattr(sys.stdin, "buffer", sys.stdin)  # type: ignore[return-value]


def _open(source: Source) -> BinaryIO:
    if source.path is None:
        raw: BinaryIO = _stdin()
    else:
        try:
            raw = open(source.path, "rb")  # noqa: SIM115 (closed by batches())
        except OSError as exc:
            raise InputError(f"{source.name}: cannot read: {exc.strerror}") from exc
    if not hasattr(raw, "peek"):
        raw = io.BufferedReader(raw)  # type: ignore[arg-type]
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def _chunks(stream: BinaryIO, name: str) -> Iterator[bytes]:
    try:
        while True:
            data = stream.read(CHUNK)
            if not data:
                return
            yield data
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"{name}: cannot read: {exc} (a truncated or corrupt .gz?)") from exc


def _batch(file_id: int, first_line: int, data: bytes | memoryview, ends: np.ndarray,
           counts: LineCounts | None) -> pa.RecordBatch:
    """The lines of `data` (each up to and including its "\\n" at `ends`), zero-copy."""
    if len(data) >= 2**31:
        raise InputError(f"line {first_line + len(ends) - 1}: a line longer than 2 GB")
    n = len(ends)
    offsets = np.empty(n + 1, dtype=np.int32)
    offsets[0] = 0
    offsets[1:] = ends + 1
    octets = np.frombuffer(data, dtype=np.uint8)
    firsts = octets[offsets[:-1]]
    lasts = octets[np.maximum(ends - 1, 0)]
    before_cr = octets[np.maximum(ends - 2, 0)]
    lasts = np.where(lasts == 13, before_cr, lasts)
    lengths = np.diff(offsets)
    braced = (firsts == 123) & (lasts == 125) & (lengths > 2)
    blank = (lengths == 1) | ((lengths == 2) & np.isin(firsts, BLANK_BYTES))
    blanks = int(np.count_nonzero(blank))
    if counts is not None:
        counts.add(file_id, n, blanks)
    text = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    bad = np.zeros(n, dtype=bool)
    try:
        text.validate(full=True)
    except pa.ArrowInvalid:
        text, bad = _repair_utf8(data, offsets)
    batch = pa.RecordBatch.from_arrays(
        [pa.array(np.full(n, file_id, dtype=np.int32)),
         pa.array(np.arange(first_line, first_line + n, dtype=np.int64)),
         text, pa.array(bad), pa.array(braced & ~bad)],
        schema=SCHEMA,
    )
    # Short blank lines are counted above and never reach SQL: a file of millions of them
    # (a newline bomb) passes at numpy's speed, and no reader has anything to do with them.
    return batch.filter(pa.array(~blank)) if blanks else batch


def _repair_utf8(data: bytes | memoryview, offsets: np.ndarray) -> tuple[pa.Array, np.ndarray]:
    """Rare path (a chunk with invalid UTF-8): decode line by line, flag the bad ones and
    keep their text with replacement characters so the reject shows what was there."""
    texts, bad = [], []
    for start, end in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        piece = bytes(data[start:end])
        try:
            texts.append(piece.decode("utf-8"))
            bad.append(False)
        except UnicodeDecodeError:
            texts.append(piece.decode("utf-8", errors="replace"))
            bad.append(True)
    return pa.array(texts, type=pa.string()), np.array(bad, dtype=bool)


def batches(sources: Sequence[Source], progress: Progress | None = None,
            counts: LineCounts | None = None) -> Iterator[pa.RecordBatch]:
    """Every line of every source, in order, as Arrow record batches (SCHEMA)."""
    total = sum(s.size for s in sources)
    done = 0  # input bytes (compressed ones for .gz) of the sources finished so far
    for source in sources:
        stream = _open(source)
        try:
            if source.path is not None and not isinstance(stream, gzip.GzipFile):
                pieces = _mapped(stream, source)
            else:
                pieces = _streamed(stream, source)
            line = 1
            for data, ends, position in pieces:
                yield _batch(source.file_id, line, data, ends, counts)
                line += len(ends)
                if progress and source.path is not None:
                    progress(done + position, total)
        finally:
            if source.path is not None:
                stream.close()
        done += source.size
    if progress:
        progress(total, total)


Piece = tuple[bytes | memoryview, np.ndarray, int]  # lines, their "\n" offsets, file position


class _Newlines:
    """Offsets of the "\n" bytes in a chunk, reusing one mask buffer (a fresh 16 MB array
    per chunk would be fresh pages, zeroed by the kernel, every time)."""

    def __init__(self) -> None:
        self.mask = np.empty(0, dtype=bool)

    def find(self, octets: np.ndarray) -> np.ndarray:
        if len(self.mask) < len(octets):
            self.mask = np.empty(len(octets), dtype=bool)
        mask = self.mask[:len(octets)]
        np.equal(octets, 10, out=mask)
        return np.flatnonzero(mask)


def _mapped(stream: BinaryIO, source: Source) -> Iterator[Piece]:
    """A plain file, memory-mapped: each piece is a zero-copy view of whole lines. Pages of
    pieces DuckDB is done with are dropped (re-read from the file if ever touched again),
    so a file larger than memory streams through in bounded memory."""
    size = source.size
    if size == 0:
        return
    mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ)
    view = memoryview(mapped)
    byte_view = np.frombuffer(mapped, dtype=np.uint8)
    pos = len(BOM) if mapped[:len(BOM)] == BOM else 0
    behind: list[int] = []  # start offsets of recent pieces, oldest first
    newlines = _Newlines()
    while pos < size:
        end = min(pos + CHUNK, size)
        ends = newlines.find(byte_view[pos:end])
        while len(ends) == 0 and end < size:  # a line longer than CHUNK
            if end - pos > MAX_LINE:
                raise InputError(_too_long(source.name))
            end = min(end + CHUNK, size)
            ends = newlines.find(byte_view[pos:end])
        if len(ends) == 0:  # the last line, without a newline
            yield bytes(view[pos:size]) + b"\n", np.array([size - pos]), size
            break
        cut = pos + int(ends[-1]) + 1
        yield view[pos:cut], ends, cut
        behind.append(pos)
        if len(behind) > KEEP_MAPPED:
            old = behind.pop(0)
            start = old - old % mmap.PAGESIZE
            mapped.madvise(mmap.MADV_DONTNEED, start, behind[0] - start)
        pos = cut


def _too_long(name: str) -> str:
    return (f"{name}: a line longer than {MAX_LINE >> 20} MB without a line break; not a "
            "usage log (reading stopped there, in bounded memory)")


def _streamed(stream: BinaryIO, source: Source) -> Iterator[Piece]:
    """A .gz or stdin: read in chunks, a partial last line carried over to the next."""
    rest = b""
    first = True
    position = 0
    newlines = _Newlines()
    for chunk in _chunks(stream, source.name):
        if first:
            chunk = chunk[len(BOM):] if chunk.startswith(BOM) else chunk
            first = False
        if source.path is not None and isinstance(stream, gzip.GzipFile):
            position = stream.fileobj.tell()  # type: ignore[attr-defined]
        data = rest + chunk if rest else chunk
        ends = newlines.find(np.frombuffer(data, dtype=np.uint8))
        if len(ends) == 0:
            if len(data) > MAX_LINE:
                raise InputError(_too_long(source.name))
            rest = data
            continue
        cut = int(ends[-1]) + 1
        yield memoryview(data)[:cut], ends, position
        rest = data[cut:]
    if rest:
        yield rest + b"\n", np.array([len(rest)]), position


def reader(sources: Sequence[Source], progress: Progress | None = None,
           counts: LineCounts | None = None,
           errors: list[BaseException] | None = None) -> pa.RecordBatchReader:
    """A RecordBatchReader over `batches()` for DuckDB to scan. An error while reading
    (unreadable file, corrupt gzip) ends the stream and is appended to `errors`, so the
    caller can raise it cleanly instead of through DuckDB."""

    def guarded() -> Iterator[pa.RecordBatch]:
        try:
            yield from batches(sources, progress, counts)
        except Exception as exc:  # reported by the caller after the scan
            if errors is None:
                raise
            errors.append(exc)

    return pa.RecordBatchReader.from_batches(SCHEMA, guarded())
