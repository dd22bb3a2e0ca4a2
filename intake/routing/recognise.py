"""Recognise one clean page: which form page it is, then its fields and checkboxes."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace

import numpy as np

from intake.models import CleanPage, FieldValue, PageIdentity, Placement
from intake.ocr import OcrEngine
from intake.routing import align as registration
from intake.routing.classify import Classifier, read_bands
from intake.routing.crops import field_crops
from intake.routing.fields import read_checkboxes, read_fields
from intake.routing.templates import Template

log = logging.getLogger(__name__)

FIELD_DPI = 300


@dataclass
class Recognition:
    """What recognition found on one page."""

    identity: PageIdentity
    turned: int = 0  # degrees recognition turned the page after capture (0 or 180)
    fields: dict[str, FieldValue] = field(default_factory=dict)
    checkboxes: dict[str, bool] = field(default_factory=dict)
    crops: dict[str, np.ndarray] = field(default_factory=dict)  # each field's box, grey, at crops.CROP_DPI
    seconds: dict[str, float] = field(default_factory=dict)
    placement: Placement | None = None  # template mm -> page mm, when the page registered


_CLASSIFIERS: dict[tuple[str, ...], Classifier] = {}


def _classifier(templates: tuple[Template, ...]) -> Classifier:
    """One classifier per set of templates and process (its index takes a while to build)."""
    key = tuple(t.id for t in templates)
    if key not in _CLASSIFIERS:
        _CLASSIFIERS[key] = Classifier(templates)
    return _CLASSIFIERS[key]


def _combine(text_confidence: float, layout_confidence: float) -> float:
    """Two independent pieces of evidence (printed text, layout) for the same form page.

    Both must agree: without layout evidence the page can at most reach the level that
    sends it to review; with it, the doubts multiply (noisy-OR).
    """
    if layout_confidence <= 0 or text_confidence <= 0.5:
        # Doubtful text stays doubtful however well the layout registers: forms printed
        # in one house style (fi and sv variants) share most of their layout.
        return min(text_confidence, 0.5)
    return 1 - (1 - text_confidence) * (1 - layout_confidence)


def recognise(page: CleanPage, templates: tuple[Template, ...], *, engine: OcrEngine) -> Recognition:
    """Classify ``page`` and, when it is a known form page, read its zones."""
    started = time.perf_counter()
    classifier = _classifier(templates)
    identity = classifier.identify(read_bands(page.ocr_image, engine=engine).text)
    turned = 0
    if identity.form_id is None:
        # Second opinion on orientation: a page upside down reads as no form at all. If the
        # turned page is clearly a known form, capture's orientation was wrong.
        flipped = page.ocr_image.rotate(180)
        other = classifier.identify(read_bands(flipped, engine=engine).text)
        if other.form_id is not None:
            identity, turned = other, 180
            page = replace(page, ocr_image=flipped)
    result = Recognition(identity, turned, seconds={"classify": time.perf_counter() - started})
    if identity.form_id is None:
        return result
    template = next(t for t in templates if t.id == identity.form_id)
    started = time.perf_counter()
    small = registration.downscale(page.ocr_image, page.dpi)
    alignment = registration.align(small, template.blank_path, identity.page)
    result.seconds["align"] = time.perf_counter() - started
    layout = alignment.layout_confidence if alignment else 0.0
    inliers = alignment.inliers if alignment else 0
    result.identity = replace(
        identity,
        score=_combine(identity.score, layout),
        reason=f"{identity.reason}; layout {inliers} matching features",
    )
    if alignment is None or layout <= 0:
        return result
    result.placement = alignment.to_page_mm()
    started = time.perf_counter()
    warped = registration.warp_to_template(page.ocr_image, page.dpi, alignment, FIELD_DPI)
    zones = template.zones_on(identity.page)
    result.checkboxes = read_checkboxes(warped, zones, dpi=FIELD_DPI)
    result.fields = read_fields(warped, zones, dpi=FIELD_DPI)
    result.crops = field_crops(warped, zones, dpi=FIELD_DPI)
    result.seconds["fields"] = time.perf_counter() - started
    return result
