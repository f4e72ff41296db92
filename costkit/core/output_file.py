"""Every file costkit writes: reports, pages, exports, saved mappings.

A file is written to a temporary file beside its final path, flushed to disk, then renamed
over it; a full disk or a crash midway leaves the previous file as it was and no half-written
one. A path that cannot be written (a missing folder, a folder where a file should go, no
permission, no space) is an OutputError: one line naming the path, exit code 2.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from costkit.core.errors import OutputError

_REASONS = {
    errno.ENOENT: "no such folder",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder; give a file name",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for this file system or limit",
    errno.EEXIST: "a file of that name is in the way",
}


def reason(exc: OSError) -> str:
    """Why an OS call failed, in words (no traceback, no errno number)."""
    return _REASONS.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()


def ensure_dir(folder: Path) -> Path:
    """The folder, created with its parents when missing."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create the folder {folder}: {reason(exc)}") from None
    if not folder.is_dir():  # mkdir(exist_ok) accepts an existing file on some systems
        raise OutputError(f"cannot create the folder {folder}: a file of that name is in the way")
    return folder


@contextmanager
def replacing(path: Path, binary: bool = False) -> Iterator[IO[Any]]:
    """An open file whose content replaces `path` when the block ends without an error.

    Text is UTF-8 with the newlines written as given. On any error the temporary file is
    removed and `path` is untouched; an OSError becomes an OutputError naming `path`.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"cannot write {path}: {_REASONS[errno.EISDIR]}")
    # A symbolic link keeps pointing where it did: its target is replaced, not the link.
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                         suffix=".part")
    except OSError as exc:
        where = f" ({target.parent})" if exc.errno in (errno.ENOENT, errno.ENOTDIR) else ""
        raise OutputError(f"cannot write {path}: {reason(exc)}{where}") from None
    temp = Path(temp_name)
    try:
        handle: IO[Any] = (os.fdopen(fd, "wb") if binary
                           else os.fdopen(fd, "w", encoding="utf-8", newline=""))
        with handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, _mode(target))
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        kept = " (the previous file is unchanged)" if target.exists() else ""
        raise OutputError(f"cannot write {path}: {reason(exc)}{kept}") from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_file(path: Path, data: str | bytes) -> Path:
    """Write `data` (text as UTF-8) to `path` through `replacing`; returns the path."""
    with replacing(path, binary=isinstance(data, bytes)) as handle:
        handle.write(data)
    return Path(path)


def _mode(target: Path) -> int:
    """The permissions the file would get from a plain open(): an existing file's own, else
    0666 less the umask (mkstemp makes its files 0600)."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
