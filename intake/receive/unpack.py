"""Open one package as an agency would: decrypt with its key, verify the signature, check the PDF."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from enum import StrEnum
from pathlib import Path
from typing import Any, NamedTuple

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pydantic import ValidationError

from intake.errors import NotARecipient, PackageError, PackageRefused
from intake.transport import _openssl, _smime
from intake.transport.manifest import SCHEMA_NAME, SCHEMA_VERSION, Manifest

log = logging.getLogger(__name__)

_PACKAGE_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SIGNED = ("multipart/signed", "application/pkcs7-mime")


class Reason(StrEnum):
    """Why a received message was not accepted."""

    TAMPERED = "tampered"  # changed on the way: does not decrypt, signature or checksum fails
    UNKNOWN_SIGNER = "unknown-signer"  # unsigned, or signed by nobody the agency trusts
    NOT_FOR_US = "not-for-us"  # encrypted to another key, or the manifest names another agency
    DUPLICATE = "duplicate"  # a package already received
    MALFORMED = "malformed"  # not an intake package (not encrypted, parts or manifest missing)


class Identity(NamedTuple):
    """One of the agency's certificates with its private key, loaded."""

    certificate: x509.Certificate
    key: _smime.SigningKey

    @classmethod
    def load(cls, certificate: Path, key: Path) -> Identity:
        return cls(_smime.load_certificate(certificate), _smime.load_private_key(key))


@dataclass(frozen=True)
class Trust:
    """Whom the agency trusts: certificates in one PEM bundle, optionally only some signers."""

    bundle: Path  # CA certificates and/or service points' own certificates
    signers: frozenset[str] = frozenset()  # sha256 fingerprints; empty: any signer the bundle vouches for


@dataclass(frozen=True)
class Unsealed:
    """A package that passed every check, with who signed it."""

    package_id: str
    pdf: bytes
    manifest: dict[str, Any]
    manifest_json: bytes  # the attachment byte for byte, as the service point signed it
    signer: str  # the signing certificate's subject
    signer_sha256: str


def unseal(
    message: bytes,
    /,
    *,
    identities: Sequence[Identity],
    trust: Trust,
    addresses: Sequence[str],
    require_encryption: bool = True,
) -> Unsealed:
    """Decrypt, verify the signer against ``trust``, and check the manifest and the PDF.

    Raises PackageRefused with a :class:`Reason` and a detail; never returns a package
    whose signature was not verified.
    """
    entity = _decrypted(message, identities, require_encryption=require_encryption)
    content, signer = _verified(entity, trust)
    try:
        pdf, manifest, manifest_json = _parts(content)
    except PackageError as exc:
        raise PackageRefused(Reason.MALFORMED, str(exc)) from exc
    package_id = _check_manifest(manifest, pdf, addresses)
    subject, fingerprint = signer
    return Unsealed(package_id, pdf, manifest, manifest_json, subject, fingerprint)


def _decrypted(message: bytes, identities: Sequence[Identity], *, require_encryption: bool) -> bytes:
    """The inner entity, decrypted with whichever of the agency's keys it was sealed to."""
    kind = _content_type(message)
    if kind != "application/pkcs7-mime" or _smime_type(message) not in ("enveloped-data", ""):
        if require_encryption or kind not in _SIGNED:
            raise PackageRefused(Reason.MALFORMED, f"not an encrypted S/MIME message ({kind})")
        return message
    problems = []
    for identity in identities:
        try:
            return _smime.decrypt(message, certificate=identity.certificate, key=identity.key)
        except NotARecipient:
            continue
        except PackageError as exc:
            problems.append(str(exc))
    if problems:  # encrypted to one of our keys, but it does not decrypt: altered on the way
        raise PackageRefused(Reason.TAMPERED, problems[0])
    raise PackageRefused(Reason.NOT_FOR_US, "encrypted to a key that is not one of this agency's")


def _verified(entity: bytes, trust: Trust) -> tuple[bytes, tuple[str, str]]:
    """The signed content and its signer (subject, fingerprint); the signer must be trusted."""
    if _content_type(entity) not in _SIGNED:
        raise PackageRefused(Reason.UNKNOWN_SIGNER, "the message is not signed")
    with tempfile.TemporaryDirectory(prefix="intake-receive-") as work:
        signer_file = Path(work) / "signer.pem"
        result = _openssl.cms_verify(entity, ca_file=trust.bundle, signer_out=signer_file, partial_chain=True)
        if not result.ok:
            # Tell a broken signature from an intact one by a signer nobody here vouches for.
            if not _openssl.cms_verify(entity, ca_file=None).ok:
                raise PackageRefused(Reason.TAMPERED, "the signature does not match the content: changed after signing")
            why = result.message.rpartition("Verify error:")[2].strip() or result.message
            raise PackageRefused(Reason.UNKNOWN_SIGNER, f"the signer is not trusted here ({why})")
        signer = _signer(signer_file)
    if trust.signers and signer[1] not in trust.signers:
        raise PackageRefused(Reason.UNKNOWN_SIGNER, f"signed by {signer[0]}, not one of the listed signers")
    return result.content, signer


