"""Skew estimation by projection profiles of the ink, coarse to fine, on a small image."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)

MAX_SKEW = 15.0  # degrees; desk scanners with feeders stay well inside this
_MAX_POINTS = 60_000  # ink pixels used for the fine search; more adds time, not accuracy
_STEPS = ((1.0, 15), (0.1, 10), (0.02, 5))  # (step, half-width in steps) per pass


@dataclass(frozen=True)
class Skew:
    """The dominant line direction of a page.

    ``angle`` is in degrees counter-clockwise: lines rising to the right are positive,
    so turning the page by ``-angle`` levels them. ``horizontal`` and ``vertical`` are
    the profile sharpness at the best angle for rows and for columns; text lines give
    a much sharper profile across their direction than along it.
    """

    angle: float
    horizontal: float
    vertical: float


def _sharpness(along: np.ndarray, across: np.ndarray, angle: float) -> float:
    # A line rising by ``angle`` keeps ``across - along·tan(angle)`` constant, so at the
    # right angle each line falls into one bin and the sum of squares peaks.
    offsets = across - along * np.tan(np.radians(angle))
    counts = np.bincount((offsets - offsets.min()).astype(np.int64))
    return float(np.dot(counts, counts))


def _search(along: np.ndarray, across: np.ndarray, limit: float) -> tuple[float, float]:
    best, score = 0.0, _sharpness(along, across, 0.0)
    for step, half in _STEPS:
        centre = best
        for k in range(-half, half + 1):
            angle = centre + k * step
            if k == 0 or abs(angle) > limit:
                continue
            value = _sharpness(along, across, angle)
            if value > score:
                best, score = angle, value
    return best, score


def _points(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.nonzero(ink)
    if len(xs) > _MAX_POINTS:
        pick = np.random.default_rng(0).choice(len(xs), _MAX_POINTS, replace=False)
        xs, ys = xs[pick], ys[pick]
    return xs.astype(np.float64), ys.astype(np.float64)


def estimate(ink: np.ndarray, *, limit: float = MAX_SKEW) -> Skew:
    """Skew of the lines in a boolean ink mask (True = ink), in image coordinates."""
    xs, ys = _points(ink)
    if len(xs) < 50:
        return Skew(0.0, 0.0, 0.0)
    # Image rows grow downwards, so a line rising to the right has y falling with x.
    # Columns are searched in the frame of the page turned a quarter (x' = y, -y' = x):
    # a skew angle is the same whichever quarter turn later makes the page upright.
    row_angle, row_score = _search(xs, -ys, limit)
    col_angle, col_score = _search(ys, xs, limit)
    total = float(len(xs)) ** 2
    horizontal, vertical = row_score / total, col_score / total
    angle = row_angle if horizontal >= vertical else col_angle
    log.debug("skew %.2f° (rows %.4f, columns %.4f)", angle, horizontal, vertical)
    return Skew(angle, horizontal, vertical)
