"""Which way up a page is: layout cues first, Tesseract as the second opinion."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from intake.capture._raster import ink_mask
from intake.capture.deskew import Skew
from intake.ocr import OcrEngine, read_stacked

log = logging.getLogger(__name__)

_STRIPS = 4  # vertical strips, so lines in neighbouring columns do not blur together
_GAP = 24  # white rows between the variants stacked for Tesseract
# The second opinion reads in English: the test is how well Latin print reads each way up,
# not what it says, so the smallest language pack will do.
LANGUAGE = "eng"


@dataclass(frozen=True)
class Reading:
    """How well Tesseract reads a band of text in each of four presentations."""

    upright: float
    turned: float  # rotated 180°
    mirrored: float  # flipped left-right: show-through seen from the back
    mirrored_turned: float

    @property
    def best(self) -> str:
        scores = {"upright": self.upright, "turned": self.turned,
                  "mirrored": self.mirrored, "mirrored_turned": self.mirrored_turned}  # fmt: skip
        return max(scores, key=scores.__getitem__)


def ascender_score(ink: np.ndarray) -> float:
    """+1 … −1: how much more ink sticks out above text lines than below them.

    Latin script has more ascenders and capitals (b d f h k l t, A–Z) than descenders
    (g j p q y), so on an upright page each line carries more ink above its x-height
    band than below it; upside down the balance flips. Holds for any printed page.
    """
    above = below = 0.0
    for strip in np.array_split(ink, _STRIPS, axis=1):
        profile = strip.sum(axis=1).astype(np.float64)
        # Ruled lines are not text; drop rows that are mostly ink.
        profile[profile > 0.5 * strip.shape[1]] = 0
        a, b = _line_balance(profile, strip.shape[1])
        above += a
        below += b
    total = above + below
    return 0.0 if total == 0 else (above - below) / total


def _line_balance(profile: np.ndarray, width: int) -> tuple[float, float]:
    rows = profile > max(2.0, 0.01 * width)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], rows.astype(np.int8), [0]))))
    above = below = 0.0
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        line = profile[start:stop]
        if not 6 <= len(line) <= 80:
            continue
        core = np.flatnonzero(line >= 0.5 * line.max())
        above += float(line[: core[0]].sum())
        below += float(line[core[-1] + 1 :].sum())
    return above, below


def text_band(ink: np.ndarray, height: int) -> tuple[int, int]:
    """Rows (top, bottom) of the ``height``-row band holding the most lines of text."""
    profile = ink.mean(axis=1)
    texty = ((profile > 0.01) & (profile < 0.3)).astype(np.float64)
    if len(texty) <= height:
        return 0, len(texty)
    window = np.convolve(texty, np.ones(height), mode="valid")
    top = int(window.argmax())
    return top, top + height


def read_variants(band: np.ndarray, *, engine: OcrEngine) -> Reading:
    """Score the band read upright, turned, mirrored and both, with one OCR call for all four."""
    variants = [band, band[::-1, ::-1], band[:, ::-1], band[::-1, :]]
    found = read_stacked(engine, [np.ascontiguousarray(v) for v in variants], psm=6, lang=LANGUAGE, timeout=30,
                         gap=_GAP)  # fmt: skip
    scores = [
        sum(word.conf * len(word.text) / 100.0 for word in words if len(word.text) >= 3 and word.conf >= 50)
        for words in found
    ]
    return Reading(*scores)


@dataclass(frozen=True)
class Upright:
    """The counter-clockwise turn that makes a page upright, and how sure that is."""

    rotation: int  # 0, 90, 180 or 270
    confident: bool
    evidence: str


_AXIS_RATIO = 1.5  # row vs column profile sharpness needed to trust the text direction
_ASCENDERS = 0.15  # ascender balance needed to trust it without a second opinion
_READ_MARGIN = 2.0  # Tesseract's best reading must beat the runner-up by this factor
_READ_MIN = 5.0  # and amount to a few confidently read words


def decide(view: Callable[[int], np.ndarray], skew: Skew, dpi: int, *, engine: OcrEngine) -> Upright:
    """Find the upright turn; ``view(q)`` gives the grey page turned ``q`` quarters CCW, deskewed."""
    ratio = (skew.horizontal + 1e-9) / (skew.vertical + 1e-9)
    quarter = 1 if ratio < 1 else 0
    axis_sure = ratio > _AXIS_RATIO or ratio < 1 / _AXIS_RATIO
    grey = view(quarter)
    balance = ascender_score(ink_mask(grey, strict=False))
    guess = (90 * quarter + (180 if balance < 0 else 0)) % 360
    if axis_sure and abs(balance) >= _ASCENDERS:
        return Upright(guess, True, f"ascenders {balance:+.2f}")
    # Weak layout evidence: ask Tesseract how well a text band reads each way up.
    scores: dict[int, float] = {}
    for q in (quarter,) if axis_sure else (quarter, 1 - quarter):
        turned = grey if q == quarter else view(q)
        ink = ink_mask(turned, strict=False)
        top, bottom = text_band(ink, round(0.6 * dpi))
        reading = read_variants(turned[top:bottom], engine=engine)
        scores[90 * q] = reading.upright
        scores[(90 * q + 180) % 360] = reading.turned
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)
    (best, first), (_, second) = ranked[0], ranked[1]
    log.debug("orientation: ascenders %+.2f, readings %s", balance, scores)
    if first >= _READ_MIN and first >= _READ_MARGIN * second:
        return Upright(best, True, f"ascenders {balance:+.2f}, reading {first:.1f} vs {second:.1f}")
    return Upright(guess, False, f"ascenders {balance:+.2f}, reading {first:.1f} vs {second:.1f}")
