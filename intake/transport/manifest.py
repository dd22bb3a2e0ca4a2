"""The manifest.json a receiving agency's case system reads: one pydantic model, and its shipped JSON Schema.

``manifest.schema.json`` beside this module is generated from ``Manifest``
(``python -m tools.manifest_schema`` writes it; a test checks that it is current), so an
agency can validate what it receives without reading Python.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from intake.models import Document, FieldValue

SCHEMA_NAME: Final = "intake-manifest"
SCHEMA_VERSION: Final = 2  # 2: PDF/A-2b with a text layer; no field candidates; the PDF's conformance
SCHEMA_PATH = Path(__file__).with_name("manifest.schema.json")
_SHA256 = r"^[0-9a-f]{64}$"
_UUID = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


class _Part(BaseModel):
    # The schema describes the JSON intake writes, where every key is always present.
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_serialization_defaults_required=True)


class ManifestSource(_Part):
    """The scanned file the document came from (by hash: its name may carry a person's name)."""

    sha256: str = Field(pattern=_SHA256)
    pages: list[int] = Field(min_length=1, description="pages of the scanned file in this document, 1-based")
    blank_pages_dropped: list[int]
    separator_pages_dropped: list[int]


class ManifestForm(_Part):
    """Which form it is, as its owner prints it (code as on the paper, e.g. 'SV 8')."""

    id: str | None
    code: str | None
    language: str | None


class ManifestRoute(_Part):
    """The routing rule that sent the document here, and why."""

    rule: str | None
    destination: str | None = Field(description="the destination's key in the service point's routing table")
    agency: str | None = Field(description="the receiving agency's key, when the table names it")
    municipality: str | None = Field(description="code of the customer's municipality, when routing used it")
    reason: str | None


class ManifestField(_Part):
    """A field as read.

    "valid" is true only when a check character proves the value, false when the value
    breaks its kind's rules, and null when it cannot be told. Readings that lost (for the
    advisor to choose from) are not carried: a losing henkilötunnus reading may be
    another person's valid code.
    """

    value: str | None
    confidence: float = Field(ge=0, le=1)
    valid: bool | None


class ManifestPdf(_Part):
    """The PDF attachment (PDF/A-2b) and how to check that it is the one that was sent."""

    filename: str
    sha256: str = Field(pattern=_SHA256)
    size: int = Field(ge=1)
    pages: int = Field(ge=1)
    conformance: Literal["PDF/A-2B"] = "PDF/A-2B"


class Manifest(_Part):
    """What intake knows about one delivered document."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_serialization_defaults_required=True,
        title="intake package manifest",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    schema_name: Literal["intake-manifest"] = Field(SCHEMA_NAME, alias="schema")
    schema_version: Literal[2] = SCHEMA_VERSION
    package_id: str = Field(pattern=_UUID, description="also the PDF's document ID (xmpMM:DocumentID)")
    message_id: str = Field(description="the e-mail's Message-ID: receivers deduplicate on it")
    created: AwareDatetime
    service_point: str
    recipient: str
    source: ManifestSource
    authority: str | None
    form: ManifestForm
    confidence: float = Field(ge=0, le=1)
    scanned: dt.date = Field(description="the scan date that dated routing rules were decided by")
    route: ManifestRoute
    fields: dict[str, ManifestField] = Field(description="by the common field names (hetu, postal_code, …)")
    checkboxes: dict[str, bool]
    pdf: ManifestPdf

    def to_json(self) -> bytes:
        """The manifest.json attachment, byte for byte."""
        data = self.model_dump(mode="json", by_alias=True)
        return json.dumps(data, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


def describe(
    document: Document, /, *, package_id: str, message_id: str, created: dt.datetime, service_point: str,
    recipient: str, pdf: ManifestPdf, agency: str | None = None,
) -> Manifest:  # fmt: skip
    """The manifest of ``document``; the scanner's file name is left out (advisors name scans after people)."""
    route = document.route
    return Manifest(
        package_id=package_id, message_id=message_id, created=created, service_point=service_point,
        recipient=recipient,
        source=ManifestSource(
            sha256=document.source.sha256, pages=document.page_numbers,
            blank_pages_dropped=list(document.blank_pages), separator_pages_dropped=list(document.separator_pages),
        ),
        authority=document.authority,
        form=ManifestForm(id=document.form_id, code=document.code, language=document.language),
        confidence=round(document.confidence, 3),
        scanned=document.scan_date,
        route=ManifestRoute(
            rule=route.rule if route else None, destination=route.target if route else None, agency=agency,
            municipality=route.place if route else None, reason=route.reason if route else None,
        ),
        fields={name: _field(value) for name, value in document.fields.items()},
        checkboxes=dict(document.checkboxes),
        pdf=pdf,
    )  # fmt: skip


def _field(value: FieldValue) -> ManifestField:
    return ManifestField(value=value.value, confidence=round(value.confidence, 3), valid=value.valid)


def json_schema() -> str:
    """The JSON Schema of the manifest, as shipped in ``manifest.schema.json``."""
    schema = Manifest.model_json_schema(by_alias=True, mode="serialization")
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
