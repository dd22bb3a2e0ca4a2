"""From routed documents to the outbox, and from the outbox to the agencies."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from typing import TYPE_CHECKING

from intake.audit import Action, AuditLog, Event
from intake.changes import changes
from intake.config import Config, Destination
from intake.durable import sha256_file
from intake.errors import PackageError
from intake.models import Document, Status
from intake.register import Register
from intake.routing.templates import load_templates
from intake.transport import FlushReport, Outbox, Package, State, build_package, flush
from intake.transport.trust import AgencyCertificates

if TYPE_CHECKING:
    from intake.pipeline import FileResult

log = logging.getLogger(__name__)


def destination_of(document: Document, config: Config) -> Destination:
    """The configured destination routing chose for a document."""
    target = document.route.target if document.route else None
    if target is not None and target in config.destinations:
        return config.destinations[target]
    raise PackageError(f"document has no route to a configured destination ({target!r})")


class Dispatcher:
    """Packages routed documents into the outbox and flushes it; one per process.

    Everything it does for real is recorded in the audit log (``<spool>/audit.log``):
    the files scanned, how their documents were classified, held, queued, sent or failed.
    """

    def __init__(self, config: Config, *, keep_packages: bool = False) -> None:
        self.outbox = Outbox.for_config(config.transport)
        self.audit = AuditLog.for_config(config.transport)
        self.register = Register(config.transport.spool)  # what was queued: rescans are held
        self.reconfigure(config)
        self.keep_packages = keep_packages
        self.packages: dict[str, Package] = {}  # by package id, with keep_packages (the demo checks them)

    def reconfigure(self, config: Config, /) -> None:
        """New routing table (reloaded rules): destinations and their certificates from now on."""
        self.config = config
        # Read afresh on every use: a certificate file replaced while 'intake watch' runs
        # is checked before anything is sealed for it, and queued items sealed for the old
        # one are stopped at send time.
        self.certificates = AgencyCertificates(config.destinations.values(),
                                               anchors=config.transport.smime.agency_trust)  # fmt: skip

    def scanned(self, result: FileResult, /) -> None:
        """Record a processed file: scanned (or rejected), each document classified, held."""
        rejection = result.rejection
        if rejection is not None:
            sha256 = rejection.sha256
            if sha256 is None and rejection.quarantined_to is not None:  # rejected before it was hashed
                sha256 = sha256_file(rejection.quarantined_to)
            self.audit.record(Action.REJECTED, file_sha256=sha256, code=rejection.code)
            return
        sha256 = result.documents[0].source.sha256 if result.documents else None
        events = [Event(Action.SCANNED, file_sha256=sha256, pages=[page.number for page in result.pages or []])]
        for document in result.documents:
            rule = document.route.rule if document.route else None
            seen = Event(Action.CLASSIFIED, file_sha256=document.source.sha256, pages=document.page_numbers,
                         form=document.form_id, rule=rule)  # fmt: skip
            events.append(seen)
            if document.status is Status.REVIEW:
                events.append(dataclasses.replace(seen, action=Action.HELD))
        self.audit.append(events)  # one fsync per file, not per entry

    def enqueue(self, document: Document, /) -> Package | None:
        """Package ``document`` and queue it durably; a possible rescan, or a failure, is held for review.

        A document queued before whose item failed is not queued twice: if the failure was
        its recipient's certificate changing, the item is rebuilt for the new certificate;
        otherwise the document says that it failed and how to retry.
        """
        rebuilt = False
        now = dt.datetime.now(dt.UTC)
        if self._held_as_rescan(document, now):
            return None
        try:
            package = self._build(document)
            item = self.outbox.get(self.outbox.enqueue(package, package.recipient))
            if item.state is State.FAILED and item.certificate != (package.certificate or ""):
                self.outbox.rebuild(item.id, package, now=dt.datetime.now(dt.UTC))
                rebuilt = True
            elif item.state is State.FAILED:
                document.status = Status.FAILED
                document.reason = (f"its package failed before (outbox item {item.id}): {item.last_error}; "
                                   f"once the cause is fixed: intake retry {item.id}")  # fmt: skip
        except Exception as exc:  # a package that cannot be built or stored is held, never lost
            document.status, document.reason = Status.REVIEW, f"could not be queued: {exc}"
            log.error(
                "package for file %.12s pages %s not queued: %s", document.source.sha256, document.page_numbers, exc
            )
            self.audit.record(Action.HELD, file_sha256=document.source.sha256, pages=document.page_numbers,
                              form=document.form_id, code="not-queued")  # fmt: skip
            return None
        document.package_id = package.package_id
        if document.status is not Status.FAILED:  # a failed item was not queued again: nothing new happened
            self.audit.record(Action.QUEUED, package_id=package.package_id, file_sha256=document.source.sha256,
                              pages=document.page_numbers, form=document.form_id,
                              rule=document.route.rule if document.route else None,
                              destination=package.recipient, code="rebuilt" if rebuilt else None)  # fmt: skip
            try:
                self.register.record(document, package.package_id, now=now)
            except Exception:  # queued is queued: a register that cannot be written only loses a check
                log.exception("package %s queued but not recorded in the register", package.package_id)
        if self.keep_packages:
            self.packages[package.package_id] = package
        return package

    def _held_as_rescan(self, document: Document, now: dt.datetime) -> bool:
        """Hold a rescan of a paper queued within ``duplicate_days`` (same form, person, nearly the same readings)."""
        earlier = self.register.duplicate_of(document, days=self.config.routing.duplicate_days, now=now)
        if earlier is None:
            return False
        document.status = Status.REVIEW
        document.reason = (f"possible duplicate: the same form and person, nearly the same readings, "
                           f"were queued as package {earlier.package_id} on {earlier.queued:%Y-%m-%d}")  # fmt: skip
        self.audit.record(Action.HELD, file_sha256=document.source.sha256, pages=document.page_numbers,
                          form=document.form_id, code="possible-duplicate")  # fmt: skip
        return True

    def _build(self, document: Document) -> Package:
        """Check the destination's certificate now, then seal the package for exactly that one."""
        destination = destination_of(document, self.config)
        checked = self.certificates.check(destination)
        package = build_package(document, destination=destination, config=self.config.transport,
                                templates=load_templates(self.config.routing.templates))  # fmt: skip
        if checked is not None and package.certificate != checked.fingerprint:
            raise PackageError(f"the certificate of {destination.address} changed while the package was built")
        return package

    def flush(self) -> FlushReport:
        """Deliver every due item once; returns what happened to each."""
        report = asyncio.run(
            flush(self.outbox, smtp=self.config.transport.smtp, certificates=self.certificates.current)
        )
        for item_id, error in report.errors.items():
            log.warning("outbox item %s not delivered: %s", item_id, error)
        events = []
        for action, item_ids in ((Action.SENT, report.sent), (Action.DEFERRED, report.deferred),
                                 (Action.FAILED, report.failed)):  # fmt: skip
            for item_id in item_ids:
                item = self.outbox.get(item_id)
                code = item.last_code if action is not Action.SENT else None
                events.append(Event(action, package_id=item.package_id, destination=item.recipient, code=code))
        if events:
            self.audit.append(events)
            changes.announce()  # the desk shows delivery states
        return report

    def retry(self, item_ids: list[str] | None = None) -> list[str]:
        """Make failed and deferred items due now (``None``: all of them), and record it; returns their ids."""
        now = dt.datetime.now(dt.UTC)
        if item_ids is None:
            item_ids = [item.id for item in self.outbox.list() if item.state in (State.FAILED, State.DEFERRED)]
        for item_id in item_ids:
            self.outbox.requeue(item_id, now=now)
            item = self.outbox.get(item_id)
            self.audit.record(Action.QUEUED, package_id=item.package_id, destination=item.recipient, code="retry")
        changes.announce()
        return item_ids

    def lines(self) -> list[str]:
        """One line per outbox item, for ``intake outbox``."""
        found = []
        for item in self.outbox.list():
            line = (
                f"{item.id}  {item.state}  {_local(item.updated)}  {item.recipient}  package {item.package_id}  "
                f"attempts {item.attempts}"
            )
            if item.state == State.DEFERRED and item.next_attempt:
                line += f"  next {_local(item.next_attempt)}"
            if item.state == State.SENDING:
                line += "  (being sent now, or its sender crashed: the next 'intake send' sends it again)"
            if item.file is None:
                line += "  message deleted (retention)"
            if item.last_error and item.state != State.SENT:
                line += f"  ({item.last_error})"
            found.append(line)
        return found


def _local(moment: dt.datetime) -> str:
    """Local time with its offset: an administrator reads it against the wall clock."""
    return moment.astimezone().isoformat(timespec="seconds")
