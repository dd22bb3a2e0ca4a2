"""The package PDF is PDF/A-2b, and its invisible text layer gives back the form's words and the values read.

veraPDF (the reference validator, Java) is not packaged for Debian, so the structural
requirements of ISO 19005-2 level B that can be read from the file are checked here with
pikepdf, and the text layer with poppler's pdftotext, as a reader would use it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import time
from pathlib import Path

import pikepdf
import pytest
from fontTools.ttLib import TTFont
from pikepdf.models.metadata import decode_pdf_date
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from smtp_fixtures import HETU, T0, make_document, page_image

from intake import capture, preflight
from intake.config import Config
from intake.errors import EnvironmentProblem
from intake.models import Document, FieldValue, PageAnalysis, PageIdentity, Placement, SourceFile
from intake.pipeline import analyse_page
from intake.routing.templates import load_templates
from intake.transport._font import FONT_PATH, text_font
from intake.transport.package import render_pdf
from intake.units import MM_PER_PT

TEMPLATES = load_templates()
SV8 = next(t for t in TEMPLATES if t.id == "kela-sv8-fi")
PACKAGE_ID = "0b7e2f4a-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
_FORBIDDEN_FILTERS = {"/LZWDecode", "/JBIG2Decode", "/JPXDecode"}


# --- what PDF/A-2b asks of the file, as far as reading it can tell ---------------------------


def pdfa_problems(data: bytes) -> list[str]:
    """Every PDF/A-2b requirement this file breaks, in words (empty: none found)."""
    problems = []
    if not re.match(rb"%PDF-1\.[0-7]\r?\n%[\x80-\xff]{4}", data):
        problems.append("header is not %PDF-1.n followed by a binary comment")
    with pikepdf.open(io.BytesIO(data)) as pdf:
        if pdf.is_encrypted or "/Encrypt" in pdf.trailer:
            problems.append("encrypted")
        ids = pdf.trailer.get("/ID")
        if ids is None or len(ids) != 2:
            problems.append("no file identifier (trailer ID)")
        problems += _output_intent_problems(pdf) + _metadata_problems(pdf) + _active_content(pdf)
        for number, page in enumerate(pdf.pages, start=1):
            problems += [f"page {number}: {problem}" for problem in _page_problems(page)]
    return problems


def _output_intent_problems(pdf: pikepdf.Pdf) -> list[str]:
    intents = [i for i in pdf.Root.get("/OutputIntents", []) if i.get("/S") == "/GTS_PDFA1"]
    if len(intents) != 1:
        return ["no PDF/A output intent (GTS_PDFA1)"]
    profile = intents[0].get("/DestOutputProfile")
    if not isinstance(profile, pikepdf.Stream):
        return ["output intent without an embedded ICC profile"]
    icc = profile.read_bytes()
    problems = []
    if icc[36:40] != b"acsp" or icc[12:16] not in (b"mntr", b"prtr", b"scnr") or icc[8] > 4:
        problems.append("the output intent's ICC profile is not an output profile of version 4 or lower")
    if icc[16:20] != b"RGB " or profile.get("/N") != 3:
        problems.append("the output intent is not RGB: the DeviceRGB page images need an RGB one")
    return problems


def _metadata_problems(pdf: pikepdf.Pdf) -> list[str]:
    stream = pdf.Root.get("/Metadata")
    if stream is None:
        return ["no XMP metadata"]
    problems = ["the XMP stream is filtered"] if "/Filter" in stream else []
    xmp = pdf.open_metadata()
    if (xmp.get("pdfaid:part"), xmp.get("pdfaid:conformance")) != ("2", "B"):
        problems.append("XMP does not claim PDF/A-2B")
    info = pdf.docinfo
    pairs = [("/Title", "dc:title"), ("/Creator", "xmp:CreatorTool"), ("/Producer", "pdf:Producer"),
             ("/Subject", "dc:description")]  # fmt: skip
    problems += [f"{key} differs from {name}" for key, name in pairs if key in info and str(info[key]) != xmp.get(name)]
    for key, name in (("/CreationDate", "xmp:CreateDate"), ("/ModDate", "xmp:ModifyDate")):
        if key in info and decode_pdf_date(str(info[key])) != dt.datetime.fromisoformat(xmp[name]):
            problems.append(f"{key} differs from {name}")
    return problems


def _active_content(pdf: pikepdf.Pdf) -> list[str]:
    root = pdf.Root
    found = [key for key in ("/OpenAction", "/AA") if key in root]
    if "/Names" in root and ("/JavaScript" in root.Names or "/EmbeddedFiles" in root.Names):
        found.append("/Names JavaScript or embedded files")
    return [f"active or embedded content: {', '.join(found)}"] if found else []


def _page_problems(page: pikepdf.Page) -> list[str]:
    problems = []
    if "/Group" in page.obj or "/Annots" in page.obj or "/AA" in page.obj:
        problems.append("transparency group, annotations or actions")
    images = [x for x in page.Resources.get("/XObject", {}).values() if x.get("/Subtype") == "/Image"]
    if not images:
        problems.append("no page image")
    for image in images:
        filters = image.get("/Filter")
        names = {str(f) for f in filters} if isinstance(filters, pikepdf.Array) else {str(filters)}
        if names & _FORBIDDEN_FILTERS:
            problems.append(f"image compressed with {names & _FORBIDDEN_FILTERS}")
        if "/SMask" in image or image.get("/Interpolate") is True:
            problems.append("image with a soft mask or interpolation")
    for font in page.Resources.get("/Font", {}).values():
        problems += _font_problems(font)
    return problems


def _font_problems(font: pikepdf.Object) -> list[str]:
    described = font.DescendantFonts[0] if font.Subtype == "/Type0" else font
    descriptor = described.get("/FontDescriptor")
    problems = []
    if descriptor is None or not any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
        problems.append(f"font {font.get('/BaseFont')} not embedded")
    if "/ToUnicode" not in font:
        problems.append(f"font {font.get('/BaseFont')} has no ToUnicode map: its text cannot be copied")
    if font.Subtype == "/Type0" and described.get("/CIDToGIDMap") is None:
        problems.append("CIDFontType2 without a CIDToGIDMap")
    if font.Subtype == "/Type0" and descriptor is not None and "/FontFile2" in descriptor:
        problems += _width_problems(described, descriptor.FontFile2.read_bytes())
    return problems


def _width_problems(described: pikepdf.Object, program: bytes) -> list[str]:
    """The widths the PDF states must be the font program's own (6.2.11.5), to a unit in 1000."""
    embedded = TTFont(io.BytesIO(program))
    scale = 1000 / embedded["head"].unitsPerEm
    order, metrics = embedded.getGlyphOrder(), embedded["hmtx"]
    stated: dict[int, float] = {}
    items = list(described.get("/W", []))
    for first, widths in zip(items[::2], items[1::2], strict=True):  # intake writes only "c [w ...]" entries
        stated |= {int(first) + i: float(width) for i, width in enumerate(widths)}
    wrong = [gid for gid, width in stated.items() if abs(metrics[order[gid]][0] * scale - width) > 1]
    return [f"widths of glyphs {wrong[:5]} differ from the font program"] if wrong else []


