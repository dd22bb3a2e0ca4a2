"""Fixtures for transport tests: a demo PKI, TLS SMTP receivers on port 0, fault handlers."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from PIL import Image, ImageDraw

from intake.config import (
    Destination,
    RetryConfig,
    SmimeConfig,
    SmtpConfig,
    TlsMode,
    TransportConfig,
)
from intake.demo.mailserver import ReceiverController, StoreHandler, server_tls_context
from intake.demo.pki import DemoPki, make_demo_pki
from intake.models import Document, FieldValue, PageAnalysis, PageIdentity, Route, SourceFile

AGENCY = "kirjaamo@kela.example"
OTHER_AGENCY = "kirjaamo@vero.example"
SENDER = "intake@asiointipiste.example"
HETU = "010594Y9032"  # valid check character; individual number 903 is artificial
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    """The trusted demo PKI: CA, server cert for 127.0.0.1, signer, two agencies."""
    folder = tmp_path_factory.mktemp("pki")
    return make_demo_pki(folder, agencies=[AGENCY, OTHER_AGENCY], signer=SENDER)


@pytest.fixture(scope="session")
def rogue_pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    """Another CA that nobody trusts: its server certificate must be refused."""
    return make_demo_pki(tmp_path_factory.mktemp("rogue"), agencies=[], signer=SENDER)


class ScriptedHandler(StoreHandler):
    """Stores messages, but first answers RCPT/DATA with scripted replies; records commands."""

    def __init__(self, folder: Path, *, rcpt: dict[str, str] | None = None, data: list[str] | None = None) -> None:
        super().__init__(folder)
        self.rcpt_replies = rcpt or {}
        self.data_replies = list(data or [])
        self.commands: list[str] = []

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.commands.append("MAIL")
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.commands.append("RCPT")
        if address in self.rcpt_replies:
            return self.rcpt_replies[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.commands.append("DATA")
        if self.data_replies:
            return self.data_replies.pop(0)
        return await super().handle_DATA(server, session, envelope)


class HangingHandler(StoreHandler):
    """Takes the message and never answers (the client must time out)."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(60)  # cancelled when the controller stops
        return "451 too late"


ServerFactory = Callable[..., ReceiverController]


@pytest.fixture
def smtp_server(pki: DemoPki, rogue_pki: DemoPki) -> Iterator[ServerFactory]:
    """Start SMTP servers on port 0: ``tls`` is "starttls", "implicit", "none" or "rogue"."""
    started: list[ReceiverController] = []

    def start(handler: StoreHandler, *, tls: str = "starttls") -> ReceiverController:
        kwargs: dict[str, object] = {}
        if tls in ("starttls", "rogue"):
            chosen = rogue_pki if tls == "rogue" else pki
            context = server_tls_context(chosen.server.cert, chosen.server.key)
            kwargs = {"tls_context": context, "require_starttls": True}
        elif tls == "implicit":
            kwargs = {"ssl_context": server_tls_context(pki.server.cert, pki.server.key)}
        controller = ReceiverController(handler, hostname="127.0.0.1", port=0, **kwargs)
        controller.start()
        started.append(controller)
        return controller

    yield start
    for controller in started:
        controller.stop()


def smtp_config(pki: DemoPki, port: int, *, timeout_s: float = 5.0, tls: TlsMode = TlsMode.STARTTLS) -> SmtpConfig:
    return SmtpConfig(host="127.0.0.1", port=port, tls=tls, ca_file=pki.ca.cert, timeout_s=timeout_s)


def transport_config(pki: DemoPki, spool: Path, *, port: int = 25, signed: bool = True) -> TransportConfig:
    smime = SmimeConfig(certificate=pki.signer.cert, key=pki.signer.key, agency_trust=pki.ca.cert)
    if not signed:
        smime = SmimeConfig(agency_trust=pki.ca.cert, require_signing=False)
    return TransportConfig(
        spool=spool,
        sender=SENDER,
        service_point="testipiste",
        smtp=smtp_config(pki, port),
        smime=smime,
        retry=RetryConfig(first_s=60, max_s=240, give_up_after_s=3600),
    )


def destination(pki: DemoPki, address: str = AGENCY) -> Destination:
    return Destination(address=address, certificate=pki.agencies[address].cert)


