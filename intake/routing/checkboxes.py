"""Read checkboxes: find each printed square near its expected place, then weigh the ink inside."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from intake.routing.templates import FieldKind, Zone
from intake.units import MM_PER_INCH

log = logging.getLogger(__name__)

_SEARCH_MM = 2.0  # how far from its expected place a square is looked for (misregistration)
_SIZE_TOLERANCE = 0.15  # a side pair this much longer or shorter than the box is not the box
_CLEAR_MM = 0.45  # from a side's centre line inwards: the printed line and its blur
_MIN_SIDE = 0.5  # share of a side that must be inked for the side to count as printed
_INK_CONTRAST = 0.35  # a pixel is ink when it is this share of the way from paper to print
_TICKED = 0.035  # share of the interior inked (beyond the blank's own) that makes a tick
_SURE = 0.03  # distance from _TICKED at which the reading is fully confident


@dataclass(frozen=True)
class Square:
    """A checkbox square in page pixels: the centre lines of its four printed sides."""

    left: int
    top: int
    right: int
    bottom: int
    printed: bool  # False: no printed square was found; the expected box is used instead


@dataclass(frozen=True)
class Mark:
    """One checkbox read: ticked or not, how sure, and the evidence."""

    ticked: bool
    confidence: float
    ink: float  # share of the interior inked, less the blank form's own ink there
    square: Square


def _window(page: np.ndarray, zone: Zone, dpi: int) -> tuple[np.ndarray, int, int, tuple[int, int]]:
    """The zone grown by the search margin; its origin; the expected size in pixels."""
    scale = dpi / MM_PER_INCH
    x, y, w, h = zone.box
    margin = _SEARCH_MM * scale
    x0, y0 = max(0, round(x * scale - margin)), max(0, round(y * scale - margin))
    x1, y1 = round((x + w) * scale + margin), round((y + h) * scale + margin)
    return page[y0:y1, x0:x1], x0, y0, (round(w * scale), round(h * scale))


def _levels(window: np.ndarray) -> tuple[float, float]:
    """Paper and print grey levels of a window (scans differ in exposure and toner)."""
    paper = float(np.percentile(window, 90))
    printed = float(np.percentile(window, 1))
    return paper, min(printed, paper - 60)


def _ink(window: np.ndarray, paper: float, printed: float) -> np.ndarray:
    return (window < paper - _INK_CONTRAST * (paper - printed)).astype(np.uint8)


def _sides(ink: np.ndarray, length: int, span: int, expected: int, axis: int) -> tuple[int, int, float] | None:
    """The best pair of parallel lines ``span`` apart (±tolerance) near ``expected``.

    ``axis`` 0 looks for vertical sides (columns), 1 for horizontal sides (rows). Only
    straight runs at least half a side long count, so a tick's diagonal strokes and
    handwriting beside the box do not pass for a side.
    """
    kernel = (1, max(3, round(length * _MIN_SIDE))) if axis == 0 else (max(3, round(length * _MIN_SIDE)), 1)
    straight = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, kernel))
    profile = straight.sum(axis=axis).astype(float) / max(1, length)
    profile = np.maximum.reduce([profile, np.roll(profile, 1), np.roll(profile, -1)])
    best: tuple[float, int, int] | None = None
    tolerance = max(2, round(span * _SIZE_TOLERANCE))
    for first in range(len(profile)):
        for width in range(span - tolerance, span + tolerance + 1):
            second = first + width
            if second >= len(profile):
                break
            score = min(profile[first], profile[second]) - 0.002 * abs(first - expected)
            if best is None or score > best[0]:
                best = (score, first, second)
    if best is None or best[0] < _MIN_SIDE:
        return None
    return best[1], best[2], best[0]


def find_square(page: np.ndarray, zone: Zone, dpi: int) -> Square:
    """The printed square of a checkbox zone, located in ``page`` (warped to the template)."""
    window, x0, y0, (w, h) = _window(page, zone, dpi)
    paper, printed = _levels(window)
    ink = _ink(window, paper, printed)
    margin = round(_SEARCH_MM * dpi / MM_PER_INCH)
    columns = _sides(ink, h, w, margin, axis=0)
    rows = _sides(ink, w, h, margin, axis=1)
    if columns is None or rows is None:
        return Square(x0 + margin, y0 + margin, x0 + margin + w, y0 + margin + h, printed=False)
    return Square(x0 + columns[0], y0 + rows[0], x0 + columns[1], y0 + rows[1], printed=True)


def _interior_ink(page: np.ndarray, square: Square, dpi: int) -> float:
    clear = max(2, round(_CLEAR_MM * dpi / MM_PER_INCH))
    inside = page[square.top + clear : square.bottom - clear + 1, square.left + clear : square.right - clear + 1]
    if inside.size == 0:
        return 0.0
    pad = 2 * clear
    around = page[max(0, square.top - pad) : square.bottom + pad, max(0, square.left - pad) : square.right + pad]
    paper, printed = _levels(around)
    return float(_ink(inside, paper, printed).mean())


def read_mark(page: np.ndarray, zone: Zone, *, dpi: int, blank: np.ndarray | None = None) -> Mark:
    """Read one checkbox; ``blank`` is the blank form's page at the same dpi, if known."""
    square = find_square(page, zone, dpi)
    ink = _interior_ink(page, square, dpi)
    if blank is not None:
        ink -= _interior_ink(blank, find_square(blank, zone, dpi), dpi)
    ticked = ink >= _TICKED
    confidence = 0.5 + 0.5 * min(1.0, abs(ink - _TICKED) / _SURE)
    if not square.printed:
        # Without the printed square the interior is a guess: never fully sure.
        confidence = min(confidence, 0.75)
    return Mark(ticked, confidence, ink, square)


def read_marks(
    page: np.ndarray, zones: Sequence[Zone], *, dpi: int, blank: np.ndarray | None = None
) -> dict[str, Mark]:
    """Every checkbox zone of a page, read."""
    marks = {}
    for zone in zones:
        if zone.kind == FieldKind.CHECKBOX:
            marks[zone.name] = read_mark(page, zone, dpi=dpi, blank=blank)
            log.debug("checkbox %s: ink %.3f", zone.name, marks[zone.name].ink)
    return marks
