"""intake: scanned paper forms in, signed and encrypted packages out, to the right agency."""

from __future__ import annotations

__version__ = "0.1.0"

from intake.config import Config, load as load_config  # noqa: E402
from intake.errors import IntakeError  # noqa: E402
from intake.models import Document, Rejection, Status  # noqa: E402

__all__ = ["Config", "Document", "IntakeError", "Rejection", "Status", "__version__", "load_config"]
