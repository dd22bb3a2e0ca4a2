"""Routing stage on real scans: classification from the bands, registration, zones."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake import capture
from intake.config import CaptureConfig
from intake.models import CleanPage
from intake.ocr import Tesseract
from intake.routing import align as registration
from intake.routing.classify import Classifier, read_bands
from intake.routing.recognise import recognise
from intake.routing.templates import load_templates

ENGINE = Tesseract()
TEMPLATES = load_templates()


def clean_page(corpus: Path, name: str, number: int = 1) -> CleanPage:
    limits = CaptureConfig()
    source = capture.inspect(corpus / name, limits)
    image, dpi = capture.load_page(source, number, limits)
    return capture.clean(image, dpi, number=number, config=limits, engine=ENGINE)


@pytest.mark.parametrize(
    ("name", "number", "form", "form_page"),
    [
        pytest.param("scan_0006.tif", 1, "kela-sv8-sv", 1, id="swedish"),
        pytest.param("scan_0002.pdf", 2, "migri-olety1-fi", 2, id="continuation-page"),
        pytest.param("scan_0001.jpg", 1, "oikeusapu-oa1-fi", 1, id="bilevel-200dpi-jpeg"),
        pytest.param("other_001.pdf", 1, None, 0, id="letter"),
    ],
)
def test_band_text_identifies_the_form_page(
    corpus: Path, name: str, number: int, form: str | None, form_page: int
) -> None:
    page = clean_page(corpus, name, number)
    identity = Classifier(TEMPLATES).identify(read_bands(page.ocr_image, engine=ENGINE).text)
    assert (identity.form_id, identity.page) == (form, form_page), identity.reason
    assert identity.reason


def test_fi_and_sv_variants_are_told_apart_by_layout_too(corpus: Path) -> None:
    page = clean_page(corpus, "scan_0006.tif")
    small = registration.downscale(page.ocr_image, page.dpi)
    right = registration.align(small, next(t for t in TEMPLATES if t.id == "kela-sv8-sv").blank_path, 1)
    wrong = registration.align(small, next(t for t in TEMPLATES if t.id == "kela-sv8-fi").blank_path, 1)
    assert right is not None and right.layout_confidence > 0.9
    assert wrong is None or wrong.layout_confidence == 0.0


def test_recognise_reads_checkboxes_of_a_known_form(corpus: Path, truth: dict) -> None:
    page = clean_page(corpus, "scan_0000.tif")
    found = recognise(page, TEMPLATES, engine=ENGINE)
    expected = truth["scan_0000.tif"]["documents"][0]
    assert found.identity.form_id == expected["form_id"] and found.identity.score >= 0.95
    assert found.checkboxes == expected["checkboxes"]
    # Every field the customer filled in is read, and no empty one is.
    assert set(found.fields) == set(expected["values"])
    for name, value in found.fields.items():
        assert 0.0 <= value.confidence <= 1.0 and value.valid in (True, False, None)
        if value.valid:  # proven means right
            assert value.value == expected["values"][name]


def test_unknown_page_is_never_given_a_form(corpus: Path) -> None:
    found = recognise(clean_page(corpus, "other_003.pdf"), TEMPLATES, engine=ENGINE)
    assert found.identity.form_id is None and found.identity.score < 0.5
    assert not found.fields and not found.checkboxes
