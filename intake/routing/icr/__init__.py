"""Hand-printed character recognition (ICR): a zone's writing → characters → a value under the kind's rules."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np

from intake.routing.icr import rules
from intake.routing.icr.comb import FLAT, Comb, split_comb, zone_crop
from intake.routing.icr.decode import DIGITS, FieldReading, Slot, fold, slots
from intake.routing.icr.line import Glyph, split_lines, split_touching
from intake.routing.icr.model import CellReader, CellReading, IcrModelError, strokes
from intake.routing.templates import FieldKind, Zone
from intake.units import px_per_mm

__all__ = [
    "CellReader", "CellReading", "Comb", "FieldReading", "Glyph", "IcrModelError",
    "comb_slots", "read_crop", "read_glyphs", "read_zone", "split_comb", "split_lines", "zone_crop",
]  # fmt: skip

_SINGLE_LINE = {
    FieldKind.POSTAL: rules.read_postal,
    FieldKind.DATE: rules.read_date,
    FieldKind.PHONE: rules.read_phone,
    FieldKind.AMOUNT: rules.read_amount,
    FieldKind.YTUNNUS: rules.read_ytunnus,
    FieldKind.IBAN: rules.read_iban,
    FieldKind.EMAIL: rules.read_email,
}


# A surname is one word (or joined by a hyphen); first names may be two (ANNA MARIA, not ANNAMARIA).
_SURNAMES = frozenset({"last_name"})
_JOIN_MARGIN = 0.1  # how much surer of the joined pair than of either piece
# ... or, near certainty where a margin of 0.1 cannot be had, how many times less in doubt: a
# touching HÄ read as an M at 0.925 and cut into an H and an Ä at 0.999 each is cut.
_DOUBT_RATIO = 10.0
_JOIN_ROUNDS = 3
_DASH_HEIGHT = 0.2  # a hyphen's stroke is thinner than this share of the box's height in every column ...
_DASH_EDGE = 0.1  # ... but for the columns this close to the box's sides (share of its width)
_DASH_SPAN = 0.4  # ... all of its ink lower than this share (slanting, or through a separator), and flat (comb.FLAT)
_CENTURY_BOX = 6  # a henkilötunnus's century sign: never left blank, and its hyphen is the smallest mark on the form


@dataclass(frozen=True)
class _Apart:
    wider: float  # a glyph wider than this share of the line's height may be characters touching
    narrowest: float  # each piece of a cut is at least this share of the height wide
    sure: float  # and every piece is read at least this surely
    digits: float = 0.0  # a field of digits: a glyph this many times wider than tall is judged as digits


# Touching characters are cut apart (_apart, line.split_touching): in fields of digits only
# (and marks) ...
_DIGITS_ONLY = frozenset({FieldKind.POSTAL, FieldKind.DATE, FieldKind.PHONE, FieldKind.AMOUNT, FieldKind.YTUNNUS})
# No digit is much wider than tall; and one as wide as two digits, read surely as a letter (701
# run together reads W), is no digit at all: its sureness as a digit is what a cut must beat.
# A single digit is never that wide (Delphine's 1 with its long flag: 1.3-1.45 times).
_DIGITS_APART = _Apart(wider=1.15, narrowest=0.35, sure=0.0, digits=1.6)
# ... and in capital letters (names, addresses). M and W are wide, and a wide E cut in two reads
# as a sure Z and a 5: each piece of a cut must be a letter's width and read surely. Set on
# the dev corpus and checked on synthetic forms in held-out fonts (tools/icr/evaluate.py).
_LETTERS_APART = _Apart(wider=1.3, narrowest=0.45, sure=0.8)


@cache
def _reader() -> CellReader:
    return CellReader()


def is_municipality(zone: Zone) -> bool:
    """Templates keep the municipality a text field; its name says what it holds."""
    return zone.kind == FieldKind.TEXT and zone.name.endswith("municipality")


def read_glyphs(glyphs: list[Glyph], reader: CellReader, *, capitals: bool = True) -> tuple[list[Glyph], list[Slot]]:
    """The model's alternatives for each glyph (marks keep their own reading).

    Some hands draw a letter in strokes that do not touch (an N as three lines): two narrow
    neighbours are read as one character when the model is surer of the pair than of the
    weaker piece (a lone upright stroke reads as a sure I; the rest of the N does not).
    Two real letters (II, LI) are each read surely: no pair beats that.
    """
    found = _slots(glyphs, reader, capitals)
    heights = [g.image.shape[0] for g in glyphs if g.mark is None]
    height = float(np.median(heights)) if heights else 0.0
    for _round in range(_JOIN_ROUNDS):  # a letter in three strokes takes two rounds
        pairs = {
            k: glyphs[k].joined(glyphs[k + 1])
            for k in range(len(glyphs) - 1)
            if _joinable(glyphs[k], glyphs[k + 1], height)
        }
        if not pairs:
            break
        read = dict(zip(pairs, _slots(list(pairs.values()), reader, capitals), strict=True))
        out_glyphs, out_found, k = [], [], 0
        while k < len(glyphs):
            joined = read.get(k)
            if joined and max(joined.values()) > min(max(found[k].values()), max(found[k + 1].values())) + _JOIN_MARGIN:
                out_glyphs.append(pairs[k])
                out_found.append(joined)
                k += 2
                continue
            out_glyphs.append(glyphs[k])
            out_found.append(found[k])
            k += 1
        if len(out_glyphs) == len(glyphs):
            break
        glyphs, found = out_glyphs, out_found
    return glyphs, found


def _apart(glyphs: list[Glyph], reader: CellReader, rule: _Apart) -> list[Glyph]:
    """Glyphs wide enough to be characters that touch, cut apart (``line.split_touching``)
    where the model is surer of every piece than of the whole.

    A glyph wider than ``rule.wider`` times the line's height is tried in two, three or four
    pieces (each at least ``rule.narrowest`` of the height wide), and the cut whose least
    sure piece is surest wins, if it beats the whole by _JOIN_MARGIN (or is _DOUBT_RATIO
    times less in doubt) and ``rule.sure``.
    """
    heights = [g.image.shape[0] for g in glyphs if g.mark is None]
    if not heights:
        return glyphs
    height = float(np.median(heights))
    out = []
    for g in glyphs:
        width = g.right - g.left
        most = 0 if g.mark or width <= rule.wider * height else min(4, int(width / (rule.narrowest * height)))
        narrowest = round(rule.narrowest * height)
        cuts = [pieces for count in range(2, most + 1) if (pieces := split_touching(g, count, narrowest))]
        if not cuts:
            out.append(g)
            continue
        read = iter(_slots([g, *(piece for pieces in cuts for piece in pieces)], reader, True))
        as_digits = 0 < rule.digits * height < width
        whole = _sureness(next(read), as_digits)
        sure = [min(_sureness(next(read), as_digits) for _ in pieces) for pieces in cuts]
        best = int(np.argmax(sure))
        clearer = sure[best] > whole + _JOIN_MARGIN or (1 - sure[best]) * _DOUBT_RATIO < 1 - whole
        out.extend(cuts[best] if clearer and sure[best] > rule.sure else [g])
    return out


def _sureness(slot: Slot, as_digits: bool) -> float:
    """How surely a glyph is read: as any character, or as a digit (O counted as 0, I as 1)."""
    return max(fold(slot, DIGITS).get(d, 0.0) for d in DIGITS) if as_digits else max(slot.values())


def _joinable(a: Glyph, b: Glyph, height: float) -> bool:
    """Two neighbours narrow enough together to be one character, with no space or mark between."""
    return not (a.mark or b.mark or b.space_before) and max(a.right, b.right) - min(a.left, b.left) <= 0.9 * height


def _dash(image: np.ndarray, slot: Slot, box_height: float) -> Slot:
    """A box holding only a short flat stroke holds a hyphen: scaled up to the model's size a
    dash is just a bar, and the model spreads it over - + and E (drawn as an outline, M); its
    shape says it plainly. A dash drawn slanting, or across a separator (keeping a stub of the
    rule where it crosses), is taller than its stroke: what counts is the stroke's thickness
    in every column away from the box's sides. A small 1 with a long flag is as flat, but its
    stem stands upright."""
    ink = image < 255
    ys, xs = np.nonzero(ink)
    if not ys.size:
        return slot
    height, width = int(ys.max() - ys.min()) + 1, int(xs.max() - xs.min()) + 1
    edge = round(_DASH_EDGE * image.shape[1])  # a stub of the separator stands at the box's side
    inner = ink[:, edge : image.shape[1] - edge]
    columns = inner[:, inner.any(axis=0)]
    if not columns.size:
        return slot
    extent = columns.shape[0] - np.argmax(columns[::-1], axis=0) - np.argmax(columns, axis=0)
    thin = int(extent.max()) < _DASH_HEIGHT * box_height  # no upright stroke anywhere (a small 1's stem)
    return {"-": 1.0} if thin and height < _DASH_SPAN * box_height and width > FLAT * height else slot


def comb_slots(
    images: Sequence[np.ndarray], readings: Sequence[CellReading], classes: Sequence[str], height: float, kind: str
) -> list[Slot]:
    """Each comb box's alternatives ({} for a blank box; a hyphen by its shape, ``_dash``); ``height``: the box's, px.

    A hyphen written short and light has less ink than a box needs not to count as blank
    (model.BLANK_SHARE): 4 of 517 hyphens (dev corpus and 810 synthetic forms in held-out
    fonts), 0.6–1.2 mm long. In a henkilötunnus's century box, where something must be
    written, a mark that is a hyphen by its shape (and not a speck of dust, model.strokes) is
    read as one; 3 of the 4 are, the fourth is as tall as it is wide.
    """
    boxes = [
        {} if reading.blank else _dash(image, slot, height)
        for image, reading, slot in zip(images, readings, slots(readings, classes), strict=True)
    ]
    if kind == FieldKind.HETU and len(boxes) == 11 and not boxes[_CENTURY_BOX]:
        cell = images[_CENTURY_BOX]
        boxes[_CENTURY_BOX] = _dash(np.where(strokes(cell), cell, np.uint8(255)), {}, height)
    return boxes


def _slots(glyphs: list[Glyph], reader: CellReader, capitals: bool) -> list[Slot]:
    readings = reader.read([g.image for g in glyphs])
    found = slots(readings, reader.classes, capitals=capitals)
    return [{g.mark: 1.0} if g.mark else s for g, s in zip(glyphs, found, strict=True)]


def read_zone(warped: np.ndarray, zone: Zone, *, dpi: int, reader: CellReader | None = None) -> FieldReading:
    """Read a zone's hand-printing from a page warped into template pixels at ``dpi``."""
    return read_crop(zone_crop(warped, zone, dpi), zone, dpi=dpi, reader=reader)