def page_image(path: Path, *, mode: str, size: tuple[int, int], text: str) -> Path:
    """A synthetic cleaned page: a frame and a line of text, saved as PNG."""
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, size[0] - 20, size[1] - 20), outline="black", width=3)
    draw.text((40, 40), text, fill=(200, 0, 0))
    image.convert(mode).save(path)
    return path


def make_document(folder: Path, *, pages: list[tuple[str, int, tuple[int, int]]] | None = None) -> Document:
    """A two-page Kela form with a henkilötunnus in its fields; pages are (mode, dpi, size)."""
    specs = pages if pages is not None else [("RGB", 150, (1240, 1754)), ("1", 200, (1654, 2339))]
    analyses = []
    for number, (mode, dpi, size) in enumerate(specs, start=1):
        path = page_image(folder / f"page-{number}.png", mode=mode, size=size, text=f"page {number}")
        identity = PageIdentity(form_id="kela-y38-fi", page=number, score=0.97, reason="title matched")
        analyses.append(PageAnalysis(
            number=number, identity=identity, blank=False, rotation=0, skew=0.0,
            orientation_confident=True, flags=[], fields={}, checkboxes={},
            archive_path=path, archive_dpi=dpi,
        ))  # fmt: skip
    source = SourceFile(
        path=folder / f"scan-{HETU}.pdf",
        sha256=hashlib.sha256(b"scan").hexdigest(),
        size=4,
        format="pdf",
        page_count=3,
    )
    return Document(
        source=source, pages=analyses, form_id="kela-y38-fi", authority="KELA", code="Y 38",
        language="fi", confidence=0.96,
        fields={
            "hetu": FieldValue(HETU, 0.93, True),
            "last_name": FieldValue("Virtanen", 0.88, None),
        },
        checkboxes={"asumistuki": True, "toimeentulotuki": False},
        blank_pages=[3],
        route=Route(rule="kela-fi", destination="kela", reason="authority KELA, language fi", target="kela"),
        scanned=dt.date(2026, 3, 2),
    )  # fmt: skip


class GatedHandler(StoreHandler):
    """Holds the reply to DATA (or to QUIT) until ``release`` is set; ``reached`` says it got there.

    The gate is a threading.Event: the test thread opens it while the server's loop waits.
    """

    def __init__(self, folder: Path, *, hold: str) -> None:
        super().__init__(folder)
        self.hold = hold  # "DATA" or "QUIT"
        self.reached = threading.Event()
        self.release = threading.Event()
        self.data_commands = 0

    async def _wait(self) -> None:
        self.reached.set()
        while not self.release.is_set():
            await asyncio.sleep(0.05)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_commands += 1
        if self.hold == "DATA" and not self.release.is_set():
            await self._wait()
            return "451 4.3.0 the sender went away"
        return await super().handle_DATA(server, session, envelope)

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.hold == "QUIT" and not self.release.is_set():
            await self._wait()
        return "221 Bye"


def sending_config(
    folder: Path, pki: DemoPki, port: int, *, authority: str = "KELA", address: str = AGENCY, rule: str | None = None,
    certificate: Path | None = None, smtp_ca: Path | None = None, timeout_s: float | None = None, head: str = "",
) -> Path:  # fmt: skip
    """``folder/intake.toml``: one rule sending ``authority``'s forms to ``address`` over the test server.

    Signed with the test PKI's signer, encrypted to the agency's certificate (or
    ``certificate``), the server trusted through ``smtp_ca`` (default: the test CA).
    """
    name = authority.lower()
    timeout = f"timeout_s = {timeout_s}\n" if timeout_s is not None else ""
    path = folder / "intake.toml"
    path.write_text(f"""{head}
[[routing.rules]]
id = "{rule or name}"
authority = "{authority}"
destination = "{name}"
[destinations.{name}]
address = "{address}"
certificate = "{certificate or pki.agencies[address].cert}"
[transport]
spool = "{folder / "spool"}"
sender = "{SENDER}"
[transport.smtp]
host = "127.0.0.1"
port = {port}
ca_file = "{smtp_ca or pki.ca.cert}"
{timeout}[transport.smime]
certificate = "{pki.signer.cert}"
key = "{pki.signer.key}"
agency_trust = "{pki.ca.cert}"
""", encoding="utf-8")  # fmt: skip
    return path
