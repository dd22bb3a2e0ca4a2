"""Packages: the PDF, the manifest, the sealed message and its headers, the demo PKI."""

from __future__ import annotations

import hashlib
import logging
import re
import subprocess
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from smtp_fixtures import AGENCY, HETU, SENDER, T0, destination, make_document, transport_config

from intake.config import Destination
from intake.demo.pki import DemoPki, make_demo_pki
from intake.errors import PackageError
from intake.receive import open_package
from intake.routing.templates import load_templates
from intake.transport import _smime, build_package, write_package
from intake.transport.package import render_pdf

TEMPLATES = load_templates()
PACKAGE_ID = "6f1d3c1e-5b7a-4c0e-9a51-2f0d8e4b7c21"


def _page_sizes(pdf: bytes, folder: Path) -> list[tuple[float, float]]:
    """Page sizes in points as poppler's pdfinfo reads them (what a viewer would show)."""
    path = folder / "check.pdf"
    path.write_bytes(pdf)
    done = subprocess.run(["pdfinfo", "-f", "1", "-l", "99", str(path)], capture_output=True, text=True, check=True)
    found = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", done.stdout)
    return [(float(w), float(h)) for w, h in found]


def test_pdf_keeps_page_order_and_each_page_dpi(tmp_path: Path) -> None:
    document = make_document(tmp_path)
    pdf = render_pdf(document, templates=TEMPLATES, package_id=PACKAGE_ID, created=T0)
    # Different pixel sizes, both A4 at their own dpi; order shows in the exact sizes.
    sizes = _page_sizes(pdf, tmp_path)
    assert sizes == [
        pytest.approx((1240 * 72 / 150, 1754 * 72 / 150), abs=0.01),
        pytest.approx((1654 * 72 / 200, 2339 * 72 / 200), abs=0.01),
    ]
    assert b"/DCTDecode" in pdf  # the colour page as JPEG
    assert b"/CCITTFaxDecode" in pdf  # the bilevel page kept bilevel
    assert pdf.count(b"%%EOF") == 1  # Pillow's runs (one per dpi and kind), written out as one revision


def test_pdf_is_one_plain_file(tmp_path: Path) -> None:
    document = make_document(tmp_path, pages=[("L", 100, (300, 400)), ("RGB", 100, (400, 300))])
    pdf = render_pdf(document, templates=TEMPLATES, package_id=PACKAGE_ID, created=T0)
    assert pdf.startswith(b"%PDF") and pdf.count(b"%%EOF") == 1  # one revision
    assert _page_sizes(pdf, tmp_path) == [(216.0, 288.0), (288.0, 216.0)]


def test_manifest_describes_the_document(tmp_path: Path, pki: DemoPki) -> None:
    document = make_document(tmp_path)
    package = build_package(document, destination=destination(pki), config=transport_config(pki, tmp_path), now=T0)
    manifest = package.manifest
    assert (manifest["schema"], manifest["schema_version"]) == ("intake-manifest", 2)
    assert manifest["package_id"] == package.package_id
    assert manifest["created"] == "2026-03-02T09:00:00Z"
    assert manifest["source"] == {
        "sha256": document.source.sha256,
        "pages": [1, 2],
        "blank_pages_dropped": [3],
        "separator_pages_dropped": [],
    }
    assert manifest["form"] == {"id": "kela-y38-fi", "code": "Y 38", "language": "fi"}
    assert manifest["scanned"] == "2026-03-02"
    assert manifest["route"] == {"rule": "kela-fi", "destination": "kela", "agency": None, "municipality": None,
                                 "reason": "authority KELA, language fi"}  # fmt: skip
    assert manifest["fields"]["hetu"] == {"value": HETU, "confidence": 0.93, "valid": True}
    assert manifest["checkboxes"] == {"asumistuki": True, "toimeentulotuki": False}
    assert manifest["pdf"]["sha256"] == hashlib.sha256(package.pdf).hexdigest()
    assert manifest["pdf"]["conformance"] == "PDF/A-2B"
    assert "scan-" not in package.manifest_json.decode()  # the scan's file name stays home


def test_headers_are_neutral_and_the_body_is_encrypted(tmp_path: Path, pki: DemoPki) -> None:
    package = build_package(
        make_document(tmp_path),
        destination=destination(pki),
        config=transport_config(pki, tmp_path),
        now=T0,
    )
    message = message_from_bytes(package.message, policy=policy.SMTP)
    assert message["Subject"] == f"intake {package.package_id}"
    assert message["Message-ID"] == f"<{package.package_id}@asiointipiste.example>"
    assert (message["From"], message["To"]) == (SENDER, AGENCY)
    assert message.get_content_type() == "application/pkcs7-mime"
    assert HETU.encode() not in package.message
    assert b"Virtanen" not in package.message
    assert b"\r\n" in package.message and b"\n" not in package.message.replace(b"\r\n", b"")


