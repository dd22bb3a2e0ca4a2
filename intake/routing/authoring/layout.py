"""Find the printed structure of a blank form page: boxes, comb fields, writing lines, checkboxes."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from intake.poppler import PdfLine
from intake.units import MM_PER_INCH

log = logging.getLogger(__name__)

_INK = 160  # light grey fills (section headers) are not lines; black print is
_MIN_RULE_MM = 3.0  # shorter straight runs are letters, not printed lines
_CHECKBOX_MM = (2.5, 7.0)  # side lengths a checkbox square may have
_SQUARE = 0.2  # a checkbox's sides differ by at most this share
_BOX_MIN_MM = (8.0, 4.0)  # smaller cells are not boxes to write in
_COMB_MIN = 4  # this many equal cells side by side make a comb field
_COMB_TOLERANCE_MM = 0.6
_LINE_MIN_MM = 25.0  # a free-standing rule at least this long is a writing line
_LINE_PITCH_MM = 14.0  # writing lines closer than this belong to one multi-line field
_LINE_HEIGHT_MM = 8.0  # the writing space above a single rule


class Shape(StrEnum):
    BOX = "box"
    COMB = "comb"
    LINES = "lines"
    CHECKBOX = "checkbox"


@dataclass(frozen=True)
class Found:
    """One place to write or tick, in mm from the page's top-left corner."""

    shape: Shape
    x: float
    y: float
    w: float
    h: float
    cells: int | None = None


@dataclass(frozen=True)
class _Rect:
    x: int
    y: int
    w: int
    h: int


def _ink_without_text(page: np.ndarray, printed: list[PdfLine], dpi: int) -> np.ndarray:
    """Dark pixels of the page, with the printed words blanked out so letters never pass for lines."""
    ink = (page < _INK).astype(np.uint8)
    scale = dpi / MM_PER_INCH
    shrink = 0.25  # mm: a label sits close to its box's lines; keep those lines whole
    for line in printed:
        x0, y0 = round((line.x0 + shrink) * scale), round((line.y0 + shrink) * scale)
        x1, y1 = round((line.x1 - shrink) * scale), round((line.y1 - shrink) * scale)
        if x1 > x0 and y1 > y0:
            ink[y0:y1, x0:x1] = 0
    return ink


def _rules(ink: np.ndarray, dpi: int) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical printed lines, each as a mask."""
    run = max(3, round(_MIN_RULE_MM * dpi / MM_PER_INCH))
    horizontal = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (run, 1)))
    vertical = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, run)))
    return horizontal, vertical


def _cells(horizontal: np.ndarray, vertical: np.ndarray) -> list[_Rect]:
    """White regions fully enclosed by printed lines (each cell of a grid, each checkbox)."""
    grid = cv2.dilate(horizontal | vertical, np.ones((3, 3), np.uint8))
    count, _labels, stats, _ = cv2.connectedComponentsWithStats((grid == 0).astype(np.uint8), connectivity=4)
    height, width = grid.shape
    cells = []
    for label in range(1, count):
        x, y, w, h, area = (int(v) for v in stats[label])
        if x == 0 or y == 0 or x + w >= width or y + h >= height:
            continue  # the page background, not a cell
        if area < 0.85 * w * h:
            continue  # not a rectangle (the space between shapes)
        cells.append(_Rect(x - 2, y - 2, w + 4, h + 4))  # back to the line centres
    return cells


def _is_checkbox(cell: _Rect, scale: float) -> bool:
    low, high = (side * scale for side in _CHECKBOX_MM)
    return low <= cell.w <= high and low <= cell.h <= high and abs(cell.w - cell.h) <= _SQUARE * max(cell.w, cell.h)


def _combs(cells: list[_Rect], scale: float) -> tuple[list[Found], set[_Rect]]:
    """Rows of equal cells side by side: one comb field each, and the cells they used."""
    tolerance = _COMB_TOLERANCE_MM * scale
    found, used = [], set()
    for start in sorted(cells, key=lambda c: (c.y, c.x)):
        if start in used:
            continue
        row = [start]
        while True:
            last = row[-1]
            nxt = next(
                (c for c in cells if c not in used and abs(c.y - last.y) <= tolerance and abs(c.h - last.h) <= tolerance
                 and abs(c.w - start.w) <= tolerance and abs(c.x - (last.x + last.w)) <= tolerance),
                None,
            )  # fmt: skip
            if nxt is None:
                break
            row.append(nxt)
        if len(row) >= _COMB_MIN and start.w <= 2 * start.h:
            used.update(row)
            right = row[-1].x + row[-1].w
            found.append(
                Found(Shape.COMB, *_mm(_Rect(start.x, start.y, right - start.x, start.h), scale), cells=len(row))
            )
    return found, used


def _mm(rect: _Rect, scale: float) -> tuple[float, float, float, float]:
    return (round(rect.x / scale, 1), round(rect.y / scale, 1), round(rect.w / scale, 1), round(rect.h / scale, 1))


def _segments(horizontal: np.ndarray, scale: float) -> list[tuple[float, float, float]]:
    """Horizontal rules as (x0, x1, y) in mm, longest first."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(horizontal, connectivity=8)
    found = []
    for label in range(1, count):
        x, y, w, h, _ = (int(v) for v in stats[label])
        if w >= _LINE_MIN_MM * scale and h <= 0.8 * scale:
            found.append((x / scale, (x + w) / scale, (y + h / 2) / scale))
    return found


