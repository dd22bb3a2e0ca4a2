"""Blank duplex backs, including show-through as black as print, against sparse content pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.capture import clean, inspect, load_page
from intake.config import CaptureConfig
from intake.models import CleanPage

CONFIG = CaptureConfig()


def _clean(corpus: Path, name: str, number: int) -> CleanPage:
    image, dpi = load_page(inspect(corpus / name, CONFIG), number, CONFIG)
    return clean(image, dpi, number=number, config=CONFIG)


def test_bilevel_back_with_black_mirrored_show_through_is_blank(corpus: Path) -> None:
    page = _clean(corpus, "duplex_002.pdf", 4)
    assert page.blank
    assert "show-through" in page.flags


@pytest.mark.parametrize(
    ("name", "number"),
    [("duplex_002.pdf", 3), ("scan_0002.pdf", 2), ("scan_0009.pdf", 2), ("batch_005.pdf", 2),
     ("other_000.pdf", 1), ("other_002.pdf", 1), ("other_004.pdf", 1), ("other_005.pdf", 1)],
    ids=["its-front-bilevel", "continuation-bilevel", "continuation-colour", "mirror-reads-a-little",
         "letter", "letter-turned", "letter-bilevel", "letter-sparse"],
)  # fmt: skip
def test_sparse_content_pages_are_not_blank(corpus: Path, name: str, number: int) -> None:
    page = _clean(corpus, name, number)
    assert not page.blank
    assert "show-through" not in page.flags
