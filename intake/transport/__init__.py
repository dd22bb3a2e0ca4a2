"""Transport: package a document, keep it in a durable outbox, deliver it over TLS."""

from intake.transport.manifest import Manifest
from intake.transport.outbox import Item, Outbox, OutboxStore, State
from intake.transport.package import Package, build_package, write_package
from intake.transport.smtp import DeliveryChannel, FlushReport, SmtpChannel, deliver, flush

__all__ = [
    "DeliveryChannel",
    "FlushReport",
    "Item",
    "Manifest",
    "Outbox",
    "OutboxStore",
    "Package",
    "SmtpChannel",
    "State",
    "build_package",
    "deliver",
    "flush",
    "write_package",
]
