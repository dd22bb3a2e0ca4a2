"""Digits and capitals drawn stroke by stroke in the shapes people write, each in several styles.

Fonts draw a digit one way, the way a type designer does; hands draw it many ways: a 4 open
or closed, a 9 with a round or a pointed head and a straight or hooked tail, a 2 with or
without a loop at its foot, a 3 with a flat top, an 8 of two rings or one crossing stroke, a
0 that does not quite close. ``glyphs.drawn_digits`` drew the four that fonts draw most
unlike Finnish hands (1 4 7 9); this draws all ten, each style from its own sketch, with
the pen's wobble, the hand's slant and proportions varied per sample. ``drawn_capitals``
does the same for A–Ö: the century sign and the check character of a henkilötunnus are
letters too, and fonts draw a J, a B or a Y one way each.

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


# Capitals, the way people print them on forms: each a few strokes, in the styles hands use
# (an A with a pointed or a flat top, an E of bars or of two curves, a J with or without a bar
# on top, an M with upright or splayed sides, a Y of three strokes or of two).


def _width(r: np.random.Generator, lo: float, hi: float) -> float:
    return float(r.uniform(lo, hi))


def _a(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.26, 0.36)
    bar = r.uniform(0.3, 0.45)
    top = r.uniform(0, 0.08) if r.random() < 0.3 else 0.0  # a flat top
    left, right = [(-w, 0.0), (-top, 1.0)], [(top, 1.0), (w, 0.0)]
    cross = [(-w * (1 - bar) - r.uniform(0, 0.04), bar), (w * (1 - bar) + r.uniform(0, 0.04), bar)]
    if r.random() < 0.5:
        return [left + right, cross]
    return [left, right, cross]


def _b(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.2, 0.28)
    waist = r.uniform(0.48, 0.58)
    left = -w
    upper = _arc(left + w * 0.45, (1 + waist) / 2, w * 0.95, (1 - waist) / 2, 90, -90, 14)
    lower = _arc(left + w * 0.55, waist / 2, w * 1.1, waist / 2, 90, -90, 14)
    stem = [(left, 0.0), (left, 1.0)]
    bowls = [(left, 1.0), *upper, (left, waist), *lower, (left, 0.0)]
    return [stem, bowls] if r.random() < 0.6 else [stem + bowls]


def _c(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.24, 0.32)
    return [_arc(0.03, 0.5, w, 0.5, r.uniform(30, 60), r.uniform(300, 330), 20)]


def _d(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.24, 0.32)
    bowl = _spline([(-w, 1.0), (w * 0.3, 0.97), (w, 0.55), (w * 0.4, 0.05), (-w, 0.0)], 6)
    return [[(-w, 0.0), (-w, 1.0)], bowl]


def _e(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.2, 0.28)
    if r.random() < 0.2:  # two curves, the way some hands write it fast
        upper = _arc(0.02, 0.74, w * 0.9, 0.26, 40, 270, 12)
        lower = _arc(0.02, 0.26, w, 0.26, 90, 320, 12)
        return [upper + lower]
    mid = r.uniform(0.45, 0.55)
    bars = [[(-w, 1.0), (w, 1.0)], [(-w, mid), (w * r.uniform(0.5, 0.9), mid)], [(-w, 0.0), (w, 0.0)]]
    if r.random() < 0.5:  # the top, the stem and the base in one stroke
        return [[(w, 1.0), (-w, 1.0), (-w, 0.0), (w, 0.0)], bars[1]]
    return [[(-w, 1.0), (-w, 0.0)], *bars]


def _f(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.2, 0.28)
    mid = r.uniform(0.45, 0.58)
    return [[(w, 1.0), (-w, 1.0), (-w, 0.0)], [(-w, mid), (w * r.uniform(0.4, 0.8), mid)]]


def _g(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.26, 0.34)
    arc = _arc(0.02, 0.5, w, 0.5, r.uniform(35, 60), 360, 20)
    bar = r.uniform(0.35, 0.5)
    end = arc[-1]
    tail = [end, (end[0], bar), (r.uniform(-0.02, 0.08), bar)]
    return [arc + tail]


def _h(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.22, 0.3)
    mid = r.uniform(0.42, 0.58)
    return [[(-w, 1.0), (-w, 0.0)], [(w, 1.0), (w, 0.0)], [(-w, mid), (w, mid)]]


def _i(r: np.random.Generator) -> list[Stroke]:
    stem = [(r.uniform(-0.03, 0.03), 1.0), (0.0, 0.0)]
    if r.random() < 0.4:  # with bars at top and foot
        s = r.uniform(0.1, 0.2)
        return [stem, [(-s, 1.0), (s, 1.0)], [(-s, 0.0), (s, 0.0)]]
    return [stem]


def _j(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.18, 0.26)
    x = w * r.uniform(0.3, 0.7)
    hook = _spline([(x, 1.0), (x, 0.3), (x - w * 0.5, 0.0), (x - w * 1.3, 0.05), (x - w * 1.5, 0.25)], 6)
    if r.random() < 0.45:  # a bar on top
        return [hook, [(x - w * 0.8, 1.0), (x + w * 0.6, 1.0)]]
    return [hook]


def _k(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.2, 0.28)
    meet = r.uniform(0.4, 0.55)
    if r.random() < 0.5:  # both strokes from the stem
        return [[(-w, 1.0), (-w, 0.0)], [(w, 1.0), (-w, meet), (w, 0.0)]]
    joint = (-w + r.uniform(0.08, 0.18), meet + 0.05)  # the leg from the arm
    return [[(-w, 1.0), (-w, 0.0)], [(w, 1.0), (-w, meet - 0.05)], [joint, (w, 0.0)]]


def _l(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.18, 0.26)
    return [[(-w, 1.0), (-w, 0.0), (w + r.uniform(0, 0.06), 0.0)]]


def _m(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.3, 0.4)
    splay = r.uniform(0, 0.1) if r.random() < 0.4 else 0.0
    middle = (r.uniform(-0.03, 0.03), r.uniform(0.0, 0.4))
    return [[(-w, 0.0), (-w + splay, 1.0), middle, (w - splay, 1.0), (w, 0.0)]]


def _n(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.22, 0.3)
    if r.random() < 0.5:
        return [[(-w, 0.0), (-w, 1.0), (w, 0.0), (w, 1.0)]]
    return [[(-w, 0.0), (-w, 1.0)], [(-w, 1.0), (w, 0.0), (w, 1.0)]]


def _o(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.3, 0.4)
    start = r.uniform(60, 120)
    return [_arc(0, 0.5, w, 0.5, start, start + 360 + r.uniform(-10, 20), 32)]


def _bowl(w: float, low: float) -> Stroke:
    """P's and R's bowl: from the stem's top round to the stem at ``low``."""
    return _spline([(-w, 1.0), (w * 0.4, 0.98), (w, (1 + low) / 2), (w * 0.4, low + 0.02), (-w, low)], 6)


