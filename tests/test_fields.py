"""Checkboxes and field reading on real corpus scans and on drawn boxes with known faults."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from intake import capture
from intake.config import CaptureConfig
from intake.ocr import Tesseract
from intake.routing import align as registration
from intake.routing.checkboxes import read_mark
from intake.routing.fields import read_checkboxes
from intake.routing.templates import FieldKind, Zone, load_templates

DPI = 300
MM = DPI / 25.4
BOX = Zone(name="box", kind=FieldKind.CHECKBOX, page=1, box=(20.0, 20.0, 4.0, 4.0))


def _page_with_box(x_mm: float = 20.0, y_mm: float = 20.0) -> np.ndarray:
    page = np.full((round(50 * MM), round(60 * MM)), 250, np.uint8)
    x, y, side = round(x_mm * MM), round(y_mm * MM), round(4 * MM)
    cv2.rectangle(page, (x, y), (x + side, y + side), 30, 3)
    return page


def _tick(page: np.ndarray, x_mm: float, y_mm: float, *, grey: int = 30, width: int = 3) -> np.ndarray:
    x, y, side = round(x_mm * MM), round(y_mm * MM), round(4 * MM)
    cv2.line(page, (x + 8, y + side // 2), (x + side // 3, y + side - 8), grey, width)
    cv2.line(page, (x + side // 3, y + side - 8), (x + side + 10, y - 15), grey, width)
    return page


@pytest.mark.parametrize(
    ("dx", "dy", "ticked", "grey"),
    [
        (0, 0, True, 30),
        (1, 0, True, 30),
        (-1, 1, True, 30),
        (0.8, -1, False, 30),
        (0, 0, True, 150),
        (-1, -1, True, 150),
    ],
    ids=["ticked", "right-1mm", "left-down", "empty-shifted", "faint", "faint-shifted"],
)
def test_checkbox_found_where_printed_despite_misregistration(dx: float, dy: float, ticked: bool, grey: int) -> None:
    page = _page_with_box(20 + dx, 20 + dy)
    if ticked:
        _tick(page, 20 + dx, 20 + dy, grey=grey)
    mark = read_mark(page, BOX, dpi=DPI)
    assert mark.square.printed
    assert mark.ticked is ticked
    assert mark.confidence > 0.9


def test_stray_marks_beside_an_empty_box_are_not_a_tick() -> None:
    page = _page_with_box()
    x, y, side = round(20 * MM), round(20 * MM), round(4 * MM)
    cv2.line(page, (x - 20, y - 20), (x + side + 30, y - 8), 20, 4)  # a stroke grazing the top
    cv2.putText(page, "X", (x + side + 12, y + side), cv2.FONT_HERSHEY_SIMPLEX, 1.5, 20, 4)  # beside it
    assert read_mark(page, BOX, dpi=DPI).ticked is False


def test_blank_form_ink_inside_the_box_is_discounted() -> None:
    blank = _page_with_box()
    x, y = round(21.5 * MM), round(21.5 * MM)
    cv2.rectangle(blank, (x, y), (x + 12, y + 12), 60, -1)  # something printed in the box
    scan = blank.copy()
    assert read_mark(scan, BOX, dpi=DPI).ticked is True  # without the blank: looks ticked
    assert read_mark(scan, BOX, dpi=DPI, blank=blank).ticked is False


@pytest.mark.parametrize("name", ["scan_0021.pdf", "scan_0043.pdf", "scan_0072.pdf", "scan_0058.pdf"])
def test_faint_ticks_on_real_scans(corpus: Path, truth: dict, name: str) -> None:
    """These scans hold thin grey ticks that a fixed ink threshold missed."""
    expected = truth[name]["documents"][0]
    template = next(t for t in load_templates() if t.id == expected["form_id"])
    limits = CaptureConfig()
    source = capture.inspect(corpus / name, limits)
    image, dpi = capture.load_page(source, 1, limits)
    page = capture.clean(image, dpi, number=1, config=limits, engine=Tesseract())
    alignment = registration.align(registration.downscale(page.ocr_image, page.dpi), template.blank_path, 1)
    assert alignment is not None
    warped = registration.warp_to_template(page.ocr_image, page.dpi, alignment, DPI)
    got = read_checkboxes(warped, template.zones_on(1), dpi=DPI)
    assert got == {k: v for k, v in expected["checkboxes"].items() if k in got}