def test_the_checker_finds_what_a_plain_pdf_lacks() -> None:
    buffer = io.BytesIO()
    sheet = canvas.Canvas(buffer, pagesize=A4)
    sheet.drawString(72, 720, "SV 8")  # Helvetica: one of the 14 fonts readers bring, never embedded
    sheet.save()
    problems = pdfa_problems(buffer.getvalue())
    assert "no PDF/A output intent (GTS_PDFA1)" in problems
    assert "XMP does not claim PDF/A-2B" in problems or "no XMP metadata" in problems
    assert "page 1: font /Helvetica not embedded" in problems


# --- the package PDF ------------------------------------------------------------------------


def sv8_document(folder: Path, *, fields: dict[str, str], placement: Placement | None = None) -> Document:
    """A one-page Kela SV 8 (a real template) with the given values read, page image A4 at 150 dpi."""
    path = page_image(folder / "sv8.png", mode="RGB", size=(1240, 1754), text="SV 8")
    identity = PageIdentity(form_id=SV8.id, page=1, score=0.97, reason="title matched")
    values = {name: FieldValue(value, 0.9, None) for name, value in fields.items()}
    page = PageAnalysis(
        number=1, identity=identity, blank=False, rotation=0, skew=0.0, orientation_confident=True, flags=[],
        fields=values, checkboxes={}, archive_path=path, archive_dpi=150, placement=placement,
    )  # fmt: skip
    source = SourceFile(path=folder / "scan.png", sha256="0" * 64, size=1, format="png", page_count=1)
    return Document(source=source, pages=[page], form_id=SV8.id, authority=SV8.authority, code=SV8.code,
                    language=SV8.language, fields=values)  # fmt: skip


