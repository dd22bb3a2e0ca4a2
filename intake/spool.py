"""Durable files in the spool: work images and the quarantine, written temp → fsync → rename."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path

from PIL import Image

from intake._durable import write_durably as write_bytes  # re-exported for the spool's users
from intake.models import Rejection


def save_image(image: Image.Image, target: Path, *, dpi: int) -> Path:
    """Save a page image: lossless PNG (bilevel and grey compress well, colour is exact)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    # compress_level 1: a 300-dpi colour page takes ~0.2 s instead of ~1 s at the default.
    image.save(tmp, format="PNG", dpi=(dpi, dpi), compress_level=1)
    os.replace(tmp, target)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def quarantine(path: Path, rejection: Rejection, spool: Path, *, move: bool = False) -> Path | None:
    """Keep a copy of (or move) a rejected file in ``spool/quarantine`` with a reason file.

    The quarantined copy is named by its content hash, never by its original name, which
    may carry a customer's name; the original name is inside the reason file.
    """
    folder = spool / "quarantine"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        digest = rejection.sha256 or _sha256(path)
    except OSError:
        digest = hashlib.sha256(str(path).encode()).hexdigest()
    suffix = "".join(c for c in path.suffix.lower() if c.isalnum() or c == ".")[:6]
    target = folder / f"{digest[:24]}{suffix}"
    try:
        if move:
            shutil.move(path, target)
        elif path.exists() and not target.exists():
            shutil.copyfile(path, target)
    except OSError:
        target = None  # type: ignore[assignment]
    reason = {
        "original_name": path.name,
        "sha256": rejection.sha256 or digest,
        "code": rejection.code,
        "reason": rejection.reason,
        "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_bytes(folder / f"{digest[:24]}.reason.json", json.dumps(reason, ensure_ascii=False, indent=1).encode())
    return target
