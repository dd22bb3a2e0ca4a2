"""Blank-page detection: a duplex back with nothing but paper, noise and show-through."""

from __future__ import annotations

import cv2
import numpy as np


def ink_ratio(ink: np.ndarray) -> float:
    """Share of the page covered by real marks, specks of scanner dust left out."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    # Marks of one or two pixels at the analysis resolution are dust or noise; an
    # opening would also erase the thin strokes of small print, so count by size.
    areas = stats[1:, cv2.CC_STAT_AREA]
    return float(areas[areas > 2].sum()) / ink.size


def is_blank(ink: np.ndarray, threshold: float) -> bool:
    """True when the ink (scanner edges removed) covers less than ``threshold`` of the page."""
    return ink_ratio(ink) < threshold
