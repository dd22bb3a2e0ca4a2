"""The receiving agency's side: a local SMTP receiver and opening a package as an agency would."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import ssl
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any, NamedTuple

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from intake._durable import write_durably
from intake.errors import PackageError
from intake.transport import _openssl, _smime

log = logging.getLogger(__name__)

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")
_MAX_NAME = 200


class StoreHandler:
    """aiosmtpd handler: store each message as ``<folder>/<Message-ID>.eml``, durably.

    A resent message (same Message-ID) lands on the same file: that is the receiver's
    deduplication of at-least-once delivery.
    """

    def __init__(self, folder: Path, /) -> None:
        self.folder = Path(folder)
        self.received: list[Path] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        path = self.folder / eml_name(data)
        try:
            # 250 only after the bytes are on disk, as Postfix does.
            await asyncio.to_thread(write_durably, path, data)
        except OSError as exc:
            log.error("cannot store received message: %s", exc.strerror)
            return "451 4.3.0 cannot store the message now"
        self.received.append(path)
        return "250 2.0.0 stored"


def eml_name(message: bytes, /) -> str:
    """A safe file name from the Message-ID (or the content hash when there is none)."""
    headers = BytesHeaderParser(policy=policy.default).parsebytes(message)
    message_id = str(headers.get("Message-ID", "")).strip().strip("<>")
    safe = _UNSAFE.sub("_", message_id)[:_MAX_NAME].lstrip(".")
    if not safe:
        safe = "sha256-" + hashlib.sha256(message).hexdigest()
    return f"{safe}.eml"


class ReceiverController(Controller):
    """aiosmtpd's Controller that may listen on port 0; ``port`` is the real one once started."""

    def _create_server(self) -> Any:
        return self._bind()

    async def _bind(self) -> asyncio.AbstractServer:
        server = await self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=self.port, ssl=self.ssl_context
        )
        # Controller.start() connects to self.port to check the server is up.
        self.port = server.sockets[0].getsockname()[1]
        return server


def server_tls_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


def start_receiver(
    folder: Path,
    /,
    *,
    cert_file: Path,
    key_file: Path,
    host: str = "127.0.0.1",
    port: int = 0,
) -> ReceiverController:
    """Start an SMTP server that requires STARTTLS and stores what it receives in ``folder``.

    Call ``.stop()`` on the result when done; ``.port`` is the port it listens on.
    """
    controller = ReceiverController(
        StoreHandler(folder),
        hostname=host,
        port=port,
        tls_context=server_tls_context(cert_file, key_file),
        require_starttls=True,
    )
    controller.start()
    log.info("receiver listening on %s:%s, storing into %s", host, controller.port, folder)
    return controller


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
