"""Read a registered page's zones: text fields with one OCR call per page, and checkboxes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from intake.models import FieldValue
from intake.ocr import tesseract
from intake.routing.templates import FieldKind, Zone
from intake.routing.validators import validate

log = logging.getLogger(__name__)

_INSET_MM = 0.7  # stay clear of the printed box lines
_GAP_PX = 36  # white space between stacked zones, so Tesseract keeps them apart
_TICK_INK = 0.06  # share of dark pixels inside a checkbox that makes it ticked
_DARK = 140
_UNREAD = (FieldKind.CHECKBOX, FieldKind.SIGNATURE)


@dataclass(frozen=True)
class _Slot:
    zone: Zone
    top: int
    bottom: int


def _crop(warped: np.ndarray, zone: Zone, dpi: int, inset_mm: float) -> np.ndarray:
    scale = dpi / 25.4
    x, y, w, h = zone.box
    x0, y0 = round((x + inset_mm) * scale), round((y + inset_mm) * scale)
    x1, y1 = round((x + w - inset_mm) * scale), round((y + h - inset_mm) * scale)
    return warped[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]


def _remove_rules(crop: np.ndarray) -> np.ndarray:
    """Erase long printed lines (comb separators, writing lines) that OCR reads as 'I'."""
    ink = (crop < _DARK).astype(np.uint8)
    h, w = ink.shape
    lines = np.zeros_like(ink)
    if w > 20:
        lines |= cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (max(20, w // 3), 1)))
    if h > 10:
        lines |= cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(10, int(h * 0.85)))))
    cleaned = crop.copy()
    cleaned[cv2.dilate(lines, np.ones((3, 3), np.uint8)) > 0] = 255
    return cleaned


def _stack(warped: np.ndarray, zones: Sequence[Zone], dpi: int) -> tuple[Image.Image, list[_Slot]]:
    crops = [_remove_rules(_crop(warped, zone, dpi, _INSET_MM)) for zone in zones]
    width = max((c.shape[1] for c in crops), default=1)
    height = sum(c.shape[0] + _GAP_PX for c in crops) + _GAP_PX
    sheet = np.full((height, width + 2 * _GAP_PX), 255, np.uint8)
    slots, y = [], _GAP_PX
    for zone, crop in zip(zones, crops, strict=True):
        sheet[y : y + crop.shape[0], _GAP_PX : _GAP_PX + crop.shape[1]] = crop
        slots.append(_Slot(zone, y, y + crop.shape[0]))
        y += crop.shape[0] + _GAP_PX
    return Image.fromarray(sheet), slots


def read_fields(
    warped: np.ndarray, zones: Sequence[Zone], *, dpi: int, lang: str, cmd: str = "tesseract"
) -> dict[str, FieldValue]:
    """OCR every text zone of a page in one Tesseract call, then validate by kind."""
    wanted = [zone for zone in zones if zone.kind not in _UNREAD]
    if not wanted:
        return {}
    sheet, slots = _stack(warped, wanted, dpi)
    words = tesseract.words(sheet, lang=lang, psm=6, cmd=cmd)
    result = {}
    for slot in slots:
        mine = [w for w in words if slot.top <= w.top + w.height / 2 <= slot.bottom]
        mine.sort(key=lambda w: (w.line, w.left))
        raw = " ".join(w.text for w in mine)
        if not raw.strip():
            continue
        value, valid = validate(slot.zone.kind, raw)
        confidence = sum(w.conf for w in mine) / len(mine) / 100
        if valid is False:
            confidence = min(confidence, 0.5)
        result[slot.zone.name] = FieldValue(value=value, confidence=confidence, valid=valid, raw=raw)
    return result


def read_checkboxes(warped: np.ndarray, zones: Sequence[Zone], *, dpi: int) -> dict[str, bool]:
    """Ticked or not, for every checkbox zone: ink inside the box, clear of its border."""
    found = {}
    for zone in zones:
        if zone.kind != FieldKind.CHECKBOX:
            continue
        inset = zone.box[2] * 0.2
        interior = _crop(warped, zone, dpi, inset)
        ink = float((interior < _DARK).mean()) if interior.size else 0.0
        found[zone.name] = ink >= _TICK_INK
    return found
