"""The receiving agency's side of the channel: open, check and file what intake sent."""

from intake.receive.unpack import OpenedPackage, open_package

__all__ = ["OpenedPackage", "open_package"]
