"""Make the package PDF archive-grade: PDF/A-2b, with the invisible text layer, written with pikepdf.

The page images come in as an image-only PDF; this adds what ISO 19005-2 level B asks
of it: an sRGB output intent with its ICC profile embedded, XMP metadata that claims
PDF/A-2B and agrees with the document information dictionary, a file identifier, and,
for the text layer, an embedded font with a ToUnicode map so that copying and searching
give back the words. Nothing is encrypted, nothing is transparent, nothing runs.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import pikepdf
from pikepdf import Array, Dictionary, Name, Stream
from PIL import ImageCms

from intake.errors import PackageError
from intake.models import Placement
from intake.transport._font import SubsetFont, text_font
from intake.transport.textlayer import VALUE_BASELINE, VALUE_SIZE, PageText, TextRun
from intake.units import MM_PER_INCH, PT_PER_INCH

PT_PER_MM = PT_PER_INCH / MM_PER_INCH
SRGB = "sRGB IEC61966-2.1"
_FONT_RESOURCE = Name("/Ftext")


@dataclass(frozen=True)
class PdfMetadata:
    """What the PDF says about itself (XMP and the document information dictionary)."""

    title: str
    subject: str
    created: dt.datetime
    document_id: str  # a UUID: the package id


def archive_grade(image_pdf: bytes, /, *, texts: Sequence[PageText], meta: PdfMetadata) -> bytes:
    """The image-only PDF as PDF/A-2b, with one text layer per page (``texts`` in page order)."""
    try:
        with pikepdf.open(io.BytesIO(image_pdf)) as pdf:
            if len(pdf.pages) != len(texts):
                raise PackageError(f"{len(pdf.pages)} pages in the PDF but {len(texts)} text layers")
            if any(text.runs for text in texts):
                font = _embed_font(pdf, text_font().only("".join(run.text for text in texts for run in text.runs)))
                for page, text in zip(pdf.pages, texts, strict=True):
                    _add_text(pdf, page, text, font)
            pdf.Root.OutputIntents = Array([_output_intent(pdf)])
            _set_metadata(pdf, meta)
            out = io.BytesIO()
            # A deterministic file identifier: the same package always gives the same bytes.
            pdf.save(out, deterministic_id=True, compress_streams=True, min_version="1.7")
    except pikepdf.PdfError as exc:
        raise PackageError(f"cannot make the archival PDF: {exc}") from exc
    return out.getvalue()


@dataclass(frozen=True)
class _Font:
    resource: pikepdf.Object
    program: SubsetFont


def _add_text(pdf: pikepdf.Pdf, page: pikepdf.Page, text: PageText, font: _Font) -> None:
    if not text.runs:
        return
    height_pt = float(page.mediabox[3]) - float(page.mediabox[1])
    # Render mode 3: neither filled nor stroked; the scan shows, the text is found.
    parts = [b"q BT ", _FONT_RESOURCE.unparse(), b" 1 Tf 3 Tr\n"]
    for run in text.runs:
        glyphs = font.program.encode(run.text)
        if glyphs:
            matrix = " ".join(f"{value:.4f}" for value in _text_matrix(run, text.placement, height_pt, font.program))
            parts.append(f"{matrix} Tm <{glyphs.hex()}> Tj\n".encode("ascii"))
    parts.append(b"ET Q\n")
    page.add_resource(font.resource, Name.Font, _FONT_RESOURCE)
    page.contents_add(Stream(pdf, b"".join(parts)))


def _text_matrix(run: TextRun, placement: Placement, height_pt: float, font: SubsetFont) -> tuple[float, ...]:
    """Text space (size 1) -> page points, so that ``run`` covers its box wherever the page put the form.

    The box is in template millimetres, y down; the placement takes it to page
    millimetres; PDF points have y up from the bottom.
    """
    x, y, width, height = run.box
    if run.printed:
        # A printed line's box spans the font's ascent to its descent.
        size = height / ((font.ascent - font.descent) / 1000)
        baseline = y + height + font.descent / 1000 * size
    else:
        size = height * VALUE_SIZE
        baseline = y + height * VALUE_BASELINE
    natural = font.width(run.text) * size
    stretch = width / natural if natural > 0 and (run.printed or natural > width) else 1.0
    a, b, c, d, e, f = placement
    k = PT_PER_MM
    along = (k * a * stretch * size, -k * d * stretch * size)  # text x axis: template +x
    up = (-k * b * size, k * e * size)  # text y axis: template -y
    origin = (k * (a * x + b * baseline + c), height_pt - k * (d * x + e * baseline + f))
    return (*along, *up, *origin)


def _embed_font(pdf: pikepdf.Pdf, font: SubsetFont) -> _Font:
    """A Type 0 font (Identity-H, glyph ids as codes) over the embedded TrueType subset."""
    program = Stream(pdf, font.program)
    program.Length1 = len(font.program)
    descriptor = Dictionary(
        Type=Name.FontDescriptor, FontName=Name("/" + font.name), Flags=4, FontBBox=Array(list(font.bbox)),
        ItalicAngle=0, Ascent=font.ascent, Descent=font.descent, CapHeight=font.cap_height, StemV=80,
        FontFile2=program,
    )  # fmt: skip
    descendant = Dictionary(
        Type=Name.Font, Subtype=Name.CIDFontType2, BaseFont=Name("/" + font.name),
        CIDSystemInfo=Dictionary(Registry="Adobe", Ordering="Identity", Supplement=0),
        FontDescriptor=pdf.make_indirect(descriptor), CIDToGIDMap=Name.Identity,
        W=Array([item for gid in sorted(set(font.glyphs.values())) for item in (gid, Array([font.widths[gid]]))]),
    )  # fmt: skip
    resource = Dictionary(
        Type=Name.Font, Subtype=Name.Type0, BaseFont=Name("/" + font.name), Encoding=Name("/Identity-H"),
        DescendantFonts=Array([pdf.make_indirect(descendant)]), ToUnicode=Stream(pdf, _to_unicode_cmap(font)),
    )  # fmt: skip
    return _Font(pdf.make_indirect(resource), font)


def _to_unicode_cmap(font: SubsetFont) -> bytes:
    """The CMap from 2-byte glyph ids to UTF-16BE text that copying and searching read."""
    pairs = [
        f"<{gid:04X}> <{char.encode('utf-16-be').hex().upper()}>" for gid, char in sorted(font.to_unicode().items())
    ]
    blocks = []
    for start in range(0, len(pairs), 100):  # at most 100 entries per block
        chunk = pairs[start : start + 100]
        blocks.append(f"{len(chunk)} beginbfchar\n" + "\n".join(chunk) + "\nendbfchar")
    return "\n".join(
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
            "/CMapName /Adobe-Identity-UCS def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            "<0000> <FFFF>",
            "endcodespacerange",
            *blocks,
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
    ).encode("ascii")


@cache
def srgb_profile() -> bytes:
    """An sRGB ICC profile (LittleCMS's built-in, through Pillow): the colour space of the page images."""
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _output_intent(pdf: pikepdf.Pdf) -> pikepdf.Object:
    profile = Stream(pdf, srgb_profile())
    profile.N = 3
    intent = Dictionary(
        Type=Name.OutputIntent, S=Name.GTS_PDFA1, OutputConditionIdentifier=SRGB, Info=SRGB,
        RegistryName="http://www.color.org", DestOutputProfile=profile,
    )  # fmt: skip
    return pdf.make_indirect(intent)


def _set_metadata(pdf: pikepdf.Pdf, meta: PdfMetadata) -> None:
    """XMP with the PDF/A claim; pikepdf mirrors each entry into the information dictionary."""
    pdf.trailer.Info = pdf.make_indirect(Dictionary())  # nothing left over that the XMP does not say
    stamp = meta.created.astimezone(dt.UTC).isoformat(timespec="seconds")
    with pdf.open_metadata(set_pikepdf_as_editor=False, update_docinfo=True) as xmp:
        xmp["dc:title"] = meta.title
        xmp["dc:description"] = meta.subject
        xmp["xmp:CreatorTool"] = "intake"
        xmp["pdf:Producer"] = f"intake (pikepdf {pikepdf.__version__})"
        xmp["xmp:CreateDate"] = stamp
        xmp["xmp:ModifyDate"] = stamp
        xmp["xmp:MetadataDate"] = stamp
        xmp["xmpMM:DocumentID"] = f"uuid:{meta.document_id}"
        xmp["pdfaid:part"] = "2"
        xmp["pdfaid:conformance"] = "B"
