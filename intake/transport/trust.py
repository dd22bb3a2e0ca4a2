"""X.509 checks of the certificates intake encrypts to and the key it signs with, made before use.

An agency certificate must name the destination's address (subjectAltName rfc822Name), be
within its validity, allow encryption and chain to the configured agency trust anchors;
the signing key must match its certificate, which must be valid and name the From
address, and the key file must be private to its owner. A certificate for the wrong
address would hand a customer's form to whoever holds its key: so nothing is encrypted
to a certificate that has not passed :func:`check_agency` at that moment.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID

from intake.config import Destination
from intake.errors import CertificateError
from intake.transport._smime import fingerprint

log = logging.getLogger(__name__)

WARN_BEFORE = dt.timedelta(days=30)
_T = TypeVar("_T", bound=x509.ExtensionType)
_EMAIL_USES = (ExtendedKeyUsageOID.EMAIL_PROTECTION, ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE)


@dataclass(frozen=True)
class CheckedCertificate:
    """A certificate that passed its checks; ``warning`` says when it expires soon."""

    certificate: x509.Certificate
    fingerprint: str  # SHA-256 of the DER encoding, hex: what the outbox records per item
    warning: str | None = None


def load_certificates(path: Path, /, *, what: str) -> list[x509.Certificate]:
    """Every PEM certificate in ``path`` (a leaf first, then any intermediates; or a CA bundle)."""
    try:
        found = x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        raise CertificateError(f"cannot read {what} {path}: {exc.strerror}", path=str(path)) from exc
    except ValueError as exc:
        raise CertificateError(f"{what} {path} is not a PEM certificate: {exc}", path=str(path)) from exc
    return found


def check_agency(
    path: Path, /, *, address: str, anchors: list[x509.Certificate], anchors_file: Path, now: dt.datetime
) -> CheckedCertificate:
    """Check that ``path`` holds a certificate fit to encrypt a form to ``address``; raise if not."""
    leaf, *intermediates = load_certificates(path, what="certificate")
    where = str(path)
    _names(leaf, address, where)
    warning = _validity(leaf, now, where)
    _usage_for_encryption(leaf, where)
    try:
        verifier = (
            verification.PolicyBuilder()
            .store(verification.Store(anchors))
            .time(now)
            # The leaf's S/MIME extensions are checked above with clearer messages; the
            # CAs on the way up are held to the Web PKI's rules.
            .extension_policies(
                ca_policy=verification.ExtensionPolicy.webpki_defaults_ca(),
                ee_policy=verification.ExtensionPolicy.permit_all(),
            )
            .build_client_verifier()
        )
        verifier.verify(leaf, intermediates)
    except verification.VerificationError as exc:
        raise CertificateError(
            f"certificate {path} does not chain to the agency trust anchors in {anchors_file} ({exc})", path=where
        ) from exc
    return CheckedCertificate(leaf, fingerprint(leaf), warning)


def check_signer(certificate: Path, key: Path, /, *, address: str, now: dt.datetime) -> CheckedCertificate:
    """Check the signing pair: private key file, key matches certificate, valid, for ``address``."""
    mode = _mode(key)
    if mode & 0o077:
        raise CertificateError(
            f"private key {key} can be read or changed by group or others (mode {mode:o}): chmod 600 {key}",
            path=str(key),
        )
    try:
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CertificateError(f"cannot read private key {key}: {exc}", path=str(key)) from exc
    if not isinstance(private, (rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise CertificateError(f"private key {key} is neither RSA nor EC", path=str(key))
    leaf = load_certificates(certificate, what="signing certificate")[0]
    if _spki(private.public_key()) != _spki(leaf.public_key()):
        raise CertificateError(f"private key {key} does not belong to certificate {certificate}", path=str(key))
    _names(leaf, address, str(certificate))
    warning = _validity(leaf, now, str(certificate))
    usage = _extension(leaf, x509.KeyUsage)
    if usage is not None and not (usage.digital_signature or usage.content_commitment):
        raise CertificateError(
            f"certificate {certificate} is not allowed for signing (key usage)", path=str(certificate)
        )
    _email_protection(leaf, str(certificate))
    return CheckedCertificate(leaf, fingerprint(leaf), warning)


class AgencyCertificates:
    """The configured agency certificates, read and checked afresh on every use.

    Re-reading is what lets a long-running ``intake watch`` notice a certificate file that
    an administrator replaced: a new package is encrypted only to a certificate that passes
    now, and a queued one is sent only if the certificate it was sealed for is still the one.
    """

    def __init__(self, destinations: Iterable[Destination], /, *, anchors: Path | None) -> None:
        self._by_address = {d.address.casefold(): d for d in destinations}
        self.anchors_file = anchors

    def check(self, destination: Destination, /, *, now: dt.datetime | None = None) -> CheckedCertificate | None:
        """The destination's certificate, checked; None when it has none (plain, if allowed)."""
        if destination.certificate is None:
            return None
        if self.anchors_file is None:
            raise CertificateError("no trust anchors for agency certificates: set transport.smime.agency_trust")
        anchors = load_certificates(self.anchors_file, what="agency trust anchors")
        moment = now if now is not None else dt.datetime.now(dt.UTC)
        return check_agency(destination.certificate, address=destination.address, anchors=anchors,
                            anchors_file=self.anchors_file, now=moment)  # fmt: skip

    def current(self, address: str, /, *, now: dt.datetime | None = None) -> str | None:
        """The fingerprint of the certificate configured for ``address`` now (None: none)."""
        destination = self._by_address.get(address.casefold())
        if destination is None:
            raise CertificateError(f"no destination with the address {address} is configured any more")
        checked = self.check(destination, now=now)
        return None if checked is None else checked.fingerprint


