"""The receiving agency's side of the channel: open, check and file what intake sent."""

from intake.receive.inbox import Outcome, Receiver, Verdict, receive
from intake.receive.unpack import OpenedPackage, Reason, open_package, unseal

__all__ = ["OpenedPackage", "Outcome", "Reason", "Receiver", "Verdict", "open_package", "receive", "unseal"]
