"""``--keep-work``: every capture stage's image of a page, saved for debugging."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass(frozen=True)
class Keep:
    """Where to save one page's stage images; ``stem`` is a content-hash prefix and page number.

    The stem never holds the input file's name, which may carry a customer's name.
    """

    folder: Path
    stem: str

    def save(self, stage: str, pixels: np.ndarray | Image.Image) -> None:
        """Save ``pixels`` as ``<stem>-<stage>.png``; masks are saved black on white."""
        if isinstance(pixels, np.ndarray):
            if pixels.dtype == bool:
                pixels = np.where(pixels, np.uint8(0), np.uint8(255))
            pixels = Image.fromarray(pixels)
        self.folder.mkdir(parents=True, exist_ok=True)
        pixels.save(self.folder / f"{self.stem}-{stage}.png", format="PNG", compress_level=1)


def save_stage(where: Keep | None, stage: str, pixels: np.ndarray | Image.Image) -> None:
    """Save a stage image when ``--keep-work`` asked for it; otherwise nothing."""
    if where is not None:
        where.save(stage, pixels)
