"""Phone photos of a page: a real corpus scan photographed in the test, on a table, at an angle."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from intake.capture import clean, inspect, load_page, photo
from intake.capture._raster import to_grey
from intake.config import CaptureConfig
from intake.models import CleanPage
from intake.ocr import Tesseract

CONFIG = CaptureConfig()
PHONE = (3000, 4000)  # a 12-megapixel phone camera, portrait
# Where the page's corners land, as shares of the frame: each moved 5–15 % inwards.
CORNERS = ((0.08, 0.06), (0.88, 0.11), (0.94, 0.95), (0.13, 0.89))


def _table(rng: np.random.Generator) -> np.ndarray:
    """A dark wood-ish table top: brown, grainy, streaked."""
    width, height = PHONE
    grain = cv2.GaussianBlur(rng.normal(0, 1, (height // 4, width // 4)).astype(np.float32), (0, 0), 3)
    streaks = np.sin(np.linspace(0, 60, width // 4))[None, :] * 0.5
    shade = cv2.resize(grain * 18 + streaks * 10 + 55, (width, height))
    return np.clip(shade[..., None] * np.array([1.2, 0.9, 0.6]), 0, 255).astype(np.float32)


def _photograph(scan: Image.Image, corners: tuple[tuple[float, float], ...], seed: int = 0) -> Image.Image:
    """``scan`` as a phone photographs it: perspective, table around it, one side in shadow, blur."""
    rng = np.random.default_rng(seed)
    width, height = PHONE
    page = np.asarray(scan.convert("RGB")).astype(np.float32) * np.array([0.97, 0.96, 0.92])  # off-white paper
    source = np.float32([[0, 0], [page.shape[1], 0], [page.shape[1], page.shape[0]], [0, page.shape[0]]])
    target = np.float32([[x * width, y * height] for x, y in corners])
    matrix = cv2.getPerspectiveTransform(source, target)
    warped = cv2.warpPerspective(page, matrix, PHONE, flags=cv2.INTER_AREA)
    inside = cv2.warpPerspective(np.ones(page.shape[:2], np.float32), matrix, PHONE)[..., None]
    shot = warped * inside + _table(rng) * (1 - inside)
    light = np.linspace(0.6, 1.0, width, dtype=np.float32)[None, :, None]  # the left side 40 % darker
    shot = cv2.GaussianBlur(shot * light, (0, 0), 1.2) + rng.normal(0, 4, shot.shape)
    return Image.fromarray(np.clip(shot, 0, 255).astype(np.uint8))


@pytest.fixture(scope="module")
def photographed(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> CleanPage:
    scan, _ = load_page(inspect(corpus / "scan_0004.png", CONFIG), 1, CONFIG)
    path = tmp_path_factory.mktemp("phone") / "IMG_0001.jpg"
    _photograph(scan, CORNERS).save(path, quality=85)  # no dpi: phones write none that means anything
    image, dpi = load_page(inspect(path, CONFIG), 1, CONFIG)
    return clean(image, dpi, number=1, config=CONFIG)


def test_photo_is_found_and_flattened_to_an_upright_a4_page(photographed: CleanPage) -> None:
    assert "photo" in photographed.flags
    assert photographed.rotation == 0 and photographed.orientation_confident
    width, height = photographed.image.size
    assert abs(height / width - 297 / 210) < 0.02
    assert 200 <= photographed.archive_dpi <= 300


def test_table_and_shadow_are_gone(photographed: CleanPage) -> None:
    ocr = np.asarray(photographed.ocr_image)
    frame = max(4, round(0.01 * min(ocr.shape)))
    border = np.concatenate(
        [ocr[:frame].ravel(), ocr[-frame:].ravel(), ocr[:, :frame].ravel(), ocr[:, -frame:].ravel()]
    )
    assert np.percentile(border, 5) > 230  # paper-white all round: no table top left
    # The shadowed left half of the paper is as white as the lit right half.
    half = ocr.shape[1] // 2
    assert abs(np.percentile(ocr[:, :half], 60) - np.percentile(ocr[:, half:], 60)) < 8


def test_photographed_form_is_still_recognised(photographed: CleanPage) -> None:
    from intake.routing.recognise import recognise
    from intake.routing.templates import load_templates

    found = recognise(photographed, load_templates(), engine=Tesseract())
    assert found.identity.form_id == "oikeusapu-oa1-fi"
    assert found.identity.score >= 0.8


def test_sheet_partly_outside_the_frame_is_still_flattened(corpus: Path, tmp_path: Path) -> None:
    scan, _ = load_page(inspect(corpus / "scan_0004.png", CONFIG), 1, CONFIG)
    # The top-right corner is cut off by the frame.
    corners = ((0.08, 0.06), (1.04, -0.02), (0.94, 0.95), (0.13, 0.89))
    path = tmp_path / "IMG_0002.jpg"
    _photograph(scan, corners, seed=1).save(path, quality=85)
    image, dpi = load_page(inspect(path, CONFIG), 1, CONFIG)
    page = clean(image, dpi, number=1, config=CONFIG)
    assert "photo" in page.flags and page.rotation == 0
    width, height = page.image.size
    assert abs(height / width - 297 / 210) < 0.05


@pytest.mark.parametrize(
    ("name", "number"),
    [("scan_0040.pdf", 1), ("scan_0004.png", 1), ("scan_0016.jpg", 1), ("duplex_000.pdf", 8), ("other_002.pdf", 1)],
    ids=["edges", "bilevel", "turned-jpeg", "blank-back", "edges-turned"],
)
def test_flatbed_scans_are_not_taken_for_photos(corpus: Path, name: str, number: int) -> None:
    image, dpi = load_page(inspect(corpus / name, CONFIG), number, CONFIG)
    assert photo.rectify(image, to_grey(image), dpi) is None
