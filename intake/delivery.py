"""From routed documents to the outbox, and from the outbox to the agencies."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from intake.config import Config, Destination
from intake.errors import PackageError
from intake.models import Document, Status
from intake.routing.templates import load_templates
from intake.transport import FlushReport, Outbox, Package, State, build_package, flush

log = logging.getLogger(__name__)


def destination_of(document: Document, config: Config) -> Destination:
    """The configured destination of a routed document's rule."""
    rule_id = document.route.rule if document.route else None
    for rule in config.routing.rules:
        if rule.id == rule_id:
            return config.destinations[rule.destination]
    raise PackageError(f"document has no route to a configured rule ({rule_id!r})")


class Dispatcher:
    """Packages routed documents into the outbox and flushes it; one per process."""

    def __init__(self, config: Config, *, keep_packages: bool = False) -> None:
        self.config = config
        self.outbox = Outbox.for_config(config.transport)
        self.keep_packages = keep_packages
        self.packages: dict[str, Package] = {}  # by package id, with keep_packages (the demo checks them)

    def enqueue(self, document: Document, /) -> Package | None:
        """Package ``document`` and queue it durably; on failure it is held for review."""
        try:
            package = build_package(document, destination=destination_of(document, self.config),
                                    config=self.config.transport,
                                    templates=load_templates(self.config.routing.templates))  # fmt: skip
            self.outbox.enqueue(package, package.recipient)
        except Exception as exc:  # a package that cannot be built or stored is held, never lost
            document.status, document.reason = Status.REVIEW, f"could not be queued: {exc}"
            log.error(
                "package for file %.12s pages %s not queued: %s", document.source.sha256, document.page_numbers, exc
            )
            return None
        document.package_id = package.package_id
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