def test_package_opens_with_the_agency_key_and_verifies(tmp_path: Path, pki: DemoPki) -> None:
    package = build_package(
        make_document(tmp_path),
        destination=destination(pki),
        config=transport_config(pki, tmp_path),
    )
    agency = pki.agencies[AGENCY]
    opened = open_package(package.message, recipient_key=agency.key, recipient_cert=agency.cert, ca_file=pki.ca.cert)
    assert opened.signer_verified
    assert opened.pdf == package.pdf
    assert opened.manifest == package.manifest


def test_signature_from_an_untrusted_ca_is_not_verified(tmp_path: Path, pki: DemoPki, rogue_pki: DemoPki) -> None:
    package = build_package(
        make_document(tmp_path),
        destination=destination(pki),
        config=transport_config(pki, tmp_path),
    )
    agency = pki.agencies[AGENCY]
    opened = open_package(
        package.message,
        recipient_key=agency.key,
        recipient_cert=agency.cert,
        ca_file=rogue_pki.ca.cert,
    )
    assert not opened.signer_verified
    assert opened.pdf == package.pdf  # readable, but the caller knows not to trust it


def test_the_wrong_agency_cannot_open_it(tmp_path: Path, pki: DemoPki) -> None:
    package = build_package(
        make_document(tmp_path),
        destination=destination(pki),
        config=transport_config(pki, tmp_path),
    )
    other = pki.agencies["kirjaamo@vero.example"]
    with pytest.raises(PackageError, match="decrypt"):
        open_package(package.message, recipient_key=other.key, recipient_cert=other.cert, ca_file=pki.ca.cert)


def test_no_certificate_with_required_encryption_is_refused(tmp_path: Path, pki: DemoPki) -> None:
    with pytest.raises(PackageError, match="no S/MIME certificate"):
        build_package(
            make_document(tmp_path),
            destination=Destination(address=AGENCY),
            config=transport_config(pki, tmp_path),
        )


def test_without_a_signing_key_the_package_is_encrypted_but_unsigned(
    tmp_path: Path, pki: DemoPki, caplog: pytest.LogCaptureFixture
) -> None:
    config = transport_config(pki, tmp_path, signed=False)
    assert config.smime.key is None and not config.smime.require_signing
    with caplog.at_level(logging.WARNING, logger="intake.transport"):
        package = build_package(make_document(tmp_path), destination=destination(pki), config=config)
    assert not package.signed and package.encrypted
    assert "not signed" in caplog.text
    agency = pki.agencies[AGENCY]
    opened = open_package(package.message, recipient_key=agency.key, recipient_cert=agency.cert, ca_file=pki.ca.cert)
    assert not opened.signer_verified and opened.pdf == package.pdf


def test_without_a_signing_key_nothing_is_built_when_signing_is_required(tmp_path: Path, pki: DemoPki) -> None:
    config = transport_config(pki, tmp_path, signed=False)
    config = config.model_copy(update={"smime": config.smime.model_copy(update={"require_signing": True})})
    with pytest.raises(PackageError, match="signing is required"):
        build_package(make_document(tmp_path), destination=destination(pki), config=config)


def test_a_missing_page_image_is_a_package_error(tmp_path: Path, pki: DemoPki) -> None:
    document = make_document(tmp_path)
    document.pages[1].archive_path = tmp_path / "gone.png"
    with pytest.raises(PackageError, match="page 2"):
        build_package(document, destination=destination(pki), config=transport_config(pki, tmp_path))


def test_write_package_keeps_plain_text_out_unless_asked(tmp_path: Path, pki: DemoPki) -> None:
    package = build_package(
        make_document(tmp_path),
        destination=destination(pki),
        config=transport_config(pki, tmp_path),
    )
    sealed = write_package(package, tmp_path / "out")
    assert [path.name for path in sealed] == [f"{package.package_id}.eml"]
    assert sealed[0].read_bytes() == package.message
    preview = write_package(package, tmp_path / "preview", plaintext=True)
    assert sorted(path.suffix for path in preview) == [".eml", ".json", ".pdf"]
    assert (tmp_path / "preview" / package.pdf_name).read_bytes() == package.pdf
    assert not list((tmp_path / "out").glob(".*"))  # no temp files left behind


def test_demo_pki_is_reused_and_grows(tmp_path: Path) -> None:
    first = make_demo_pki(tmp_path, agencies=["a@kela.example"])
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    second = make_demo_pki(tmp_path, agencies=["a@kela.example", "b@vero.example"])
    assert all((tmp_path / name).read_bytes() == data for name, data in before.items())
    assert second.agencies["b@vero.example"].cert.exists()
    assert first.ca == second.ca
    assert oct(second.ca.key.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("given", "canonical"),
    [(b"a\nb\n", b"a\r\nb\r\n"), (b"a\r\nb", b"a\r\nb"), (b"a\rb", b"a\rb"), (b"\r\r\n\n", b"\r\r\n\r\n"), (b"", b"")],
    ids=["lf", "crlf", "lone-cr", "mixed", "empty"],
)
def test_line_ends_become_crlf_and_nothing_else_changes(given: bytes, canonical: bytes) -> None:
    assert _smime.crlf(given) == canonical
