"""Which form page is this? Read the header and footer bands, fuzzy-match the printed text.

Only the bands are read (about a third of the page), never the whole page: forms print
their authority, title and code there, and customers do not write there.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from PIL import Image

from intake.models import PageIdentity
from intake.ocr import OcrEngine, read_stacked
from intake.routing.templates import Template
from intake.routing.textmatch import TrigramIndex

log = logging.getLogger(__name__)

# The bands read on the scan are a little wider than those the templates were built from,
# to allow for a page that sits off-centre on the scanner glass.
TOP_BAND = 0.19
BOTTOM_BAND = 0.85
GAP_PX = 40

# Below MIN_SCORE the text is not this form's at all; MIN_MARGIN is how far the best must
# beat the runner-up. Both were set from the score distributions on the dev corpus: correct
# pages scored >= 0.50 (the lowest a sparse continuation page at 200 dpi, most >= 0.9),
# runner-ups <= 0.37, letters <= 0.17. A page that falls short is held, never guessed.
MIN_SCORE = 0.45
FULL_SCORE = 0.75
MIN_MARGIN = 0.20
FULL_MARGIN = 0.45


def page_key(template: Template, page: int) -> str:
    return f"{template.id}#{page}"


@dataclass(frozen=True)
class BandText:
    """What Tesseract read in a page's identifying bands."""

    text: str


def read_bands(image: Image.Image, *, engine: OcrEngine) -> BandText:
    """OCR the identifying bands of an upright page: header and footer, in one call."""
    grey = image.convert("L")
    width, height = grey.size
    top = np.asarray(grey.crop((0, 0, width, int(height * TOP_BAND))))
    bottom = np.asarray(grey.crop((0, int(height * BOTTOM_BAND), width, height)))
    found = read_stacked(engine, [top, bottom], psm=3, gap=GAP_PX)
    return BandText(" ".join(word.text for words in found for word in words))


class Classifier:
    """Scores a page's band text against every page of every template."""

    def __init__(self, templates: Sequence[Template]) -> None:
        self.templates = {t.id: t for t in templates}

    @cached_property
    def _index(self) -> TrigramIndex:
        return TrigramIndex(
            {
                page_key(t, page): t.identifying_text(page)
                for t in self.templates.values()
                for page in range(1, t.pages + 1)
            }
        )

    def identify(self, text: str) -> PageIdentity:
        """The most likely form page for ``text``, with a confidence and the evidence."""
        scores = sorted(self._index.scores(text).items(), key=lambda kv: kv[1], reverse=True)
        best, s1 = scores[0]
        second = scores[1][0] if len(scores) > 1 else ""
        form_id, page = best.split("#")
        # A runner-up that is another page of the same form does not make the form doubtful.
        rival = next(((k, s) for k, s in scores[1:] if k.split("#")[0] != form_id), (second, 0.0))
        margin = s1 - rival[1]
        confidence = calibrate(s1, margin)
        evidence = f"text match {s1:.2f} with {best}, next form {rival[0]} {rival[1]:.2f}"
        if s1 < MIN_SCORE:
            return PageIdentity(None, 0, confidence, f"no known form: {evidence}", runner_up=form_id)
        return PageIdentity(form_id, int(page), confidence, evidence, runner_up=rival[0].split("#")[0])


def calibrate(score: float, margin: float) -> float:
    """Map (score, margin) to 0..1; 1 only when both clear their 'full' marks.

    Linear ramps between the minimum and the full mark; a page under either minimum gets
    at most 0.5, which is under any review threshold the configuration accepts.
    """

    def ramp(value: float, low: float, high: float) -> float:
        return min(1.0, max(0.0, (value - low) / (high - low)))

    if score < MIN_SCORE or margin < MIN_MARGIN:
        return 0.5 * min(score / MIN_SCORE, margin / MIN_MARGIN, 1.0)
    return 0.5 + 0.5 * min(ramp(score, MIN_SCORE, FULL_SCORE), ramp(margin, MIN_MARGIN, FULL_MARGIN))
