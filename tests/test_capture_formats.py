"""Capture of the input variants a desk scanner produces, made from a real scan in the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from intake.capture import clean, inspect, load_page
from intake.config import CaptureConfig
from intake.ocr import Tesseract
from intake.routing.recognise import recognise
from intake.routing.templates import load_templates

CONFIG = CaptureConfig()
FORM = "oikeusapu-oa1-fi"  # what scan_0004.png holds


@pytest.fixture(scope="module")
def page(corpus: Path) -> Image.Image:
    """The real 300-dpi scan, upright and straightened, as the source of every variant."""
    source = inspect(corpus / "scan_0004.png", CONFIG)
    image, dpi = load_page(source, 1, CONFIG)
    assert dpi == 300
    return clean(image, dpi, number=1, config=CONFIG).image.convert("L")


def _reads_as_the_form(path: Path, number: int = 1) -> None:
    source = inspect(path, CONFIG)
    image, dpi = load_page(source, number, CONFIG)
    cleaned = clean(image, dpi, number=number, config=CONFIG)
    found = recognise(cleaned, load_templates(), engine=Tesseract())
    assert found.identity.form_id == FORM, found.identity.reason
    assert found.identity.score >= 0.9


@pytest.mark.parametrize(
    ("mode", "compression"),
    [("1", "group4"), ("L", "tiff_lzw"), ("RGB", "jpeg")],
    ids=["group4-bilevel", "lzw-grey", "jpeg-in-tiff-colour"],
)
def test_tiff_compressions(page: Image.Image, tmp_path: Path, mode: str, compression: str) -> None:
    path = tmp_path / f"scan-{compression}.tif"
    blank = Image.new(mode, page.size, "white")
    page.convert(mode).save(path, compression=compression, dpi=(300, 300), save_all=True, append_images=[blank])
    source = inspect(path, CONFIG)
    assert (source.format, source.page_count) == ("tiff", 2)
    _reads_as_the_form(path)
    image, dpi = load_page(source, 2, CONFIG)
    assert clean(image, dpi, number=2, config=CONFIG).blank


@pytest.mark.parametrize("angle", [12.0, -15.0], ids=["12deg", "minus-15deg"])
def test_deskew_up_to_fifteen_degrees(page: Image.Image, tmp_path: Path, angle: float) -> None:
    path = tmp_path / "skewed.png"
    page.rotate(angle, expand=True, fillcolor=255).save(path, dpi=(300, 300))
    image, dpi = load_page(inspect(path, CONFIG), 1, CONFIG)
    cleaned = clean(image, dpi, number=1, config=CONFIG)
    assert abs(cleaned.skew - angle) < 0.3
    _reads_as_the_form(path)


@pytest.mark.parametrize("dpi", [150, 600], ids=["150dpi", "600dpi"])
def test_resolutions_are_normalised(page: Image.Image, tmp_path: Path, dpi: int) -> None:
    path = tmp_path / f"scan-{dpi}.png"
    page.resize((round(page.width * dpi / 300), round(page.height * dpi / 300))).save(path, dpi=(dpi, dpi))
    image, found_dpi = load_page(inspect(path, CONFIG), 1, CONFIG)
    assert found_dpi == dpi
    assert clean(image, found_dpi, number=1, config=CONFIG).dpi == CONFIG.work_dpi
    _reads_as_the_form(path)


def test_missing_dpi_is_inferred_from_the_page_size(page: Image.Image, tmp_path: Path) -> None:
    path = tmp_path / "no-dpi.jpg"
    small = page.resize((page.width * 2 // 3, page.height * 2 // 3))  # a 200-dpi A4
    small.save(path, quality=90)  # JPEG without a density
    _, dpi = load_page(inspect(path, CONFIG), 1, CONFIG)
    assert dpi == 200
    _reads_as_the_form(path)
