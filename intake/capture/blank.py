"""Blank-page detection: a duplex back with nothing but paper, noise and show-through."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import cv2
import numpy as np

from intake.capture import orient
from intake.capture._raster import ink_mask

if TYPE_CHECKING:
    from intake.ocr import OcrEngine

log = logging.getLogger(__name__)

# Glyph lean (see ``glyph_lean``) above which a page may be mirrored and is worth reading:
# upright pages of the dev corpus lean −0.025 … +0.006, mirrored show-through about +0.004.
# The cut is loose on purpose; Tesseract decides, this only spares it most pages.
_MAYBE_MIRRORED = -0.005
_MIRROR_MIN = 8.0  # confidently read characters (score units) in the mirrored reading
_MIRROR_MARGIN = 4.0  # the mirrored reading must beat the upright ones by this factor


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


def glyph_lean(ink: np.ndarray) -> float:
    """Where letters carry their ink: below 0 left of their centre, above 0 right of it.

    Latin letters mostly stand on a stem at the left (b h k n p r B D E F K L P R), so
    upright text leans left and mirrored text right. Weak per letter, but it needs no OCR.
    """
    _, _, stats, centroids = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    x, _, width, height, area = stats[1:].T
    letters = (
        (height >= 8) & (height <= 60) & (width >= 3) & (width <= 60) & (area >= 12) & (area < 0.8 * width * height)
    )
    if np.count_nonzero(letters) < 20:
        return -1.0  # too few letters to tell: nothing suggests a mirror
    offset = (centroids[1:, 0] - (x + (width - 1) / 2)) / width
    return float(np.average(offset[letters], weights=area[letters]))


def shows_through(upright: np.ndarray, dpi: int, *, engine: OcrEngine) -> bool:
    """True when the only text on the page (``upright``, grey at ``dpi``) reads mirrored.

    That is the front of the sheet seen through the paper: on a bilevel scan the
    show-through can come out as black as print. A page with any upright text is content.
    """
    ink = ink_mask(upright, strict=False)
    lean = glyph_lean(ink)
    if lean < _MAYBE_MIRRORED:
        return False
    top, bottom = orient.text_band(ink, round(0.6 * dpi))
    reading = orient.read_variants(upright[top:bottom], engine=engine)
    mirrored = max(reading.mirrored, reading.mirrored_turned)
    plain = max(reading.upright, reading.turned)
    log.debug("glyph lean %+.4f, reading %s", lean, reading)
    return mirrored >= _MIRROR_MIN and mirrored >= _MIRROR_MARGIN * plain
