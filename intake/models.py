"""Typed results passed between the stages: capture → ocr → routing → transport."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from intake.names import shown

# An affine map from a form template's millimetres to the page's millimetres (both from
# the top-left corner): (a, b, c, d, e, f) takes (x, y) to (a·x + b·y + c, d·x + e·y + f).
Placement = tuple[float, float, float, float, float, float]


class Status(StrEnum):
    """What happened to a document."""

    QUEUED = "queued"  # accepted and in the outbox (or would be, with --dry-run)
    REVIEW = "review"  # held for the advisor: intake is not sure
    REJECTED = "rejected"  # the input could not be processed (quarantined)
    FAILED = "failed"  # processed again, but its package failed earlier: reason says why and how to retry


@dataclass(frozen=True)
class SourceFile:
    """One input file as it arrived from the scanner; never modified."""

    path: Path
    sha256: str
    size: int
    format: str  # "pdf", "tiff", "jpeg", "png"
    page_count: int
    modified: dt.datetime | None = None  # the file's mtime: when the scanner wrote it

    @property
    def scan_date(self) -> dt.date:
        """The day the paper was scanned (today when the file's time is unknown)."""
        return (self.modified or dt.datetime.now()).date()


@dataclass
class CleanPage:
    """A page after capture: upright, deskewed, with an OCR-ready copy.

    ``image`` is the faithful colour/grey copy kept for the package; ``ocr_image`` is an
    8-bit grey image at ``dpi`` (normalised) for recognition.
    """

    number: int  # 1-based page number within the source file
    image: Any  # PIL.Image.Image, the archival copy (upright, deskewed)
    ocr_image: Any  # PIL.Image.Image, mode "L"
    dpi: int  # resolution of ``ocr_image``
    archive_dpi: int  # resolution of ``image``
    rotation: int  # degrees the page was turned (counter-clockwise) to make it upright
    skew: float  # degrees of skew that was removed
    blank: bool = False
    orientation_confident: bool = True
    flags: list[str] = field(default_factory=list)
    separator: bool = False  # a batch separator sheet (a large barcode or QR code, nothing else)


@dataclass(frozen=True)
class PageIdentity:
    """Which form page a scanned page is, as far as classification can tell."""

    form_id: str | None  # None: no known form
    page: int  # 1-based page of that form (0 when unknown)
    score: float  # 0..1 calibrated confidence
    reason: str  # human-readable evidence
    runner_up: str | None = None


@dataclass(frozen=True)
class FieldValue:
    """One field as read from the page, normalised and validated."""

    value: str | None
    confidence: float  # 0..1
    valid: bool | None  # None: no validator for this kind, or no reading clearly won
    raw: str | None = None
    candidates: tuple[str, ...] = ()  # readings that pass the field's rules, best first

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"value": self.value, "confidence": round(self.confidence, 3), "valid": self.valid}
        if self.candidates:
            data["candidates"] = list(self.candidates)
        return data


@dataclass
class PageAnalysis:
    """Everything the per-page work (in a worker process) found about one page."""

    number: int
    identity: PageIdentity
    blank: bool
    rotation: int
    skew: float
    orientation_confident: bool
    flags: list[str]
    fields: dict[str, FieldValue]
    checkboxes: dict[str, bool]
    archive_path: Path | None  # the cleaned archival image, in the work folder
    archive_dpi: int
    seconds: dict[str, float] = field(default_factory=dict)  # per stage
    separator: bool = False  # a separator sheet: it ends a document and is dropped
    placement: Placement | None = None  # where the form's template lies on the archival image
    crops: dict[str, Path] = field(default_factory=dict)  # each field's box as an image, in the work folder


@dataclass(frozen=True)
class Route:
    """Where a document goes, and the rule that said so."""

    rule: str | None
    destination: str | None  # the registry address
    reason: str
    target: str | None = None  # the [destinations] key
    place: str | None = None  # code of the customer's municipality, when the route was decided by it


@dataclass
class Document:
    """One document found in a source file: one filled form (or an unknown one)."""

    source: SourceFile
    pages: list[PageAnalysis]
    form_id: str | None
    authority: str | None = None
    code: str | None = None
    language: str | None = None
    confidence: float = 0.0
    fields: dict[str, FieldValue] = field(default_factory=dict)
    checkboxes: dict[str, bool] = field(default_factory=dict)
    blank_pages: list[int] = field(default_factory=list)
    separator_pages: list[int] = field(default_factory=list)
    status: Status = Status.REVIEW
    reason: str | None = None
    route: Route | None = None
    package_id: str | None = None
    store_id: str | None = None  # the document's id in the store (random), for the desk and 'intake review'
    scanned: dt.date | None = None  # the scan date that dated rules are decided by (None: the file's)
    place_override: str | None = None  # the customer's municipality as the advisor gave it (proven by them)

    @property
    def scan_date(self) -> dt.date:
        return self.scanned or self.source.scan_date

    @property
    def page_numbers(self) -> list[int]:
        return [page.number for page in self.pages]

    def to_json(self) -> dict[str, Any]:
        return {
            "source": {
                "file": shown(self.source.path),  # one line, valid UTF-8
                "sha256": self.source.sha256,
                "pages": self.page_numbers,
            },
            "status": str(self.status),
            "authority": self.authority,
            "form": {"id": self.form_id, "code": self.code, "language": self.language},
            "confidence": round(self.confidence, 3),
            "scanned": self.scan_date.isoformat(),
            "route": {
                "rule": self.route.rule if self.route else None,
                "destination": self.route.destination if self.route else None,
                "reason": self.route.reason if self.route else None,
            },
            "fields": {name: value.to_json() for name, value in self.fields.items()},
            "checkboxes": dict(self.checkboxes),
            "blank_pages": list(self.blank_pages),
            "separator_pages": list(self.separator_pages),
            "reason": self.reason,
            "package": self.package_id,
            "stored": self.store_id,
        }


@dataclass
class Rejection:
    """A file that could not be processed at all; it has been quarantined."""

    path: Path
    sha256: str | None
    code: str
    reason: str
    quarantined_to: Path | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "source": {"file": shown(self.path), "sha256": self.sha256, "pages": []},
            "status": str(Status.REJECTED),
            "authority": None,
            "form": {"id": None, "code": None, "language": None},
            "confidence": 0.0,
            "route": {"rule": None, "destination": None, "reason": None},
            "fields": {},
            "checkboxes": {},
            "blank_pages": [],
            "reason": f"{self.code}: {self.reason}",
            "quarantined_to": str(self.quarantined_to) if self.quarantined_to else None,
        }
