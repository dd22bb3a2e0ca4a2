"""Form templates: what identifies each form, and where its fields and checkboxes are."""

from __future__ import annotations

import json
import logging
from enum import StrEnum
from functools import cache
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from intake import poppler
from intake.errors import BadInputError, TemplateError
from intake.units import A4_MM

log = logging.getLogger(__name__)

BUNDLED = Path(__file__).resolve().parents[1] / "templates"


class FieldKind(StrEnum):
    TEXT = "text"
    MULTILINE = "multiline"
    HETU = "hetu"
    YTUNNUS = "ytunnus"
    IBAN = "iban"
    DATE = "date"
    POSTAL = "postal"
    AMOUNT = "amount"
    EMAIL = "email"
    PHONE = "phone"
    CHECKBOX = "checkbox"
    SIGNATURE = "signature"


class Zone(BaseModel):
    """A field or checkbox: its kind, printed label and box in mm from the page's top-left."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    kind: FieldKind
    label: str = ""
    page: int = Field(ge=1)
    box: tuple[float, float, float, float]
    cells: int | None = Field(None, ge=1, le=64, description="comb field: one box per character")

    @model_validator(mode="after")
    def _inside_page(self) -> Zone:
        x, y, w, h = self.box
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > A4_MM[0] + 1 or y + h > A4_MM[1] + 1:
            raise ValueError(f"box {self.box} of {self.name!r} is not inside an A4 page")
        return self


class IdentifyingText(BaseModel):
    """Printed text that identifies one page of the form (header and footer bands)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    page: int = Field(ge=1)
    text: str = Field(min_length=3)


class Template(BaseModel):
    """One form: identity, identifying text per page, and zones."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    authority: str = Field(pattern=r"^[A-Z][A-Z0-9_-]*$", description="the owner printed on the form")
    code: str
    language: str = Field(pattern=r"^(fi|sv)$")
    title: str
    pages: int = Field(ge=1, le=50)
    blank_pdf: str
    identify: list[IdentifyingText]
    zones: list[Zone]
    folder: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> Template:
        names = [zone.name for zone in self.zones]
        duplicates = {name for name in names if names.count(name) > 1}
        if duplicates:
            raise ValueError(f"zone names used twice: {', '.join(sorted(duplicates))}")
        for zone in self.zones:
            if zone.page > self.pages:
                raise ValueError(f"zone {zone.name!r} is on page {zone.page} of a {self.pages}-page form")
        missing = set(range(1, self.pages + 1)) - {item.page for item in self.identify}
        if missing:
            raise ValueError(f"no identifying text for page(s) {sorted(missing)}")
        return self

    @property
    def blank_path(self) -> Path:
        return (self.folder or BUNDLED) / self.blank_pdf

    def zones_on(self, page: int) -> list[Zone]:
        return [zone for zone in self.zones if zone.page == page]

    def identifying_text(self, page: int) -> str:
        return " ".join(item.text for item in self.identify if item.page == page)


def load_template(path: Path) -> Template:
    """Read and validate one template file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        template = Template.model_validate({**data, "folder": path.parent})
    except (OSError, json.JSONDecodeError) as exc:
        raise TemplateError(f"cannot read: {exc}", template=str(path)) from exc
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        raise TemplateError(f"{key}: {error['msg']}", template=str(path)) from exc
    if not template.blank_path.is_file():
        raise TemplateError(f"blank form {template.blank_pdf} not found", template=str(path))
    return template


@cache
def load_templates(extra: Path | None = None) -> tuple[Template, ...]:
    """The bundled templates plus those in ``extra``; an id in ``extra`` replaces a bundled one."""
    found: dict[str, Template] = {}
    for folder in (BUNDLED, extra):
        if folder is None:
            continue
        for path in sorted(folder.glob("*.json")):
            template = load_template(path)
            found[template.id] = template
    if not found:
        raise TemplateError(f"no templates found in {BUNDLED}")
    log.debug("loaded %d templates", len(found))
    return tuple(found.values())


def render_blank(blank_pdf: Path, page: int, *, dpi: int) -> np.ndarray:
    """A page of a blank form rendered grey at ``dpi`` (8-bit array)."""
    try:
        image = poppler.render(blank_pdf, page, dpi=dpi, timeout=60, memory_mb=1024, colour="gray")
    except BadInputError as exc:
        raise TemplateError(f"cannot render page {page}: {exc}", template=str(blank_pdf)) from exc
    return np.asarray(image.convert("L"))


def blank_text(blank_pdf: Path) -> list[poppler.PdfLine]:
    """The printed text lines of a blank form."""
    try:
        return poppler.text_lines(blank_pdf)
    except BadInputError as exc:
        raise TemplateError(f"cannot read its text: {exc}", template=str(blank_pdf)) from exc
