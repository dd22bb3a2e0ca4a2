"""What the PDF's invisible text layer says, and where: what intake already knows, no new OCR.

Per page of a known form: the form's printed text, taken from its blank PDF, and the
values read from its fields, each laid over its box. Both are in template millimetres;
the page's placement (from registration) puts them where they are on the scan.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from intake.models import FieldValue, PageAnalysis, Placement
from intake.poppler import PdfLine
from intake.routing.templates import FieldKind, Template, blank_text
from intake.transport._font import text_font

log = logging.getLogger(__name__)

UNPLACED: Placement = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)  # a page that did not register: take it as the template
VALUE_SIZE = 0.6  # a value's letters, as a share of its line's height
VALUE_BASELINE = 0.8  # where a value's baseline lies in its line, from the top
WRITING_LINE_MM = 8.0  # the pitch of the writing lines in the forms' free-text boxes
_NOT_TEXT = {FieldKind.CHECKBOX, FieldKind.SIGNATURE}


@dataclass(frozen=True)
class TextRun:
    """One line of text and the box it covers, in template millimetres from the top-left."""

    text: str
    box: tuple[float, float, float, float]  # x, y, width, height
    printed: bool  # the form's own text (fills its box) rather than a value written in a field


@dataclass(frozen=True)
class PageText:
    """The text layer of one page."""

    runs: tuple[TextRun, ...]
    placement: Placement  # template mm -> page mm


def page_texts(
    pages: Sequence[PageAnalysis], /, *, fields: Mapping[str, FieldValue], templates: Sequence[Template]
) -> list[PageText]:
    """One text layer per page; a page of no known form gets an empty one."""
    by_id = {template.id: template for template in templates}
    found = []
    for page in pages:
        template = by_id.get(page.identity.form_id or "")
        if template is None or page.identity.page < 1:
            found.append(PageText((), UNPLACED))
            continue
        runs = printed_runs(template.blank_path, page.identity.page) + value_runs(template, page.identity.page, fields)
        found.append(PageText(runs, page.placement or UNPLACED))
    return found


def printed_runs(blank_pdf: Path, page: int) -> tuple[TextRun, ...]:
    """The printed lines of one page of a blank form."""
    return tuple(
        TextRun(line.text, (line.x0, line.y0, line.x1 - line.x0, line.y1 - line.y0), printed=True)
        for line in _blank_lines(blank_pdf)
        if line.page == page and line.x1 > line.x0 and line.y1 > line.y0
    )


@cache
def _blank_lines(blank_pdf: Path) -> tuple[PdfLine, ...]:
    # One pdftotext run per blank form and process: a few tens of milliseconds, once.
    return tuple(blank_text(blank_pdf))


def value_runs(template: Template, page: int, fields: Mapping[str, FieldValue]) -> tuple[TextRun, ...]:
    """Each field value read on this page, laid over its zone; a free-text box gets it line by line."""
    runs = []
    for zone in template.zones_on(page):
        value = fields.get(zone.name)
        if zone.kind in _NOT_TEXT or value is None or not value.value:
            continue
        x, y, width, height = zone.box
        lines = [" ".join(value.value.split())]
        step = height
        if zone.kind is FieldKind.MULTILINE:
            lines = _wrap(value.value, width)
            step = height / max(len(lines), round(height / WRITING_LINE_MM), 1)
        runs += [TextRun(line, (x, y + i * step, width, step), printed=False) for i, line in enumerate(lines)]
    return tuple(runs)


def _wrap(text: str, width: float) -> list[str]:
    """``text`` broken into lines of the box's width, as a hand fills a free-text box.

    Fields read such a box as one string; laid on a single line it would span the box's
    full height. Words go on a line while they fit at the size of a value on a writing
    line (when they need more lines than the box has, the lines share its height).
    """
    size = WRITING_LINE_MM * VALUE_SIZE
    font = text_font()
    lines: list[str] = []
    for word in text.split():
        if lines and font.width(f"{lines[-1]} {word}") * size <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines
