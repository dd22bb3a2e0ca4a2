"""Certificates made to measure for tests: wrong address, expired, wrong usage, another CA."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from intake.demo.pki import KeyPair

NOW = dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Spec:
    """What to put in a certificate; the defaults make a good agency certificate."""

    address: str | None
    starts: dt.timedelta = dt.timedelta(days=-1)  # relative to now
    ends: dt.timedelta = dt.timedelta(days=365)
    key_encipherment: bool = True
    digital_signature: bool = True
    eku: list[x509.ObjectIdentifier] | None = field(default_factory=lambda: [ExtendedKeyUsageOID.EMAIL_PROTECTION])
    is_ca: bool = False
    ec_key: bool = False


def _usage(spec: Spec) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=spec.digital_signature, content_commitment=False,
        key_encipherment=spec.key_encipherment, data_encipherment=False, key_agreement=False,
        key_cert_sign=spec.is_ca, crl_sign=spec.is_ca, encipher_only=False, decipher_only=False,
    )  # fmt: skip


def issue(ca: KeyPair, folder: Path, name: str, spec: Spec) -> KeyPair:
    """Write ``name``.pem and ``name``.key signed by ``ca`` (the key file mode 600)."""
    ca_cert = x509.load_pem_x509_certificate(ca.cert.read_bytes())
    ca_key = serialization.load_pem_private_key(ca.key.read_bytes(), password=None)
    assert isinstance(ca_key, rsa.RSAPrivateKey)
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey = (
        ec.generate_private_key(ec.SECP256R1()) if spec.ec_key else rsa.generate_private_key(65537, 2048)
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, spec.address or name)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + spec.starts)
        .not_valid_after(NOW + spec.ends)
        .add_extension(x509.BasicConstraints(ca=spec.is_ca, path_length=None), critical=True)
        .add_extension(_usage(spec), critical=True)
    )
    if spec.eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(spec.eku), critical=False)
    if spec.address is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.RFC822Name(spec.address)]), critical=False)
    ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    pair = KeyPair(folder / f"{name}.pem", folder / f"{name}.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pair.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    pair.key.chmod(0o600)
    return pair