def _signer(path: Path) -> tuple[str, str]:
    certificate = x509.load_pem_x509_certificates(path.read_bytes())[0]
    return certificate.subject.rfc4514_string(), certificate.fingerprint(hashes.SHA256()).hex()


def _check_manifest(manifest: dict[str, Any], pdf: bytes, addresses: Sequence[str]) -> str:
    """The package id, once the manifest is ours, for us, and matches the PDF."""
    if (manifest.get("schema"), manifest.get("schema_version")) != (SCHEMA_NAME, SCHEMA_VERSION):
        raise PackageRefused(Reason.MALFORMED, "the manifest is not an intake manifest of a known version")
    try:
        Manifest.model_validate(manifest)  # what manifest.schema.json promises
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise PackageRefused(
            Reason.MALFORMED, f"the manifest does not match its schema at {where}: {error['msg']}"
        ) from exc
    package_id = manifest.get("package_id")
    if not isinstance(package_id, str) or not _PACKAGE_ID.match(package_id):
        raise PackageRefused(Reason.MALFORMED, "the manifest has no valid package id")
    recipient = str(manifest.get("recipient", ""))
    if recipient.lower() not in {address.lower() for address in addresses}:
        raise PackageRefused(Reason.NOT_FOR_US, f"the manifest names another recipient ({recipient or 'none'})")
    pdf_info = manifest.get("pdf")
    expected = pdf_info.get("sha256") if isinstance(pdf_info, dict) else None
    if hashlib.sha256(pdf).hexdigest() != expected:
        raise PackageRefused(Reason.TAMPERED, "the PDF does not match the manifest's sha256")
    return package_id


class OpenedPackage(NamedTuple):
    """What a receiving agency gets out of a package."""

    pdf: bytes
    manifest: dict[str, Any]
    signer_verified: bool  # openssl verified the signature against the given CA


def open_package(eml: bytes, /, *, recipient_key: Path, recipient_cert: Path, ca_file: Path) -> OpenedPackage:
    """Decrypt with the agency's key, verify the signature with ``openssl cms -verify``.

    A lenient look inside (the demo and tests): an unverified signature is reported in
    ``signer_verified``, not refused; ``intake receive`` uses :func:`unseal` instead.
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
    pdf, manifest, _ = _parts(entity)
    if hashlib.sha256(pdf).hexdigest() != manifest.get("pdf", {}).get("sha256"):
        raise PackageError("the PDF does not match the manifest's sha256")
    return OpenedPackage(pdf=pdf, manifest=manifest, signer_verified=verified)


def _content_type(entity: bytes) -> str:
    return BytesHeaderParser(policy=policy.default).parsebytes(entity).get_content_type()


def _smime_type(entity: bytes) -> str:
    headers = BytesHeaderParser(policy=policy.default).parsebytes(entity)
    return str(headers.get_param("smime-type", "", header="content-type")).lower()


def _signed_content(entity: bytes) -> bytes:
    """The first part of an unverified ``multipart/signed`` (to show, never to trust)."""
    message = message_from_bytes(entity, policy=policy.SMTP)
    parts = message.get_payload()
    if not isinstance(parts, list) or not parts or isinstance(parts[0], str):
        raise PackageError("multipart/signed message without content")
    return parts[0].as_bytes()


def _parts(entity: bytes) -> tuple[bytes, dict[str, Any], bytes]:
    """The PDF, the parsed manifest and the manifest's bytes from a package's MIME body."""
    message = message_from_bytes(entity, policy=policy.default)
    assert isinstance(message, EmailMessage)
    pdf: bytes | None = None
    manifest: tuple[dict[str, Any], bytes] | None = None
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        if part.get_content_type() == "application/pdf":
            pdf = payload
        elif part.get_content_type() == "application/json":
            try:
                parsed = json.loads(payload)
            except ValueError as exc:
                raise PackageError(f"manifest is not valid JSON: {exc}") from exc
            if not isinstance(parsed, dict):
                raise PackageError("the manifest is not a JSON object")
            manifest = (parsed, payload)
    if pdf is None or manifest is None:
        raise PackageError("the package lacks the PDF or the manifest attachment")
    return pdf, manifest[0], manifest[1]
