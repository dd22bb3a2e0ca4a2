"""The one exception tree of intake; every error a caller can act on is a leaf here.

IntakeError
├── ConfigError                  the configuration file is wrong (file, key, problem)
├── EnvironmentProblem           something intake needs is missing on this machine
│   └── UnsafeFolder             an output folder is a symbolic link or not a folder
├── BadInputError                one input file cannot be processed (it is quarantined)
│   ├── UnsupportedFormat
│   ├── CorruptFile
│   ├── EncryptedPdf
│   └── LimitExceeded            too many pages, too many pixels, too slow
│       └── FileTooLarge         above the size limit: refused before it is read
├── OcrError                     the OCR engine failed on a page
├── TemplateError                a form template is invalid
└── TransportError
    ├── PackageError
    ├── OutboxError
    └── DeliveryError            a message could not be delivered
        ├── DeliveryTimeout      (also a TimeoutError)
        ├── TemporaryFailure     4xx: try again later
        └── PermanentFailure     5xx: will not succeed by retrying
"""

from __future__ import annotations


class IntakeError(Exception):
    """Root of every error intake raises on purpose."""


class ConfigError(IntakeError):
    """The configuration is invalid: names the file, the key and what is wrong."""

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class EnvironmentProblem(IntakeError):
    """A program, language pack or key that intake needs is missing or unreadable."""


class UnsafeFolder(EnvironmentProblem):
    """A folder intake writes to is a symbolic link or not a folder: it refuses to start."""

    def __init__(self, message: str, *, folder: str) -> None:
        self.folder = folder
        super().__init__(message)


class BadInputError(IntakeError):
    """An input file cannot be processed; the file is quarantined with this reason."""

    code = "bad-input"


class UnsupportedFormat(BadInputError):
    """The file is not a PDF, TIFF, JPEG or PNG."""

    code = "unsupported-format"


class CorruptFile(BadInputError):
    """The file claims a supported format but cannot be decoded."""

    code = "corrupt"


class EncryptedPdf(BadInputError):
    """The PDF is encrypted and cannot be opened without a password."""

    code = "encrypted"


class LimitExceeded(BadInputError):
    """The file exceeds a configured limit (pages, pixels, time)."""

    code = "limit-exceeded"


class FileTooLarge(LimitExceeded):
    """The file is larger than ``[capture] max_file_mb``; it is quarantined unread."""


class OcrError(IntakeError):
    """The OCR engine failed on a page."""


class TemplateError(IntakeError):
    """A form template is invalid."""

    def __init__(self, message: str, *, template: str | None = None) -> None:
        self.template = template
        super().__init__(f"template {template}: {message}" if template else message)


class TransportError(IntakeError):
    """Packaging, queueing or delivery failed."""


class PackageError(TransportError):
    """A package could not be built or signed."""


class OutboxError(TransportError):
    """The durable outbox could not be read or written."""


class DeliveryError(TransportError):
    """A message could not be delivered to its recipient."""

    def __init__(self, message: str, *, recipient: str | None = None, code: int | None = None) -> None:
        self.recipient = recipient
        self.code = code
        super().__init__(message)


class DeliveryTimeout(DeliveryError, TimeoutError):
    """The SMTP exchange did not finish in time; delivery may be retried."""


class TemporaryFailure(DeliveryError):
    """The server answered 4xx or could not be reached: try again later."""


class PermanentFailure(DeliveryError):
    """The server answered 5xx or refused TLS: retrying will not help."""