def _writing_lines(horizontal: np.ndarray, boxes: list[Found], scale: float) -> list[Found]:
    """Rules that bound no box: writing lines; close parallel ones make one multi-line field."""

    def bounds_a_box(x0: float, x1: float, y: float) -> bool:
        return any((abs(y - b.y) < 1.0 or abs(y - (b.y + b.h)) < 1.0) and x0 < b.x + b.w and b.x < x1 for b in boxes)

    free = sorted((s for s in _segments(horizontal, scale) if not bounds_a_box(*s)), key=lambda s: (s[2], s[0]))
    groups: list[list[tuple[float, float, float]]] = []
    for seg in free:
        last = groups[-1][-1] if groups else None
        if last and seg[2] - last[2] <= _LINE_PITCH_MM and abs(seg[0] - last[0]) < 2 and abs(seg[1] - last[1]) < 2:
            groups[-1].append(seg)
        else:
            groups.append([seg])
    found = []
    for group in groups:
        x0, x1, first_y, last_y = group[0][0], group[0][1], group[0][2], group[-1][2]
        pitch = (last_y - first_y) / (len(group) - 1) if len(group) > 1 else _LINE_HEIGHT_MM
        top = max(0.0, first_y - min(pitch, _LINE_HEIGHT_MM))
        found.append(
            Found(Shape.LINES, round(x0, 1), round(top, 1), round(x1 - x0, 1), round(last_y - top, 1), cells=len(group))
        )
    return found


def find_layout(page: np.ndarray, printed: list[PdfLine], *, dpi: int) -> list[Found]:
    """Every box, comb field, writing line and checkbox of one rendered blank page."""
    scale = dpi / MM_PER_INCH
    horizontal, vertical = _rules(_ink_without_text(page, printed, dpi), dpi)
    cells = _cells(horizontal, vertical)
    checkboxes = [c for c in cells if _is_checkbox(c, scale)]
    combs, used = _combs([c for c in cells if c not in checkboxes], scale)
    boxes = [
        Found(Shape.BOX, *_mm(c, scale))
        for c in cells
        if c not in used and c not in checkboxes and c.w >= _BOX_MIN_MM[0] * scale and c.h >= _BOX_MIN_MM[1] * scale
    ]
    found = [Found(Shape.CHECKBOX, *_mm(c, scale)) for c in checkboxes] + combs + boxes
    found += _writing_lines(horizontal, found, scale)
    log.debug("layout: %d checkboxes, %d combs, %d boxes", len(checkboxes), len(combs), len(boxes))
    return sorted(found, key=lambda f: (round(f.y / 3), f.x))
