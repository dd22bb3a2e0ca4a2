"""The agency's tool: check every received message and file it as a package or a rejection.

Output folder layout (names are package ids or content hashes, never personal data):

    accepted/<package-id>.pdf             the document, as the service point sent it
    accepted/<package-id>.manifest.json   its manifest, byte for byte (written last)
    rejected/<sha256[:24]>.eml            a rejected message, byte for byte
    rejected/<sha256[:24]>.reason.json    why: reason code, detail, where it was found
    .state/                               what was already handled (SQLite) and the lock

Sources are only read, never changed. Running again over the same sources changes
nothing: a message already handled at the same place is skipped.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from intake.config import ReceiveConfig
from intake.durable import write_durably
from intake.errors import ConfigError, EnvironmentProblem, PackageError, PackageRefused, ReceiveError
from intake.receive.sources import Incoming, read_sources
from intake.receive.state import ReceiveState
from intake.receive.unpack import Identity, Reason, Trust, Unsealed, unseal

log = logging.getLogger(__name__)


class Verdict(StrEnum):
    """What became of one message."""

    ACCEPTED = "accepted"  # checked and filed under accepted/
    REJECTED = "rejected"  # kept under rejected/ with the reason (a copy: sources stay as they are)
    SEEN = "seen"  # handled by an earlier run at the same place: nothing done
    SKIPPED = "skipped"  # could not be read (too large, permissions): left in place, tried next run


@dataclass(frozen=True)
class Outcome:
    """One message's outcome, for the report and ``--json``."""

    location: str
    sha256: str
    verdict: Verdict
    reason: Reason | None = None
    detail: str = ""
    package_id: str | None = None
    signer: str | None = None
    files: tuple[Path, ...] = field(default=())

    @property
    def label(self) -> str:
        """The reason of a rejection, else the verdict: one word for reports."""
        return str(self.reason or self.verdict)

    @property
    def needs_a_person(self) -> bool:
        # Duplicates are what at-least-once delivery brings: dropped, nobody needs to act.
        return self.verdict is Verdict.SKIPPED or (self.verdict is Verdict.REJECTED and self.reason != Reason.DUPLICATE)

    def to_json(self) -> dict[str, Any]:
        return {
            "location": self.location, "sha256": self.sha256, "verdict": str(self.verdict),
            "reason": str(self.reason) if self.reason else None, "detail": self.detail,
            "package": self.package_id, "signer": self.signer, "files": [str(p) for p in self.files],
        }  # fmt: skip


def receive(config: ReceiveConfig, sources: Iterable[Path], /) -> Iterator[Outcome]:
    """Check and file every message in ``sources``; one outcome per message, in order."""
    with Receiver(config) as receiver:
        for incoming in read_sources(sources):
            yield receiver.take(incoming)


