"""The OCR engine seam: one interface, the Tesseract engine, and stacked reading of many crops.

Every Tesseract call costs a process start and a model load (~50–100 ms plus the read),
so intake never reads crops one by one: ``read_stacked`` pastes them into one sheet with
white gaps, reads it once, and gives each crop back its own words. Orientation (four
presentations of a text band), classification (header and footer bands) and fields (the
zones of one setup) all read that way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
from PIL import Image

from intake.ocr import tesseract
from intake.ocr.tesseract import Word

GAP_PX = 36  # white rows between stacked crops: Tesseract keeps them apart as separate lines


class OcrEngine(Protocol):
    """Reads printed text from an image.

    Contract: return every word found with its confidence (0–100) and its box in pixels of
    the given image; raise ``OcrError`` when the engine fails on this image and
    ``EnvironmentProblem`` when the engine itself is missing. ``lang`` overrides the
    engine's own languages for one call (Tesseract codes, e.g. "eng").
    """

    def words(
        self, image: Image.Image, /, *, psm: int = 3, whitelist: str | None = None, lang: str | None = None,
        timeout: float = 60,
    ) -> list[Word]: ...  # fmt: skip


@dataclass(frozen=True)
class Tesseract:
    """The default engine: the ``tesseract`` program and the languages it reads in."""

    cmd: str = "tesseract"
    languages: tuple[str, ...] = ("fin", "swe", "eng")

    @property
    def lang(self) -> str:
        return "+".join(self.languages)

    def words(
        self, image: Image.Image, /, *, psm: int = 3, whitelist: str | None = None, lang: str | None = None,
        timeout: float = 60,
    ) -> list[Word]:  # fmt: skip
        return tesseract.words(image, lang=lang or self.lang, psm=psm, whitelist=whitelist, timeout=timeout,
                               cmd=self.cmd)  # fmt: skip


DEFAULT_ENGINE = Tesseract()


def read_stacked(
    engine: OcrEngine, crops: Sequence[np.ndarray], /, *, psm: int, whitelist: str | None = None,
    lang: str | None = None, timeout: float = 60, gap: int = GAP_PX,
) -> list[list[Word]]:  # fmt: skip
    """Read 8-bit grey ``crops`` with one engine call; each crop's words, in its own coordinates.

    A word belongs to the crop its vertical centre falls in; words in the gaps belong to none.
    """
    if not crops:
        return []
    width = max(crop.shape[1] for crop in crops) + 2 * gap
    height = sum(crop.shape[0] + gap for crop in crops) + gap
    sheet = np.full((height, width), 255, np.uint8)
    tops, y = [], gap
    for crop in crops:
        sheet[y : y + crop.shape[0], gap : gap + crop.shape[1]] = crop
        tops.append(y)
        y += crop.shape[0] + gap
    found: list[list[Word]] = [[] for _ in crops]
    for word in engine.words(Image.fromarray(sheet), psm=psm, whitelist=whitelist, lang=lang, timeout=timeout):
        middle = word.top + word.height / 2
        for index, (top, crop) in enumerate(zip(tops, crops, strict=True)):
            if top <= middle <= top + crop.shape[0]:
                found[index].append(replace(word, left=word.left - gap, top=word.top - top))
                break
    return found
