"""Turn a blank form's printed layout into named, typed zones, using the printed labels."""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path
from typing import Any

import numpy as np

from intake.poppler import PdfLine
from intake.routing.authoring.layout import Found, Shape, find_layout
from intake.routing.templates import FieldKind, Zone, render_blank
from intake.routing.vocabulary import canonical_name
from intake.units import A4_MM, px_per_mm

log = logging.getLogger(__name__)

LAYOUT_DPI = 150
_LABEL_ABOVE_MM = 7.0  # a label this far above a box (or writing line) still names it
_LABEL_RIGHT_MM = 6.0  # a checkbox's label starts this close to its right side
_WRITING_MIN_MM = 4.0  # a box needs this much free height under its label to be written in
_SHADED = 235
# The printed header band of the page (authority, title) holds no fields.
_HEADER_MM = 0.10 * A4_MM[1]

# Printed label words that say what a field holds (Finnish and Swedish), first match wins.
KIND_WORDS: tuple[tuple[str, FieldKind], ...] = (
    ("henkilotunnus", FieldKind.HETU), ("personbeteckning", FieldKind.HETU),
    ("y-tunnus", FieldKind.YTUNNUS), ("ytunnus", FieldKind.YTUNNUS), ("fo-nummer", FieldKind.YTUNNUS),
    ("iban", FieldKind.IBAN), ("tilinumero", FieldKind.IBAN), ("kontonummer", FieldKind.IBAN),
    ("postinumero", FieldKind.POSTAL), ("postnummer", FieldKind.POSTAL),
    ("sahkoposti", FieldKind.EMAIL), ("e-post", FieldKind.EMAIL),
    ("puhelin", FieldKind.PHONE), ("telefon", FieldKind.PHONE),
    ("allekirjoitus", FieldKind.SIGNATURE), ("underskrift", FieldKind.SIGNATURE),
    ("paiva", FieldKind.DATE), ("datum", FieldKind.DATE), ("syntymaaika", FieldKind.DATE),
    ("alkaen", FieldKind.DATE), ("alkaa", FieldKind.DATE), ("paattyen", FieldKind.DATE),
    ("fran", FieldKind.DATE), ("till", FieldKind.DATE),
    ("euroa", FieldKind.AMOUNT), ("euro", FieldKind.AMOUNT), ("maara", FieldKind.AMOUNT), ("belopp", FieldKind.AMOUNT),
)  # fmt: skip


def fold(text: str) -> str:
    """Lower case without diacritics: 'Päivämäärä' -> 'paivamaara'."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def slugify(text: str, *, fallback: str) -> str:
    """A zone name from a printed label: a-z, 0-9 and '_', starting with a letter."""
    slug = re.sub(r"[^a-z0-9]+", "_", fold(text)).strip("_")[:40].strip("_")
    if not slug or not slug[0].isalpha():
        slug = f"{fallback}_{slug}".strip("_")
    return slug


def kind_of(label: str, shape: Shape) -> FieldKind:
    """The field kind a label names; free text (or several lines of it) otherwise."""
    if shape is Shape.CHECKBOX:
        return FieldKind.CHECKBOX
    folded = fold(label)
    words = folded.split()
    for word, kind in KIND_WORDS:
        # Long words may sit inside compounds ('muuttopaiva'); short ones ('till') must stand alone.
        if (len(word) > 4 and word in folded) or word in words:
            return kind
    return FieldKind.TEXT


def _label_inside(found: Found, printed: list[PdfLine]) -> PdfLine | None:
    """A label printed in the box's top-left corner."""
    inside = [
        line
        for line in printed
        if found.x - 0.5 <= line.x0 < found.x + found.w / 2
        and found.y - 0.5 <= line.y0
        and line.y1 <= found.y + found.h
    ]
    return min(inside, key=lambda line: (line.y0, line.x0), default=None)


