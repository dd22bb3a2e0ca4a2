"""Build a form template from its blank PDF: identifying text per page, plus zones."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from intake.poppler import PdfLine
from intake.routing.templates import Template, Zone, blank_text
from intake.units import A4_MM

log = logging.getLogger(__name__)

# The bands that identify a page: the header (authority, title, code, intro text) and the
# footer (form code and version, page x (n)). Customers write in neither, and a classifier
# only needs to read these strips, not the whole page.
HEADER_MAX = 0.16
FOOTER_MIN = 0.88
LABEL_CLEARANCE_MM = 10.0


def header_end(zones: list[Zone], page: int) -> float:
    """Where a page's header band ends (mm): above the first field and its label."""
    tops = [zone.box[1] for zone in zones if zone.page == page]
    limit = HEADER_MAX * A4_MM[1]
    if tops:
        limit = min(limit, min(tops) - LABEL_CLEARANCE_MM)
    return max(limit, 0.08 * A4_MM[1])


def identifying_lines(printed: list[PdfLine], zones: list[Zone], page: int) -> list[str]:
    """The printed lines of ``page`` that lie in its header or footer band."""
    top = header_end(zones, page)
    bottom = FOOTER_MIN * A4_MM[1]
    return [line.text for line in printed if line.page == page and (line.y1 <= top or line.y0 >= bottom)]


def build_template(
    blank_pdf: Path,
    /,
    *,
    form_id: str,
    authority: str,
    code: str,
    language: str,
    title: str,
    zones: list[dict[str, Any]],
) -> Template:
    """A validated template for ``blank_pdf`` with the given zones."""
    printed = blank_text(blank_pdf)
    pages = max((line.page for line in printed), default=1)
    parsed = [Zone.model_validate(zone) for zone in zones]
    identify = [
        {"page": page, "text": " ".join(identifying_lines(printed, parsed, page))} for page in range(1, pages + 1)
    ]
    return Template.model_validate(
        {
            "id": form_id, "authority": authority, "code": code, "language": language,
            "title": title, "pages": pages, "blank_pdf": blank_pdf.name,
            "identify": identify, "zones": parsed, "folder": blank_pdf.parent,
        }
    )  # fmt: skip


def write_template(template: Template, folder: Path) -> Path:
    """Write ``template`` and a copy of its blank PDF into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{template.id}.json"
    if template.blank_path.resolve() != (folder / template.blank_pdf).resolve():
        shutil.copyfile(template.blank_path, folder / template.blank_pdf)
    tmp = target.with_suffix(".tmp")
    tmp.write_text(_editable_json(template), encoding="utf-8")
    tmp.replace(target)
    return target


def _editable_json(template: Template) -> str:
    """The template as JSON with one zone per line, so an administrator can review and rename."""
    data = template.model_dump(mode="json", exclude={"folder"}, exclude_none=True)
    zones = data.pop("zones")
    head = json.dumps(data, ensure_ascii=False, indent=1)[:-2]  # without the closing brace
    rows = ",\n".join("  " + json.dumps(zone, ensure_ascii=False) for zone in zones)
    return f'{head},\n "zones": [\n{rows}\n ]\n}}\n'


# Short words that only one of the two languages prints on a form, folded to ASCII.
_MARKERS = {
    "fi": {"ja", "tai", "sekä", "on", "ei", "jos", "lomake", "lomakkeen", "hakemus", "päivämäärä",
           "allekirjoitus", "nimenselvennys", "osoite", "henkilötunnus", "täytä", "liitteet"},
    "sv": {"och", "eller", "för", "till", "av", "med", "om", "är", "på", "blanketten", "ansökan", "datum",
           "underskrift", "namnförtydligande", "adress", "personbeteckning", "fyll", "bilagor"},
}  # fmt: skip


def detect_language(printed: list[PdfLine]) -> str:
    """The language a form is printed in (fi or sv), by words only one of them uses.

    Swedish forms of bilingual authorities still print the Finnish name in their header,
    so the whole page is counted, not its first line.
    """
    words = [word.strip(".,:;()?!–-").lower() for line in printed for word in line.text.split()]
    counts = {language: sum(word in markers for word in words) for language, markers in _MARKERS.items()}
    return "sv" if counts["sv"] > counts["fi"] else "fi"


def existing_ids(folder: Path | None) -> set[str]:
    """Ids of the forms intake already knows (bundled, and in ``folder``), read from disk now."""
    from intake.routing.templates import BUNDLED, load_template

    folders = [BUNDLED] + ([folder] if folder is not None and folder.is_dir() else [])
    return {load_template(path).id for where in folders for path in sorted(where.glob("*.json"))}


def _default_id(authority: str, code: str, language: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", f"{authority} {code} {language}".lower()).strip("-")
    return slug or "form"


def detect_template(
    blank_pdf: Path,
    /,
    *,
    authority: str,
    code: str,
    language: str | None = None,
    form_id: str | None = None,
    title: str | None = None,
) -> Template:
    """A template for ``blank_pdf`` alone: zones found in its printed layout, named from its labels.

    Zones whose label means a field of the common vocabulary get its canonical name; the
    language, unless given, is detected from the printed text.
    """
    from intake.routing.authoring.zonefind import find_zones  # renders pages: only needed here

    printed = blank_text(blank_pdf)
    if language is None:
        language = detect_language(printed)
    pages = max((line.page for line in printed), default=1)
    zones = find_zones(blank_pdf, printed, pages)
    if title is None:
        # The title is printed in the largest type of the first page's header band.
        header = [line for line in printed if line.page == 1 and line.y1 <= HEADER_MAX * A4_MM[1]]
        title = max(header, key=lambda line: line.y1 - line.y0).text if header else blank_pdf.stem
    return build_template(
        blank_pdf,
        form_id=form_id if form_id is not None else _default_id(authority, code, language),
        authority=authority, code=code, language=language, title=title,
        zones=[zone.model_dump(mode="json", exclude_none=True) for zone in zones],
    )  # fmt: skip
