"""The OCR engine seam: one interface, the Tesseract engine, and stacked reading of many crops.

Every Tesseract call costs a process start and a model load (~0.1–0.25 s plus the read;
a spare process loads them ahead of the next call of its kind), so intake never reads
crops one by one: ``read_stacked`` pastes them into one sheet with white gaps, reads it
once, and gives each crop back its own words. Orientation (four presentations of a text
band), classification (header and footer bands) and fields (the zones of one setup) all
read that way.
"""

from __future__ import annotations

import atexit
import os
import subprocess
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
        call = _Call(self.cmd, lang or self.lang, psm, whitelist)
        try:
            return tesseract.read(_spares.take(call), image, timeout=timeout)
        finally:
            _spares.stock(call)


DEFAULT_ENGINE = Tesseract()


@dataclass(frozen=True)
class _Call:
    """One kind of tesseract call: the arguments that do not depend on the image."""

    cmd: str
    lang: str
    psm: int
    whitelist: str | None

    def start(self) -> subprocess.Popen[bytes]:
        return tesseract.start(lang=self.lang, psm=self.psm, whitelist=self.whitelist, cmd=self.cmd)


class _Spares:
    """A tesseract process started ahead for each of the last KINDS kinds of call.

    A process loads its models before it reads: 0.1-0.25 s of each call, the most with
    three languages. Once a call is done, a spare for the next call of its kind starts
    and loads them while other work goes on, then waits on its standard input (30-65 MB).
    A spare whose parent ends reads end-of-file and exits; a forked child never uses its
    parent's spares.
    """

    KINDS = 2  # a page has two: orientation and classification

    def __init__(self) -> None:
        self._pid = os.getpid()
        self._ready: dict[_Call, subprocess.Popen[bytes]] = {}

    def take(self, call: _Call) -> subprocess.Popen[bytes]:
        """The spare for ``call`` if there is a live one, else a process started now."""
        if self._pid != os.getpid():
            self._pid, self._ready = os.getpid(), {}
        process = self._ready.pop(call, None)
        return process if process is not None and process.poll() is None else call.start()

    def stock(self, call: _Call) -> None:
        """Start the spare for the next ``call``; the kind used longest ago gives its spare up."""
        if call not in self._ready:
            self._ready[call] = call.start()
        while len(self._ready) > self.KINDS:
            self._end(self._ready.pop(next(iter(self._ready))))

    def close(self) -> None:
        if self._pid == os.getpid():
            for process in self._ready.values():
                self._end(process)
        self._ready = {}

    @staticmethod
    def _end(process: subprocess.Popen[bytes]) -> None:
        process.kill()
        process.communicate()


_spares = _Spares()
atexit.register(_spares.close)


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
