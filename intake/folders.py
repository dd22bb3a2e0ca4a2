"""Folders intake writes to: private (0700), never symbolic links, swept of a crash's leftovers."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import time
from pathlib import Path

from intake.errors import UnsafeFolder

log = logging.getLogger(__name__)

# Temp files of durable writes (".NAME.RANDOM.tmp"); an hour is far beyond any write in
# progress, so another intake process's live temp file is never taken.
STALE_S = 3600.0


def private_dir(path: Path) -> Path:
    """Create ``path`` (0700) or check it: a symbolic link or a non-folder is refused.

    The hot folder is writable by the scanner's account: a ``done`` swapped for a link
    would make intake write customers' scans wherever the link points. A folder that
    cannot be created raises OSError, for the caller to map.
    """
    with contextlib.suppress(FileExistsError):  # a file, or a dangling link: lstat below says which
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        raise UnsafeFolder(
            f"{path} is a symbolic link; intake does not write through links: replace it with a folder",
            folder=str(path),
        )
    if not stat.S_ISDIR(mode):
        raise UnsafeFolder(f"{path} is not a folder: move it away so intake can create the folder", folder=str(path))
    if mode & 0o077:
        try:
            os.chmod(path, 0o700, follow_symlinks=False)
        except OSError as exc:
            raise UnsafeFolder(f"cannot make {path} private (0700): {exc.strerror}", folder=str(path)) from exc
    return path


def is_stale_temp(entry: os.DirEntry[str], *, now: float) -> bool:
    """A durable write's temp file (".NAME.RANDOM.tmp") that no writer can still be using."""
    if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
        return False
    try:
        info = entry.stat(follow_symlinks=False)
    except FileNotFoundError:
        return False
    return stat.S_ISREG(info.st_mode) and now - info.st_mtime > STALE_S


def sweep_temp(folder: Path) -> int:
    """Remove the stale temp files a crash left in ``folder``; returns how many."""
    if not folder.is_dir():
        return 0
    removed = 0
    now = time.time()
    with os.scandir(folder) as entries:
        for entry in entries:
            if is_stale_temp(entry, now=now):
                Path(entry.path).unlink(missing_ok=True)
                removed += 1
    if removed:
        log.info("removed %d temp file(s) left by a crash in %s", removed, folder)
    return removed


def private_file(path: Path) -> Path:
    """Create ``path`` empty (0600) if missing, or make it 0600; a symbolic link is refused.

    For files opened by libraries that create them with the umask's permissions (SQLite
    gives its -wal and -shm files the database file's permissions). An existing file is
    never opened: closing any descriptor of a database drops the POSIX locks SQLite holds
    on it in this process, and another process may then delete the WAL under it.
    """
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
    except FileExistsError:
        if os.lstat(path).st_mode & 0o077:
            _make_private(path)
    except OSError as exc:
        raise UnsafeFolder(f"cannot open {path} safely: {exc.strerror}", folder=str(path.parent)) from exc
    for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if companion.exists() and not companion.is_symlink() and companion.stat().st_mode & 0o077:
            os.chmod(companion, 0o600)
    return path


def _make_private(path: Path) -> None:
    if path.is_symlink():
        raise UnsafeFolder(f"cannot open {path} safely: it is a symbolic link", folder=str(path.parent))
    os.chmod(path, 0o600)
