"""Deliver messages over SMTP with TLS always on, and flush the outbox through it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import aiosmtplib

from intake.config import SmtpConfig, TlsMode
from intake.errors import (
    CertificateError,
    DeliveryError,
    DeliveryTimeout,
    OutboxError,
    PermanentFailure,
    TemporaryFailure,
    TlsUnavailable,
)
from intake.preflight import smtp_password
from intake.transport.outbox import Item, OutboxStore, State

log = logging.getLogger(__name__)

_QUIT_TIMEOUT_S = 5.0

Refused = dict[str, DeliveryError]
Accepted = Callable[[Refused], None]


class DeliveryChannel(Protocol):
    """Hands one message to the next hop. Contract for every implementation:

    - Returns the recipients that were refused (empty: all accepted); raises a
      :class:`DeliveryError` leaf only when no recipient accepted the message:
      TemporaryFailure/DeliveryTimeout (retry later) or PermanentFailure (do not).
    - Calls ``accepted`` (with the refused recipients) the moment the next hop has taken
      responsibility (SMTP: its 250 after DATA), before anything else, such as QUIT, can
      fail or hang: a crash after that point must not make the message go out twice.
    - Never sends in plain text and never skips certificate checks to get through.
    - ``message`` is sent byte for byte: the same bytes on every retry.
    """

    async def deliver(
        self, message: bytes, /, *, sender: str, recipients: list[str], accepted: Accepted | None = None
    ) -> Refused: ...


class SmtpChannel:
    """The default :class:`DeliveryChannel`: the configured SMTP server."""

    def __init__(self, smtp: SmtpConfig, /) -> None:
        smtp_password(smtp)  # a missing password is found before any item is claimed
        self.smtp = smtp

    async def deliver(
        self, message: bytes, /, *, sender: str, recipients: list[str], accepted: Accepted | None = None
    ) -> Refused:
        return await deliver(message, sender=sender, recipients=recipients, smtp=self.smtp, accepted=accepted)


async def deliver(
    message: bytes, /, *, sender: str, recipients: list[str], smtp: SmtpConfig, accepted: Accepted | None = None
) -> Refused:
    """Send one message over TLS (STARTTLS required, or implicit TLS).

    Returns the refused recipients (each with a TemporaryFailure or PermanentFailure);
    raises DeliveryTimeout, TemporaryFailure or PermanentFailure when nobody took it.
    ``accepted`` is called right after the server's 250 to DATA, before QUIT.
    """
    client = aiosmtplib.SMTP(
        hostname=smtp.host,
        port=smtp.port,
        use_tls=smtp.tls is TlsMode.IMPLICIT,
        # A bool, never None: None means "STARTTLS if offered", i.e. plain text if not.
        start_tls=smtp.tls is TlsMode.STARTTLS,
        tls_context=tls_context(smtp),
        timeout=smtp.timeout_s,
        local_hostname=smtp.helo,
        username=smtp.username,
        password=smtp_password(smtp),
    )
    try:
        # aiosmtplib's timeout is per socket operation; this bounds the whole exchange.
        async with asyncio.timeout(smtp.timeout_s):
            await client.connect()
            refused, _ = await client.sendmail(sender, recipients, message)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        client.close()
        raise _mapped(exc, smtp, recipients) from exc
    result = {address: _response_error(address, reply.code, reply.message) for address, reply in refused.items()}
    if accepted is not None:
        try:
            accepted(result)  # recorded before QUIT: a slow QUIT and a kill must not send it twice
        except BaseException:
            client.close()
            raise
    await _quit(client)
    return result


def tls_context(smtp: SmtpConfig, /) -> ssl.SSLContext:
    """Verify the server against ``ca_file`` (or the system store) and check its name."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(smtp.ca_file) if smtp.ca_file else None)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context  # create_default_context already sets CERT_REQUIRED and check_hostname


async def _quit(client: aiosmtplib.SMTP) -> None:
    """Say goodbye politely; the message is already accepted, so failures do not matter."""
    with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
        async with asyncio.timeout(_QUIT_TIMEOUT_S):
            await client.quit()
    client.close()


def _mapped(exc: BaseException, smtp: SmtpConfig, recipients: list[str]) -> DeliveryError:
    """Turn any aiosmtplib, ssl or socket error into one DeliveryError leaf."""
    server = f"{smtp.host}:{smtp.port}"
    first = recipients[0] if len(recipients) == 1 else None
    cert_error = _find(exc, ssl.SSLCertVerificationError)
    # TLS problems are deferred, as Postfix does with TLS required: a server whose
    # certificate lapsed or a STARTTLS stripped on the way is usually fixed within days,
    # and the message must wait for that, never go out in plain text or to an impostor.
    if cert_error is not None:
        return TlsUnavailable(
            f"{server}: TLS certificate not trusted ({cert_error.verify_message}); "
            "check transport.smtp.ca_file and the host name",
            recipient=first,
        )
    if isinstance(exc, aiosmtplib.SMTPException) and "STARTTLS" in str(exc):
        # aiosmtplib raises a bare SMTPException for this; a missing STARTTLS is a
        # downgrade (or a misconfigured server), never a reason to send in plain text.
        return TlsUnavailable(f"{server} does not offer STARTTLS: not sending in plain text", recipient=first)
    if isinstance(exc, TimeoutError):
        return DeliveryTimeout(f"{server}: no answer within {smtp.timeout_s} s", recipient=first)
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        refused = exc.recipients[0]
        return _response_error(refused.recipient, refused.code, refused.message)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return _response_error(first, exc.code, f"{server}: {exc.message}")
    if isinstance(exc, ssl.SSLError):
        return TlsUnavailable(f"{server}: TLS failed ({exc.reason})", recipient=first)
    return TemporaryFailure(f"{server}: {exc}", recipient=first)


