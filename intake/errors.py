"""The one exception tree of intake, and the exit codes that go with it.

IntakeError                      exit code (``exit_code``)
├── UsageError                   2  the command line is wrong (a path that does not exist)
├── ConfigError                  3  the configuration file is wrong (file, key, problem)
├── EnvironmentProblem           4  something intake needs is missing on this machine
│   └── UnsafeFolder             4  an output folder is a symbolic link or not a folder
├── BadInputError                one input file cannot be processed (it is quarantined)
│   ├── UnsupportedFormat
│   ├── CorruptFile
│   ├── EncryptedPdf
│   └── LimitExceeded            too many pages, too many pixels, too slow
│       └── FileTooLarge         above the size limit: refused before it is read
├── OcrError                     the OCR engine failed on a page
├── TemplateError                3  a form template is invalid
├── StoreError                   4  the document store cannot be opened, read or written
│   └── ReviewError              2  a desk action cannot be done (unknown document, not held, bad value)
├── AuditError                   13 the audit log cannot be written, or its chain is broken
└── TransportError
    ├── PackageError
    │   ├── NotARecipient        (received) the message is encrypted to someone else's key
    │   └── PackageRefused       (received) a message fails a check; ``reason`` says which
    ├── CertificateError         3  a certificate or key is not fit to encrypt to or sign with
    ├── ReceiveError             4  (received) a mailbox or the output folder cannot be used
    ├── OutboxError
    │   └── OutboxBusy           12  another process is sending from the outbox
    └── DeliveryError            a message could not be delivered
        ├── DeliveryTimeout      (also a TimeoutError)
        ├── TemporaryFailure     4xx: try again later
        │   └── TlsUnavailable   no STARTTLS or an untrusted server certificate
        └── PermanentFailure     5xx: will not succeed by retrying

Every other IntakeError that reaches the command line is a bug (exit 1). Bad input files
and undelivered messages are not raised to the top: they are outcomes of a run, reported
per file and summed up in the exit code by ``ExitCode.for_outcome``.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Exit codes of every ``intake`` command (also listed in ``intake --help``).

    A run that stops on an error exits with that error's code (1–4). A run that finishes
    sums up its outcome; when several apply, the first of these wins: 11 (a file was
    rejected: someone must look at it), 12 (a message is not delivered yet: the mail path
    needs attention, the outbox retries), 10 (documents held for the advisor: the daily
    routine).
    """

    OK = 0  # everything done: every document queued (or delivered)
    SOFTWARE = 1  # an unexpected internal error (a bug: please report it)
    USAGE = 2  # wrong command-line arguments
    CONFIG = 3  # the configuration or a template is invalid
    ENVIRONMENT = 4  # something intake needs is missing on this machine (tesseract, a key)
    REVIEW = 10  # some documents are held for the advisor to review
    REJECTED = 11  # some files could not be processed and were quarantined
    DELIVERY = 12  # some messages could not be delivered yet (they stay in the outbox)
    AUDIT = 13  # the audit log cannot be written, or its chain is broken (the message names the line)
    RULES = 14  # 'rules check' found a problem, or a 'rules test' case failed
    INTERRUPTED = 130  # stopped by Ctrl-C (128 + SIGINT); finished work is kept
    BROKEN_PIPE = 141  # the reader of the output went away (128 + SIGPIPE), e.g. ``intake outbox | head``

    @classmethod
    def for_outcome(cls, *, rejected: int = 0, undelivered: int = 0, held: int = 0) -> ExitCode:
        """The exit code of a finished run, by the precedence in the class docstring."""
        if rejected:
            return cls.REJECTED
        if undelivered:
            return cls.DELIVERY
        return cls.REVIEW if held else cls.OK


class IntakeError(Exception):
    """Root of every error intake raises on purpose."""

    exit_code = ExitCode.SOFTWARE


class UsageError(IntakeError):
    """The command line asks for something impossible (a path that does not exist)."""

    exit_code = ExitCode.USAGE


class ConfigError(IntakeError):
    """The configuration is invalid: names the file, the key and what is wrong."""

    exit_code = ExitCode.CONFIG

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None) -> None:
        self.file = file
        self.key = key
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class EnvironmentProblem(IntakeError):
    """A program, language pack or key that intake needs is missing or unreadable."""

    exit_code = ExitCode.ENVIRONMENT


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

    exit_code = ExitCode.CONFIG

    def __init__(self, message: str, *, template: str | None = None) -> None:
        self.template = template
        super().__init__(f"template {template}: {message}" if template else message)


class StoreError(IntakeError):
    """The document store cannot be opened, read or written."""

    exit_code = ExitCode.ENVIRONMENT


class ReviewError(StoreError):
    """A desk action cannot be done: the document is unknown or not held, or a value is wrong.

    ``code`` names the refusal (``not-held``, ``invalid-value``, ``not-released``…) so that the
    desk can say it in the advisor's language.
    """

    exit_code = ExitCode.USAGE

    def __init__(self, message: str, *, document: str | None = None, code: str = "refused") -> None:
        self.document = document
        self.code = code
        super().__init__(message)


class AuditError(IntakeError):
    """The audit log cannot be written or read, or its hash chain is broken."""

    exit_code = ExitCode.AUDIT


class TransportError(IntakeError):
    """Packaging, queueing or delivery failed."""


class PackageError(TransportError):
    """A package could not be built or signed."""


class NotARecipient(PackageError):
    """The message is encrypted, but not to the certificate it was opened with."""


class PackageRefused(PackageError):
    """A received message fails one of the agency's checks; ``reason`` is a short code."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class ReceiveError(TransportError):
    """The agency's side cannot read a mailbox or use its output folder (or another run holds it)."""

    exit_code = ExitCode.ENVIRONMENT


class CertificateError(TransportError):
    """A certificate or key is not fit for its use; ``path`` names the file at fault."""

    exit_code = ExitCode.CONFIG

    def __init__(self, message: str, *, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class OutboxError(TransportError):
    """The durable outbox could not be read or written."""


class OutboxBusy(OutboxError):
    """Another process holds the outbox's sending lock; try again when it is done."""

    exit_code = ExitCode.DELIVERY


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


class TlsUnavailable(TemporaryFailure):
    """The server offered no STARTTLS or an untrusted certificate: deferred, never sent in clear."""


class PermanentFailure(DeliveryError):
    """The server answered 5xx: retrying will not help."""
