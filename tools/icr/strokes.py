"""Digits drawn stroke by stroke in the shapes people write, each in several styles.

Fonts draw a digit one way, the way a type designer does; hands draw it many ways: a 4 open
or closed, a 9 with a round or a pointed head and a straight or hooked tail, a 2 with or
without a loop at its foot, a 3 with a flat top, an 8 of two rings or one crossing stroke, a
0 that does not quite close. ``glyphs.drawn_digits`` drew the four that fonts draw most
unlike Finnish hands (1 4 7 9); this draws all ten, each style from its own sketch, with
the pen's wobble, the hand's slant and proportions varied per sample.

A sketch is a list of strokes in (u, v): u across in digit heights from the digit's middle,
v up from the baseline (1 the top). Curves are sampled from arcs and splines, each point
moved a little (the hand is not a compass), then slanted and drawn with a round pen.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from tools.icr.glyphs import CANVAS

Point = tuple[float, float]
Stroke = list[Point]


def _arc(cu: float, cv: float, ru: float, rv: float, start: float, end: float, n: int = 18) -> Stroke:
    """Points on an ellipse from angle ``start`` to ``end`` (degrees, counter-clockwise, 0 to the right)."""
    angles = np.radians(np.linspace(start, end, n))
    return [(cu + ru * float(np.cos(a)), cv + rv * float(np.sin(a))) for a in angles]


def _spline(points: Stroke, n: int = 8) -> Stroke:
    """A smooth curve through ``points`` (Catmull–Rom), ``n`` points a span."""
    if len(points) < 3:
        return points
    p = [points[0], *points, points[-1]]
    out: Stroke = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = (np.array(q) for q in p[i - 1 : i + 3])
        for t in np.linspace(0, 1, n, endpoint=False):
            t2, t3 = t * t, t * t * t
            q = 0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (3 * p1 - p0 - 3 * p2 + p3) * t3)
            out.append((float(q[0]), float(q[1])))
    out.append(points[-1])
    return out


def _zero(r: np.random.Generator) -> list[Stroke]:
    w = r.uniform(0.24, 0.34)
    start = r.uniform(60, 120)  # begun near the top, drawn anticlockwise
    end = start + 360 + r.uniform(-25, 15)  # closed, a little short, or overlapping
    return [_arc(0, 0.5, w, 0.5, start, end, 30)]


def _one(r: np.random.Generator) -> list[Stroke]:
    top = (r.uniform(-0.04, 0.04), 1.0)
    style = r.integers(3)
    if style == 0:  # a plain stem
        return [[top, (0, 0)]]
    flag = (-r.uniform(0.15, 0.5), 1 - r.uniform(0.15, 0.7))  # short to long, from high to halfway down
    strokes = [[flag, top, (0, 0)]]
    if style == 2:
        foot = r.uniform(0.15, 0.3)
        strokes.append([(-foot, 0), (foot, 0)])
    return strokes


def _two(r: np.random.Generator) -> list[Stroke]:
    w = r.uniform(0.22, 0.32)
    head = _arc(0, 1 - w * 0.9, w, w * 0.9, r.uniform(150, 190), r.uniform(-40, -10), 14)
    foot = (-w - r.uniform(0, 0.08), 0)
    if r.random() < 0.35:  # a small loop where the diagonal meets the base
        loop = _arc(-w + 0.06, 0.07, 0.07, 0.07, 90, -200, 10)
        return [head + _spline([head[-1], (-w * 0.3, 0.35), loop[0]]) + loop + [(w + r.uniform(0, 0.1), 0.0)]]
    curve = _spline([head[-1], (w * 0.2, 0.45), foot], 6) if r.random() < 0.6 else [head[-1], foot]
    return [head + curve + [(w + r.uniform(-0.02, 0.1), r.uniform(-0.03, 0.03))]]


def _three(r: np.random.Generator) -> list[Stroke]:
    w = r.uniform(0.22, 0.3)
    waist = r.uniform(0.48, 0.58)
    lower = _arc(0, waist / 2, w * 1.05, waist / 2, 90, -200, 16)
    if r.random() < 0.35:  # a flat top and a diagonal to the waist
        top = [(-w, 1.0), (w, 1.0), (-r.uniform(0, 0.08), waist)]
        return [top + lower[1:]]
    upper = _arc(0, (1 + waist) / 2, w * 0.9, (1 - waist) / 2, r.uniform(150, 180), -90, 14)
    return [[*upper, (-r.uniform(0.0, 0.1), waist), *lower]]


def _four(r: np.random.Generator) -> list[Stroke]:
    bar = r.uniform(0.28, 0.45)
    stem = r.uniform(0.08, 0.18)
    right = stem + r.uniform(0.06, 0.14)
    if r.random() < 0.5:  # closed: one stroke down the diagonal and along the bar, the stem apart
        return [[(stem, 1.0), (-0.3, bar), (right, bar)], [(stem, 1.0), (stem, 0.0)]]
    # open at the top: a down stroke, the bar, and the stem beside it (as taught here)
    left = -r.uniform(0.2, 0.32)
    down = [(left + r.uniform(0, 0.08), 1.0), (left, bar), (right, bar)]
    return [down, [(stem, 1 - r.uniform(0, 0.25)), (stem, 0.0)]]


def _five(r: np.random.Generator) -> list[Stroke]:
    w = r.uniform(0.22, 0.3)
    neck = (-w * r.uniform(0.6, 0.9), r.uniform(0.5, 0.62))
    bowl = _arc(0, neck[1] / 2 + 0.02, w, neck[1] / 2 + 0.02, 140, -200, 16)
    down = [(-w * r.uniform(0.5, 0.8), 1.0), neck, *bowl[1:]]
    bar = [(-w * r.uniform(0.5, 0.8), 1.0), (w * r.uniform(0.8, 1.2), 1.0 + r.uniform(-0.05, 0.05))]
    return [down, bar]


def _six(r: np.random.Generator) -> list[Stroke]:
    w = r.uniform(0.22, 0.3)
    ring = r.uniform(0.24, 0.34)  # the loop's height, half of it
    top = (w * r.uniform(0.5, 1.1), 1.0)
    loop = _arc(0, ring, w, ring, 180, 540, 24)
    lead = _spline([top, (-w * 0.6, 0.75), (-w, ring)], 6)
    return [lead + loop]


def _seven(r: np.random.Generator) -> list[Stroke]:
    w = r.uniform(0.22, 0.32)
    drop = r.uniform(0, 0.12) if r.random() < 0.3 else 0.0
    foot = (r.uniform(-0.25, 0.05), 0.0)
    strokes = [[(-w, 1 - drop), (-w, 1.0), (w, 1.0), foot]]
    if r.random() < 0.5:
        strokes.append([(-0.18, 0.5), (0.2, 0.5)])
    return strokes


def _eight(r: np.random.Generator) -> list[Stroke]:
    w = r.uniform(0.2, 0.28)
    waist = r.uniform(0.5, 0.6)
    top = w * r.uniform(0.75, 0.95)
    if r.random() < 0.5:  # two rings, the upper smaller
        upper = _arc(0, (1 + waist) / 2, top, (1 - waist) / 2, -90, 270, 20)
        return [upper, _arc(0, waist / 2, w, waist / 2, 90, 450, 22)]
    # one stroke: down the S, round the bottom, up through the waist, round the top
    return [
        _spline(
            [(top, 0.9), (0, 1.0), (-top, 0.85), (0, waist), (w, waist / 2), (0, 0), (-w, waist / 2), (0, waist),
             (top, 0.85), (r.uniform(0, top), 1.0)]
        )
    ]  # fmt: skip


def _nine(r: np.random.Generator) -> list[Stroke]:
    w = r.uniform(0.2, 0.28)
    ring = r.uniform(0.2, 0.32)  # the head's height, half of it
    cu = r.uniform(-0.03, 0.03)
    gap = r.uniform(0, 40) if r.random() < 0.4 else 0.0  # the head left open at the top right
    head = _arc(cu, 1 - ring, w, ring, 0 + gap, 360, 22)
    tail_top = (cu + w, 1 - ring)
    if r.random() < 0.45:  # a tail that hooks back to the left at the foot
        tail = _spline([tail_top, (cu + w * 0.9, 0.3), (cu + w * 0.3, 0.0), (cu - w * 0.7, 0.1)], 6)
    else:
        tail = [tail_top, (cu + w - r.uniform(0.0, 0.15), 0.0)]
    return [head, tail]


SKETCHES: dict[str, Callable[[np.random.Generator], list[Stroke]]] = {
    "0": _zero, "1": _one, "2": _two, "3": _three, "4": _four, "5": _five, "6": _six, "7": _seven, "8": _eight,
    "9": _nine,
}  # fmt: skip


def _wobble(stroke: Stroke, r: np.random.Generator, amount: float) -> np.ndarray:
    """The stroke moved a little, smoothly: neighbouring points move together."""
    points = np.array(stroke, np.float64)
    if len(points) < 2:
        return points
    noise = r.normal(0, amount, (len(points), 2))
    kernel = np.ones(5) / 5
    smooth = np.stack([np.convolve(np.pad(noise[:, k], 2, mode="edge"), kernel, "valid") for k in range(2)], 1)
    return points + smooth * np.sqrt(5)


def drawn(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One hand's ten digits: each style drawn in this sample's height, width, slant and pen."""
    h = CANVAS * rng.uniform(0.34, 0.4)
    base = CANVAS * 0.7
    x = CANVAS / 2
    wide = rng.uniform(0.8, 1.25)  # this hand writes narrow or wide
    slant = rng.uniform(-0.08, 0.3)
    pen = int(rng.integers(2, 7))
    out = {}
    for char, sketch in SKETCHES.items():
        image = np.full((CANVAS, CANVAS), 255, np.uint8)
        for stroke in sketch(rng):
            points = _wobble(stroke, rng, rng.uniform(0.005, 0.02))
            u, v = points[:, 0] * wide, points[:, 1]
            px = x + (u + v * slant) * h
            py = base - v * h
            line = np.round(np.stack([px, py], 1) * 4).astype(np.int32)  # 2 fractional bits
            cv2.polylines(image, [line], False, 0, pen, cv2.LINE_AA, shift=2)
        out[char] = image
    return out