def _names(certificate: x509.Certificate, address: str, where: str) -> None:
    alternative = _extension(certificate, x509.SubjectAlternativeName)
    names = alternative.get_values_for_type(x509.RFC822Name) if alternative is not None else []
    if address.casefold() not in {name.casefold() for name in names}:
        shown = ", ".join(names) or "no e-mail address"
        raise CertificateError(
            f"certificate {where} is for {shown}, not for {address} (subjectAltName rfc822Name)", path=where
        )


def _validity(certificate: x509.Certificate, now: dt.datetime, where: str) -> str | None:
    """Raise outside the validity period; a warning when it ends within WARN_BEFORE."""
    starts, ends = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if now < starts:
        raise CertificateError(f"certificate {where} is not valid before {starts:%Y-%m-%d %H:%M} UTC", path=where)
    if now > ends:
        raise CertificateError(f"certificate {where} expired on {ends:%Y-%m-%d %H:%M} UTC", path=where)
    if ends - now < WARN_BEFORE:
        days = (ends - now).days
        message = f"certificate {where} expires on {ends:%Y-%m-%d} (in {days} days): renew it"
        log.warning("%s", message)
        return message
    return None


def _usage_for_encryption(certificate: x509.Certificate, where: str) -> None:
    if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
        raise CertificateError(f"certificate {where} has no RSA key: S/MIME here encrypts to RSA only", path=where)
    constraints = _extension(certificate, x509.BasicConstraints)
    if constraints is not None and constraints.ca:
        raise CertificateError(f"certificate {where} is a CA certificate, not an agency's own", path=where)
    usage = _extension(certificate, x509.KeyUsage)
    if usage is not None and not usage.key_encipherment:
        raise CertificateError(f"certificate {where} is not allowed for encryption (key usage)", path=where)
    _email_protection(certificate, where)


def _email_protection(certificate: x509.Certificate, where: str) -> None:
    extended = _extension(certificate, x509.ExtendedKeyUsage)
    if extended is not None and not any(oid in extended for oid in _EMAIL_USES):
        raise CertificateError(f"certificate {where} is not for e-mail protection (extended key usage)", path=where)


def _extension(certificate: x509.Certificate, kind: type[_T]) -> _T | None:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def _spki(public_key: CertificatePublicKeyTypes) -> bytes:
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _mode(path: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError as exc:
        raise CertificateError(f"cannot read private key {path}: {exc.strerror}", path=str(path)) from exc
