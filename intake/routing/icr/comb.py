"""Find the boxes of a comb field and cut one image per written character."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import cv2
import numpy as np

from intake.routing.icr.model import BLANK_SHARE
from intake.routing.templates import Zone
from intake.units import MM_PER_INCH

MARGIN_MM = 2.5  # read a little around the zone: registration can be a millimetre or more off
# Below the box the crop reaches further: people write on or across the bottom rule, and
# tails (J, Q, 4, 9) hang below it. A letter is kept whole if it starts inside the box.
BELOW_MM = 5.0
_RULE_SHARE = 0.6  # a column that is dark over this share of the box height is a printed separator
_ABOVE_MM = 1.5  # people write across the box's rules: take some of the paper above ...
_BELOW_MM = 4.5  # ... and more below, where descending strokes go (the crop has BELOW_MM)
_RULE_HALF_MM = 0.35  # half the width of a printed rule, plus blur
_STROKE_MM = 0.25  # a pen stroke along a rule makes it at least this much thicker ...
_DASH_MM = 1.2  # ... over at least this length: a hyphen written on the line
FLAT = 1.25  # a hyphen is wider than tall by this much (an outlined one is a short box: 1.3–1.7)
_OVER_MM = 1.0  # a character's strokes may reach this far past a separator into the next box
_OWN_SHARE = 0.25  # a stroke in the neighbour's box this big against ours is the neighbour's own character
_LINE_SHARE = 0.6  # a printed line's own columns are inked in this share of the rows that have ink near it
_HALF_HEIGHT = 0.5  # a touching pair's half in the next box is a character of its own when this tall against the box


@dataclass(frozen=True)
class Comb:
    """A comb field located on the page: its cell images and where its separators were found."""

    cells: list[np.ndarray]
    separators: list[int]  # x of every separator in the crop, pixels (cells + 1 of them)
    found: bool  # True when all but at most one separator were seen on the print


def zone_crop(warped: np.ndarray, zone: Zone, dpi: int, margin_mm: float = MARGIN_MM) -> np.ndarray:
    """The zone's box plus ``margin_mm`` on three sides and BELOW_MM below, from a page warped into template pixels."""
    scale = dpi / MM_PER_INCH
    x, y, w, h = zone.box
    x0, y0 = max(0, round((x - margin_mm) * scale)), max(0, round((y - margin_mm) * scale))
    x1, y1 = round((x + w + margin_mm) * scale), round((y + h + max(margin_mm, BELOW_MM)) * scale)
    return warped[y0:y1, x0:x1]


