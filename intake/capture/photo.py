"""Phone photos of a page: find the sheet, undo the perspective, even out the lighting."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from intake.capture import _raster
from intake.units import A4_IN, MM_PER_INCH

log = logging.getLogger(__name__)

_FIND_DPI = 50  # the sheet's outline needs no more; a 12-megapixel photo becomes ~0.25 MP
_A4_LIKE = 0.08  # long/short within this of √2: the sheet is A4 seen at an angle
_MAX_COVER = 0.85  # a flatbed scan is all paper but for thin bands of scanner bed at the sides
_MIN_COVER = 0.15  # below this the bright patch is not the page (a window, a lamp)
_DARK = 0.7  # the background around a photographed sheet is this much darker than the paper
_INSET = 0.004  # of the sheet's size: trims the last pixels of table top along the outline
_MAX_DPI = 300  # never upsample beyond what the work resolution needs
_FLAT_MM = 8.0  # lighting varies over centimetres, letters over millimetres


@dataclass(frozen=True)
class Sheet:
    """A photographed page, flattened: the archival copy, the grey copy for OCR, their dpi."""

    image: Image.Image  # perspective undone, lighting evened gently, colour kept
    grey: np.ndarray  # perspective undone, lighting divided out: paper is white everywhere
    dpi: int
    corners: np.ndarray  # where the sheet was in the photo: 4 × (x, y), clockwise from top-left


def find_sheet(small: np.ndarray) -> np.ndarray | None:
    """Corners of the sheet in ``small`` (grey) when it is a photo of one, else None.

    The sheet is the largest bright region; it is a photo, not a flatbed scan, when a
    clearly darker background takes up a real share of the frame around it.
    """
    blurred = cv2.GaussianBlur(small, (0, 0), 2)
    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Opening cuts thin bright bridges to the background (a reflection, a cable).
    bright = cv2.morphologyEx(bright, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8))
    contours, _ = cv2.findContours(bright, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    hull = cv2.convexHull(max(contours, key=cv2.contourArea))
    cover = cv2.contourArea(hull) / small.size
    if not _MIN_COVER <= cover <= _MAX_COVER:
        return None
    inside = np.zeros(small.shape, np.uint8)
    cv2.fillConvexPoly(inside, hull, 1)
    paper = float(np.median(blurred[inside == 1]))
    background = float(np.median(blurred[inside == 0]))
    log.debug("sheet candidate: cover %.2f, paper %.0f, background %.0f", cover, paper, background)
    if background > _DARK * paper:
        return None
    return _corners(hull)


def _corners(hull: np.ndarray) -> np.ndarray:
    """Four corners of the sheet outline, clockwise from top-left."""
    perimeter = cv2.arcLength(hull, True)
    quad = cv2.approxPolyDP(hull, 0.02 * perimeter, True).reshape(-1, 2)
    if len(quad) != 4:
        # Part of the sheet is outside the frame (or a corner is folded): the smallest
        # rectangle around what shows; its corners may lie outside the image.
        quad = cv2.boxPoints(cv2.minAreaRect(hull))
    quad = quad.astype(np.float64)
    # Clockwise from the top-left: top-left has the smallest x + y, bottom-right the largest.
    total, diff = quad.sum(axis=1), quad[:, 1] - quad[:, 0]
    return np.array([quad[total.argmin()], quad[diff.argmin()], quad[total.argmax()], quad[diff.argmax()]])


def _target(corners: np.ndarray) -> tuple[int, int, int]:
    """(width, height, dpi) of the flattened sheet: A4 when it looks like A4, else its own shape."""
    top, right, bottom, left = (np.linalg.norm(corners[(i + 1) % 4] - corners[i]) for i in range(4))
    width, height = (top + bottom) / 2, (left + right) / 2
    short, long = sorted((width, height))
    # The sheet's pixel size against A4's gives the photo's resolution on paper.
    dpi = min(_MAX_DPI, round(np.sqrt(width * height / (A4_IN[0] * A4_IN[1]))))
    if abs(long / short / (A4_IN[1] / A4_IN[0]) - 1) < _A4_LIKE:
        short, long = A4_IN[0] * dpi, A4_IN[1] * dpi
    else:
        scale = dpi / np.sqrt(width * height / (A4_IN[0] * A4_IN[1]))
        short, long = short * scale, long * scale
    if width > height:
        return round(long), round(short), dpi
    return round(short), round(long), dpi


def _inset(corners: np.ndarray) -> np.ndarray:
    centre = corners.mean(axis=0)
    return centre + (corners - centre) * (1 - 2 * _INSET)


def _background(grey: np.ndarray, dpi: int) -> np.ndarray:
    """The paper's brightness at every pixel, as if nothing were written on it."""
    small = _raster.downscale(grey, dpi, 25)
    size = max(3, round(_FLAT_MM / MM_PER_INCH * min(dpi, 25)) | 1)
    # Closing fills letters and lines with the paper around them; the blur smooths seams.
    paper = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((size, size), np.uint8))
    paper = cv2.GaussianBlur(paper, (0, 0), size)
    paper = cv2.resize(paper, grey.shape[::-1], interpolation=cv2.INTER_LINEAR)
    return np.maximum(paper.astype(np.float32), 1.0)


def rectify(image: Image.Image, grey: np.ndarray, dpi: int) -> Sheet | None:
    """The sheet in ``image`` (``grey`` its grey copy) flattened when it is a photo; None for a scan."""
    small = _raster.downscale(grey, dpi, _FIND_DPI)
    found = find_sheet(small)
    if found is None:
        return None
    corners = _inset(found * (grey.shape[1] / small.shape[1], grey.shape[0] / small.shape[0]))
    width, height, sheet_dpi = _target(corners)
    square = np.array([[0, 0], [width - 1, 0], [width - 1, height - 1], [0, height - 1]], np.float32)
    matrix = cv2.getPerspectiveTransform(corners.astype(np.float32), square)
    pixels = grey if image.mode in ("1", "L") else np.asarray(image.convert("RGB"))
    fill = (255,) * (pixels.shape[2] if pixels.ndim == 3 else 1)
    warped = cv2.warpPerspective(pixels, matrix, (width, height), flags=cv2.INTER_LINEAR, borderValue=fill)
    flat_grey = warped if warped.ndim == 2 else cv2.cvtColor(warped, cv2.COLOR_RGB2GRAY)
    paper = _background(flat_grey, sheet_dpi)
    ocr = np.clip(flat_grey * (255.0 / paper), 0, 255).astype(np.uint8)
    # The archival copy only has its light evened to the best-lit paper, not bleached.
    gain = float(np.percentile(paper, 95)) / paper
    archive = np.clip(warped * (gain[..., None] if warped.ndim == 3 else gain), 0, 255).astype(np.uint8)
    log.info("photo: sheet %dx%d px at %d dpi from corners %s", width, height, sheet_dpi, corners.round().tolist())
    return Sheet(Image.fromarray(archive), ocr, sheet_dpi, corners)
