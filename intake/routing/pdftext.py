"""Thin wrapper around poppler's ``pdftotext -bbox-layout``: the printed words of a PDF."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from intake.errors import EnvironmentProblem, TemplateError

_NS = "{http://www.w3.org/1999/xhtml}"
MM_PER_PT = 25.4 / 72


@dataclass(frozen=True)
class PdfLine:
    """A printed line of text; coordinates in mm from the page's top-left corner."""

    page: int
    text: str
    x0: float
    y0: float
    x1: float
    y1: float


def lines(pdf: Path, *, timeout: float = 60) -> list[PdfLine]:
    """Every text line of every page of ``pdf``, in reading order."""
    try:
        proc = subprocess.run(
            ["pdftotext", "-bbox-layout", str(pdf), "-"],
            capture_output=True, timeout=timeout, check=False,
        )  # fmt: skip
    except FileNotFoundError as exc:
        raise EnvironmentProblem("pdftotext not found: apt-get install poppler-utils") from exc
    except subprocess.TimeoutExpired as exc:
        raise TemplateError(f"pdftotext timed out after {timeout:.0f} s", template=str(pdf)) from exc
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip()[:200]
        raise TemplateError(f"pdftotext failed: {message}", template=str(pdf))
    try:
        root = ET.fromstring(proc.stdout)
    except ET.ParseError as exc:
        raise TemplateError(f"unreadable pdftotext output: {exc}", template=str(pdf)) from exc
    found = []
    for number, page in enumerate(root.iter(f"{_NS}page"), start=1):
        for line in page.iter(f"{_NS}line"):
            text = " ".join((word.text or "").strip() for word in line.iter(f"{_NS}word")).strip()
            if text:
                box = [float(line.get(key, 0)) * MM_PER_PT for key in ("xMin", "yMin", "xMax", "yMax")]
                found.append(PdfLine(number, text, *box))
    return found
