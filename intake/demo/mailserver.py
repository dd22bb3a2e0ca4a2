"""The demo's receiving mail server: aiosmtpd with STARTTLS required, storing each message durably."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import ssl
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from intake.durable import write_durably

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
