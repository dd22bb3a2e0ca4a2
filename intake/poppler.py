"""The one thin wrapper around poppler (pdfinfo, pdfimages, pdftoppm, pdftotext): call with limits, parse, map errors.

Every PDF intake reads goes through here, scans and blank forms alike; errors are
BadInputError leaves (a blank form's caller maps them to TemplateError).
"""

from __future__ import annotations

import io
import re
import resource
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from intake.errors import CorruptFile, EncryptedPdf, EnvironmentProblem, LimitExceeded
from intake.names import scrub
from intake.units import MM_PER_PT

_PAGES = re.compile(r"^Pages:\s+(\d+)", re.MULTILINE)
_SIZE = re.compile(r"^Page\s+(\d+) size:\s+([\d.]+) x ([\d.]+) pts", re.MULTILINE)
_ROT = re.compile(r"^Page\s+(\d+) rot:\s+(\d+)", re.MULTILINE)
_PASSWORD = ("Incorrect password", "encrypted")
# pdfimages -list: page num type width height color comp bpc enc interp object gen x-ppi y-ppi
_IMAGE = re.compile(
    r"^\s*\d+\s+\d+\s+image\s+(\d+)\s+(\d+)\s+(\S+)\s+\d+\s+(\d+)\s+\S+\s+\S+\s+\d+\s+\d+\s+(\d+)\s+(\d+)",
    re.MULTILINE,
)


@dataclass(frozen=True)
class PdfInfo:
    """What ``pdfinfo`` says about a PDF: page count and each page's size in points."""

    pages: int
    sizes: list[tuple[float, float]]  # (width, height) in points, as displayed


@dataclass(frozen=True)
class PdfLine:
    """A printed line of text; coordinates in mm from the page's top-left corner."""

    page: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass(frozen=True)
class PdfImage:
    """An image drawn on a page, as ``pdfimages -list`` reports it."""

    width: int
    height: int
    colour: str  # "gray", "rgb", "cmyk", "index", ...
    bits: int  # bits per component: 1 for a bilevel scan
    ppi: int  # the resolution at which one image pixel is one rendered pixel


def _limit_memory(megabytes: int) -> None:
    # Runs in the child before exec: a hostile PDF cannot take the machine's memory.
    limit = megabytes * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _run(args: list[str], *, timeout: float, memory_mb: int, what: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(
            args,
            capture_output=True,
            timeout=timeout,
            check=False,
            preexec_fn=lambda: _limit_memory(memory_mb),
        )
    except FileNotFoundError as exc:
        raise EnvironmentProblem(f"{args[0]} not found: apt-get install poppler-utils") from exc
    except subprocess.TimeoutExpired as exc:
        raise LimitExceeded(f"{what} took longer than {timeout:.0f} s") from exc


def _fail(result: subprocess.CompletedProcess[bytes], what: str, path: Path) -> None:
    # poppler quotes the path ("Couldn't open file '/scans/Matti ….pdf'"): never pass it on.
    message = scrub(result.stderr.decode("utf-8", "replace").strip(), path)
    if any(word in message for word in _PASSWORD):
        raise EncryptedPdf("the PDF is password-protected; ask for an unprotected copy")
    first = message.splitlines()[0][:200] if message else f"exit status {result.returncode}"
    raise CorruptFile(f"{what} failed, the PDF is damaged: {first}")


def info(path: Path, *, first: int = 1, last: int = 999_999, timeout: float, memory_mb: int = 512) -> PdfInfo:
    """Page count, and sizes of pages ``first``..``last``, of the PDF at ``path``."""
    args = ["pdfinfo", "-f", str(first), "-l", str(last), str(path)]
    result = _run(args, timeout=timeout, memory_mb=memory_mb, what="reading the PDF")
    text = result.stdout.decode("utf-8", "replace")
    if result.returncode != 0:
        _fail(result, "reading the PDF", path)
    count = _PAGES.search(text)
    if not count:
        raise CorruptFile("the PDF has no readable page tree")
    rotations = {int(n): int(r) for n, r in _ROT.findall(text)}
    sizes = []
    for number, width, height in _SIZE.findall(text):
        w, h = float(width), float(height)
        sizes.append((h, w) if rotations.get(int(number), 0) % 180 else (w, h))
    return PdfInfo(pages=int(count.group(1)), sizes=sizes)


def images(path: Path, number: int, *, timeout: float, memory_mb: int = 512) -> list[PdfImage]:
    """The images on page ``number``; empty when ``pdfimages`` cannot tell (it is only a hint)."""
    args = ["pdfimages", "-list", "-f", str(number), "-l", str(number), str(path)]
    result = _run(args, timeout=timeout, memory_mb=memory_mb, what=f"listing the images of page {number}")
    if result.returncode != 0:
        return []
    text = result.stdout.decode("utf-8", "replace")
    return [PdfImage(int(w), int(h), c, int(b), int(x)) for w, h, c, b, x, _ in _IMAGE.findall(text)]


def render(path: Path, number: int, *, dpi: int, timeout: float, memory_mb: int, colour: str = "rgb") -> Image.Image:
    """Page ``number`` (1-based) rendered by ``pdftoppm`` at ``dpi``, ``colour`` "rgb" or "gray"."""
    flags = {"rgb": [], "gray": ["-gray"]}[colour]
    args = ["pdftoppm", *flags, "-r", str(dpi), "-f", str(number), "-l", str(number), str(path)]
    result = _run(args, timeout=timeout, memory_mb=memory_mb, what=f"rendering page {number}")
    if result.returncode != 0 or not result.stdout:
        _fail(result, f"rendering page {number}", path)
    try:
        image = Image.open(io.BytesIO(result.stdout), formats=["PPM"])
        image.load()
    except (OSError, SyntaxError) as exc:
        raise CorruptFile(f"page {number} could not be rendered: {exc}") from exc
    return image


_XHTML = "{http://www.w3.org/1999/xhtml}"


def text_lines(path: Path, *, timeout: float = 60, memory_mb: int = 512) -> list[PdfLine]:
    """Every printed text line of every page (``pdftotext -bbox-layout``), in reading order."""
    result = _run(["pdftotext", "-bbox-layout", str(path), "-"], timeout=timeout, memory_mb=memory_mb,
                  what="reading the PDF's text")  # fmt: skip
    if result.returncode != 0:
        _fail(result, "reading the PDF's text", path)
    try:
        root = ET.fromstring(result.stdout)
    except ET.ParseError as exc:
        raise CorruptFile(f"unreadable pdftotext output: {exc}") from exc
    found = []
    for number, page in enumerate(root.iter(f"{_XHTML}page"), start=1):
        for line in page.iter(f"{_XHTML}line"):
            text = " ".join((word.text or "").strip() for word in line.iter(f"{_XHTML}word")).strip()
            if text:
                box = [float(line.get(key, 0)) * MM_PER_PT for key in ("xMin", "yMin", "xMax", "yMax")]
                found.append(PdfLine(number, text, *box))
    return found
