"""intake: scanned paper forms in, signed and encrypted packages out, to the right agency."""

from __future__ import annotations

__version__ = "0.1.0"

from intake.config import Config
from intake.config import load as load_config
from intake.errors import IntakeError
from intake.models import Document, Rejection, Status

__all__ = ["Config", "Document", "IntakeError", "Rejection", "Status", "__version__", "load_config"]