def render(document: Document) -> bytes:
    return render_pdf(document, templates=TEMPLATES, package_id=PACKAGE_ID, created=T0)


@pytest.mark.parametrize(
    "pages",
    [
        pytest.param(None, id="colour-150-and-bilevel-200"),
        pytest.param([("L", 300, (2480, 3508))], id="grey-300"),
        pytest.param([("1", 300, (2480, 3508)), ("RGB", 200, (1654, 2339))], id="bilevel-then-colour"),
    ],
)
def test_package_pdf_of_an_unknown_form_is_pdfa_2b(tmp_path: Path, pages: list | None) -> None:
    # make_document's form is not a known template: image pages only, no text layer, no font.
    pdf = render(make_document(tmp_path, pages=pages))
    assert pdfa_problems(pdf) == []


def test_package_pdf_with_a_text_layer_is_pdfa_2b(tmp_path: Path) -> None:
    pdf = render(sv8_document(tmp_path, fields={"last_name": "VIRTANEN", "hetu": HETU}))
    assert pdfa_problems(pdf) == []
    with pikepdf.open(io.BytesIO(pdf)) as opened:
        fonts = list(opened.pages[0].Resources.Font.values())
        assert len(fonts) == 1
        descriptor = fonts[0].DescendantFonts[0].FontDescriptor
        assert descriptor.FontName == fonts[0].BaseFont and "/FontFile2" in descriptor
        assert len(descriptor.FontFile2.read_bytes()) < 16_000  # only the glyphs this package shows
        assert re.fullmatch(r"/[A-Z]{6}\+DejaVuSans", str(fonts[0].BaseFont))  # a subset, tagged
        xmp = opened.open_metadata()
        assert xmp["dc:title"] == "KELA SV 8 Hakemus – Sairauspäivärahat"
        assert xmp["xmpMM:DocumentID"] == f"uuid:{PACKAGE_ID}"


def test_same_document_same_bytes(tmp_path: Path) -> None:
    document = sv8_document(tmp_path, fields={"last_name": "VIRTANEN"})
    first = render(document)
    time.sleep(1.1)  # a font subset stamped with the time of day would differ now
    assert render(document) == first  # deterministic file ID and font: a rebuild is byte-identical
    assert text_font.__wrapped__(FONT_PATH).program == text_font().program  # ... in another process too


def _text(pdf: bytes, folder: Path, *args: str) -> str:
    path = folder / "package.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", *args, str(path), "-"], capture_output=True, text=True, check=True).stdout


def _words(pdf: bytes, folder: Path) -> dict[str, tuple[float, float, float, float]]:
    """Each word pdftotext finds and its box in mm from the page's top-left (the last of repeated words)."""
    found = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>',
                       _text(pdf, folder, "-bbox"))  # fmt: skip
    return {word: tuple(float(v) * MM_PER_PT for v in box) for *box, word in found}  # type: ignore[misc]


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("VIRTANEN", id="ascii"),
        pytest.param("Åsa-Märta Öhman", id="finnish-swedish"),
        pytest.param("ÄÄNEKOSKI", id="capitals-with-dots"),
        pytest.param("Čavlo Ŋuolla Ǥiđđa", id="sami"),
    ],
)
def test_text_layer_gives_back_the_form_code_and_the_value(tmp_path: Path, value: str) -> None:
    pdf = render(sv8_document(tmp_path, fields={"last_name": value, "hetu": HETU}))
    text = _text(pdf, tmp_path)
    assert "SV 8" in text  # the form code, from the blank form's printed text
    assert "Sairauspäivärahat" in text and "Henkilötunnus" in text
    assert value in text and HETU in text


