"""From routed documents to the outbox, and from the outbox to the agencies."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from intake.config import Config, Destination
from intake.errors import PackageError
from intake.models import Document, Status
from intake.register import Register
from intake.transport import FlushReport, Outbox, Package, State, build_package, flush

log = logging.getLogger(__name__)


def destination_of(document: Document, config: Config) -> Destination:
    """The configured destination routing chose for a document."""
    target = document.route.target if document.route else None
    if target is not None and target in config.destinations:
        return config.destinations[target]
    raise PackageError(f"document has no route to a configured destination ({target!r})")


class Dispatcher:
    """Packages routed documents into the outbox and flushes it; one per process."""

    def __init__(self, config: Config, *, keep_packages: bool = False) -> None:
        self.config = config
        self.outbox = Outbox.for_config(config.transport)
        self.register = Register(config.transport.spool)
        self.keep_packages = keep_packages
        self.packages: dict[str, Package] = {}  # by package id, with keep_packages (the demo checks them)

    def enqueue(self, document: Document, /) -> Package | None:
        """Package ``document`` and queue it durably; a possible rescan, or a failure, is held for review."""
        now = dt.datetime.now(dt.UTC)
        earlier = self.register.duplicate_of(document, days=self.config.routing.duplicate_days, now=now)
        if earlier is not None:
            document.status = Status.REVIEW
            document.reason = (f"possible duplicate: the same form and person, nearly the same readings, "
                               f"were queued as package {earlier.package_id} on {earlier.queued:%Y-%m-%d}")  # fmt: skip
            return None
        try:
            package = build_package(document, destination=destination_of(document, self.config),
                                    config=self.config.transport)  # fmt: skip
            self.outbox.enqueue(package, package.recipient)
        except Exception as exc:  # a package that cannot be built or stored is held, never lost
            document.status, document.reason = Status.REVIEW, f"could not be queued: {exc}"
            log.error(
                "package for file %.12s pages %s not queued: %s", document.source.sha256, document.page_numbers, exc
            )
            return None
        document.package_id = package.package_id
        try:
            self.register.record(document, package.package_id, now=now)
        except Exception:  # queued is queued: a register that cannot be written only loses a check
            log.exception("package %s queued but not recorded in the register", package.package_id)
        if self.keep_packages:
            self.packages[package.package_id] = package
        return package

    def flush(self) -> FlushReport:
        """Deliver every due item once; returns what happened to each."""
        report = asyncio.run(flush(self.outbox, smtp=self.config.transport.smtp))
        for item_id, error in report.errors.items():
            log.warning("outbox item %s not delivered: %s", item_id, error)
        return report

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
            if item.last_error and item.state != State.SENT:
                line += f"  ({item.last_error})"
            found.append(line)
        return found


def _local(moment: dt.datetime) -> str:
    """Local time with its offset: an administrator reads it against the wall clock."""
    return moment.astimezone().isoformat(timespec="seconds")
