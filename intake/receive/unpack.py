"""Open one package as an agency would: decrypt with its key, verify the signature, check the PDF."""

from __future__ import annotations

import hashlib
import json
import logging
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, NamedTuple

from intake.errors import PackageError
from intake.transport import _openssl, _smime

log = logging.getLogger(__name__)


class OpenedPackage(NamedTuple):
    """What a receiving agency gets out of a package."""

    pdf: bytes
    manifest: dict[str, Any]
    signer_verified: bool  # openssl verified the signature against the given CA


def open_package(eml: bytes, /, *, recipient_key: Path, recipient_cert: Path, ca_file: Path) -> OpenedPackage:
    """Decrypt with the agency's key, verify the signature with ``openssl cms -verify``.

    Raises PackageError when the message cannot be decrypted, lacks the PDF or the
    manifest, or the PDF does not match the manifest's checksum.
    """
    entity = eml
    if _content_type(eml) == "application/pkcs7-mime":
        certificate = _smime.load_certificate(recipient_cert)
        entity = _smime.decrypt(eml, certificate=certificate, key=_smime.load_private_key(recipient_key))
    verified = False
    if _content_type(entity) == "multipart/signed":
        result = _openssl.cms_verify(entity, ca_file=ca_file)
        verified = result.ok
        if result.ok:
            entity = result.content
        else:
            log.warning("signature not verified: %s", result.message)
            entity = _signed_content(entity)
    pdf, manifest = _parts(entity)
    if hashlib.sha256(pdf).hexdigest() != manifest.get("pdf", {}).get("sha256"):
        raise PackageError("the PDF does not match the manifest's sha256")
    return OpenedPackage(pdf=pdf, manifest=manifest, signer_verified=verified)


def _content_type(entity: bytes) -> str:
    return BytesHeaderParser(policy=policy.default).parsebytes(entity).get_content_type()


def _signed_content(entity: bytes) -> bytes:
    """The first part of an unverified ``multipart/signed`` (to show, never to trust)."""
    message = message_from_bytes(entity, policy=policy.SMTP)
    parts = message.get_payload()
    if not isinstance(parts, list) or not parts or isinstance(parts[0], str):
        raise PackageError("multipart/signed message without content")
    return parts[0].as_bytes()


def _parts(entity: bytes) -> tuple[bytes, dict[str, Any]]:
    message = message_from_bytes(entity, policy=policy.default)
    assert isinstance(message, EmailMessage)
    pdf: bytes | None = None
    manifest: dict[str, Any] | None = None
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        if part.get_content_type() == "application/pdf":
            pdf = payload
        elif part.get_content_type() == "application/json":
            try:
                manifest = json.loads(payload)
            except ValueError as exc:
                raise PackageError(f"manifest is not valid JSON: {exc}") from exc
    if pdf is None or manifest is None:
        raise PackageError("the package lacks the PDF or the manifest attachment")
    return pdf, manifest
