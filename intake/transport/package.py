"""Build the package a receiving agency gets: PDF + manifest in a signed, encrypted e-mail."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import itertools
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from PIL import Image

from intake.config import Destination, TransportConfig
from intake.durable import write_durably
from intake.errors import PackageError
from intake.models import Document, PageAnalysis
from intake.routing.templates import Template, load_templates
from intake.transport import _smime
from intake.transport.manifest import ManifestPdf, describe
from intake.transport.pdfa import PdfMetadata, archive_grade
from intake.transport.textlayer import page_texts

log = logging.getLogger(__name__)

JPEG_QUALITY = 85
_IMAGE_FORMATS = ["PNG", "TIFF", "JPEG"]


@dataclass(frozen=True)
class Package:
    """One document ready to send; ``message`` is the exact bytes that go on the wire."""

    package_id: str
    created: dt.datetime
    sender: str
    recipient: str
    message_id: str
    subject: str
    pdf: bytes
    manifest: dict[str, Any]
    manifest_json: bytes  # the manifest.json attachment, byte for byte
    message: bytes
    signed: bool
    encrypted: bool
    certificate: str | None = None  # SHA-256 fingerprint of the certificate it is encrypted to

    @property
    def pdf_name(self) -> str:
        return f"{self.package_id}.pdf"

    @property
    def manifest_name(self) -> str:
        return f"{self.package_id}.manifest.json"


def build_package(
    document: Document,
    /,
    *,
    destination: Destination,
    config: TransportConfig,
    templates: Sequence[Template] | None = None,
    now: dt.datetime | None = None,
) -> Package:
    """Render the pages to PDF/A, describe them in a manifest, and seal both in an e-mail.

    ``templates`` are the forms the document may be (default: the bundled ones); the
    PDF's text layer takes each page's printed text from its form. The message is signed
    with the service point's key (if configured), then encrypted to the destination's
    certificate. Raises PackageError when the destination has no certificate but
    encryption is required, or when a page image cannot be read.
    """
    if destination.certificate is None and config.smime.require_encryption:
        raise PackageError(
            f"destination {destination.address} has no S/MIME certificate and "
            "transport.smime.require_encryption is on: add the agency's certificate "
            "to the destination in the configuration"
        )
    created = (now if now is not None else dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    package_id = package_id_for(document, destination.address)
    message_id = f"<{package_id}@{config.sender.rpartition('@')[2]}>"
    known = tuple(templates) if templates is not None else load_templates()
    pdf = render_pdf(document, templates=known, package_id=package_id, created=created)
    described = describe(
        document, package_id=package_id, message_id=message_id, created=created,
        service_point=config.service_point, recipient=destination.address, agency=destination.agency,
        pdf=ManifestPdf(filename=f"{package_id}.pdf", sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf),
                        pages=len(document.pages)),
    )  # fmt: skip
    manifest_json = described.to_json()
    manifest = described.model_dump(mode="json", by_alias=True)
    # Only the package id: even the authority and form code would say in clear text that
    # a customer deals with, say, criminal sanctions. Both are in the encrypted manifest.
    subject = f"intake {package_id}"
    body = _body(document, package_id, config, pdf, manifest_json)
    sealed, signed, certificate = _seal(body, destination, config)
    headers = {
        "From": config.sender,
        "To": destination.address,
        "Subject": subject,
        "Date": format_datetime(created),
        "Message-ID": message_id,
    }
    header_block = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return Package(
        package_id=package_id, created=created, sender=config.sender,
        recipient=destination.address, message_id=message_id, subject=subject, pdf=pdf,
        manifest=manifest, manifest_json=manifest_json,
        message=header_block.encode("ascii") + sealed,
        signed=signed, encrypted=certificate is not None, certificate=certificate,
    )  # fmt: skip


_PACKAGE_NAMESPACE = uuid.UUID("6f1d3c1e-5b7a-4c0e-9a51-2f0d8e4b7c21")


def package_id_for(document: Document, recipient: str, /) -> str:
    """The same document of the same file to the same recipient always gets the same id.

    So a crash between queueing and recording it, or the same file fed in twice, queues
    the document once (the outbox deduplicates on package and recipient). The id is a
    name-based UUID of the file's hash and page numbers: it reveals nothing about them.
    """
    pages = ",".join(str(n) for n in document.page_numbers)
    return str(uuid.uuid5(_PACKAGE_NAMESPACE, f"{document.source.sha256}|{pages}|{document.form_id}|{recipient}"))


def write_package(package: Package, folder: Path, /, *, plaintext: bool = False) -> list[Path]:
    """Write the package durably into ``folder``; returns the paths written.

    Always writes ``<id>.eml`` (the message as sent: encrypted when the destination has
    a certificate). The PDF and manifest hold personal data in the clear, so they are
    written only with ``plaintext=True`` (an advisor's preview, never a shared folder).
    """
    files = [(folder / f"{package.package_id}.eml", package.message)]
    if plaintext:
        files += [
            (folder / package.pdf_name, package.pdf),
            (folder / package.manifest_name, package.manifest_json),
        ]
    try:
        for path, data in files:
            write_durably(path, data)
    except OSError as exc:
        raise PackageError(f"cannot write package {package.package_id} to {folder}: {exc.strerror}") from exc
    return [path for path, _ in files]


def render_pdf(document: Document, /, *, templates: Sequence[Template], package_id: str, created: dt.datetime) -> bytes:
    """The document's archival page images as one PDF/A-2b, in order, each page at its own dpi.

    Each page of a known form carries an invisible text layer: the form's printed text
    and the values read from its fields, where they are on the page.
    """
    if not document.pages:
        raise PackageError("a package needs at least one page")
    texts = page_texts(document.pages, fields=document.fields, templates=templates)
    meta = PdfMetadata(title=pdf_title(document, templates), subject=f"intake {package_id}", created=created,
                       document_id=package_id)  # fmt: skip
    return archive_grade(_image_pdf(document.pages), texts=texts, meta=meta)


def pdf_title(document: Document, templates: Sequence[Template]) -> str:
    """The form as its owner names it: authority, code as printed, title ("KELA SV 8 Hakemus – …")."""
    template = next((t for t in templates if t.id == document.form_id), None)
    words = [document.authority, document.code, template.title if template else None]
    return _plain(" ".join(word for word in words if word)) or "intake"


def _image_pdf(pages: list[PageAnalysis]) -> bytes:
    """The page images as a plain image-only PDF (Pillow encodes: JPEG, or CCITT G4 for bilevel)."""
    images = [_page_image(page) for page in pages]
    buffer = io.BytesIO()
    # Pillow applies one resolution and one set of encoder options to every page of a
    # save_all, and rejects a JPEG quality on bilevel (CCITT) pages. So pages are written
    # in runs of the same dpi and kind; later runs are appended (a PDF incremental update,
    # which pikepdf then writes out as one revision).
    runs = itertools.groupby(
        zip(images, pages, strict=True), key=lambda pair: (pair[1].archive_dpi, pair[0].mode == "1")
    )
    for index, ((dpi, bilevel), run) in enumerate(runs):
        batch = [image for image, _ in run]
        options: dict[str, Any] = {"resolution": float(dpi), "append": index > 0}
        if not bilevel:
            options["quality"] = JPEG_QUALITY
        batch[0].save(buffer, "PDF", save_all=True, append_images=batch[1:], **options)
    return buffer.getvalue()


def _page_image(page: PageAnalysis) -> Image.Image:
    if page.archive_path is None:
        raise PackageError(f"page {page.number} has no archival image")
    try:
        with Image.open(page.archive_path, formats=_IMAGE_FORMATS) as image:
            image.load()
            return _pdf_mode(image)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise PackageError(f"cannot read the image of page {page.number}: {exc}") from exc


def _pdf_mode(image: Image.Image) -> Image.Image:
    """Bilevel stays bilevel (CCITT G4); grey and colour become JPEG inside the PDF."""
    if image.mode in ("1", "L", "RGB"):
        return image.copy()
    if image.mode in ("LA", "I", "I;16", "F"):
        return image.convert("L")
    return image.convert("RGB")


def _body(document: Document, package_id: str, config: TransportConfig, pdf: bytes, manifest: bytes) -> bytes:
    # The real form code, as printed ("SV 8"): this text is inside the encrypted message.
    form = _plain(f"{document.authority or '-'} {document.code or '-'}")
    text = (
        f"Asiointipisteessä {config.service_point} skannattu lomake {form}.\n"
        "Liitteenä lomake PDF-tiedostona ja koneluettava manifest.json.\n\n"
        f"Blankett {form} skannad vid servicepunkten {config.service_point}.\n"
        "Bifogat: blanketten som PDF och en maskinläsbar manifest.json.\n\n"
        f"Paketti / Paket: {package_id}\n"
    )
    body = EmailMessage(policy=policy.SMTP)
    body.set_content(text, charset="utf-8", cte="quoted-printable")
    body.add_attachment(pdf, maintype="application", subtype="pdf", filename=f"{package_id}.pdf")
    body.add_attachment(manifest, maintype="application", subtype="json", filename=f"{package_id}.manifest.json")
    return body.as_bytes()


def _seal(body: bytes, destination: Destination, config: TransportConfig) -> tuple[bytes, bool, str | None]:
    """Sign, then encrypt: the signature is inside, so only the agency sees who signed.

    Returns the sealed entity, whether it is signed, and the fingerprint of the
    certificate it is encrypted to (None: not encrypted).
    """
    signed = False
    if config.smime.key is not None and config.smime.certificate is not None:
        certificate = _smime.load_certificate(config.smime.certificate)
        key = _smime.load_private_key(config.smime.key)
        body = _smime.sign(body, certificate=certificate, key=key)
        signed = True
    elif config.smime.require_signing:
        raise PackageError("signing is required (transport.smime.require_signing) but no signing key is configured")
    else:
        log.warning("no S/MIME signing key configured: package is not signed")
    if destination.certificate is None:
        log.warning("destination %s has no certificate: package is not encrypted", destination.address)
        return _smime.crlf(body), signed, None
    recipient = _smime.load_certificate(destination.certificate)
    return _smime.encrypt(body, recipient=recipient), signed, _smime.fingerprint(recipient)


def _plain(text: str) -> str:
    """One line of text: a template's code or title cannot break the cover text's lines."""
    return " ".join(text.split())
