"""Separator sheets: a page with a large barcode or QR code and next to nothing else on it."""

from __future__ import annotations

import logging

import cv2
import numpy as np

from intake.units import MM_PER_INCH

log = logging.getLogger(__name__)

_SPARSE = 0.06  # share of ink above which a page is content, whatever codes it carries
_MIN_AREA_MM2 = 400.0  # separator codes are big (QR 40 mm); form-code barcodes (30 × 8 mm) are not
_OTHER_INK = 0.02  # ink left outside the codes: a printed label ("EROTINSIVU") at most


def _boxes(grey: np.ndarray) -> list[np.ndarray]:
    """Corner points of every QR code and barcode OpenCV finds in ``grey``."""
    found = []
    ok, points = cv2.QRCodeDetector().detect(grey)
    if ok and points is not None:
        found.append(points.reshape(-1, 2))
    ok, points = cv2.barcode.BarcodeDetector().detect(grey)
    if ok and points is not None:
        found.extend(points.reshape(-1, 4, 2))
    return found


def _plausible(corners: np.ndarray, shape: tuple[int, ...]) -> bool:
    """A convex quadrilateral inside the page: the QR detector also returns crossed, off-page ones."""
    height, width = shape[:2]
    inside = bool(((corners >= 0) & (corners <= (width, height))).all())
    return inside and len(corners) == 4 and bool(cv2.isContourConvex(corners.astype(np.float32)))


def is_separator(grey: np.ndarray, ink: np.ndarray, dpi: int) -> bool:
    """True when the page (``grey`` at ``dpi``, its ``ink`` mask) is a batch separator sheet.

    A form may carry a small barcode of its own; only a sheet whose ink is mostly big codes
    (a short printed label aside) ends a document, so a content page is never dropped.
    """
    if ink.mean() > _SPARSE:
        return False
    min_area = _MIN_AREA_MM2 * (dpi / MM_PER_INCH) ** 2
    codes = np.zeros(ink.shape, np.uint8)
    for corners in _boxes(grey):
        if _plausible(corners, ink.shape) and cv2.contourArea(corners.astype(np.float32)) >= min_area:
            cv2.fillConvexPoly(codes, cv2.convexHull(corners.astype(np.int32)), 1)
    if not codes.any():
        return False
    # The detectors' corners sit on the code's edge; the quiet zone and edge bars fall outside.
    grown = cv2.dilate(codes, np.ones((5, 5), np.uint8))
    inside = np.count_nonzero(ink & (grown == 1))
    outside = np.count_nonzero(ink & (grown == 0))
    log.debug("separator candidate: ink %d inside the codes, %d outside", inside, outside)
    return bool(outside < _OTHER_INK * ink.size and inside >= outside)