def _p(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.2, 0.28)
    low = r.uniform(0.4, 0.55)
    return [[(-w, 0.0), (-w, 1.0)], _bowl(w, low)]


def _q(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.3, 0.38)
    ring = _arc(0, 0.5, w, 0.5, 90, 450 + r.uniform(-10, 10), 32)
    return [ring, [(w * 0.1, r.uniform(0.15, 0.3)), (w * 1.1, -r.uniform(0.02, 0.1))]]


def _r(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.2, 0.28)
    low = r.uniform(0.42, 0.55)
    start = (-w + r.uniform(0, 0.5) * w, low)  # the leg from the stem or from the bowl
    return [[(-w, 0.0), (-w, 1.0)], _bowl(w, low), [start, (w * r.uniform(0.9, 1.2), 0.0)]]


def _s(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.2, 0.28)
    return [
        _spline([(w, 0.85), (0, 1.0), (-w, 0.8), (-w * 0.4, 0.55), (w * 0.4, 0.45), (w, 0.2), (0, 0.0), (-w, 0.15)], 6)
    ]


def _t(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.24, 0.34)
    x = r.uniform(-0.04, 0.04)
    return [[(-w, 1.0), (w, 1.0)], [(x, 1.0), (x, 0.0)]]


def _u(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.24, 0.32)
    bottom = _arc(0, w, w, w, 180, 360, 14)
    stroke = [(-w, 1.0), *bottom, (w, 1.0)]
    if r.random() < 0.3:  # the right side drawn on down to the line
        return [stroke, [(w, 1.0), (w, 0.0)]]
    return [stroke]


