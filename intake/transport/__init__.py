"""Transport: package a document, keep it in a durable outbox, deliver it over TLS."""

from intake.transport.certs import DemoPki, KeyPair, make_demo_pki
from intake.transport.outbox import Item, Outbox, OutboxStore, State
from intake.transport.package import Package, build_package, write_package
from intake.transport.receiver import OpenedPackage, open_package, start_receiver
from intake.transport.smtp import DeliveryChannel, FlushReport, SmtpChannel, deliver, flush

__all__ = [
    "DeliveryChannel",
    "DemoPki",
    "FlushReport",
    "Item",
    "KeyPair",
    "OpenedPackage",
    "Outbox",
    "OutboxStore",
    "Package",
    "SmtpChannel",
    "State",
    "build_package",
    "deliver",
    "flush",
    "make_demo_pki",
    "open_package",
    "start_receiver",
    "write_package",
]
