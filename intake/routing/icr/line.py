"""Cut a free hand-printed field (a box without comb separators) into characters.

The zone's printed box, writing lines and label are removed first; strokes that cross them
are kept. What is left is grouped into glyphs left to right: pieces that overlap across (the
dots of Ä and i, the parts of a hollow letter) make one glyph, wide gaps make spaces, and
small marks (. , -) are told apart by their size and height on the line, not by the model.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from intake.routing.icr.comb import MARGIN_MM, ink_mask
from intake.units import px_per_mm

_LONG_MM = 9.0  # a horizontal run this long is printed (no written stroke is)
_HOOK_MM = 3.0  # a written stroke along a printed line, joining two pieces of a letter, is at most this long ...
_HOOK_WIDE_MM = 4.0  # ... and the pieces it joins are at most this wide together
_LINE_ROW = 0.3  # a row of a printed line's band inked across more than this share of it is the line's own
_EDGE_MM = 1.6  # vertical rules are looked for this close to the box's left and right sides
_RING = 0.45  # a dot or ring over a letter is at most this share of the letter's height (or 1.2 mm)
_DOT_GAP = 0.2  # ... no further above it than this share of the letter's height (or 1 mm)
_OVER_LETTER = 0.3  # ... and this share of its width lies over the letter (a slanting A's ring sits at its right)
_LABEL_MM = 2.3  # the printed label sits in the top of the box; written ink reaches lower
_LABEL_START_MM = 4.0  # the label begins this close to the box's left side ...
_LABEL_GAP_MM = 0.6  # ... its letters follow one another closer than this ...
_LABEL_LETTERS = 3  # ... and it has at least this many pieces
_DUST = 0.05  # a component smaller than this share of the median glyph's area is dust
_MARK = 0.45  # a glyph lower than this share of the line's letter height, or starting as low, is a mark (. , -)
_HIGH = 0.75  # a dot whose middle is higher than this share of the letter height is an i's or j's
_DOT = 0.3  # a full stop is no bigger than this share of the letter height either way
_HIGH_DOT = 0.4  # an i's dot up there may be bigger: a thick pen's dot over a small i
_SPACE = 0.42  # a gap wider than this share of the letter height is a space ...
_SPACE_GAPS = 1.9  # ... and wider than this many times the usual gap between letters
_SPACE_TIGHT = 0.3  # a hand that writes its letters close: a gap this wide (of the height) ...
_SPACE_TIGHT_GAPS = 3.0  # ... and this many times its usual gap is a space too


@dataclass(frozen=True)
class Glyph:
    """One written character: its image (paper 255, only its own ink) and where it sits."""

    image: np.ndarray
    left: int
    right: int
    space_before: bool
    mark: str | None = None  # ".", "," or "-" when told by shape; None: for the model
    top: int = 0  # where ``image``'s first row lies on the crop

    def joined(self, other: Glyph) -> Glyph:
        """This glyph and the next one as one character (a letter drawn in separate strokes)."""
        top = min(self.top, other.top)
        bottom = max(self.top + self.image.shape[0], other.top + other.image.shape[0])
        x0 = min(self.left, other.left) - 2
        canvas = np.full((bottom - top, max(self.right, other.right) + 2 - x0), 255, np.uint8)
        for g in (self, other):
            y, x = g.top - top, g.left - 2 - x0
            h, w = g.image.shape
            region = canvas[y : y + h, max(0, x) : x + w]
            np.minimum(region, g.image[:, max(0, -x) : max(0, -x) + region.shape[1]], out=region)
        return Glyph(canvas, min(self.left, other.left), max(self.right, other.right), self.space_before, None, top)


def _printed_lines(ink: np.ndarray, box: tuple[int, int, int, int], scale: float) -> np.ndarray:
    """Pixels of the printed box and writing lines: long straight runs."""
    x0, y0, x1, y1 = box
    horizontal = cv2.morphologyEx(
        ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (round(_LONG_MM * scale), 1))
    )
    vertical = np.zeros_like(ink)
    tall = max(3, round((y1 - y0) * 0.6))
    column = cv2.morphologyEx(ink, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, tall)))
    edge = round(_EDGE_MM * scale)
    for a, b in ((x0 - edge, x0 + edge), (x1 - edge, x1 + edge)):
        vertical[:, max(0, a) : b] = column[:, max(0, a) : b]
    return np.maximum(horizontal, vertical)


def _vertical(lines: np.ndarray) -> np.ndarray:
    """The vertical ones among the printed line pixels."""
    return cv2.morphologyEx(lines, cv2.MORPH_OPEN, np.ones((9, 1), np.uint8))


def _reach(seed: np.ndarray, band: np.ndarray, axis: int, step: int) -> np.ndarray:
    """Band pixels joined to ``seed`` ink by a straight run through the band along ``axis``
    (0: down for step 1, up for -1; 1: right or left)."""
    out = np.zeros_like(band)
    front = seed
    for _ in range(max(band.shape[axis], 1)):
        moved = np.roll(front, step, axis=axis)
        edge = 0 if step > 0 else -1
        if axis == 0:
            moved[edge, :] = 0
        else:
            moved[:, edge] = 0
        front = np.minimum(moved, band) & (1 - out)
        if not front.any():
            break
        out |= front
    return out


def _remove_lines(ink: np.ndarray, lines: np.ndarray, scale: float) -> np.ndarray:
    """Ink without the printed lines, except where a written stroke meets one.

    People write on the writing line: a stroke that comes down to a line keeps its ink down
    to the line (the foot of an N, where its strokes meet), and one that crosses a line keeps
    the ink all the way through (a comma's tail). Without that, letters lose their feet and
    fall apart into pieces. The line itself stays out under a letter that only sits on it: a
    0 with a bar of line under it reads as a 2. Upright printed lines (the box's sides) are
    kept only where a stroke crosses them.
    """
    # The blurred edges of a printed line are not part of the long run: grow it across.
    # Arrays here are 0/1 uint8: minimum is "and", maximum is "or".
    upright = _vertical(lines)
    flat = cv2.dilate(lines - upright, np.ones((7, 3), np.uint8))
    side = cv2.dilate(upright, np.ones((3, 7), np.uint8))
    grown = np.maximum(flat, side)
    rest = np.minimum(ink, 1 - grown)
    flat_band = np.minimum(flat, 1 - side)
    # The line's own rows: inked across most of the band (a dashed line too); the rest of the
    # band is its blurred edge, where a written stroke shows as ink the line does not have.
    rows = flat_band.sum(axis=1)
    own = (np.minimum(ink, flat_band).sum(axis=1) > _LINE_ROW * np.maximum(rows, 1)).astype(np.uint8)
    line_px = np.minimum(flat_band, own[:, None])
    edge = np.minimum(flat_band, 1 - line_px)
    # A stroke down to the line, or up to it from below (a 0's bottom drawn across the line),
    # keeps its ink to the line, not into it.
    sits = np.maximum(_reach(rest, edge, 0, 1), _reach(rest, edge, 0, -1))
    stroke = np.maximum(rest, np.minimum(ink, edge))
    through = np.minimum(_reach(stroke, line_px, 0, 1), _reach(stroke, line_px, 0, -1))
    through = np.maximum(through, _reach(through, edge, 0, 1))  # and on below the line
    met = np.maximum(sits, through)
    side_band = np.minimum(side, 1 - flat)
    crossed = np.minimum(_reach(rest, side_band, 1, 1), _reach(rest, side_band, 1, -1))
    kept = np.maximum(rest, np.minimum(ink, np.maximum(met, crossed)))
    return np.maximum(kept, _hooks(np.minimum(ink, edge) & (1 - kept), kept, scale))


def _hooks(pieces: np.ndarray, kept: np.ndarray, scale: float) -> np.ndarray:
    """Strokes drawn along a line, in its blurred edge, that join two kept pieces of one letter
    (a j's hook between its stem and its curl): the stroke is short, meets two kept pieces,
    and those are no wider together than a letter. A dashed line's blur meets the feet of two
    neighbouring letters: they are too wide together to be one."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(pieces, connectivity=8)
    if count < 2:
        return pieces
    _n, owner, owned, _ = cv2.connectedComponentsWithStats(kept, connectivity=8)
    near = cv2.dilate(owner.astype(np.float32), np.ones((3, 3), np.uint8)).astype(np.int32)
    keep = np.zeros(count, bool)
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        if w > _HOOK_MM * scale:
            continue
        own = labels[y : y + h, x : x + w] == i
        found = np.unique(near[y : y + h, x : x + w][own])
        found = found[found > 0]
        if found.size < 2:
            continue
        left = min(owned[k][0] for k in found)
        right = max(owned[k][0] + owned[k][2] for k in found)
        keep[i] = right - left <= _HOOK_WIDE_MM * scale
    return keep[labels].astype(np.uint8)


def written_ink(crop: np.ndarray, box_mm: tuple[float, float], dpi: int, *, separators: bool = False) -> np.ndarray:
    """A mask of the hand-written ink in a zone crop (``zone_crop``: MARGIN_MM around the box, BELOW_MM below).

    ``separators``: a field of numbers whose dots and commas matter (a date, an amount). A hand
    that writes across the box's bottom rule puts them below it, wholly outside the box: a
    small piece between two of the written characters, down at their baseline, is kept too.
    """
    scale = px_per_mm(dpi)
    m = round(MARGIN_MM * scale)
    box = (m, m, m + round(box_mm[0] * scale), m + round(box_mm[1] * scale))
    ink = ink_mask(crop)
    ink = _remove_lines(ink, _printed_lines(ink, box, scale), scale)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    label_line = box[1] + _LABEL_MM * scale
    inside = [box[0] <= x + w / 2 <= box[2] and y < box[3] + scale for x, y, w, h, _ in stats]  # not a neighbour's
    low = [i for i in range(1, count) if inside[i] and stats[i][1] + stats[i][3] > label_line]
    keep = np.zeros(count, bool)
    keep[low] = True
    label = _label_row(stats, [i for i in range(1, count) if inside[i] and not keep[i]], box, scale)
    for i in range(1, count):
        if inside[i] and not keep[i] and i not in label and _diacritic(stats[i], [stats[j] for j in low], scale):
            keep[i] = True
    if separators and low:
        at_baseline = _at_baseline([stats[j] for j in low])
        for i in range(1, count):
            if not keep[i] and box[0] <= stats[i][0] + stats[i][2] / 2 <= box[2]:
                keep[i] = at_baseline(stats[i])
    return keep[labels]


def _label_row(stats: np.ndarray, high: list[int], box: tuple[int, int, int, int], scale: float) -> set[int]:
    """The printed label's letters among the pieces ``high`` above the written letters.

    A box's label is printed in or over its top-left corner: a row of at least three pieces
    that begins near the box's left side, letter close after letter, on one line. A written
    letter that starts right under it must not take the label's last letters for its dots or
    ring (the S of SALMINEN with "el" over it read as 5). A written Ä's two dots are no label.
    """
    row: list[int] = []
    right = top = bottom = 0
    for i in sorted(high, key=lambda i: stats[i][0]):
        x, y, w, h, _ = stats[i]
        if not row:
            if x > box[0] + _LABEL_START_MM * scale:
                break
            row, right, top, bottom = [i], x + w, y, y + h
            continue
        if x > right + _LABEL_GAP_MM * scale:
            break
        if top - 0.3 * scale <= y + h / 2 <= bottom + 0.3 * scale:
            row.append(i)
            right, top, bottom = max(right, x + w), min(top, y), max(bottom, y + h)
    return set(row) if len(row) >= _LABEL_LETTERS else set()


def _at_baseline(letters: list[np.ndarray]) -> Callable[[np.ndarray], bool]:
    """A test for a small piece between two of the written ``letters``, down at their baseline: a dot or a comma."""
    tall = [s for s in letters if s[3] >= 0.5 * max(t[3] for t in letters)]
    height = float(np.median([s[3] for s in tall]))
    base = float(np.median([s[1] + s[3] for s in tall]))

    def test(part: np.ndarray) -> bool:
        x, y, w, h, _ = part
        middle = x + w / 2
        between = any(s[0] + s[2] <= middle for s in tall) and any(s[0] >= middle for s in tall)
        return between and max(w, h) <= _MARK * height and base - 0.4 * height <= y + h / 2 <= base + 0.3 * height

    return test


def _diacritic(part: np.ndarray, letters: list[np.ndarray], scale: float) -> bool:
    """A small piece right above a written letter (the dots of Ä and Ö, the ring of Å), not the label."""
    x, y, w, h, _ = part
    for lx, ly, lw, lh, _ in letters:
        small = h <= max(1.2 * scale, _RING * lh)  # a big hand's ring of Å is 1.9 mm tall
        near = ly - (y + h) < max(1.0 * scale, _DOT_GAP * lh)  # a big hand's dots sit higher
        if small and near and y < ly and min(x + w, lx + lw) - max(x, lx) > _OVER_LETTER * w:
            return True
    return False


def _components(mask: np.ndarray) -> list[tuple[int, int, int, int, int]]:
    """(left, top, right, bottom, area) of each connected piece of ink, left to right."""
    # Bridge one- and two-pixel breaks: faint or hollow letters fall apart when thresholded.
    joined = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8))
    count, _labels, stats, _ = cv2.connectedComponentsWithStats(joined, connectivity=8)
    found = [(x, y, x + w, y + h, a) for x, y, w, h, a in stats[1:count]]
    return sorted(found)


def _over(part: tuple[int, int, int, int, int], letters: list[tuple[int, int, int, int, int]]) -> bool:
    """A small piece right over a letter is its dot or ring (Ä, Ö, Å, i), not dust, however small
    against the letters (written_ink kept it only there)."""
    x0, _y0, x1, y1, _a = part
    return any(min(x1, b[2]) - max(x0, b[0]) > 0 and y1 <= b[1] + 2 for b in letters)


def _group(parts: list[tuple[int, int, int, int, int]]) -> list[list[int]]:
    """Pieces whose spans across overlap belong to one glyph (Ä's dots, i's dot, broken strokes).

    A small piece down at the baseline is a full stop or a comma of its own: no capital or
    digit has a loose piece there, and a dot tucked under the 4 of "04." is still a dot.
    A small piece high on the line is no full stop either: it is the dot of an i or j (or of
    an Ä) that a slanting hand put beside its letter, and goes with the nearest glyph.
    """
    height = float(np.percentile([p[3] - p[1] for p in parts], 75))
    base = float(np.median([p[3] for p in parts if p[3] - p[1] > _MARK * height]))

    def dot(part: tuple[int, int, int, int, int], size: float = _DOT) -> bool:
        return max(part[3] - part[1], part[2] - part[0]) <= size * height

    high = {
        i for i, part in enumerate(parts) if dot(part, _HIGH_DOT) and (part[1] + part[3]) / 2 < base - _HIGH * height
    }
    groups: list[list[int]] = []
    spans: list[tuple[int, int]] = []
    loose = False
    for i, (x0, y0, x1, y1, _a) in enumerate(parts):
        if i in high and len(high) < len(parts):
            continue
        low = dot(parts[i]) and (y0 + y1) / 2 > base - 0.3 * height
        if spans and not low and not loose:
            a, b = spans[-1]
            overlap = min(b, x1) - max(a, x0)
            if overlap > 0.45 * min(b - a, x1 - x0) or (x1 <= b):
                groups[-1].append(i)
                spans[-1] = (a, max(b, x1))
                continue
        groups.append([i])
        spans.append((x0, x1))
        loose = low
    for i in sorted(high) if len(high) < len(parts) else ():
        middle = (parts[i][0] + parts[i][2]) / 2
        k = min(range(len(spans)), key=lambda k: max(spans[k][0] - middle, middle - spans[k][1], 0.0))
        groups[k].append(i)
        spans[k] = (min(spans[k][0], parts[i][0]), max(spans[k][1], parts[i][2]))
    return groups


def _mark(top: int, bottom: int, width: int, base: float, height: float) -> str | None:
    """A small glyph by where it sits on the line: a dot, a comma or a hyphen.

    A comma may be drawn half as tall as the letters, but it starts low on the line, where
    no capital or digit does.
    """
    tall = bottom - top
    if tall > _MARK * height and top < base - _MARK * height:
        return None
    middle = (top + bottom) / 2
    if middle > base - 0.3 * height:
        return "," if bottom > base and tall > 1.3 * width else "."
    return "-" if width > 1.3 * tall else "."


def split_line(grey: np.ndarray, mask: np.ndarray) -> list[Glyph]:
    """The glyphs of one line of writing, left to right (``mask``: its written ink)."""
    parts = _components(mask)
    if not parts:
        return []
    areas = np.array([p[4] for p in parts])
    big = areas >= _DUST * float(np.median(areas[areas >= np.percentile(areas, 50)]))
    letters = [p for p, keep in zip(parts, big, strict=True) if keep]
    parts = [p for p, keep in zip(parts, big, strict=True) if keep or _over(p, letters)]
    groups = _group(parts)
    boxes = [
        (min(parts[i][0] for i in g), min(parts[i][1] for i in g), max(parts[i][2] for i in g),
         max(parts[i][3] for i in g)) for g in groups
    ]  # fmt: skip
    heights = np.array([b[3] - b[1] for b in boxes], float)
    height = float(np.percentile(heights, 75))
    base = float(np.median([b[3] for b, h in zip(boxes, heights, strict=True) if h > _MARK * height]))
    gaps = [b[0] - a[2] for a, b in itertools.pairwise(boxes)]
    usual = float(np.median(gaps)) if gaps else 0.0
    glyphs = []
    for k, (x0, y0, x1, y1) in enumerate(boxes):
        gap = gaps[k - 1] if k else 0
        wide = gap > _SPACE * height and gap > _SPACE_GAPS * max(usual, 1.0)
        space = k > 0 and (wide or (gap > _SPACE_TIGHT * height and gap > _SPACE_TIGHT_GAPS * max(usual, 1.0)))
        own = np.zeros_like(mask)
        for i in groups[k]:
            a, t, b, bt, _ = parts[i]
            own[t:bt, a:b] = True
        own &= mask
        image = np.where(own, grey, np.uint8(255))[max(0, y0 - 2) : y1 + 2, max(0, x0 - 2) : x1 + 2]
        glyphs.append(Glyph(image, x0, x1, space, _mark(y0, y1, x1 - x0, base, height), max(0, y0 - 2)))
    return glyphs


def split_lines(
    crop: np.ndarray, box_mm: tuple[float, float], dpi: int, *, separators: bool = False
) -> list[list[Glyph]]:
    """Every line of writing in a zone crop, top to bottom, each cut into glyphs (``separators``: see written_ink)."""
    mask = written_ink(crop, box_mm, dpi, separators=separators)
    rows = mask.sum(axis=1)
    if not rows.any():
        return []
    scale = px_per_mm(dpi)
    lines: list[tuple[int, int]] = []
    inked = np.flatnonzero(rows > 0)
    start = prev = int(inked[0])
    for y in inked[1:]:
        if y - prev > round(1.2 * scale):  # an empty band between two lines of writing
            lines.append((start, prev + 1))
            start = int(y)
        prev = int(y)
    lines.append((start, prev + 1))
    out = []
    for top, bottom in lines:
        if bottom - top < 1.2 * scale:  # a speck between lines
            continue
        band = np.zeros_like(mask)
        band[top:bottom] = mask[top:bottom]
        glyphs = split_line(crop, band)
        if glyphs:
            out.append(glyphs)
    return out


def split_touching(glyph: Glyph, count: int, narrowest: int = 0) -> list[Glyph] | None:
    """A glyph cut into ``count`` pieces where the ink is thinnest near an even split: digits
    that touch (a 7's bar run into the 1, two round 0s). None if a piece would be empty or its
    ink narrower than ``narrowest`` pixels."""
    ink = (glyph.image < 255).sum(axis=0)
    offset = glyph.left - 2  # the image has two columns of paper each side
    cuts = [0]
    for k in range(1, count):
        at = k * ink.size / count
        lo, hi = max(cuts[-1] + 1, round(at - 0.3 * ink.size / count)), round(at + 0.3 * ink.size / count)
        cuts.append(lo + int(np.argmin(ink[lo:hi])) if hi > lo else round(at))
    cuts.append(ink.size)
    out = []
    for k, (a, b) in enumerate(itertools.pairwise(cuts)):
        piece = glyph.image[:, a:b]
        rows = np.flatnonzero((piece < 255).any(axis=1))
        cols = np.flatnonzero((piece < 255).any(axis=0))
        if not rows.size or cols[-1] - cols[0] + 1 < narrowest:
            return None
        image = np.pad(piece[max(0, rows[0] - 2) : rows[-1] + 3], ((0, 0), (2, 2)), constant_values=255)
        top = glyph.top + max(0, int(rows[0]) - 2)
        out.append(Glyph(image, offset + a, offset + b, glyph.space_before and k == 0, None, top))
    return out