def _v(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.26, 0.34)
    return [[(-w, 1.0), (r.uniform(-0.03, 0.03), 0.0), (w, 1.0)]]


def _w(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.36, 0.46)
    peak = r.uniform(0.55, 1.0)
    return [[(-w, 1.0), (-w * 0.5, 0.0), (r.uniform(-0.03, 0.03), peak), (w * 0.5, 0.0), (w, 1.0)]]


def _x(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.24, 0.32)
    return [[(-w, 1.0), (w, 0.0)], [(w, 1.0), (-w, 0.0)]]


def _y(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.24, 0.32)
    fork = (r.uniform(-0.03, 0.03), r.uniform(0.4, 0.55))
    if r.random() < 0.35:  # the right arm drawn on down to the line
        return [[(-w, 1.0), fork], [(w, 1.0), (fork[0] - r.uniform(0, 0.1), 0.0)]]
    return [[(-w, 1.0), fork, (w, 1.0)], [fork, (fork[0], 0.0)]]


def _z(r: np.random.Generator) -> list[Stroke]:
    w = _width(r, 0.24, 0.32)
    strokes = [[(-w, 1.0), (w, 1.0), (-w, 0.0), (w + r.uniform(0, 0.06), 0.0)]]
    if r.random() < 0.3:  # a bar across the middle
        strokes.append([(-w * 0.5, 0.5), (w * 0.5, 0.5)])
    return strokes


def _dots(r: np.random.Generator, w: float) -> list[Stroke]:
    y = 1.0 + r.uniform(0.12, 0.22)
    d = r.uniform(0.01, 0.04)
    return [[(-w * 0.45, y), (-w * 0.45 + d, y + d)], [(w * 0.45, y), (w * 0.45 + d, y + d)]]


def _a_ring(r: np.random.Generator) -> list[Stroke]:
    ring = r.uniform(0.07, 0.11)
    return [*_a(r), _arc(0, 1.0 + ring + r.uniform(0.06, 0.12), ring * 1.2, ring, 0, 360, 12)]


def _a_dots(r: np.random.Generator) -> list[Stroke]:
    return [*_a(r), *_dots(r, 0.3)]


def _o_dots(r: np.random.Generator) -> list[Stroke]:
    return [*_o(r), *_dots(r, 0.34)]


CAPITALS: dict[str, Callable[[np.random.Generator], list[Stroke]]] = {
    "A": _a, "B": _b, "C": _c, "D": _d, "E": _e, "F": _f, "G": _g, "H": _h, "I": _i, "J": _j, "K": _k, "L": _l,
    "M": _m, "N": _n, "O": _o, "P": _p, "Q": _q, "R": _r, "S": _s, "T": _t, "U": _u, "V": _v, "W": _w, "X": _x,
    "Y": _y, "Z": _z, "Å": _a_ring, "Ä": _a_dots, "Ö": _o_dots,
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


def drawn(
    rng: np.random.Generator, sketches: dict[str, Callable[[np.random.Generator], list[Stroke]]] = SKETCHES
) -> dict[str, np.ndarray]:
    """One hand's ten digits (or ``CAPITALS``): each style drawn in this sample's height, width, slant and pen."""
    h = CANVAS * rng.uniform(0.34, 0.4)
    base = CANVAS * 0.7
    x = CANVAS / 2
    wide = rng.uniform(0.8, 1.25)  # this hand writes narrow or wide
    slant = rng.uniform(-0.08, 0.3)
    pen = int(rng.integers(2, 7))
    out = {}
    for char, sketch in sketches.items():
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


def drawn_capitals(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One hand's capitals A–Ö, drawn as ``drawn`` draws digits."""
    return drawn(rng, CAPITALS)
