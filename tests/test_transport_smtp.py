"""Delivery against real aiosmtpd servers with TLS: success, faults, and what the agency sees."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import socket
import threading
import time
from email.parser import BytesHeaderParser
from pathlib import Path

import pytest
from smtp_fixtures import (
    AGENCY,
    HETU,
    OTHER_AGENCY,
    SENDER,
    T0,
    GatedHandler,
    HangingHandler,
    ScriptedHandler,
    ServerFactory,
    destination,
    make_document,
    smtp_config,
    transport_config,
)

from intake.config import TlsMode
from intake.demo.mailserver import start_receiver
from intake.demo.pki import DemoPki
from intake.errors import DeliveryTimeout, PermanentFailure, TemporaryFailure, TlsUnavailable
from intake.receive import open_package
from intake.transport import Outbox, State, build_package, deliver, flush


def _queue(tmp_path: Path, pki: DemoPki) -> tuple[Outbox, str, bytes]:
    config = transport_config(pki, tmp_path / "spool")
    package = build_package(make_document(tmp_path), destination=destination(pki), config=config, now=T0)
    outbox = Outbox.for_config(config)
    return outbox, outbox.enqueue(package, AGENCY, now=T0), package.message


def test_end_to_end_the_agency_gets_an_authentic_package(
    tmp_path: Path, pki: DemoPki, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = tmp_path / "inbox"
    receiver = start_receiver(inbox, cert_file=pki.server.cert, key_file=pki.server.key)
    try:
        config = transport_config(pki, tmp_path / "spool", port=receiver.port)
        package = build_package(make_document(tmp_path), destination=destination(pki), config=config)
        outbox = Outbox.for_config(config)
        with caplog.at_level(logging.DEBUG):
            item_id = outbox.enqueue(package, AGENCY)
            report = asyncio.run(flush(outbox, smtp=config.smtp))
    finally:
        receiver.stop()
    assert (report.sent, report.deferred, report.failed) == ([item_id], [], [])
    assert outbox.get(item_id).state is State.SENT
    [eml] = inbox.iterdir()
    received = eml.read_bytes()
    assert received == package.message  # byte for byte what was queued
    assert eml.name == f"{package.package_id}@asiointipiste.example.eml"
    # What the agency does: decrypt with its key, verify with openssl against the CA.
    agency = pki.agencies[AGENCY]
    opened = open_package(received, recipient_key=agency.key, recipient_cert=agency.cert, ca_file=pki.ca.cert)
    assert opened.signer_verified
    assert opened.pdf == package.pdf
    assert opened.manifest == package.manifest
    # No personal data anywhere outside the encrypted package.
    headers = BytesHeaderParser().parsebytes(received)
    assert all(HETU not in f"{name}: {value}" for name, value in headers.items())
    assert HETU.encode() not in received
    assert all(HETU not in path.name for path in tmp_path.rglob("*") if "page-" not in path.name)
    assert HETU not in caplog.text


def test_a_resend_after_a_crash_is_the_same_message(tmp_path: Path, pki: DemoPki) -> None:
    inbox = tmp_path / "inbox"
    receiver = start_receiver(inbox, cert_file=pki.server.cert, key_file=pki.server.key)
    try:
        outbox, item_id, message = _queue(tmp_path, pki)
        smtp = smtp_config(pki, receiver.port)
        # The server got it, but the process died before recording that (its lock died with it):
        with outbox.sending():
            outbox.mark_sending(item_id, now=T0)
            asyncio.run(deliver(outbox.read(item_id), sender=SENDER, recipients=[AGENCY], smtp=smtp))
        reopened = Outbox(outbox.path)
        report = asyncio.run(flush(reopened, smtp=smtp, now=T0))
    finally:
        receiver.stop()
    assert report.sent == [item_id]
    [eml] = inbox.iterdir()  # same Message-ID, same file: the receiver deduplicates
    assert eml.read_bytes() == message


@pytest.mark.parametrize(
    ("tls", "words"), [("none", "STARTTLS"), ("rogue", "not trusted")], ids=["no-starttls", "rogue"]
)
def test_tls_failures_are_deferred_never_sent_in_clear(
    tmp_path: Path, pki: DemoPki, smtp_server: ServerFactory, tls: str, words: str
) -> None:
    handler = ScriptedHandler(tmp_path / "inbox")
    server = smtp_server(handler, tls=tls)
    outbox, item_id, _ = _queue(tmp_path, pki)
    report = asyncio.run(flush(outbox, smtp=smtp_config(pki, server.port), now=T0))
    assert report.deferred == [item_id]  # like Postfix with TLS required: wait for a fix
    assert words in report.errors[item_id]
    assert handler.commands == []  # not even MAIL FROM went out in plain text
    item = outbox.get(item_id)
    assert item.state is State.DEFERRED and words in (item.last_error or "")


def test_untrusted_server_certificate_is_refused(tmp_path: Path, pki: DemoPki, smtp_server: ServerFactory) -> None:
    handler = ScriptedHandler(tmp_path / "inbox")
    server = smtp_server(handler, tls="rogue")
    with pytest.raises(TlsUnavailable, match="certificate"):
        asyncio.run(
            deliver(
                b"Subject: x\r\n\r\nx\r\n",
                sender=SENDER,
                recipients=[AGENCY],
                smtp=smtp_config(pki, server.port),
            )
        )
    assert handler.commands == []


def test_implicit_tls_delivers(tmp_path: Path, pki: DemoPki, smtp_server: ServerFactory) -> None:
    handler = ScriptedHandler(tmp_path / "inbox")
    server = smtp_server(handler, tls="implicit")
    smtp = smtp_config(pki, server.port, tls=TlsMode.IMPLICIT)
    refused = asyncio.run(deliver(b"Message-ID: <a@b>\r\n\r\nx\r\n", sender=SENDER, recipients=[AGENCY], smtp=smtp))
    assert refused == {} and len(handler.received) == 1


@pytest.mark.parametrize("reply", ["421 4.3.2 shutting down", "451 4.3.0 try again later"], ids=["421", "451"])
def test_temporary_failure_is_deferred_then_delivered(
    tmp_path: Path, pki: DemoPki, smtp_server: ServerFactory, reply: str
) -> None:
    handler = ScriptedHandler(tmp_path / "inbox", data=[reply])
    server = smtp_server(handler)
    smtp = smtp_config(pki, server.port)
    outbox, item_id, message = _queue(tmp_path, pki)
    first = asyncio.run(flush(outbox, smtp=smtp, now=T0))
    assert first.deferred == [item_id] and reply[:3] in first.errors[item_id]
    item = outbox.get(item_id)
    assert item.state is State.DEFERRED and item.last_code == int(reply[:3])
    assert item.next_attempt == T0 + dt.timedelta(seconds=60)
    early = asyncio.run(flush(outbox, smtp=smtp, now=T0 + dt.timedelta(seconds=30)))
    assert not (early.sent or early.deferred or early.failed)  # back-off respected
    later = asyncio.run(flush(outbox, smtp=smtp, now=T0 + dt.timedelta(seconds=61)))
    assert later.sent == [item_id]
    assert [path.read_bytes() for path in handler.received] == [message]


@pytest.mark.parametrize(
    ("rcpt", "data"),
    [({AGENCY: "550 5.1.1 no such mailbox"}, []), ({}, ["554 5.6.0 content rejected"])],
    ids=["550-rcpt", "554-data"],
)
def test_permanent_failure_fails_the_item(
    tmp_path: Path, pki: DemoPki, smtp_server: ServerFactory, rcpt: dict[str, str], data: list[str]
) -> None:
    server = smtp_server(ScriptedHandler(tmp_path / "inbox", rcpt=rcpt, data=data))
    outbox, item_id, _ = _queue(tmp_path, pki)
    report = asyncio.run(flush(outbox, smtp=smtp_config(pki, server.port), now=T0))
    assert report.failed == [item_id]
    item = outbox.get(item_id)
    assert item.state is State.FAILED and item.last_code in (550, 554)
    assert outbox.due(T0 + dt.timedelta(days=30)) == []


def test_partially_refused_recipients_are_returned(tmp_path: Path, pki: DemoPki, smtp_server: ServerFactory) -> None:
    handler = ScriptedHandler(tmp_path / "inbox", rcpt={OTHER_AGENCY: "550 5.1.1 unknown"})
    server = smtp_server(handler)
    message = b"Message-ID: <p@b>\r\n\r\nx\r\n"
    refused = asyncio.run(
        deliver(
            message,
            sender=SENDER,
            recipients=[AGENCY, OTHER_AGENCY],
            smtp=smtp_config(pki, server.port),
        )
    )
    assert list(refused) == [OTHER_AGENCY]
    assert isinstance(refused[OTHER_AGENCY], PermanentFailure) and refused[OTHER_AGENCY].code == 550
    assert len(handler.received) == 1


def test_hanging_server_times_out_within_the_configured_time(
    tmp_path: Path, pki: DemoPki, smtp_server: ServerFactory
) -> None:
    server = smtp_server(HangingHandler(tmp_path / "inbox"))
    smtp = smtp_config(pki, server.port, timeout_s=1.0)
    started = time.monotonic()
    with pytest.raises(DeliveryTimeout):
        asyncio.run(deliver(b"Message-ID: <h@b>\r\n\r\nx\r\n", sender=SENDER, recipients=[AGENCY], smtp=smtp))
    assert time.monotonic() - started < 2.0
    outbox, item_id, _ = _queue(tmp_path, pki)
    report = asyncio.run(flush(outbox, smtp=smtp, now=T0))
    assert report.deferred == [item_id]  # at-least-once: it will be sent again


def test_connection_refused_is_temporary(pki: DemoPki) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(TemporaryFailure):
        asyncio.run(deliver(b"x\r\n", sender=SENDER, recipients=[AGENCY], smtp=smtp_config(pki, port)))


def test_an_item_is_recorded_sent_before_quit(tmp_path: Path, pki: DemoPki, smtp_server: ServerFactory) -> None:
    handler = GatedHandler(tmp_path / "inbox", hold="QUIT")
    server = smtp_server(handler)
    outbox, item_id, _ = _queue(tmp_path, pki)
    state_at_quit: list[State] = []

    def watch_quit() -> None:
        handler.reached.wait(10)
        state_at_quit.append(Outbox(outbox.path).get(item_id).state)  # another reader, as after a kill
        handler.release.set()

    watcher = threading.Thread(target=watch_quit)
    watcher.start()
    report = asyncio.run(flush(outbox, smtp=smtp_config(pki, server.port), now=T0))
    watcher.join()
    assert report.sent == [item_id]
    assert state_at_quit == [State.SENT]  # a crash during a slow QUIT cannot cause a resend
