"""Reading input files: sniff the format, check the limits, load one page at a time."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import warnings
from pathlib import Path

from PIL import Image, ImageSequence, UnidentifiedImageError

from intake import poppler
from intake.config import CaptureConfig
from intake.errors import BadInputError, CorruptFile, FileTooLarge, LimitExceeded, UnsupportedFormat
from intake.models import SourceFile
from intake.names import scrub
from intake.units import PAPERS_IN, PT_PER_INCH

log = logging.getLogger(__name__)

_PILLOW_FORMATS = {"tiff": "TIFF", "jpeg": "JPEG", "png": "PNG"}
_DPI_RANGE = (100, 1200)  # outside this a stated resolution is taken as missing


def sniff(head: bytes) -> str | None:
    """The format from the first bytes of a file, or None when it is none we accept."""
    if head.startswith((b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")):
        return "tiff"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    # The PDF header may legally follow up to 1 KiB of junk.
    if b"%PDF-" in head[:1024]:
        return "pdf"
    return None


def _hash(path: Path) -> tuple[str, int, bytes]:
    digest, size, head = hashlib.sha256(), 0, b""
    with path.open("rb") as stream:
        while chunk := stream.read(1 << 20):
            if not head:
                head = chunk[:1024]
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size, head


def inspect(path: Path, limits: CaptureConfig) -> SourceFile:
    """Identify ``path`` and check it against ``limits``; raise a BadInputError leaf if unusable."""
    try:
        size = path.stat().st_size
        if size > limits.max_file_mb * 1e6:  # refused before a byte of it is read
            raise FileTooLarge(
                f"the file is {size / 1e6:.0f} MB, above the limit of {limits.max_file_mb:g} MB; "
                "scan at a lower resolution or in parts"
            )
        sha256, size, head = _hash(path)
    except OSError as exc:
        raise CorruptFile(f"the file cannot be read: {exc.strerror or scrub(str(exc), path)}") from exc
    if size == 0:
        raise CorruptFile("the file is empty (0 bytes): scan the page again")
    kind = sniff(head)
    if kind is None:
        raise UnsupportedFormat(
            f"not a PDF, TIFF, JPEG or PNG file (it starts with {head[:8]!r}); save the scan in one of these formats"
        )
    pages = _inspect_pdf(path, limits) if kind == "pdf" else _inspect_image(path, kind, limits)
    log.info("file %.12s: %s, %d page(s), %d bytes", sha256, kind, pages, size)
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime)  # local time: the desk's day
    return SourceFile(path=path, sha256=sha256, size=size, format=kind, page_count=pages, modified=modified)


def _check_pages(pages: int, limits: CaptureConfig) -> None:
    if pages == 0:
        raise CorruptFile("the file has no pages")
    if pages > limits.max_pages:
        raise LimitExceeded(f"{pages} pages is more than the limit of {limits.max_pages}; split the file")


def _check_pixels(width: float, height: float, number: int, limits: CaptureConfig) -> None:
    megapixels = width * height / 1e6
    if megapixels > limits.max_megapixels:
        raise LimitExceeded(
            f"page {number} is {megapixels:.0f} megapixels, above the limit of "
            f"{limits.max_megapixels:g}; scan at a lower resolution"
        )


def _inspect_pdf(path: Path, limits: CaptureConfig) -> int:
    info = poppler.info(path, timeout=limits.file_timeout_s)
    _check_pages(info.pages, limits)
    for number, size in enumerate(info.sizes, start=1):
        render_dpi, _ = _pdf_dpi(size, limits)
        _check_pixels(size[0] * render_dpi / PT_PER_INCH, size[1] * render_dpi / PT_PER_INCH, number, limits)
    return info.pages


def _open(path: Path, kind: str, limits: CaptureConfig) -> Image.Image:
    """Open with only the sniffed decoder allowed and a pixel ceiling from the limits."""
    # Pillow's guard is process-wide; the explicit check in _check_pixels gives the message.
    Image.MAX_IMAGE_PIXELS = int(limits.max_megapixels * 1e6)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(path, formats=[_PILLOW_FORMATS[kind]])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise LimitExceeded(f"the image is too large to open safely: {scrub(str(exc), path)}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        # Pillow quotes the path it was given, and the name may be a customer's.
        raise CorruptFile(f"the {kind.upper()} file cannot be decoded: {scrub(str(exc), path)}") from exc


def _inspect_image(path: Path, kind: str, limits: CaptureConfig) -> int:
    with _open(path, kind, limits) as image:
        pages = 0
        try:
            for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
                _check_pages(number, limits)
                _check_pixels(frame.width, frame.height, number, limits)
                pages = number
            # Single-image files are cheap to decode in full: catches truncation now
            # rather than in a worker later. Multi-page TIFFs are decoded page by page.
            if pages == 1:
                image.seek(0)
                image.load()
        except BadInputError:
            raise
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise CorruptFile(f"the {kind.upper()} file is truncated or damaged: {scrub(str(exc), path)}") from exc
    _check_pages(pages, limits)
    return pages


def load_page(source: SourceFile, number: int, limits: CaptureConfig) -> tuple[Image.Image, int]:
    """Page ``number`` (1-based) of ``source`` as a Pillow image and its resolution in dpi."""
    if not 1 <= number <= source.page_count:
        raise ValueError(f"page {number} is not in 1..{source.page_count}")
    if source.format == "pdf":
        return _load_pdf_page(source, number, limits)
    with _open(source.path, source.format, limits) as image:
        try:
            image.seek(number - 1)
            _check_pixels(image.width, image.height, number, limits)
            stated = image.info.get("dpi")
            page = _normalise_mode(image)
        except BadInputError:
            raise
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise CorruptFile(f"page {number} cannot be decoded: {scrub(str(exc), source.path)}") from exc
    stated_dpi = float(stated[0]) if stated else None
    return page, resolution(page.width, page.height, stated_dpi)


def _load_pdf_page(source: SourceFile, number: int, limits: CaptureConfig) -> tuple[Image.Image, int]:
    info = poppler.info(source.path, first=number, last=number, timeout=limits.page_timeout_s)
    render_dpi, dpi = _pdf_dpi(info.sizes[0], limits)
    colour, bilevel = "rgb", False
    scan = _page_scan(source, number, info.sizes[0], limits)
    if scan is not None:
        if scan.ppi < render_dpi:  # never upsample a scan: the OCR copy is resampled later anyway
            render_dpi, dpi = scan.ppi, _round_dpi(dpi * scan.ppi / render_dpi)
        # Render grey or bilevel scans as such: a third of the pixels to move and convert.
        bilevel = scan.bits == 1 and scan.ppi == render_dpi
        # Never pdftoppm -mono: on a 1-bit scan drawn at its own resolution it returns
        # different pixels on every run (poppler 22, uninitialised memory). Render grey and
        # make it bilevel here, which is deterministic.
        colour = "gray" if bilevel or scan.colour == "gray" else "rgb"
    # Room for the rendered page three times over plus poppler's own needs.
    memory_mb = int(limits.max_megapixels * 3 * 3 + 512)
    image = poppler.render(source.path, number, dpi=render_dpi, timeout=limits.page_timeout_s,
                            memory_mb=memory_mb, colour=colour)  # fmt: skip
    if bilevel:
        return image.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE), dpi
    return (_as_scanned(image) if image.mode == "RGB" else image), dpi


def _page_scan(
    source: SourceFile, number: int, size_pt: tuple[float, float], limits: CaptureConfig
) -> poppler.PdfImage | None:
    """The scanned image that is the whole page, when the page is one image (as scanners make)."""
    found = poppler.images(source.path, number, timeout=limits.page_timeout_s)
    if len(found) != 1 or found[0].ppi <= 0:
        return None
    scan = found[0]
    covered = max(scan.width, scan.height) / scan.ppi * PT_PER_INCH / max(size_pt)
    return scan if covered > 0.9 else None


def _pdf_dpi(size_pt: tuple[float, float], limits: CaptureConfig) -> tuple[int, int]:
    """(dpi to render at, resolution of the result on paper) for a page of ``size_pt``.

    A scan placed on a page of the wrong size is rendered at no more pixels than the
    paper needs at the work resolution: never upsampled beyond what was scanned.
    """
    scale = paper_scale(size_pt[0] / PT_PER_INCH, size_pt[1] / PT_PER_INCH)
    render_dpi = round(limits.work_dpi * min(1.0, scale))
    return render_dpi, _round_dpi(render_dpi / scale)


def _normalise_mode(image: Image.Image) -> Image.Image:
    """Decode the current frame into memory as mode "1", "L" or "RGB"."""
    image.load()
    mode = image.mode
    if mode in ("1", "L", "RGB"):
        return image.copy()
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        page = Image.new("RGBA", rgba.size, "white")
        page.alpha_composite(rgba)
        return _as_scanned(page.convert("RGB"))
    if mode.startswith("I") or mode == "F":
        # 16-bit and float scans: keep the top 8 bits of the range actually used.
        return image.point(lambda v: v / 256).convert("L") if mode.startswith("I;16") else image.convert("L")
    return _as_scanned(image.convert("RGB"))


def _as_scanned(image: Image.Image) -> Image.Image:
    """An RGB render of a grey or bilevel scan back in mode "L" or "1"."""
    import numpy as np

    array = np.asarray(image)
    sample = array[::7, ::7].astype(np.int16)
    chroma = np.abs(sample - sample[..., :1]).max(axis=2)
    if np.percentile(chroma, 99.9) > 6:
        return image
    grey = image.convert("L")
    levels = np.asarray(grey)[::7, ::7]
    if np.count_nonzero((levels > 0) & (levels < 255)) == 0:
        return grey.convert("1", dither=Image.Dither.NONE)
    return grey


def paper_scale(width_in: float, height_in: float) -> float:
    """How much larger the paper really is than ``width_in`` × ``height_in`` inches says.

    1.0 when the size is a paper size (or unrecognisable); otherwise, when the proportions
    are those of A4 or Letter, the factor that makes it that paper. Scanners often write
    72 or 96 dpi (or nothing) whatever they scanned at, and PDF makers size pages from it.
    """
    short, long = sorted((width_in, height_in))
    if any(abs(long / p[1] - 1) < 0.04 and abs(short / p[0] - 1) < 0.04 for p in PAPERS_IN):
        return 1.0
    for paper_short, paper_long in PAPERS_IN[:2]:  # A4, Letter
        along, across = paper_long / long, paper_short / short
        if abs(along / across - 1) < 0.025:
            return (along + across) / 2
    return 1.0


def resolution(width: int, height: int, stated: float | None) -> int:
    """The scan resolution: the stated one when believable, else inferred from the paper."""
    if not stated or not _DPI_RANGE[0] <= stated <= _DPI_RANGE[1]:
        stated = max(width, height) / PAPERS_IN[0][1]  # nothing to go on: assume A4
    dpi = stated / paper_scale(width / stated, height / stated)
    if round(dpi) != round(stated):
        log.debug("%dx%d px: stated %.0f dpi is no paper size; taking %.0f dpi", width, height, stated, dpi)
    return _round_dpi(dpi)


def _round_dpi(dpi: float) -> int:
    for common in (150, 200, 240, 300, 400, 600):
        if abs(dpi / common - 1) < 0.03:
            return common
    return max(1, round(dpi))