def _response_error(recipient: str | None, code: int, text: str) -> DeliveryError:
    kind = PermanentFailure if 500 <= code < 600 else TemporaryFailure
    return kind(f"{code} {text}", recipient=recipient, code=code)


def _find(exc: BaseException, kind: type[ssl.SSLCertVerificationError]) -> ssl.SSLCertVerificationError | None:
    """The first exception of ``kind`` in the cause/context chain (aiosmtplib wraps them)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@dataclass
class FlushReport:
    """What one flush did, by outbox item id; errors hold the reason per item."""

    sent: list[str] = field(default_factory=list)
    deferred: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


CurrentCertificate = Callable[[str], str | None]
"""The fingerprint of the certificate configured for an address now ('' or None: none);
raises CertificateError when that certificate is not fit to encrypt to."""


async def flush(
    outbox: OutboxStore,
    /,
    *,
    smtp: SmtpConfig,
    now: dt.datetime | None = None,
    channel: DeliveryChannel | None = None,
    certificates: CurrentCertificate | None = None,
) -> FlushReport:
    """Send every due item once and record each outcome; one bad message stops nothing.

    Runs as the outbox's only sender: items a crashed sender left 'sending' go out again.
    With ``certificates``, an item goes out only while it is sealed for the certificate its
    recipient has now: a changed certificate fails it (never sent to the old key), one that
    is no longer fit defers it. An item is recorded as sent at the server's 250 to DATA.
    """
    channel = SmtpChannel(smtp) if channel is None else channel
    clock: Callable[[], dt.datetime] = (lambda: now) if now is not None else _utcnow
    report = FlushReport()
    with outbox.sending():
        for item in outbox.due(clock()):
            if not outbox.mark_sending(item.id, now=clock()):
                continue  # someone else took it meanwhile
            error = _sealed_for_now(item, certificates)
            if error is None:
                error = await _attempt(outbox, channel, item, clock)
            _record(outbox, item, error, report, clock())
    return report


def _sealed_for_now(item: Item, certificates: CurrentCertificate | None) -> DeliveryError | None:
    """Why ``item`` must not go out to the certificate its recipient has now, if it must not."""
    if certificates is None:
        return None
    try:
        current = certificates(item.recipient) or ""
    except CertificateError as exc:
        return TemporaryFailure(f"certificate of {item.recipient} not usable now: {exc}", recipient=item.recipient)
    if item.certificate is None:  # queued before intake recorded certificates
        log.warning("item %s: sealed before certificates were recorded; cannot compare", item.id)
        return None
    if current != item.certificate:
        return PermanentFailure(
            f"the certificate of {item.recipient} changed since this package was sealed "
            f"(sha256 {item.certificate[:16] or 'none'}… now {current[:16] or 'none'}…): not sent to the old key; "
            "process the scan again to rebuild it for the new certificate",
            recipient=item.recipient,
        )
    return None


def _record(outbox: OutboxStore, item: Item, error: DeliveryError | None, report: FlushReport,
            now: dt.datetime) -> None:  # fmt: skip
    if error is None:
        report.sent.append(item.id)
        log.info("sent package %s to %s (item %s)", item.package_id, item.recipient, item.id)
        return
    report.errors[item.id] = str(error)
    if isinstance(error, PermanentFailure):
        outbox.mark_failed(item.id, now=now, error=str(error), code=error.code)
        report.failed.append(item.id)
    elif outbox.mark_deferred(item.id, now=now, error=str(error), code=error.code) is State.FAILED:
        report.failed.append(item.id)
    else:
        report.deferred.append(item.id)
        log.warning("deferred item %s to %s: %s", item.id, item.recipient, error)


async def _attempt(
    outbox: OutboxStore, channel: DeliveryChannel, item: Item, clock: Callable[[], dt.datetime]
) -> DeliveryError | None:
    """One delivery attempt, marking the item sent at the server's acceptance; the error as data."""
    try:
        message = outbox.read(item.id)
    except OutboxError as exc:
        return PermanentFailure(f"message file unreadable: {exc}", recipient=item.recipient)
    marked = False

    def accepted(refused: Refused) -> None:
        nonlocal marked
        if item.recipient not in refused:
            outbox.mark_sent(item.id, now=clock())
            marked = True

    try:
        refused = await channel.deliver(message, sender=item.sender, recipients=[item.recipient], accepted=accepted)
    except DeliveryError as exc:
        return exc
    error = refused.get(item.recipient)
    if error is None and not marked:  # a channel that never called back: record it now
        outbox.mark_sent(item.id, now=clock())
    return error


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