def _label_above(found: Found, printed: list[PdfLine], *, reach: float = 0.5) -> PdfLine | None:
    above = [
        line for line in printed
        if found.y - _LABEL_ABOVE_MM <= line.y1 <= found.y + reach and found.x - 3 <= line.x0 < found.x + found.w
    ]  # fmt: skip
    return max(above, key=lambda line: (line.y1, -line.x0), default=None)


def _label_right(found: Found, printed: list[PdfLine]) -> PdfLine | None:
    middle = found.y + found.h / 2
    right = [
        line for line in printed
        if 0 <= line.x0 - (found.x + found.w) <= _LABEL_RIGHT_MM and line.y0 - 1 <= middle <= line.y1 + 1
    ]  # fmt: skip
    return min(right, key=lambda line: line.x0, default=None)


def _shaded(page: np.ndarray, found: Found) -> bool:
    scale = px_per_mm(LAYOUT_DPI)
    inner = page[round((found.y + 1) * scale) : round((found.y + found.h - 1) * scale),
                 round((found.x + 1) * scale) : round((found.x + found.w - 1) * scale)]  # fmt: skip
    return inner.size > 0 and float(inner.mean()) < _SHADED


def _zone_for(found: Found, page_no: int, page: np.ndarray, printed: list[PdfLine]) -> dict | None:
    """A zone (as a dict, unnamed yet) for one layout item, or None if it is not one."""
    box = [found.x, found.y, found.w, found.h]
    if found.shape is Shape.CHECKBOX:
        label = _label_right(found, printed)
    elif found.shape is Shape.BOX:
        if _shaded(page, found):
            return None
        label = _label_inside(found, printed)
        if label is not None:
            free = found.y + found.h - label.y1
            if free < _WRITING_MIN_MM:
                return None  # a printed heading or note in a frame: nothing to write in
            box = [found.x, round(label.y1 + 0.3, 1), found.w, round(free - 0.3, 1)]
        else:
            label = _label_above(found, printed)
    elif found.shape is Shape.LINES:
        # The writing space of ruled lines starts under their label, which may reach into it.
        first_rule = found.y + min(found.h, 8.0)
        label = _label_above(found, printed, reach=max(0.5, first_rule - found.y - 2.0))
        if label is None:
            return None  # a rule without a label: a separator (a footer line), not a field
        top = max(found.y, label.y1 + 0.3)
        box = [found.x, round(top, 1), found.w, round(found.y + found.h - top, 1)]
    else:
        label = _label_above(found, printed)
    text = label.text if label else ""
    kind = kind_of(text, found.shape)
    if found.shape is Shape.LINES and kind is FieldKind.TEXT and (found.cells or 1) > 1:
        kind = FieldKind.MULTILINE
    zone: dict[str, Any] = {"kind": kind.value, "label": text, "page": page_no, "box": box}
    if found.shape is Shape.COMB:
        zone["cells"] = found.cells
    return zone


def _name(zone: dict, taken: set[str]) -> str:
    """The canonical name its label means (see ``vocabulary``), else one made from the label."""
    canonical = canonical_name(zone["label"]) if zone["kind"] != FieldKind.CHECKBOX else None
    if canonical is not None and canonical not in taken:
        base = canonical
    else:
        base = slugify(zone["label"], fallback=zone["kind"]) if zone["label"] else zone["kind"]
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def find_zones(blank_pdf: Path, printed: list[PdfLine], pages: int) -> list[Zone]:
    """Every zone of a blank form, named from its printed labels."""
    zones: list[Zone] = []
    taken: set[str] = set()
    for page_no in range(1, pages + 1):
        page = render_blank(blank_pdf, page_no, dpi=LAYOUT_DPI)
        mine = [line for line in printed if line.page == page_no]
        for found in find_layout(page, mine, dpi=LAYOUT_DPI):
            if found.y < _HEADER_MM:
                continue  # the header band: logo frames and title rules, nothing to fill in
            zone = _zone_for(found, page_no, page, mine)
            if zone is not None:
                zones.append(Zone.model_validate({"name": _name(zone, taken), **zone}))
    log.info("%s: found %d zones", blank_pdf.name, len(zones))
    return zones