class Receiver:
    """Holds the agency's keys, trust and state for one run over its sources."""

    def __init__(self, config: ReceiveConfig, /) -> None:
        self.config = config
        self.accepted = config.output / "accepted"
        self.rejected = config.output / "rejected"
        self.identities = [_identity(pair.certificate, pair.key) for pair in config.keys]
        self._work = tempfile.TemporaryDirectory(prefix="intake-receive-")
        try:
            self.trust = Trust(
                bundle=_bundle(config.trust, Path(self._work.name) / "trust.pem"),
                signers=frozenset(_fingerprint(path) for path in config.signers),
            )
            self.state = ReceiveState(config.output / ".state")
        except BaseException:
            self._work.cleanup()
            raise

    def __enter__(self) -> Receiver:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.state.close()
        self._work.cleanup()

    def take(self, incoming: Incoming, /) -> Outcome:
        """Check one message and file it; a bad message is a rejection, never an exception."""
        if incoming.problem is not None:
            # Not the location in the log: a file name may be anything (the report has it).
            log.error("a message was left in place: %s", incoming.problem)
            return Outcome(incoming.location, "", Verdict.SKIPPED, detail=incoming.problem)
        sha256 = incoming.sha256
        if self.state.at(incoming.location) == sha256:
            known = self.state.message(sha256)
            return Outcome(incoming.location, sha256, Verdict.SEEN, package_id=known.package_id if known else None,
                           detail=f"{known.verdict} on {known.received}" if known else "")  # fmt: skip
        known = self.state.message(sha256)
        if known is not None:  # the same bytes elsewhere: a resend, already kept once
            detail = f"the same message was {known.verdict} on {known.received}"
            return self._settle(incoming, sha256, Verdict.REJECTED, Reason.DUPLICATE, detail, known.package_id)
        try:
            unsealed = unseal(
                incoming.data, identities=self.identities, trust=self.trust,
                addresses=self.config.addresses, require_encryption=self.config.require_encryption,
            )  # fmt: skip
        except PackageRefused as exc:
            return self._reject(incoming, sha256, Reason(exc.reason), exc.detail)
        except EnvironmentProblem:
            raise  # openssl missing: the machine's problem, not this message's
        except Exception as exc:  # a message that trips a bug must not stop the run
            log.exception("internal error checking message %.12s", sha256)
            return self._reject(incoming, sha256, Reason.MALFORMED, f"internal error: {type(exc).__name__}")
        first = self.state.package(unsealed.package_id)
        if first is not None:
            detail = f"package {unsealed.package_id} was accepted on {first}"
            return self._reject(incoming, sha256, Reason.DUPLICATE, detail, unsealed.package_id)
        return self._accept(incoming, sha256, unsealed)

    def _accept(self, incoming: Incoming, sha256: str, unsealed: Unsealed) -> Outcome:
        pdf = self.accepted / f"{unsealed.package_id}.pdf"
        manifest = self.accepted / f"{unsealed.package_id}.manifest.json"
        # The manifest last: a case system that waits for it finds the PDF complete.
        self._write(pdf, unsealed.pdf)
        self._write(manifest, unsealed.manifest_json)
        log.info("accepted package %s signed by %s", unsealed.package_id, unsealed.signer)
        return self._settle(incoming, sha256, Verdict.ACCEPTED, None, "", unsealed.package_id,
                            signer=unsealed.signer, files=(pdf, manifest))  # fmt: skip

    def _reject(self, incoming: Incoming, sha256: str, reason: Reason, detail: str,
                package_id: str | None = None) -> Outcome:  # fmt: skip
        stem = sha256[:24]
        eml, why = self.rejected / f"{stem}.eml", self.rejected / f"{stem}.reason.json"
        record = {
            "reason": str(reason), "detail": detail, "package": package_id, "sha256": sha256,
            "location": incoming.location,
            "rejected_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }  # fmt: skip
        self._write(eml, incoming.data)
        self._write(why, json.dumps(record, ensure_ascii=False, indent=1).encode() + b"\n")
        log.warning("rejected message %.12s (%s): %s", sha256, reason, detail)
        return self._settle(incoming, sha256, Verdict.REJECTED, reason, detail, package_id, files=(eml, why))

    def _settle(
        self, incoming: Incoming, sha256: str, verdict: Verdict, reason: Reason | None, detail: str,
        package_id: str | None, *, signer: str | None = None, files: tuple[Path, ...] = (),
    ) -> Outcome:  # fmt: skip
        """Remember the outcome (after its files are on disk) and return it."""
        self.state.record(incoming.location, sha256, verdict=verdict, reason=reason,
                          package_id=package_id, signer=signer)  # fmt: skip
        return Outcome(incoming.location, sha256, verdict, reason, detail, package_id, signer, files)

    def _write(self, path: Path, data: bytes) -> None:
        try:
            write_durably(path, data, mode=0o640)
        except OSError as exc:  # the source is untouched: the next run tries again
            raise ReceiveError(f"cannot write {path}: {exc.strerror}") from exc


def _identity(certificate: Path, key: Path) -> Identity:
    """A key pair that can open packages, or a ConfigError that says why not."""
    try:
        identity = Identity.load(certificate, key)
    except PackageError as exc:
        raise ConfigError(str(exc), key="keys") from exc
    if not isinstance(identity.key, rsa.RSAPrivateKey):
        raise ConfigError(f"{key}: S/MIME decryption needs an RSA key", key="keys")
    if identity.key.public_key() != identity.certificate.public_key():
        raise ConfigError(f"{key} is not the private key of {certificate}", key="keys")
    return identity


def _bundle(paths: list[Path], target: Path) -> Path:
    """Every trusted certificate in one PEM file, as ``openssl cms -CAfile`` wants it."""
    pem = b""
    for path in paths:
        try:
            certificates = x509.load_pem_x509_certificates(path.read_bytes())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read trusted certificates from {path}: {exc}", key="trust") from exc
        pem += b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in certificates)
    target.write_bytes(pem)
    return target


def _fingerprint(path: Path) -> str:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes()).fingerprint(hashes.SHA256()).hex()
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read signer certificate {path}: {exc}", key="signers") from exc
