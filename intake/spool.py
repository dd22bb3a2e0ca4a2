"""The spool's private folders: work images, per-run work folders, and the quarantine."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from intake.durable import copy_durably, sha256_file, write_durably
from intake.folders import STALE_S, private_dir, sweep_temp
from intake.models import Rejection
from intake.names import shown

log = logging.getLogger(__name__)

_LOCK = ".lock"


def save_image(image: Image.Image, target: Path, *, dpi: int) -> Path:
    """Save a page image: lossless PNG (bilevel and grey compress well, colour is exact)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    # compress_level 1: a 300-dpi colour page takes ~0.2 s instead of ~1 s at the default.
    image.save(tmp, format="PNG", dpi=(dpi, dpi), compress_level=1)
    os.chmod(tmp, 0o600)
    os.replace(tmp, target)
    return target


def save_crops(crops: Mapping[str, np.ndarray], folder: Path, *, stem: str) -> dict[str, Path]:
    """Save each field's box image as a small grey PNG named ``<stem>-<field>.png``."""
    saved = {}
    for name, crop in crops.items():
        target = folder / f"{stem}-{name}.png"
        Image.fromarray(crop).save(target, format="PNG", compress_level=1)
        saved[name] = target
    return saved


def safe_suffix(path: Path) -> str:
    """The file's extension, lower case and harmless in a file name."""
    return "".join(c for c in path.suffix.lower() if c.isascii() and (c.isalnum() or c == "."))[:6]


@contextmanager
def work_dir(spool: Path | None) -> Iterator[Path]:
    """A private work folder ``spool/work/intake-*`` for one run, removed afterwards.

    Page images of customers' forms rest here while a file is processed. A run killed
    outright leaves its folder behind; :func:`remove_stale_work` removes it at the next
    start. The folder's lock file is visible only once locked, so a live run's folder is
    never taken for a stale one. ``spool=None`` (``--dry-run``, which leaves the spool
    untouched) makes it in the system's temp folder instead.
    """
    parent = private_dir(spool / "work") if spool is not None else None
    path = Path(tempfile.mkdtemp(prefix="intake-", dir=parent))
    fd = os.open(path / f"{_LOCK}.new", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(path / f"{_LOCK}.new", path / _LOCK)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        os.close(fd)


def _abandoned(folder: Path) -> bool:
    try:
        fd = os.open(folder / _LOCK, os.O_RDWR)
    except FileNotFoundError:  # killed before its lock existed: only age tells
        return time.time() - folder.stat().st_mtime > STALE_S
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # a live run holds it
    finally:
        os.close(fd)  # closing drops the lock again
    return True


def remove_stale_work(spool: Path) -> int:
    """Remove work folders of runs that no longer exist; returns how many."""
    root = spool / "work"
    if not root.is_dir():
        return 0
    removed = 0
    for folder in root.glob("intake-*"):
        if folder.is_dir() and not folder.is_symlink() and _abandoned(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    if removed:
        log.warning("removed %d work folder(s) left by a run that was killed", removed)
    return removed


def quarantine(path: Path, rejection: Rejection, spool: Path, *, copy: bool = True) -> Path | None:
    """Keep a durable copy of a rejected file in ``spool/quarantine`` with a reason file.

    The copy is named by its content hash (or a random id when the file could not be
    read), never by its name nor a hash of it: a name holding a henkilötunnus would be
    found again by hashing every possible one. The name is shown (escaped) only inside
    the reason file, which like the copy beside it is 0600 in a 0700 folder; the file
    itself, holding the same person's data, is still where it was given. ``copy=False``
    (a file above the size limit) leaves the file unread.
    """
    folder = private_dir(spool / "quarantine")
    digest = rejection.sha256
    if digest is None and copy:
        try:
            digest = sha256_file(path)
        except OSError:
            digest = None
    stem = digest[:24] if digest else f"unread-{uuid.uuid4().hex[:17]}"
    target = folder / f"{stem}{safe_suffix(path)}" if copy and digest else None
    why = "the file cannot be read" if copy else "the file is above the size limit"
    try:
        if target is not None and not target.exists():
            copy_durably(path, target)
    except OSError as exc:  # the original stays where it was; the reason file says so
        target, why = None, str(exc.strerror)
    note = f"not copied ({why}); the original was left in place"
    reason = {
        "original_name": shown(path.name),
        "sha256": digest,
        "code": rejection.code,
        "reason": rejection.reason,
        "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "copy": str(target) if target else note,
    }
    write_durably(folder / f"{stem}.reason.json", json.dumps(reason, ensure_ascii=False, indent=1).encode())
    return target


def clean_at_start(spool: Path) -> None:
    """Remove what a killed run left in the spool: its work folders and temp files."""
    remove_stale_work(spool)
    for folder in (spool / "quarantine", spool / "outbox", spool / "outbox" / "messages"):
        sweep_temp(folder)
