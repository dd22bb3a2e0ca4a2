"""Certificates and keys are checked before any work: the wrong party never gets a form."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from certs import Spec, issue
from cryptography.x509.oid import ExtendedKeyUsageOID
from smtp_fixtures import AGENCY, SENDER, ScriptedHandler, ServerFactory, make_document, sending_config

from intake import preflight
from intake.cli import ExitCode, main
from intake.config import Config
from intake.delivery import Dispatcher
from intake.demo.pki import DemoPki, KeyPair
from intake.errors import ConfigError
from intake.models import Document, Status
from intake.transport import State

TE = "kirjaamo@te.example"
DAY = dt.timedelta(days=1)


def _config(
    tmp_path: Path, pki: DemoPki, *, te: Path | None = None, kela: Path | None = None, port: int = 25,
    signer: KeyPair | None = None, smime: dict[str, Any] | None = None, smtp_ca: Path | None = None,
) -> Config:  # fmt: skip
    """A configuration with TE and KELA destinations, ``pki``'s CA as agency trust anchor.

    The test SMTP servers have certificates from the session PKI: pass its CA as ``smtp_ca``.
    """
    signer = signer if signer is not None else pki.signer
    return Config.model_validate({
        "routing": {"rules": [
            {"id": "te", "authority": "TE", "destination": "te"},
            {"id": "kela-fi", "authority": "KELA", "destination": "kela"},
        ], "duplicate_days": 0},  # these tests scan one paper over and over on purpose
        "destinations": {
            "te": {"address": TE, "certificate": te or pki.agencies[TE].cert},
            "kela": {"address": AGENCY, "certificate": kela or pki.agencies[AGENCY].cert},
        },
        "transport": {
            "spool": tmp_path / "spool", "sender": SENDER,
            "smtp": {"host": "127.0.0.1", "port": port, "ca_file": smtp_ca or pki.ca.cert, "timeout_s": 5},
            "smime": {"certificate": signer.cert, "key": signer.key, "agency_trust": pki.ca.cert, **(smime or {})},
            "retry": {"first_s": 60, "max_s": 240, "give_up_after_s": 3600},
        },
        "source": tmp_path / "intake.toml",
    })  # fmt: skip


@pytest.fixture(scope="module")
def trust_pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPki:
    from intake.demo.pki import make_demo_pki

    return make_demo_pki(tmp_path_factory.mktemp("trust-pki"), agencies=[TE, AGENCY], signer=SENDER)


AGENCY_CASES = [
    pytest.param(Spec("someone@evil.example"), "is for someone@evil.example, not for kirjaamo@te.example",
                 id="wrong-address"),
    pytest.param(Spec(None), "is for no e-mail address", id="no-address"),
    pytest.param(Spec(TE, starts=-400 * DAY, ends=-DAY), "expired on", id="expired"),
    pytest.param(Spec(TE, starts=2 * DAY), "not valid before", id="not-yet-valid"),
    pytest.param(Spec(TE, key_encipherment=False), "not allowed for encryption", id="no-key-encipherment"),
    pytest.param(Spec(TE, eku=[ExtendedKeyUsageOID.SERVER_AUTH]), "not for e-mail protection", id="tls-server-eku"),
    pytest.param(Spec(TE, is_ca=True), "CA certificate", id="ca-certificate"),
    pytest.param(Spec(TE, ec_key=True), "no RSA key", id="ec-key"),
    pytest.param(Spec(TE), "does not chain to the agency trust anchors", id="other-ca"),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "words"), AGENCY_CASES)
def test_unfit_agency_certificate_is_refused_naming_the_destination(
    tmp_path: Path, trust_pki: DemoPki, rogue_pki: DemoPki, spec: Spec, words: str, request: pytest.FixtureRequest
) -> None:
    ca = rogue_pki.ca if request.node.callspec.id == "other-ca" else trust_pki.ca
    bad = issue(ca, tmp_path, "te", spec)
    with pytest.raises(ConfigError) as caught:
        preflight.check_sending(_config(tmp_path, trust_pki, te=bad.cert))
    assert caught.value.key == "destinations.te.certificate"
    assert words in str(caught.value) and str(bad.cert) in str(caught.value)


def test_a_certificate_expiring_within_30_days_passes_with_a_warning(tmp_path: Path, trust_pki: DemoPki) -> None:
    soon = issue(trust_pki.ca, tmp_path, "te", Spec(TE, ends=10 * DAY))
    [warning] = preflight.check_sending(_config(tmp_path, trust_pki, te=soon.cert))
    assert "expires on" in warning and "renew" in warning and str(soon.cert) in warning


SIGNER_CASES = [
    pytest.param("mode", "transport.smime.key", "chmod 600", id="key-readable-by-others"),
    pytest.param("mismatch", "transport.smime.key", "does not belong to certificate", id="key-of-another"),
    pytest.param(Spec("other@asiointipiste.example"), "transport.smime.certificate",
                 f"not for {SENDER}", id="not-the-from-address"),
    pytest.param(Spec(SENDER, starts=-400 * DAY, ends=-DAY), "transport.smime.certificate", "expired",
                 id="expired"),
    pytest.param(Spec(SENDER, digital_signature=False), "transport.smime.certificate", "not allowed for signing",
                 id="not-for-signing"),
    pytest.param(None, "transport.smime.key", "signing is required", id="no-signing-key"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "key", "words"), SIGNER_CASES)
def test_unfit_signing_pair_is_refused_naming_the_key(
    tmp_path: Path, trust_pki: DemoPki, case: Spec | str | None, key: str, words: str
) -> None:
    pair = issue(trust_pki.ca, tmp_path, "signer", Spec(SENDER))
    if case == "mode":
        pair.key.chmod(0o644)
    elif case == "mismatch":
        pair = KeyPair(pair.cert, trust_pki.signer.key)
    elif isinstance(case, Spec):
        pair = issue(trust_pki.ca, tmp_path, "signer", case)
    config = _config(tmp_path, trust_pki, signer=pair)
    if case is None:
        config = _config(tmp_path, trust_pki, smime={"certificate": None, "key": None})
    with pytest.raises(ConfigError) as caught:
        preflight.check_sending(config)
    assert caught.value.key == key and words in str(caught.value)


def test_signing_may_be_switched_off_but_trust_anchors_may_not(tmp_path: Path, trust_pki: DemoPki) -> None:
    unsigned = {"certificate": None, "key": None, "require_signing": False}
    assert preflight.check_sending(_config(tmp_path, trust_pki, smime=unsigned)) == []
    with pytest.raises(ConfigError) as caught:
        preflight.check_sending(_config(tmp_path, trust_pki, smime={"agency_trust": None}))
    assert caught.value.key == "transport.smime.agency_trust"


def _write_toml(tmp_path: Path, pki: DemoPki, te_cert: Path, port: int, smtp_ca: Path) -> Path:
    return sending_config(tmp_path, pki, port, authority="TE", address=TE, certificate=te_cert, smtp_ca=smtp_ca)


def test_a_certificate_for_someone_else_stops_check_and_send_with_exit_3(
    tmp_path: Path, pki: DemoPki, trust_pki: DemoPki, smtp_server: ServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    handler = ScriptedHandler(tmp_path / "inbox")
    server = smtp_server(handler)
    evil = issue(trust_pki.ca, tmp_path, "evil", Spec("someone@evil.example"))
    config = _write_toml(tmp_path, trust_pki, evil.cert, server.port, pki.ca.cert)
    for command in (["config", "check"], ["send"]):
        assert main([*command, "--config", str(config)]) == ExitCode.CONFIG
        err = capsys.readouterr().err
        assert "destinations.te.certificate" in err and "someone@evil.example" in err
    assert handler.commands == []


def _routed(folder: Path) -> Document:
    document = make_document(folder)
    document.status = Status.QUEUED  # as routing leaves a document it found a rule for
    return document


def _audit(tmp_path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (tmp_path / "spool" / "audit.log").read_text().splitlines()]


def _decrypts_with(message: bytes, pair: KeyPair, tmp_path: Path) -> bool:
    """What the agency does: ``openssl cms -decrypt`` with its certificate and key."""
    done = subprocess.run(
        ["openssl", "cms", "-decrypt", "-recip", str(pair.cert), "-inkey", str(pair.key)],
        input=message, capture_output=True, check=False,
    )  # fmt: skip
    return done.returncode == 0 and b"manifest.json" in done.stdout


def test_a_changed_certificate_fails_the_queued_item_and_reprocessing_rebuilds_it(
    tmp_path: Path, pki: DemoPki, trust_pki: DemoPki, smtp_server: ServerFactory
) -> None:
    handler = ScriptedHandler(tmp_path / "inbox")
    server = smtp_server(handler)
    configured = tmp_path / "kela.pem"
    shutil.copyfile(trust_pki.agencies[AGENCY].cert, configured)
    dispatcher = Dispatcher(_config(tmp_path, trust_pki, kela=configured, port=server.port, smtp_ca=pki.ca.cert))
    document = _routed(tmp_path)
    old = dispatcher.enqueue(document)
    assert old is not None and document.status is Status.QUEUED
    # The agency renews its key; the administrator replaces the file while intake runs.
    renewed = issue(trust_pki.ca, tmp_path, "kela-2027", Spec(AGENCY))
    shutil.copyfile(renewed.cert, configured)
    report = dispatcher.flush()
    assert report.failed and handler.commands == []  # never sent to the old key
    [item] = dispatcher.outbox.list()
    assert item.state is State.FAILED and "changed since this package was sealed" in (item.last_error or "")
    assert any("process the scan again" in line for line in dispatcher.lines())
    # Processing the scan again seals it for the new certificate, and it goes out.
    again = _routed(tmp_path)
    assert dispatcher.enqueue(again) is not None and again.status is Status.QUEUED
    assert dispatcher.flush().sent == [item.id]
    [received] = handler.received
    message = received.read_bytes()
    assert _decrypts_with(message, renewed, tmp_path)
    assert not _decrypts_with(message, trust_pki.agencies[AGENCY], tmp_path)
    assert [(e["action"], e.get("code")) for e in _audit(tmp_path) if e["action"] in ("queued", "failed", "sent")] == [
        ("queued", None),
        ("failed", None),
        ("queued", "rebuilt"),
        ("sent", None),
    ]


def test_a_rogue_replacement_certificate_holds_new_documents_and_defers_queued_ones(
    tmp_path: Path, pki: DemoPki, trust_pki: DemoPki, smtp_server: ServerFactory
) -> None:
    handler = ScriptedHandler(tmp_path / "inbox")
    server = smtp_server(handler)
    configured = tmp_path / "kela.pem"
    shutil.copyfile(trust_pki.agencies[AGENCY].cert, configured)
    dispatcher = Dispatcher(_config(tmp_path, trust_pki, kela=configured, port=server.port, smtp_ca=pki.ca.cert))
    assert dispatcher.enqueue(_routed(tmp_path)) is not None
    shutil.copyfile(issue(trust_pki.ca, tmp_path, "evil", Spec("someone@evil.example")).cert, configured)
    report = dispatcher.flush()
    assert report.deferred and handler.commands == []
    assert "not usable now" in next(iter(report.errors.values()))
    (tmp_path / "other").mkdir()
    held = _routed(tmp_path / "other")
    held.source = held.source.__class__(**{**held.source.__dict__, "sha256": "f" * 64})
    assert dispatcher.enqueue(held) is None
    assert held.status is Status.REVIEW and "someone@evil.example" in (held.reason or "")


def test_reprocessing_a_document_whose_package_failed_says_so(
    tmp_path: Path, pki: DemoPki, trust_pki: DemoPki, smtp_server: ServerFactory
) -> None:
    server = smtp_server(ScriptedHandler(tmp_path / "inbox", rcpt={AGENCY: "550 5.1.1 no such mailbox"}))
    dispatcher = Dispatcher(_config(tmp_path, trust_pki, port=server.port, smtp_ca=pki.ca.cert))
    assert dispatcher.enqueue(_routed(tmp_path)) is not None
    [item_id] = dispatcher.flush().failed
    again = _routed(tmp_path)
    dispatcher.enqueue(again)
    assert again.status is Status.FAILED
    assert f"intake retry {item_id}" in (again.reason or "") and "550" in (again.reason or "")
    assert again.to_json()["status"] == "failed"
    assert [e["action"] for e in _audit(tmp_path)].count("queued") == 1  # nothing was queued again
