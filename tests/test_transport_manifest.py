"""What the agency reads besides the PDF: the manifest against its shipped JSON Schema, and the cover text."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import jsonschema
import pytest
from smtp_fixtures import AGENCY, HETU, T0, destination, make_document, transport_config

from intake.config import Destination, SmimeConfig
from intake.demo.pki import DemoPki
from intake.errors import PackageRefused
from intake.models import Document, FieldValue
from intake.receive.unpack import Identity, Reason, Trust, unseal
from intake.transport import _smime, build_package
from intake.transport.manifest import SCHEMA_PATH, json_schema

ROOT = Path(__file__).resolve().parents[1]
# Other people's valid codes (artificial individual numbers): a losing reading may be one.
CANDIDATES = ("010594Y9043", "010594Y9076")


def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def test_shipped_schema_is_the_one_the_model_generates() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == json_schema(), "run python -m tools.manifest_schema"
    done = subprocess.run([sys.executable, "-m", "tools.manifest_schema", "--check"], cwd=ROOT,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout


def _unknown_form(document: Document) -> Document:
    document.form_id = document.authority = document.code = document.language = None
    document.route, document.fields, document.checkboxes = None, {}, {}
    return document


def _unread_hetu(document: Document) -> Document:
    document.fields["hetu"] = FieldValue(None, 0.61, None, raw="010594Y90?3", candidates=CANDIDATES)
    return document


def _accepted_hetu_with_runners_up(document: Document) -> Document:
    document.fields["hetu"] = FieldValue(HETU, 0.97, True, raw=HETU, candidates=(HETU, *CANDIDATES))
    return document


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda document: document, id="routed-form"),
        pytest.param(_unknown_form, id="unknown-form-no-fields"),
        pytest.param(_unread_hetu, id="hetu-unread-with-candidates"),
        pytest.param(_accepted_hetu_with_runners_up, id="hetu-accepted-with-runners-up"),
    ],
)
def test_every_manifest_validates_and_carries_no_candidates(tmp_path: Path, pki: DemoPki, change) -> None:  # type: ignore[no-untyped-def]
    document = change(make_document(tmp_path))
    package = build_package(document, destination=destination(pki), config=transport_config(pki, tmp_path), now=T0)
    attached = json.loads(package.manifest_json)
    _validator().validate(attached)
    assert attached == package.manifest
    assert all("candidates" not in field for field in attached["fields"].values())
    assert not any(code.encode() in package.manifest_json for code in CANDIDATES)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(("fields", "hetu", "candidates"), list(CANDIDATES), id="candidates"),
        pytest.param(("schema_version",), 1, id="old-version"),
        pytest.param(("pdf", "sha256"), "not-a-hash", id="bad-hash"),
        pytest.param(("confidence",), 1.5, id="confidence-above-1"),
    ],
)
def test_the_schema_refuses_what_intake_never_writes(tmp_path: Path, pki: DemoPki, path: tuple, value: object) -> None:
    package = build_package(
        make_document(tmp_path), destination=destination(pki), config=transport_config(pki, tmp_path)
    )
    manifest = json.loads(package.manifest_json)
    target = manifest
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    assert not _validator().is_valid(manifest)


@pytest.mark.parametrize("code", ["SV 8", "SV 8r", "DVV 7.1", "5010"])
def test_cover_text_keeps_the_real_form_code(tmp_path: Path, pki: DemoPki, code: str) -> None:
    document = make_document(tmp_path)
    document.code = code
    # Unencrypted (signed only) so that the test reads the body as a mail client shows it.
    config = transport_config(pki, tmp_path)
    config = config.model_copy(update={"smime": SmimeConfig(certificate=pki.signer.cert, key=pki.signer.key,
                                                             require_encryption=False)})  # fmt: skip
    package = build_package(document, destination=Destination(address=AGENCY), config=config, now=T0)
    message = message_from_bytes(package.message, policy=policy.default)
    assert isinstance(message, EmailMessage)
    texts = [part.get_content() for part in message.walk() if part.get_content_type() == "text/plain"]
    assert len(texts) == 1
    assert f"lomake KELA {code}." in texts[0] and f"Blankett KELA {code} skannad" in texts[0]
    assert code not in package.subject  # the subject stays neutral


def _with_candidates(manifest: dict) -> dict:
    manifest["fields"]["hetu"]["candidates"] = list(CANDIDATES)
    return manifest


@pytest.mark.parametrize(
    ("change", "refused"),
    [
        pytest.param(lambda manifest: manifest, False, id="re-signed-unchanged"),
        pytest.param(_with_candidates, True, id="candidates"),
        pytest.param(lambda manifest: {**manifest, "confidence": "high"}, True, id="confidence-not-a-number"),
    ],
)
def test_the_agency_refuses_a_signed_manifest_outside_its_schema(
    tmp_path: Path, pki: DemoPki, change: Callable[[dict], dict], refused: bool
) -> None:
    """A validly signed package whose manifest breaks the schema (a bug, or another sender's tool)."""
    package = build_package(
        make_document(tmp_path), destination=destination(pki), config=transport_config(pki, tmp_path)
    )
    agency = Identity.load(pki.agencies[AGENCY].cert, pki.agencies[AGENCY].key)
    inner = _smime.decrypt(package.message, certificate=agency.certificate, key=agency.key)
    signed = message_from_bytes(inner, policy=policy.SMTP)
    body = signed.get_payload()[0]  # multipart/signed: the content, then the signature
    for part in body.iter_attachments():
        if part.get_content_type() == "application/json":
            manifest = change(json.loads(part.get_content()))
            part.set_content(json.dumps(manifest).encode(), maintype="application", subtype="json",
                             filename=part.get_filename())  # fmt: skip
    resealed = _smime.encrypt(
        _smime.sign(body.as_bytes(), certificate=_smime.load_certificate(pki.signer.cert),
                    key=_smime.load_private_key(pki.signer.key)),
        recipient=agency.certificate,
    )  # fmt: skip
    opening = lambda: unseal(resealed, identities=[agency], trust=Trust(pki.ca.cert), addresses=[AGENCY])  # noqa: E731
    if not refused:
        assert opening().package_id == package.package_id
        return
    with pytest.raises(PackageRefused, match="does not match its schema") as caught:
        opening()
    assert caught.value.reason == Reason.MALFORMED
