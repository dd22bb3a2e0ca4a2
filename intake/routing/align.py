"""Register a scanned page to its template: feature matching and a similarity transform.

The blank form is rendered once per process; ORB features of the printed layout (rules,
boxes, labels) are matched to the scan's, and RANSAC keeps the consistent ones. The
number of inliers doubles as layout evidence for the classification: a page that is not
this form has few.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from intake.models import Placement
from intake.routing.templates import render_blank
from intake.units import A4_MM, MM_PER_INCH

log = logging.getLogger(__name__)

ALIGN_DPI = 100
_ORB_FEATURES = 4000
_RATIO = 0.8
_RANSAC_PX = 3.0
# Layout evidence: fewer inliers than LOW says "not this form"; HIGH or more is certain.
LOW_INLIERS = 25
HIGH_INLIERS = 120


@dataclass(frozen=True)
class Alignment:
    """Maps template millimetres to pixels of the scanned page."""

    matrix: np.ndarray  # 2x3: template pixels (ALIGN_DPI) -> page pixels (ALIGN_DPI)
    inliers: int
    matches: int
    scale: float
    angle: float  # degrees

    @property
    def layout_confidence(self) -> float:
        return float(min(1.0, max(0.0, (self.inliers - LOW_INLIERS) / (HIGH_INLIERS - LOW_INLIERS))))

    def to_page(self, page_dpi: int) -> np.ndarray:
        """2x3 matrix from template millimetres to page pixels at ``page_dpi``."""
        mm_to_tpl = np.array([[ALIGN_DPI / MM_PER_INCH, 0, 0], [0, ALIGN_DPI / MM_PER_INCH, 0], [0, 0, 1]])
        tpl_to_page = np.vstack([self.matrix, [0, 0, 1]])
        zoom = np.diag([page_dpi / ALIGN_DPI, page_dpi / ALIGN_DPI, 1.0])
        return (zoom @ tpl_to_page @ mm_to_tpl)[:2]

    def to_page_mm(self) -> Placement:
        """The map from template millimetres to page millimetres (any dpi of the same page)."""
        a, b, c, d, e, f = (float(value) for value in self.to_page(1).ravel())
        return (a * MM_PER_INCH, b * MM_PER_INCH, c * MM_PER_INCH, d * MM_PER_INCH, e * MM_PER_INCH, f * MM_PER_INCH)


def _orb() -> cv2.ORB:
    return cv2.ORB_create(nfeatures=_ORB_FEATURES, scaleFactor=1.2, nlevels=6, fastThreshold=10)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Reference:
    image: np.ndarray
    keypoints: tuple[cv2.KeyPoint, ...]
    descriptors: np.ndarray


@cache
def _reference(blank_pdf: Path, page: int) -> _Reference:
    """The blank form's page rendered at ALIGN_DPI, with its ORB features (cached)."""
    image = render_blank(blank_pdf, page, dpi=ALIGN_DPI)
    keypoints, descriptors = _orb().detectAndCompute(image, None)
    return _Reference(image, tuple(keypoints), descriptors)


def downscale(image: Image.Image, dpi: int) -> np.ndarray:
    """The page as an 8-bit array at ALIGN_DPI."""
    grey = image.convert("L")
    factor = ALIGN_DPI / dpi
    size = (max(1, round(grey.width * factor)), max(1, round(grey.height * factor)))
    return np.asarray(grey.resize(size, Image.Resampling.BOX))


def align(page: np.ndarray, blank_pdf: Path, page_number: int) -> Alignment | None:
    """Register ``page`` (at ALIGN_DPI) to the blank form's page; ``None`` if it cannot."""
    ref = _reference(blank_pdf, page_number)
    keypoints, descriptors = _orb().detectAndCompute(page, None)
    if descriptors is None or ref.descriptors is None or len(keypoints) < 10:
        return None
    pairs = cv2.BFMatcher(cv2.NORM_HAMMING).knnMatch(ref.descriptors, descriptors, k=2)
    good = [m for m, n in (p for p in pairs if len(p) == 2) if m.distance < _RATIO * n.distance]
    if len(good) < 6:
        return None
    src = np.array([ref.keypoints[m.queryIdx].pt for m in good], dtype=np.float32)
    dst = np.array([keypoints[m.trainIdx].pt for m in good], dtype=np.float32)
    matrix, mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=_RANSAC_PX, maxIters=4000, confidence=0.995
    )
    if matrix is None:
        return None
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    angle = float(np.degrees(np.arctan2(matrix[1, 0], matrix[0, 0])))
    inliers = int(mask.sum())
    # A registration that needs a large zoom or turn is a coincidence of repeated boxes.
    if not 0.8 < scale < 1.25 or abs(angle) > 5:
        inliers = 0
    return Alignment(matrix, inliers, len(good), scale, angle)


def warp_to_template(image: Image.Image, dpi: int, alignment: Alignment, out_dpi: int) -> np.ndarray:
    """The page resampled into the template's frame (A4 at ``out_dpi``), 8-bit grey."""
    page_to_tpl = cv2.invertAffineTransform(alignment.to_page(dpi))  # page px -> template mm
    scale = out_dpi / MM_PER_INCH
    matrix = np.vstack([page_to_tpl, [0, 0, 1]])
    matrix = (np.diag([scale, scale, 1.0]) @ matrix)[:2]
    size = (round(A4_MM[0] * scale), round(A4_MM[1] * scale))
    grey = np.asarray(image.convert("L"))
    return cv2.warpAffine(grey, matrix, size, flags=cv2.INTER_LINEAR, borderValue=255)