def _runs(profile: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Runs [start, end) of the columns (or rows) whose ink count is above ``threshold``."""
    strong = np.concatenate([[False], profile > threshold, [False]])
    edges = np.flatnonzero(np.diff(strong.astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _line_positions(profile: np.ndarray, threshold: float) -> list[float]:
    """Centres of the runs of columns (or rows) whose ink count is above ``threshold``."""
    return [(a + b - 1) / 2 for a, b in _runs(profile, threshold)]


def ink_threshold(grey: np.ndarray) -> float:
    """Grey level between paper and ink: scans range from black marker to faint pencil-grey."""
    paper = float(np.percentile(grey, 90))
    dark = float(np.percentile(grey, 0.5))
    # Close to the paper: faint, blurred strokes of a thin pen must still count as ink.
    return paper - max(30.0, 0.3 * (paper - dark)) if paper - dark > 40 else dark - 1


_FAINT = 30.0  # a pixel this much darker than the paper may be a faint stroke's ...
_WRITING = 60.0  # ... when its stroke's darkest pixel is this much darker (else it is a shadow or dust)


def ink_mask(grey: np.ndarray, level: float | None = None) -> np.ndarray:
    """Ink pixels (uint8 0/1), each stroke measured against its own darkness, not the field's.

    One threshold for the whole field loses a faint character next to dark ones (a pen
    pressed lightly, a pencil): most of its stroke is lighter than the field's threshold.
    Each connected stroke, found near the paper's level, gets the threshold ``ink_threshold``
    would give a field written with it alone. ``level``: ``ink_threshold(grey)``, if the
    caller has it already.
    """
    paper = float(np.percentile(grey, 90))
    mask = (grey < (ink_threshold(grey) if level is None else level)).astype(np.uint8)
    if paper - float(grey.min()) <= 40:
        return mask
    loose = (grey < paper - _FAINT).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(loose, connectivity=8)
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        part = grey[y : y + h, x : x + w]
        own = labels[y : y + h, x : x + w] == i
        darkest = float(part[own].min())
        if darkest > paper - _WRITING:
            continue
        level = paper - max(_FAINT, 0.3 * (paper - darkest))
        mask[y : y + h, x : x + w] |= (own & (part < level)).astype(np.uint8)
    return mask


def _box_rows(ink: np.ndarray, expected_h: float, expected_top: float) -> tuple[int, int]:
    """Top and bottom printed rules of the comb: the pair of long rows about one box apart."""
    rows = _line_positions(ink.sum(axis=1), ink.shape[1] * 0.45)
    best, best_err = None, expected_h * 0.25
    for i, top in enumerate(rows):
        for bottom in rows[i + 1 :]:
            err = abs((bottom - top) - expected_h)
            if err < best_err:
                best, best_err = (top, bottom), err
    if best is None:  # fall back on the template: the box sits inside the margin
        return round(expected_top), round(expected_top + expected_h)
    return round(best[0]), round(best[1])


def _fit_separators(found: list[float], cells: int, pitch: float, start: float) -> tuple[list[int], bool]:
    """Fit the evenly spaced printed separators to the vertical lines found.

    The offset is chosen so most lines agree (tolerates ±1 mm misregistration), then offset
    and pitch are refitted by least squares on the lines that match, so a written stroke
    near a separator cannot drag one box edge. Found means nearly every separator was seen.
    """
    guesses = start + pitch * np.arange(cells + 1)
    best_shift, best_hits = 0.0, -1
    for line in found:
        for k in range(cells + 1):
            shift = line - guesses[k]
            if abs(shift) > pitch * 0.6:
                continue
            hits = sum(min(abs(f - g - shift) for f in found) < pitch * 0.08 for g in guesses)
            if hits > best_hits:
                best_shift, best_hits = shift, hits
    grid = guesses + best_shift
    for tolerance in (0.12, 0.05):
        pairs = []
        for k, g in enumerate(grid):
            near = min(found, key=lambda f: abs(f - g), default=None)
            if near is not None and abs(near - g) < pitch * tolerance:
                pairs.append((k, near))
        if len(pairs) >= 2:
            slope, offset = np.polyfit([k for k, _ in pairs], [x for _, x in pairs], 1)
            grid = offset + slope * np.arange(cells + 1)
    return [round(g) for g in grid], len(pairs) >= cells


def split_comb(
    crop: np.ndarray, cells: int, box_mm: tuple[float, float], dpi: int, margin_mm: float = MARGIN_MM
) -> Comb:
    """Cut a comb crop (from ``zone_crop``) into ``cells`` character images, grey, ink dark."""
    scale = dpi / MM_PER_INCH
    width, height = box_mm[0] * scale, box_mm[1] * scale
    level = ink_threshold(crop)
    ink = (crop < level).astype(np.uint8)
    written = ink_mask(crop, level).astype(bool)
    top, bottom = _box_rows(ink, height, margin_mm * scale)
    rules = _runs(ink.sum(axis=1), ink.shape[1] * 0.45)
    band = ink[top : bottom + 1]
    # Only long vertical runs are separators; strokes of a character are shorter than the box.
    opened = cv2.morphologyEx(
        band, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(3, int(band.shape[0] * _RULE_SHARE))))
    )
    found = _line_positions(opened.sum(axis=0), band.shape[0] * 0.3)
    separators, exact = _fit_separators(found, cells, width / cells, margin_mm * scale)
    pitch = round(width / cells)
    images = []
    for k, (left, right) in enumerate(itertools.pairwise(separators)):
        # Take half a box more on each side: a character is kept whole by where its ink lies,
        # and strokes of the neighbours that reach over the separator are left out.
        x0, x1 = max(0, left - pitch // 2), min(crop.shape[1], right + pitch // 2 + 1)
        inner = (k > 0, k < cells - 1)  # which sides have a neighbouring box
        images.append(
            _cell(crop[:, x0:x1], written[:, x0:x1], top, bottom, rules, level, scale, (left - x0, right - x0), inner)
        )
    return Comb(images, separators, exact)


def _erase_rule(ink: np.ndarray, start: int, end: int) -> None:
    """Remove rows [start, end) of a printed rule, except where a written stroke crosses it."""
    a, b = max(0, start - 1), min(ink.shape[0], end + 1)
    above = np.asarray(ink[max(0, a - 2) : a].any(axis=0) if a > 0 else np.zeros(ink.shape[1], bool))
    below = np.asarray(ink[b : b + 2].any(axis=0) if b < ink.shape[0] else np.zeros(ink.shape[1], bool))
    # A stroke that only sits on the rule (an 0 on the bottom line) keeps none of it: the
    # rule's piece under it would read as a tail (0 → Q). One that crosses it slanting comes
    # out of it up to the rule's width to the side of where it went in (the loop of an 8),
    # and keeps the rule between the two; an upright one keeps only its own width (a 1 with
    # the rule's width either side of it is a +). Twice the width bridges a narrow 0 into an @.
    ink[a:b, ~_through(above, below, b - a)] = False


def _erase_separator(ink: np.ndarray, x: int, half: int, beyond: int) -> None:
    """Remove a printed separator's columns, except where a written stroke crosses it or lies
    along it (``_along``: past the line's edge by ``beyond``)."""
    a, b = max(0, x - half), min(ink.shape[1], x + half + 1)
    left = np.asarray(ink[:, max(0, a - 2) : a].any(axis=1) if a > 0 else np.zeros(ink.shape[0], bool))
    right = np.asarray(ink[:, b : b + 2].any(axis=1) if b < ink.shape[1] else np.zeros(ink.shape[0], bool))
    ink[~(_through(left, right, b - a) | _along(ink, a, b, beyond)), a:b] = False


def _along(ink: np.ndarray, a: int, b: int, beyond: int) -> np.ndarray:
    """Rows where a written stroke lies along the printed line in columns [a, b): the line's
    own columns inked, and the ink going on at least ``beyond`` past one of its edges.

    The erased band is wider than the line (registration, blur), so a stroke drawn down a
    separator went with it: the side of a 0 sitting against a separator, and the 0 read as
    a C. A stroke that comes near the line without touching it leaves the line as thin as
    elsewhere, and the line is erased there as before.
    """
    rows = np.zeros(ink.shape[0], bool)
    band = ink[:, a:b]
    inked = band.any(axis=1)
    if not inked.any():
        return rows
    cols = np.flatnonzero(band[inked].mean(axis=0) >= _LINE_SHARE)
    if cols.size == 0:
        return rows
    left, right = a + int(cols[0]), a + int(cols[-1])
    if left - beyond < 0 or right + beyond >= ink.shape[1]:
        return rows
    line = ink[:, left : right + 1].all(axis=1)
    before = ink[:, left - beyond : left].all(axis=1)
    after = ink[:, right + 1 : right + 1 + beyond].all(axis=1)
    return np.asarray(line & (before | after))


def _through(entry: np.ndarray, exit_: np.ndarray, by: int) -> np.ndarray:
    """Places between where a stroke meets a rule on one side (``entry``) and leaves it on the
    other (``exit_``), at most ``by`` apart: the stroke's path through the rule."""
    return (_spread(entry, by, 1) & _spread(exit_, by, -1)) | (_spread(entry, by, -1) & _spread(exit_, by, 1))


def _spread(marks: np.ndarray, by: int, step: int) -> np.ndarray:
    """``marks`` (a row of flags) with each set flag spread ``by`` places onward (``step`` 1) or back (-1)."""
    out = marks.copy()
    for k in range(1, max(0, by) + 1):
        if step > 0:
            out[k:] |= marks[:-k]
        else:
            out[:-k] |= marks[k:]
    return out


def _cell(
    strip: np.ndarray,
    mask: np.ndarray,
    top: int,
    bottom: int,
    rules: list[tuple[int, int]],
    level: float,
    scale: float,
    box: tuple[int, int],
    inner: tuple[bool, bool] = (True, True),
) -> np.ndarray:
    """One box's character, white elsewhere: the printed rules, the label above and the neighbours removed.

    The strip reaches past the box on every side because hand-printed characters often cross
    its rules; ink that lies wholly above the box (the printed label) is dropped, and so is
    ink whose middle lies in a neighbouring box (``box``: this box's separators in the strip).
    """
    y0 = max(0, top - round(_ABOVE_MM * scale))
    y1 = min(strip.shape[0], bottom + round(_BELOW_MM * scale) + 1)
    grey = strip[y0:y1]
    ink = mask[y0:y1].copy()
    for start, end in rules:
        if end > y0 and start < y1:
            _erase_rule(ink, start - y0, end - y0)
    half = max(1, round(_RULE_HALF_MM * scale))
    beyond = max(2, round(_STROKE_MM * scale))
    for x in box:
        _erase_separator(ink, x, half, beyond)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    # A character has ink inside the box; what lies wholly below it is the next field's print.
    below_top = labels[top - y0 + round(_RULE_HALF_MM * scale) + 1 : bottom - y0, :]
    inside = np.zeros(count, bool)
    for i in range(1, count):
        x, _y, w, _h, _a = stats[i]
        inside[i] = box[0] < x + w / 2 < box[1]
    keep = np.isin(labels, np.unique(below_top[below_top > 0])) & inside[labels]
    # Characters written wide touch their neighbour (a 7's bar runs into the next 0): the two
    # are one component, and that pair is no character. A kept component that runs on more
    # than _OVER_MM past a separator with a box beyond it is cut at that separator.
    # A big hand's character that only reaches over, with the neighbour's own character apart
    # from it, stays whole (a 6 whose bowl crosses the separator read as U).
    reach = round(_OVER_MM * scale)
    middles = stats[:, cv2.CC_STAT_LEFT] + stats[:, cv2.CC_STAT_WIDTH] / 2
    written = [int(i) for i in np.unique(below_top[below_top > 0])]  # strokes in the boxes' band
    for part in map(int, np.flatnonzero(inside)):
        left, width = int(stats[part, cv2.CC_STAT_LEFT]), int(stats[part, cv2.CC_STAT_WIDTH])
        own = _OWN_SHARE * stats[part, cv2.CC_STAT_AREA]
        apart = [(middles[i] < box[0], middles[i] > box[1]) for i in written if stats[i, cv2.CC_STAT_AREA] >= own]
        if inner[0] and left < box[0] - reach and not any(a for a, _ in apart):
            keep[:, : box[0]] &= labels[:, : box[0]] != part
        if inner[1] and left + width > box[1] + reach and not any(b for _, b in apart):
            keep[:, box[1] + 1 :] &= labels[:, box[1] + 1 :] != part
    keep |= _neighbours_half(labels, stats, middles, inside, written, box, inner, reach, bottom - top)
    if keep.sum() < BLANK_SHARE * keep.size:  # nothing, or a speck: was a hyphen written on a rule?
        # Only the bottom rule: the printed label sits right above the top one.
        near = [(a - y0, b - y0) for a, b in rules if bottom - 3 <= a <= bottom + 3]
        keep |= _stroke_on_rule(mask[y0:y1], near, box, scale)
        keep |= _dash_below(labels, stats, inside, near, rules, y0, scale)
    near_ink = mask[y0:y1] | (grey < (level + 255) / 2)
    keep = cv2.dilate(keep.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool) & near_ink
    # Back to the box's own width (or the character's, if wider): blank and speck tests
    # downstream are relative to the image's size.
    cols = np.flatnonzero(keep.any(axis=0))
    x0 = min(box[0], int(cols[0])) if cols.size else box[0]
    x1 = max(box[1], int(cols[-1]) + 1) if cols.size else box[1]
    return np.where(keep, grey, np.uint8(255))[:, x0:x1]


def _neighbours_half(
    labels: np.ndarray,
    stats: np.ndarray,
    middles: np.ndarray,
    inside: np.ndarray,
    written: list[int],
    box: tuple[int, int],
    inner: tuple[bool, bool],
    reach: int,
    height: int,
) -> np.ndarray:
    """This box's side of a character pair written touching, whose middle lies next door.

    The neighbour's box cuts such a pair at the separator when nothing of ours stands apart
    from it (``_cell``); without this, our half went nowhere: a 1 touching the 0 before it
    left its own box empty. Only an upright half (``_HALF_HEIGHT`` of the box) is ours: the
    tail of a 7's bar reaching into an empty box is not a character.
    """
    found = np.zeros(labels.shape, bool)
    span = box[1] - box[0]
    for part in written:
        if inside[part]:
            continue
        left, width = int(stats[part, cv2.CC_STAT_LEFT]), int(stats[part, cv2.CC_STAT_WIDTH])
        own = _OWN_SHARE * stats[part, cv2.CC_STAT_AREA]
        ours = [middles[i] for i in written if i != part and stats[i, cv2.CC_STAT_AREA] >= own]
        if inner[0] and box[0] - span < middles[part] < box[0] and left + width > box[0] + reach:
            if any(m > box[0] for m in ours):
                continue
        elif inner[1] and box[1] < middles[part] < box[1] + span and left < box[1] - reach:
            if any(m < box[1] for m in ours):
                continue
        else:
            continue
        half = np.zeros(labels.shape, bool)
        half[:, box[0] + 1 : box[1]] = labels[:, box[0] + 1 : box[1]] == part
        rows = np.flatnonzero(half.any(axis=1))
        if rows.size and rows[-1] - rows[0] >= _HALF_HEIGHT * height:
            found |= half
    return found


def _dash_below(
    labels: np.ndarray,
    stats: np.ndarray,
    inside: np.ndarray,
    near: list[tuple[int, int]],
    rules: list[tuple[int, int]],
    y0: int,
    scale: float,
) -> np.ndarray:
    """A flat stroke written just under an otherwise empty box (a hyphen put low), else nothing.

    It lies wholly below the box, so the cutting takes it for the next field's print; but it
    sits between the box's bottom rule and the next printed rule, under this box, and is
    wider than tall: a hyphen, not print (labels are inside the next box, below its rule).
    """
    found = np.zeros(labels.shape, bool)
    if not near:
        return found
    floor = near[0][1]
    below = [a - y0 for a, _b in rules if a - y0 > floor + 2]
    ceiling = min(below) if below else labels.shape[0]
    for i in np.flatnonzero(inside):
        _x, y, w, h, _a = stats[i]
        if floor <= y and y + h <= ceiling and w >= _DASH_MM * scale and w > FLAT * h:
            found |= labels == i
    return found


def _stroke_on_rule(ink: np.ndarray, rules: list[tuple[int, int]], box: tuple[int, int], scale: float) -> np.ndarray:
    """A flat stroke drawn along the box's bottom rule (a hyphen written low), else nothing.

    Erasing the rules takes such a stroke with them and leaves the box blank. It shows as the
    rule thickened over a stretch of the box: thicker than the rule elsewhere on the strip by
    ``_STROKE_MM``, over at least ``_DASH_MM``. Only asked for a box that is otherwise empty.
    """
    found = np.zeros_like(ink)
    reach = max(2, round(0.5 * scale))
    inner = slice(box[0] + max(1, round(_RULE_HALF_MM * scale)) + 1, box[1] - max(1, round(_RULE_HALF_MM * scale)))
    for start, end in rules:
        a, b = max(0, start - reach), min(ink.shape[0], end + reach)
        thickness = ink[a:b].sum(axis=0)
        ruled = thickness[thickness > 0]  # past the comb's ends there is no rule
        if not ruled.size:
            continue
        usual = float(np.percentile(ruled, 20))  # the rule itself: neighbours cross it too
        thick = np.zeros(ink.shape[1], bool)
        thick[inner] = thickness[inner] >= usual + max(2.0, _STROKE_MM * scale)
        for x0, x1 in _runs(thick.astype(float), 0.5):
            if x1 - x0 >= _DASH_MM * scale:
                found[a:b, x0:x1] = ink[a:b, x0:x1]
    return found