def test_letters_the_font_lacks_fall_back_to_their_base_letters(tmp_path: Path) -> None:
    pdf = render(sv8_document(tmp_path, fields={"occupation": "ﬁlosoﬁ"}))  # ligature code points
    assert "filosofi" in _text(pdf, tmp_path)


@pytest.mark.parametrize(
    "placement",
    [
        pytest.param(None, id="not-registered"),
        pytest.param((1.0, 0.0, 6.0, 0.0, 1.0, -4.0), id="shifted"),
        pytest.param((0.9994, -0.0349, 3.0, 0.0349, 0.9994, 2.0), id="turned-2-degrees"),
    ],
)
def test_values_lie_over_their_zone_where_the_page_put_the_form(tmp_path: Path, placement: Placement | None) -> None:
    pdf = render(sv8_document(tmp_path, fields={"municipality": "KUOPIO"}, placement=placement))
    x0, y0, x1, y1 = _words(pdf, tmp_path)["KUOPIO"]
    zone = next(zone for zone in SV8.zones if zone.name == "municipality")
    a, b, c, d, e, f = placement or (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    left, top, width, height = zone.box
    page_left, page_top = a * left + b * top + c, d * left + e * top + f  # the zone's top-left on the page
    assert x0 == pytest.approx(page_left, abs=1.5)  # the value starts where the zone starts
    assert x1 < page_left + width  # ... and stays inside it
    assert page_top - 1.5 < y0 < y1 < page_top + height + 1.5


def test_a_long_free_text_fills_the_box_line_by_line(tmp_path: Path) -> None:
    info = "LIITTEENÄ LÄÄKÄRINTODISTUS JA PALKKATODISTUS OSOITE ON VOIMASSA TOISTAISEKSI PYYDÄN ASIAN KÄSITTELYÄ PIAN"
    pdf = render(sv8_document(tmp_path, fields={"info": info}))
    assert " ".join(_text(pdf, tmp_path).split()).count(info) == 1
    left, top, width, height = next(zone for zone in SV8.zones if zone.name == "info").box
    boxes = [box for word, box in _words(pdf, tmp_path).items() if word in info.split()]
    assert all(left - 0.5 < x0 and x1 < left + width and top < y0 and y1 < top + height for x0, y0, x1, y1 in boxes)
    assert len({round(y1) for _, _, _, y1 in boxes}) == 2  # two of the box's three writing lines


def test_a_real_scan_gets_its_text_layer(tmp_path: Path, corpus: Path) -> None:
    config = Config()
    source = capture.inspect(corpus / "scan_0007.pdf", config.capture)  # Kela SV 8, grey, 300 dpi
    page = analyse_page(source, 1, config, tmp_path)
    assert page.identity.form_id == "kela-sv8-fi" and page.placement is not None
    read = {name: value for name, value in page.fields.items() if value.value}
    document = Document(source=source, pages=[page], form_id=SV8.id, authority=SV8.authority, code=SV8.code,
                        fields=page.fields)  # fmt: skip
    pdf = render(document)
    assert pdfa_problems(pdf) == []
    text = _text(pdf, tmp_path)
    assert "SV 8" in text
    assert read and all(value.value in text for value in read.values())


@pytest.mark.parametrize(
    "content",
    [pytest.param(None, id="missing"), pytest.param(b"\x00\x01\x00\x00 not a font", id="not-a-font")],
)
def test_without_its_font_the_machine_is_told_what_to_install(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "DejaVuSans.ttf"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(EnvironmentProblem, match="apt-get install fonts-dejavu-core"):
        text_font(path)
    preflight.check_text_font()  # the real font, installed by run.sh, loads
