"""The demo, step by step: the real pipeline on sample scans, delivered to a local TLS mail server.

``./run.sh demo`` (or ``python -m intake.demo [FILE...]``):

1. makes a local PKI on first run (a CA, the mail server's TLS certificate, the service
   point's signing certificate and one S/MIME certificate per agency in the config);
2. starts a receiving SMTP server (aiosmtpd on 127.0.0.1, STARTTLS required) that stores
   what it receives in ``var/received``;
3. runs ``intake process`` on the sample scans with ``examples/intake.toml``;
4. opens every received message as the agency would (decrypt with its key, verify the
   signature with ``openssl cms -verify``) and checks it is exactly what was sent.
"""

from __future__ import annotations

import argparse
import errno
import logging
import sys
import tempfile
import time
from pathlib import Path

from intake import config as configuration
from intake.delivery import Dispatcher
from intake.demo.mailserver import ReceiverController, eml_name, start_receiver
from intake.demo.pki import DemoPki, make_demo_pki
from intake.logs import setup_logging
from intake.models import Document
from intake.pipeline import process
from intake.receive import open_package
from intake.transport import Package

log = logging.getLogger("intake.demo")

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "examples" / "intake.toml"
# The sample scans ship with the repository (see examples/scans/README.md): one of each of
# TIFF, JPEG, PNG and PDF, a two-page form, a batch of two forms, a duplex scan with a blank
# back, a Swedish form and a letter that is no form.
SAMPLES = ROOT / "examples" / "scans"


def _check(package: Package, received: Path, pki_agencies: dict, ca_file: Path) -> tuple[bool, str]:
    """Open the received copy as the agency would and compare it with what was sent."""
    path = received / eml_name(package.message)
    if not path.is_file():
        return False, "not received"
    eml = path.read_bytes()
    if eml != package.message:
        return False, "received bytes differ from the sent message"
    pair = pki_agencies[package.recipient]
    opened = open_package(eml, recipient_key=pair.key, recipient_cert=pair.cert, ca_file=ca_file)
    if not opened.signer_verified:
        return False, "signature not verified"
    if opened.pdf != package.pdf or opened.manifest != package.manifest:
        return False, "PDF or manifest differ from what was packaged"
    return True, f"decrypted, signature verified, PDF {len(opened.pdf) // 1024} KiB + manifest identical"


_SCAN_SUFFIXES = {".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png"}

Outcome = list[tuple[Document, Package | None]]


def _process(files: list[Path], config: configuration.Config, dispatcher: Dispatcher) -> Outcome:
    results = []
    with tempfile.TemporaryDirectory(prefix="intake-demo-") as tmp:
        for result in process(files, config, dispatcher=dispatcher, work=Path(tmp)):
            if result.rejection:
                print(f"  {result.path.name}: rejected ({result.rejection.reason})")
            for doc in result.documents:
                package = dispatcher.packages.get(doc.package_id or "")
                results.append((doc, package))
                where = doc.route.destination if doc.route else "held for the advisor"
                print(f"  {doc.source.path.name} pages {doc.page_numbers}: {doc.form_id or 'no known form'} "
                      f"({doc.confidence:.2f}) -> {where}" + (f"  [{doc.reason}]" if doc.reason else ""))  # fmt: skip
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="intake-demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("files", nargs="*", type=Path, help=f"scans (default: every file in {SAMPLES})")
    parser.add_argument("--config", type=Path, default=CONFIG)
    args = parser.parse_args(argv)
    setup_logging()
    files = args.files or sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in _SCAN_SUFFIXES)
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(f"intake demo: sample scans not found: {', '.join(missing)}", file=sys.stderr)
        return 2
    config = configuration.load(args.config)
    smtp, smime = config.transport.smtp, config.transport.smime
    assert smime.certificate is not None and smtp.ca_file is not None
    addresses = sorted({d.address for d in config.destinations.values()})
    pki = make_demo_pki(smime.certificate.parent, agencies=addresses, signer=config.transport.sender)
    # Each run gets a spool and a mail folder of its own beside the configured spool, so
    # that running the demo again starts clean without touching any earlier run's data.
    run = (config.transport.spool.parent / "demo-runs" / time.strftime("%Y%m%d-%H%M%S")).resolve()
    config = config.model_copy(update={"transport": config.transport.model_copy(update={"spool": run / "spool"})})
    received = run / "received"
    received.mkdir(parents=True, exist_ok=True)
    receiver = _start(received, pki, host=smtp.host, port=smtp.port)
    if receiver.port != smtp.port:
        print(f"intake demo: port {smtp.port} is taken; using {receiver.port} instead")
        smtp = smtp.model_copy(update={"port": receiver.port})
        config = config.model_copy(update={"transport": config.transport.model_copy(update={"smtp": smtp})})
    try:
        print(f"intake demo: receiving mail server on {smtp.host}:{receiver.port} (STARTTLS required)")
        print(f"intake demo: processing {len(files)} scans with {args.config}")
        dispatcher = Dispatcher(config, keep_packages=True)
        results = _process(files, config, dispatcher)
        report = dispatcher.flush()
        print(f"intake demo: outbox flushed: {len(report.sent)} sent, {len(report.deferred)} deferred, "
              f"{len(report.failed)} failed")  # fmt: skip
    finally:
        receiver.stop()
    return _summary(results, received, pki, report_failed=bool(report.deferred or report.failed))


def _start(received: Path, pki: DemoPki, *, host: str, port: int) -> ReceiverController:
    """The receiving server on ``port``, or on a free port when that one is taken."""
    try:
        return start_receiver(received, cert_file=pki.server.cert, key_file=pki.server.key, host=host, port=port)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
    return start_receiver(received, cert_file=pki.server.cert, key_file=pki.server.key, host=host, port=0)


def _summary(results: Outcome, received: Path, pki: DemoPki, *, report_failed: bool) -> int:
    print("\nintake demo: what was delivered where")
    ok = not report_failed
    for doc, package in results:
        if package is None:
            print(f"  held   {doc.source.path.name} pages {doc.page_numbers}: {doc.reason}")
            continue
        good, detail = _check(package, received, pki.agencies, pki.ca.cert)
        ok &= good
        print(f"  {'OK  ' if good else 'FAIL'}   {doc.source.path.name} pages {doc.page_numbers} "
              f"{doc.form_id} -> {package.recipient}: {detail}")  # fmt: skip
    delivered = sum(1 for _, p in results if p is not None)
    print(f"\nintake demo: {delivered} packages delivered and checked, "
          f"{len(results) - delivered} held for review; received mail in {received}")  # fmt: skip
    return 0 if ok else 1
