"""Batches with separator sheets, and ``--keep-work``: made here from corpus scans."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from reportlab.graphics import renderPDF
from reportlab.graphics.barcode import code128, qr
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from intake.capture import Keep, clean, inspect, load_page
from intake.cli import main
from intake.config import CaptureConfig
from intake.models import PageAnalysis, PageIdentity, SourceFile
from intake.routing.documents import split

CONFIG = CaptureConfig()


def _qr_sheet(pdf: canvas.Canvas) -> None:
    widget = qr.QrCodeWidget("INTAKE-SEPARATOR")
    x0, y0, x1, y1 = widget.getBounds()
    size = 40 * mm
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    renderPDF.draw(drawing, pdf, 85 * mm, 180 * mm)
    pdf.setFont("Helvetica", 14)
    pdf.drawString(70 * mm, 170 * mm, "EROTINSIVU / SEPARATOR")
    pdf.showPage()


def _barcode_sheet(pdf: canvas.Canvas) -> None:
    code128.Code128("PATCHT", barHeight=20 * mm, barWidth=0.6 * mm).drawOn(pdf, 60 * mm, 150 * mm)
    pdf.showPage()


def _form_with_small_barcode(pdf: canvas.Canvas) -> None:
    """A sparse form page carrying its own small form-code barcode: content, not a separator."""
    pdf.setFont("Helvetica-Bold", 16)
    pdf.drawString(20 * mm, 270 * mm, "Hakemus / Ansökan")
    pdf.setFont("Helvetica", 11)
    for row in range(6):
        pdf.drawString(20 * mm, (250 - 12 * row) * mm, f"{row + 1}. Tiedot / Uppgifter ____________________")
    code128.Code128("KELA-TO1", barHeight=8 * mm, barWidth=0.3 * mm).drawOn(pdf, 150 * mm, 280 * mm)
    pdf.showPage()


def _scan(pdf: canvas.Canvas, image: Path) -> None:
    pdf.drawImage(str(image), 0, 0, *A4)
    pdf.showPage()


@pytest.fixture(scope="module")
def sheets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sheets") / "sheets.pdf"
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for draw in (_qr_sheet, _barcode_sheet, _form_with_small_barcode):
        draw(pdf)
    pdf.save()
    return path


@pytest.mark.parametrize(("number", "expected"), [(1, True), (2, True), (3, False)], ids=["qr", "barcode", "form"])
def test_separator_sheets_are_found_and_forms_with_barcodes_are_not(sheets: Path, number: int, expected: bool) -> None:
    source = inspect(sheets, CONFIG)
    image, dpi = load_page(source, number, CONFIG)
    page = clean(image, dpi, number=number, config=CONFIG)
    assert page.separator is expected and not page.blank


def _page(number: int, form: str | None, *, separator: bool = False, blank: bool = False) -> PageAnalysis:
    identity = PageIdentity(form, 1 if form else 0, 0.9 if form else 0.0, "test")
    return PageAnalysis(number, identity, blank, 0, 0.0, True, [], {}, {}, None, 300, separator=separator)


def test_a_separator_ends_the_document_and_is_listed() -> None:
    source = SourceFile(Path("batch.pdf"), "0" * 64, 1, "pdf", 5)
    pages = [_page(1, None), _page(2, None, separator=True), _page(3, None), _page(4, None, blank=True),
             _page(5, None, separator=True)]  # fmt: skip
    documents = split(source, pages)
    # Two unknown pages in a row would make one document; the separator keeps them apart.
    assert [(d.page_numbers, d.separator_pages, d.blank_pages) for d in documents] == [([1], [2], []), ([3], [5], [4])]


def test_batch_with_a_separator_splits_and_keeps_work(corpus: Path, tmp_path: Path, capsys) -> None:
    batch = tmp_path / "batch.pdf"
    pdf = canvas.Canvas(str(batch), pagesize=A4)
    _scan(pdf, corpus / "scan_0004.png")
    _qr_sheet(pdf)
    _scan(pdf, corpus / "scan_0008.png")
    pdf.save()
    config = tmp_path / "intake.toml"
    config.write_text(f'[transport]\nspool = "{tmp_path / "spool"}"\n')
    work = tmp_path / "work"
    main(["process", "--json", "--dry-run", "--config", str(config), "--keep-work", str(work), str(batch)])
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(d["source"]["pages"], d["separator_pages"]) for d in docs] == [([1], [2]), ([3], [])]
    assert all(d["form"]["id"] for d in docs)
    kept = sorted(p.name.split("-", 1)[1] for p in work.iterdir())
    assert "p0001-1-scan.png" in kept and "p0001-5-ocr.png" in kept and "p0002-6-archive.png" in kept
    assert "p0003-4-view.png" in kept and len(kept) == 6 + 4 + 6


def test_keep_saves_each_stage(corpus: Path, tmp_path: Path) -> None:
    source = inspect(corpus / "scan_0016.jpg", CONFIG)
    image, dpi = load_page(source, 1, CONFIG)
    clean(image, dpi, number=1, config=CONFIG, keep=Keep(tmp_path, "abc-p0001"))
    stages = sorted(p.name for p in tmp_path.iterdir())
    assert stages == [f"abc-p0001-{s}.png" for s in ("1-scan", "2-edges", "3-ink", "4-view", "5-ocr", "6-archive")]


def test_a_sparse_form_where_the_qr_detector_sees_a_crossed_box_is_no_separator(corpus: Path) -> None:
    source = inspect(corpus / "scan_0074.pdf", CONFIG)  # 200 dpi, 4 % ink: a bogus off-page QR quad
    image, dpi = load_page(source, 1, CONFIG)
    assert not clean(image, dpi, number=1, config=CONFIG).separator
