"""Read a registered page's zones: text fields in a few OCR calls per page, and checkboxes."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np
from PIL import Image

from intake.models import FieldValue
from intake.ocr import tesseract
from intake.routing.checkboxes import read_marks
from intake.routing.templates import FieldKind, Zone
from intake.routing.validators import validate

log = logging.getLogger(__name__)

_INSET_MM = 0.7  # stay clear of the printed box lines
_GAP_PX = 36  # white space between stacked zones, so Tesseract keeps them apart
_DARK = 140
_EMPTY_INK = 0.002  # a zone with less ink than this (after removing rules) holds nothing
_UNREAD = (FieldKind.CHECKBOX, FieldKind.SIGNATURE)


@dataclass(frozen=True)
class Setup:
    """How Tesseract reads one group of kinds: a page segmentation mode and a whitelist."""

    psm: int
    whitelist: str | None


# One Tesseract call per group and page (each call costs a process start and a model
# load): a whitelist keeps digit fields from turning a handwritten 6 into 'b' or 'G'.
# Whitelists hold no space: pytesseract splits its config string on whitespace.
_DIGITS = Setup(psm=6, whitelist="0123456789.,-+/")
_CODES = Setup(psm=6, whitelist="0123456789-+ABCDEFHJKLMNPRSTUVWXYFI")
_TEXT = Setup(psm=6, whitelist=None)
SETUPS: Mapping[FieldKind, Setup] = {
    FieldKind.POSTAL: _DIGITS, FieldKind.DATE: _DIGITS, FieldKind.AMOUNT: _DIGITS,
    FieldKind.PHONE: _DIGITS, FieldKind.YTUNNUS: _DIGITS,
    FieldKind.HETU: _CODES, FieldKind.IBAN: _CODES,
}  # fmt: skip


class ZoneReader(Protocol):
    """Reads cropped zones of one page.

    Gets each zone with its crop (8-bit grey, printed rules already erased, the page's
    resolution) and returns the raw text read per zone name; a zone it could not read is
    left out. Validation by kind happens afterwards, the same for every reader.
    """

    def __call__(self, crops: Sequence[tuple[Zone, np.ndarray]], /) -> dict[str, tuple[str, float]]: ...


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
        lines |= cv2.morphologyEx(
            ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(10, int(h * 0.85))))
        )
    cleaned = crop.copy()
    cleaned[cv2.dilate(lines, np.ones((3, 3), np.uint8)) > 0] = 255
    return cleaned


def _stack(crops: Sequence[tuple[Zone, np.ndarray]]) -> tuple[Image.Image, list[_Slot]]:
    width = max((c.shape[1] for _, c in crops), default=1)
    height = sum(c.shape[0] + _GAP_PX for _, c in crops) + _GAP_PX
    sheet = np.full((height, width + 2 * _GAP_PX), 255, np.uint8)
    slots, y = [], _GAP_PX
    for zone, crop in crops:
        sheet[y : y + crop.shape[0], _GAP_PX : _GAP_PX + crop.shape[1]] = crop
        slots.append(_Slot(zone, y, y + crop.shape[0]))
        y += crop.shape[0] + _GAP_PX
    return Image.fromarray(sheet), slots


class TesseractReader:
    """The default reader: zones stacked into one sheet per setup, one Tesseract call each."""

    def __init__(self, *, lang: str, cmd: str = "tesseract") -> None:
        self.lang = lang
        self.cmd = cmd

    def __call__(self, crops: Sequence[tuple[Zone, np.ndarray]], /) -> dict[str, tuple[str, float]]:
        groups: dict[Setup, list[tuple[Zone, np.ndarray]]] = {}
        for zone, crop in crops:
            groups.setdefault(SETUPS.get(zone.kind, _TEXT), []).append((zone, crop))
        found = {}
        for setup, members in groups.items():
            found.update(self._read(members, setup))
        return found

    def _read(self, crops: Sequence[tuple[Zone, np.ndarray]], setup: Setup) -> dict[str, tuple[str, float]]:
        sheet, slots = _stack(crops)
        words = tesseract.words(sheet, lang=self.lang, psm=setup.psm, whitelist=setup.whitelist, cmd=self.cmd)
        found = {}
        for slot in slots:
            mine = [w for w in words if slot.top <= w.top + w.height / 2 <= slot.bottom]
            mine.sort(key=lambda w: (w.line, w.left))
            raw = " ".join(w.text for w in mine)
            if raw.strip():
                found[slot.zone.name] = (raw, sum(w.conf for w in mine) / len(mine) / 100)
        return found


def _has_ink(crop: np.ndarray) -> bool:
    return crop.size > 0 and float((crop < _DARK).mean()) >= _EMPTY_INK


def read_fields(
    warped: np.ndarray,
    zones: Sequence[Zone],
    *,
    dpi: int,
    lang: str,
    cmd: str = "tesseract",
    comb_reader: ZoneReader | None = None,
) -> dict[str, FieldValue]:
    """Read every text zone of a page, then validate by kind.

    Comb fields (one box per character) go to ``comb_reader`` when one is given, every
    other zone to Tesseract; zones without ink are not read at all.
    """
    crops = [(z, _remove_rules(_crop(warped, z, dpi, _INSET_MM))) for z in zones if z.kind not in _UNREAD]
    crops = [(zone, crop) for zone, crop in crops if _has_ink(crop)]
    default = TesseractReader(lang=lang, cmd=cmd)
    combs = [(z, c) for z, c in crops if z.cells and comb_reader is not None]
    rest = [(z, c) for z, c in crops if not (z.cells and comb_reader is not None)]
    raw = default(rest) if rest else {}
    if combs and comb_reader is not None:
        raw.update(comb_reader(combs))
    result = {}
    for zone, _ in crops:
        if zone.name not in raw:
            continue
        text, confidence = raw[zone.name]
        value, valid = validate(zone.kind, text)
        if valid is False:
            confidence = min(confidence, 0.5)
        result[zone.name] = FieldValue(value=value, confidence=confidence, valid=valid, raw=text)
    return result


def read_checkboxes(
    warped: np.ndarray, zones: Sequence[Zone], *, dpi: int, blank: np.ndarray | None = None
) -> dict[str, bool]:
    """Ticked or not, for every checkbox zone (see ``checkboxes.read_marks`` for confidences)."""
    return {name: mark.ticked for name, mark in read_marks(warped, zones, dpi=dpi, blank=blank).items()}
