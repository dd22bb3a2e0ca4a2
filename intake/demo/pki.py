"""A local demo PKI (CA, TLS server, S/MIME certificates) as PEM files, made once and reused."""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from intake.durable import write_durably

log = logging.getLogger(__name__)

_KEY_BITS = 2048  # RSA: S/MIME envelopes need RSA recipients; 2048 keeps the demo fast
_CA_DAYS = 3650
_LEAF_DAYS = 730
_RENEW_BEFORE = dt.timedelta(days=7)


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key, as PEM files."""

    cert: Path
    key: Path


@dataclass(frozen=True)
class DemoPki:
    """Paths of everything :func:`make_demo_pki` wrote."""

    folder: Path
    ca: KeyPair
    server: KeyPair  # TLS server certificate for the local SMTP receiver
    signer: KeyPair  # the service point's S/MIME signing certificate
    agencies: dict[str, KeyPair] = field(default_factory=dict)  # address -> S/MIME pair


def make_demo_pki(
    folder: Path,
    /,
    *,
    agencies: Iterable[str],
    signer: str = "intake@localhost.localdomain",
    hosts: Iterable[str] = ("127.0.0.1", "localhost"),
) -> DemoPki:
    """Create (or reuse) a CA and the certificates signed by it under ``folder``.

    Files that exist and are still valid are reused, so a second run changes nothing;
    a new CA means every certificate below it is made again.
    """
    folder = Path(folder)
    now = dt.datetime.now(dt.UTC)
    ca_pair = KeyPair(folder / "ca.pem", folder / "ca.key")
    ca_cert, ca_key, fresh = _ca(ca_pair, now)
    issue = _Issuer(ca_cert, ca_key, now, force=fresh)
    server = issue(
        KeyPair(folder / "server.pem", folder / "server.key"),
        "intake demo SMTP",
        _server_extensions(hosts),
    )
    signing = issue(KeyPair(folder / "signer.pem", folder / "signer.key"), signer, _smime_extensions(signer))
    pairs = {}
    for address in agencies:
        stem = "agency-" + re.sub(r"[^a-z0-9.-]", "_", address.lower())
        pair = KeyPair(folder / f"{stem}.pem", folder / f"{stem}.key")
        pairs[address] = issue(pair, address, _smime_extensions(address))
    return DemoPki(folder=folder, ca=ca_pair, server=server, signer=signing, agencies=pairs)


def _ca(pair: KeyPair, now: dt.datetime) -> tuple[x509.Certificate, rsa.RSAPrivateKey, bool]:
    existing = _load(pair, now)
    if existing is not None:
        return existing[0], existing[1], False
    key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "intake demo CA")])
    builder = (
        _base(name, name, key.public_key(), now, _CA_DAYS)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    cert = builder.sign(key, hashes.SHA256())
    _write(pair, cert, key)
    log.info("created demo CA in %s", pair.cert.parent)
    return cert, key, True


class _Issuer:
    """Issues leaf certificates from the CA, reusing valid ones already on disk."""

    def __init__(self, ca_cert: x509.Certificate, ca_key: rsa.RSAPrivateKey, now: dt.datetime, *, force: bool) -> None:
        self.ca_cert, self.ca_key, self.now, self.force = ca_cert, ca_key, now, force

    def __call__(self, pair: KeyPair, common_name: str, extensions: list[x509.ExtensionType]) -> KeyPair:
        existing = None if self.force else _load(pair, self.now)
        if existing is not None and existing[0].issuer == self.ca_cert.subject:
            return pair
        key = rsa.generate_private_key(public_exponent=65537, key_size=_KEY_BITS)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        builder = _base(subject, self.ca_cert.subject, key.public_key(), self.now, _LEAF_DAYS)
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        for extension in extensions:
            builder = builder.add_extension(extension, critical=isinstance(extension, x509.KeyUsage))
        ski = self.ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
        )
        _write(pair, builder.sign(self.ca_key, hashes.SHA256()), key)
        log.info("issued demo certificate %s", pair.cert.name)
        return pair


def _base(
    subject: x509.Name, issuer: x509.Name, public_key: rsa.RSAPublicKey, now: dt.datetime, days: int
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))  # tolerate small clock skew
        .not_valid_after(now + dt.timedelta(days=days))
    )


def _key_usage(*, cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not cert_sign, content_commitment=False, key_encipherment=not cert_sign,
        data_encipherment=False, key_agreement=False, key_cert_sign=cert_sign,
        crl_sign=cert_sign, encipher_only=False, decipher_only=False,
    )  # fmt: skip


def _server_extensions(hosts: Iterable[str]) -> list[x509.ExtensionType]:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return [
        _key_usage(),
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
        x509.SubjectAlternativeName(names),
    ]


def _smime_extensions(address: str) -> list[x509.ExtensionType]:
    return [
        _key_usage(),
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]),
        x509.SubjectAlternativeName([x509.RFC822Name(address)]),
    ]


def _load(pair: KeyPair, now: dt.datetime) -> tuple[x509.Certificate, rsa.RSAPrivateKey] | None:
    """The pair on disk if both files are readable and the certificate is not about to expire."""
    try:
        cert = x509.load_pem_x509_certificate(pair.cert.read_bytes())
        key = serialization.load_pem_private_key(pair.key.read_bytes(), password=None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, rsa.RSAPrivateKey) or cert.not_valid_after_utc < now + _RENEW_BEFORE:
        return None
    return cert, key


def _write(pair: KeyPair, cert: x509.Certificate, key: rsa.RSAPrivateKey) -> None:
    pem_key = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_durably(pair.key, pem_key, mode=0o600)
    write_durably(pair.cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
