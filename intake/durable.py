"""Durable files: writes and copies as temp file, fsync, rename, fsync the folder; file hashes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO


@contextlib.contextmanager
def _replacing(path: Path, mode: int) -> Iterator[BinaryIO]:
    """A temp file beside ``path`` that becomes ``path`` only once it is fully on disk.

    Raises OSError (disk full, permissions); callers map it to their own error.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_dir(path.parent)


def write_durably(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so that after a crash it is either complete or absent."""
    with _replacing(path, mode) as handle:
        handle.write(data)


def copy_durably(source: Path, target: Path, *, mode: int = 0o600) -> None:
    """Copy ``source`` to ``target`` so that after a crash the copy is complete or absent."""
    with _replacing(target, mode) as handle, open(source, "rb") as src:
        shutil.copyfileobj(src, handle, 1 << 20)


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` survive power loss."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file's content, read in blocks."""
    with open(path, "rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()
