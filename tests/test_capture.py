"""Capture against real scans from the shared dev corpus, and against bad input made here."""

from __future__ import annotations

import json
import struct
import zlib
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS
from PIL import Image

from intake.capture import clean, inspect, load_page
from intake.capture.measure import residual_skew
from intake.config import CaptureConfig
from intake.errors import CorruptFile, EncryptedPdf, LimitExceeded, UnsupportedFormat

CONFIG = CaptureConfig()

# Every test here reads the corpus: the fixture fails the test when it is missing (never skips).
needs_corpus = pytest.mark.usefixtures("corpus")


@cache
def truth() -> dict[str, Any]:
    return {entry["file"]: entry for entry in json.loads((CORPUS / "truth.json").read_text("utf-8"))}


def _page(name: str, number: int) -> tuple[Any, dict[str, Any]]:
    source = inspect(CORPUS / name, CONFIG)
    image, dpi = load_page(source, number, CONFIG)
    return clean(image, dpi, number=number, config=CONFIG), truth()[name]["scan"][number - 1]


@needs_corpus
@pytest.mark.parametrize(
    "name", ["scan_0000.tif", "scan_0012.tif", "scan_0001.jpg", "scan_0004.png", "scan_0002.pdf", "duplex_000.pdf"]
)
def test_each_format_loads_with_its_page_count(name: str) -> None:
    source = inspect(CORPUS / name, CONFIG)
    assert source.format == Path(name).suffix[1:].replace("tif", "tiff").replace("jpg", "jpeg")
    assert source.page_count == len(truth()[name]["scan"])
    assert source.sha256 == truth()[name]["sha256"]
    image, dpi = load_page(source, source.page_count, CONFIG)
    assert image.mode in ("1", "L", "RGB")
    assert 150 <= dpi <= 600


@needs_corpus
@pytest.mark.parametrize(
    ("name", "number"),
    [("scan_0016.jpg", 1), ("scan_0032.jpg", 1), ("scan_0013.pdf", 1), ("scan_0011.pdf", 2), ("scan_0040.pdf", 1)],
    ids=["90", "180", "270-pdf", "270-page2", "upright-with-edges"],
)
def test_rotated_pages_come_out_upright_and_straight(name: str, number: int) -> None:
    page, scan = _page(name, number)
    assert page.rotation == (360 - scan["rotation"]) % 360
    assert page.orientation_confident
    assert page.image.width < page.image.height  # these forms are portrait
    assert abs(page.skew - scan["skew_deg"]) < 0.3
    assert abs(residual_skew(page)) < 0.3
    assert page.ocr_image.mode == "L" and page.dpi == CONFIG.work_dpi


@needs_corpus
@pytest.mark.parametrize(
    ("name", "number"),
    [("duplex_005.pdf", 1), ("duplex_005.pdf", 2), ("duplex_005.pdf", 4), ("duplex_000.pdf", 8), ("other_001.pdf", 1),
     ("scan_0009.pdf", 2)],
    ids=["front", "blank-back", "blank-back-edges", "blank-bilevel-turned", "short-letter", "continuation-page"],
)  # fmt: skip
def test_blank_backs_are_found_and_content_pages_are_not(name: str, number: int) -> None:
    page, scan = _page(name, number)
    assert page.blank == bool(scan.get("blank", False))


@needs_corpus
def test_ocr_copy_is_resampled_to_the_work_resolution() -> None:
    page, scan = _page("scan_0000.tif", 1)
    assert scan["dpi"] == 200 and page.archive_dpi == 200
    assert page.ocr_image.size == (round(page.image.width * 1.5), round(page.image.height * 1.5))


# --- bad input, made by the test itself -------------------------------------------------


def test_zero_byte_file_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(CorruptFile, match="empty"):
        inspect(path, CONFIG)


def test_text_file_named_pdf_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_text("Hyvä vastaanottaja,\n")
    with pytest.raises(UnsupportedFormat, match="not a PDF, TIFF, JPEG or PNG"):
        inspect(path, CONFIG)


def test_truncated_jpeg_is_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "scan.jpg"
    Image.effect_noise((600, 800), 60).convert("RGB").save(path, quality=90)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CorruptFile, match="truncated or damaged"):
        inspect(path, CONFIG)


def _pdf(path: Path, pages: int, **encrypt: str) -> Path:
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    document = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt.get("password"))
    for number in range(pages):
        document.drawString(72, 720, f"Sivu {number + 1}")
        document.showPage()
    document.save()
    return path


def test_encrypted_pdf_is_refused(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "locked.pdf", 1, password="salasana")
    with pytest.raises(EncryptedPdf, match="password"):
        inspect(path, CONFIG)


def test_too_many_pages(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "long.pdf", 4)
    with pytest.raises(LimitExceeded, match="4 pages is more than the limit of 3"):
        inspect(path, CaptureConfig(max_pages=3))
    assert inspect(path, CONFIG).page_count == 4


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_decompression_bomb_png_is_refused_before_decoding(tmp_path: Path) -> None:
    # A 100 000 × 100 000 one-bit PNG header with a token image body: a few hundred bytes.
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 1, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    path = tmp_path / "bomb.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", body) + _png_chunk(b"IEND", b"")
    )
    with pytest.raises(LimitExceeded, match=r"too large|megapixels"):
        inspect(path, CONFIG)


def test_page_above_megapixel_limit_at_work_dpi(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "a4.pdf", 1)
    with pytest.raises(LimitExceeded, match="page 1 is 9 megapixels"):
        inspect(path, CaptureConfig(max_megapixels=5))


def test_load_page_out_of_range(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "one.pdf", 1)
    with pytest.raises(ValueError, match=r"not in 1\.\.1"):
        load_page(inspect(path, CONFIG), 2, CONFIG)
