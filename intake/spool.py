"""Durable files in the spool: work images and the quarantine, written temp → fsync → rename."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from intake.durable import copy_durably, sha256_file, write_durably
from intake.models import Rejection


def save_image(image: Image.Image, target: Path, *, dpi: int) -> Path:
    """Save a page image: lossless PNG (bilevel and grey compress well, colour is exact)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    # compress_level 1: a 300-dpi colour page takes ~0.2 s instead of ~1 s at the default.
    image.save(tmp, format="PNG", dpi=(dpi, dpi), compress_level=1)
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
    return "".join(c for c in path.suffix.lower() if c.isalnum() or c == ".")[:6]


def quarantine(path: Path, rejection: Rejection, spool: Path) -> Path | None:
    """Keep a durable copy of a rejected file in ``spool/quarantine`` with a reason file.

    The quarantined copy is named by its content hash, never by its original name, which
    may carry a customer's name; the original name is inside the reason file.
    """
    folder = spool / "quarantine"
    folder.mkdir(parents=True, exist_ok=True)
    try:
        digest = rejection.sha256 or sha256_file(path)
    except OSError:
        digest = hashlib.sha256(str(path).encode()).hexdigest()
    target: Path | None = folder / f"{digest[:24]}{safe_suffix(path)}"
    copy_error = None
    try:
        if path.exists() and target is not None and not target.exists():
            copy_durably(path, target)
    except OSError as exc:  # the original stays where it was; the reason file says so
        target, copy_error = None, exc.strerror
    reason = {
        "original_name": path.name,
        "sha256": rejection.sha256 or digest,
        "code": rejection.code,
        "reason": rejection.reason,
        "quarantined_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "copy": str(target) if target else f"not copied ({copy_error}); the original was left in place",
    }
    write_durably(folder / f"{digest[:24]}.reason.json", json.dumps(reason, ensure_ascii=False, indent=1).encode())
    return target
