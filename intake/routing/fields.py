"""Read a registered page's zones: text fields in a few OCR calls per page, and checkboxes."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from intake.models import FieldValue
from intake.ocr import OcrEngine, read_stacked
from intake.routing.checkboxes import read_marks
from intake.routing.icr import FieldReading, read_comb
from intake.routing.templates import FieldKind, Zone
from intake.routing.validators import validate
from intake.units import px_per_mm

log = logging.getLogger(__name__)

_INSET_MM = 0.7  # stay clear of the printed box lines
_DARK = 140
_EMPTY_INK = 0.002  # a zone with less ink than this (after removing rules) holds nothing
_UNREAD = (FieldKind.CHECKBOX, FieldKind.SIGNATURE)
CHECKED_KINDS = frozenset({FieldKind.HETU, FieldKind.YTUNNUS, FieldKind.IBAN})  # carry a check character


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


def _crop(warped: np.ndarray, zone: Zone, dpi: int, inset_mm: float) -> np.ndarray:
    scale = px_per_mm(dpi)
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
        across = cv2.getStructuringElement(cv2.MORPH_RECT, (max(20, w // 3), 1))
        lines = np.maximum(lines, cv2.morphologyEx(ink, cv2.MORPH_OPEN, across))
    if h > 10:
        down = cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(10, int(h * 0.85))))
        lines = np.maximum(lines, cv2.morphologyEx(ink, cv2.MORPH_OPEN, down))
    cleaned = crop.copy()
    cleaned[cv2.dilate(lines, np.ones((3, 3), np.uint8)) > 0] = 255
    return cleaned


class StackedReader:
    """The default reader: zones stacked into one sheet per setup, one OCR call each."""

    def __init__(self, engine: OcrEngine, /) -> None:
        self.engine = engine

    def __call__(self, crops: Sequence[tuple[Zone, np.ndarray]], /) -> dict[str, tuple[str, float]]:
        groups: dict[Setup, list[tuple[Zone, np.ndarray]]] = {}
        for zone, crop in crops:
            groups.setdefault(SETUPS.get(zone.kind, _TEXT), []).append((zone, crop))
        found = {}
        for setup, members in groups.items():
            found.update(self._read(members, setup))
        return found

    def _read(self, crops: Sequence[tuple[Zone, np.ndarray]], setup: Setup) -> dict[str, tuple[str, float]]:
        words = read_stacked(self.engine, [crop for _, crop in crops], psm=setup.psm, whitelist=setup.whitelist)
        found = {}
        for (zone, _), mine in zip(crops, words, strict=True):
            mine.sort(key=lambda w: (w.line, w.left))
            raw = " ".join(w.text for w in mine)
            if raw.strip():
                found[zone.name] = (raw, sum(w.conf for w in mine) / len(mine) / 100)
        return found


def _has_ink(crop: np.ndarray) -> bool:
    return crop.size > 0 and float((crop < _DARK).mean()) >= _EMPTY_INK


def read_fields(warped: np.ndarray, zones: Sequence[Zone], *, dpi: int, engine: OcrEngine) -> dict[str, FieldValue]:
    """Read every text zone of a page, then validate by kind.

    Comb fields (one box per character) are read box by box by the hand-print reader,
    which accepts a value only when one reading that passes the field's rules clearly
    wins; every other zone goes to Tesseract. Zones without ink are not read at all.
    """
    result: dict[str, FieldValue] = {}
    crops = []
    for zone in zones:
        if zone.kind in _UNREAD:
            continue
        crop = _remove_rules(_crop(warped, zone, dpi, _INSET_MM))
        if not _has_ink(crop):
            continue
        if zone.cells:
            result[zone.name] = _from_comb(read_comb(warped, zone, dpi=dpi))
        else:
            crops.append((zone, crop))
    raw = StackedReader(engine)(crops) if crops else {}
    for zone, _ in crops:
        if zone.name not in raw:
            continue
        text, confidence = raw[zone.name]
        value, well_formed = validate(zone.kind, text)
        if well_formed is False:
            confidence = min(confidence, 0.5)
        result[zone.name] = FieldValue(
            value=value, confidence=confidence, valid=_proven(zone.kind, well_formed), raw=text
        )
    return result


def _proven(kind: FieldKind, well_formed: bool | None) -> bool | None:
    """``valid`` is True only where the kind's own check proves the value.

    A date, postal code or phone number that is well formed may still be misread (on the
    dev corpus, 6 of 88 well-formed Tesseract readings with confidence >= 0.9 were wrong):
    those stay None, "not provable". Check characters (henkilötunnus, Y-tunnus, IBAN)
    are what make True mean "right".
    """
    if well_formed is False:
        return False
    return True if well_formed and kind in CHECKED_KINDS else None


def _from_comb(reading: FieldReading) -> FieldValue:
    """An accepted comb reading is valid by construction; otherwise no value, only candidates."""
    candidates = tuple(text for text, _ in reading.candidates[:3])
    if reading.value is not None:
        return FieldValue(reading.value, reading.confidence, True, raw=reading.raw, candidates=candidates)
    return FieldValue(None, reading.confidence, None, raw=reading.raw, candidates=candidates)


def read_checkboxes(
    warped: np.ndarray, zones: Sequence[Zone], *, dpi: int, blank: np.ndarray | None = None
) -> dict[str, bool]:
    """Ticked or not, for every checkbox zone (see ``checkboxes.read_marks`` for confidences)."""
    return {name: mark.ticked for name, mark in read_marks(warped, zones, dpi=dpi, blank=blank).items()}