def read_crop(crop: np.ndarray, zone: Zone, *, dpi: int, reader: CellReader | None = None) -> FieldReading:
    """Read a zone from its crop (``zone_crop``: the box with MARGIN_MM around it, BELOW_MM below)."""
    reader = reader or _reader()
    if zone.cells:
        comb = split_comb(crop, zone.cells, (zone.box[2], zone.box[3]), dpi)
        cells = reader.read(comb.cells)
        boxes = comb_slots(comb.cells, cells, reader.classes, zone.box[3] * px_per_mm(dpi), zone.kind)
        if zone.kind == FieldKind.HETU:
            return rules.read_hetu(boxes)
        glyphs = [Glyph(image, 0, 0, False) for image, box in zip(comb.cells, boxes, strict=True) if box]
        return _by_kind(zone, [(glyphs, [b for b in boxes if b])])
    lines = split_lines(
        crop, (zone.box[2], zone.box[3]), dpi, separators=zone.kind in (FieldKind.DATE, FieldKind.AMOUNT)
    )
    if zone.kind in _DIGITS_ONLY:
        lines = [_apart(line, reader, _DIGITS_APART) for line in lines]
    elif zone.kind in (FieldKind.TEXT, FieldKind.MULTILINE):
        lines = [_apart(line, reader, _LETTERS_APART) for line in lines]
    capitals = zone.kind != FieldKind.EMAIL
    return _by_kind(zone, [read_glyphs(line, reader, capitals=capitals) for line in lines])


def _by_kind(zone: Zone, lines: list[tuple[list[Glyph], list[Slot]]]) -> FieldReading:
    if not lines:
        return FieldReading(None, 0.0, (), "", "nothing written")
    if zone.kind in (FieldKind.TEXT, FieldKind.MULTILINE) and not is_municipality(zone):
        return rules.read_text(lines, name=zone.name in _SURNAMES)
    glyphs = [g for line, _ in lines for g in line]
    found = [s for _, line_slots in lines for s in line_slots]
    if is_municipality(zone):
        return rules.read_municipality(glyphs, found)
    if zone.kind == FieldKind.HETU:
        return rules.read_hetu([s for g, s in zip(glyphs, found, strict=True) if g.mark is None])
    read = _SINGLE_LINE.get(zone.kind)
    return read(glyphs, found) if read else rules.read_text(lines)
