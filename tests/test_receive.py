"""``intake receive``: real packages, delivered over TLS into a Maildir, checked and filed."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import mailbox
import subprocess
import sys
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from smtp_fixtures import (
    AGENCY,
    HETU,
    OTHER_AGENCY,
    SENDER,
    ServerFactory,
    StoreHandler,
    destination,
    make_document,
    smtp_config,
    transport_config,
)

from intake.cli import main
from intake.config import Destination, SmimeConfig
from intake.demo.pki import DemoPki
from intake.errors import ExitCode
from intake.models import Document
from intake.receive.inbox import Receiver
from intake.transport import _smime, build_package, deliver


class MaildirHandler(StoreHandler):
    """aiosmtpd handler that delivers into a Maildir, as an agency's mail server would."""

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mailbox.Maildir(self.folder, create=True).add(envelope.original_content or b"")
        return "250 2.0.0 delivered"


def _document(folder: Path, name: str) -> Document:
    """A distinct document (own source hash, so its own package id) per test message."""
    document = make_document(folder)
    source = dataclasses.replace(document.source, sha256=hashlib.sha256(name.encode()).hexdigest())
    return dataclasses.replace(document, source=source)


def _split(message: bytes) -> tuple[bytes, bytes]:
    """The outer headers (From … Message-ID) and the S/MIME entity after them."""
    cut = message.index(b"MIME-Version:")
    return message[:cut], message[cut:]


def _altered_inside(message: bytes, pki: DemoPki) -> bytes:
    """Decrypt, change one letter of the signed text, encrypt again: the signature must fail."""
    agency = pki.agencies[AGENCY]
    headers, _ = _split(message)
    inner = _smime.decrypt(message, certificate=_smime.load_certificate(agency.cert),
                           key=_smime.load_private_key(agency.key))  # fmt: skip
    assert b"skannattu lomake" in inner
    forged = inner.replace(b"skannattu lomake", b"skannattu lomaka", 1)
    return headers + _smime.encrypt(forged, recipient=_smime.load_certificate(agency.cert))


def _flipped(message: bytes) -> bytes:
    """One base64 character of the encrypted body changed, two thirds of the way in."""
    data = bytearray(message)
    index = len(data) * 2 // 3
    while not chr(data[index]).isalnum():
        index += 1
    data[index] = ord("A") if data[index] != ord("A") else ord("B")
    return bytes(data)


def _plain() -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = SENDER, AGENCY, "hello"
    mail.set_content("not a package")
    return mail.as_bytes(policy=policy.SMTP)  # CRLF, as it travels


Build = Callable[[Path, DemoPki, DemoPki, dict[str, bytes]], bytes]


def _package(folder: Path, pki: DemoPki, name: str, *, signer: DemoPki | None = None, signed: bool = True,
             to: Destination | None = None) -> bytes:  # fmt: skip
    config = transport_config(signer or pki, folder / "spool", signed=signed)
    target = to if to is not None else destination(pki)
    return build_package(_document(folder, name), destination=target, config=config).message


def _misaddressed(folder: Path, pki: DemoPki) -> bytes:
    """Encrypted to this agency's key, but the manifest names another agency."""
    wrong = Destination(address=OTHER_AGENCY, certificate=pki.agencies[AGENCY].cert)
    return _package(folder, pki, "misaddressed", to=wrong)


# (id, how the message is made, verdict or reason). "good" is built first; the others
# may use it (``made``). The expected outcome is what the agency must see.
MESSAGES: list[tuple[str, Build, str]] = [
    ("good", lambda f, p, r, m: _package(f, p, "good"), "accepted"),
    ("resent", lambda f, p, r, m: m["good"], "duplicate"),
    ("rebuilt", lambda f, p, r, m: _package(f, p, "good"), "duplicate"),
    ("second-good", lambda f, p, r, m: _package(f, p, "second"), "accepted"),
    ("tampered", lambda f, p, r, m: _flipped(_package(f, p, "tampered")), "tampered"),
    ("altered-inside", lambda f, p, r, m: _altered_inside(_package(f, p, "inside"), p), "tampered"),
    ("foreign-signed", lambda f, p, r, m: _package(f, p, "foreign", signer=r), "unknown-signer"),
    ("unsigned", lambda f, p, r, m: _package(f, p, "unsigned", signed=False), "unknown-signer"),
    ("other-agency", lambda f, p, r, m: _package(f, p, "other", to=destination(p, OTHER_AGENCY)), "not-for-us"),
    ("misaddressed", lambda f, p, r, m: _misaddressed(f, p), "not-for-us"),
    ("not-a-package", lambda f, p, r, m: _plain(), "malformed"),
]


def _make_all(folder: Path, pki: DemoPki, rogue: DemoPki) -> dict[str, bytes]:
    made: dict[str, bytes] = {}
    for name, build, _ in MESSAGES:
        made[name] = build(folder, pki, rogue, made)
    return made


def _config(folder: Path, pki: DemoPki, *, extra: str = "") -> Path:
    agency = pki.agencies[AGENCY]
    path = folder / "receive.toml"
    path.write_text(f"""
addresses = ["{AGENCY.upper()}"]
trust = ["{pki.ca.cert}"]
output = "out"
{extra}
[[keys]]
certificate = "{agency.cert}"
key = "{agency.key}"
""")
    return path


def _tree(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file() and ".state" not in p.parts}  # fmt: skip


def _run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict], str]:
    code = main(["receive", "--json", *args])
    captured = capsys.readouterr()
    return code, [json.loads(line) for line in captured.out.splitlines()], captured.err


def test_every_kind_of_message_gets_its_outcome_and_a_second_run_changes_nothing(
    tmp_path: Path, pki: DemoPki, rogue_pki: DemoPki, smtp_server: ServerFactory, capsys
) -> None:
    made = _make_all(tmp_path, pki, rogue_pki)
    maildir = tmp_path / "Maildir"
    server = smtp_server(MaildirHandler(maildir))  # STARTTLS required, the test CA's certificate
    for message in made.values():
        asyncio.run(deliver(message, sender=SENDER, recipients=[AGENCY], smtp=smtp_config(pki, server.port)))
    config = _config(tmp_path, pki)

    code, outcomes, err = _run_json(capsys, "--config", str(config), str(maildir))

    assert code == ExitCode.REJECTED
    by_sha: dict[str, list[str]] = {}
    for outcome in outcomes:
        by_sha.setdefault(outcome["sha256"], []).append(outcome["reason"] or outcome["verdict"])
    for name, _, expected in MESSAGES:
        found = by_sha[hashlib.sha256(made[name]).hexdigest()]
        if name in ("good", "resent"):  # the same bytes twice: one accepted, one dropped
            assert sorted(found) == ["accepted", "duplicate"], name
        else:
            assert found == [expected], name
    assert len(outcomes) == len(MESSAGES)
    assert "accepted 2" in err and "already handled 0" in err
    out = tmp_path / "out"
    _check_accepted(out, made["good"], pki)
    _check_rejected(out, made, outcomes)
    assert HETU not in err and HETU not in json.dumps(outcomes)
    assert not [p for p in out.rglob("*") if HETU in p.name or "Virtanen" in p.name]

    before = _tree(out)
    code, again, err = _run_json(capsys, "--config", str(config), str(maildir))
    assert (code, again) == (ExitCode.OK, [])  # nothing new: no line per message
    assert "nothing new; already handled 11" in err
    assert _tree(out) == before  # not a byte, not a timestamp


def _check_accepted(out: Path, good: bytes, pki: DemoPki) -> None:
    """What was filed is what ``openssl cms`` itself gets out of the message."""
    agency = pki.agencies[AGENCY]
    decrypted = subprocess.run(["openssl", "cms", "-decrypt", "-recip", str(agency.cert), "-inkey", str(agency.key)],
                               input=good, capture_output=True, check=True).stdout  # fmt: skip
    content = subprocess.run(["openssl", "cms", "-verify", "-CAfile", str(pki.ca.cert)],
                             input=decrypted, capture_output=True, check=True).stdout  # fmt: skip
    parts = {part.get_content_type(): part.get_payload(decode=True)
             for part in message_from_bytes(content, policy=policy.default).walk()}  # fmt: skip
    manifest = json.loads(parts["application/json"])
    accepted = out / "accepted"
    assert (accepted / f"{manifest['package_id']}.manifest.json").read_bytes() == parts["application/json"]
    assert (accepted / f"{manifest['package_id']}.pdf").read_bytes() == parts["application/pdf"]
    assert len(list(accepted.glob("*.manifest.json"))) == len(list(accepted.glob("*.pdf"))) == 2


def _check_rejected(out: Path, made: dict[str, bytes], outcomes: list[dict]) -> None:
    """Every rejection is kept byte for byte, with its reason beside it; byte-identical resends once."""
    for outcome in outcomes:
        if outcome["verdict"] != "rejected":
            continue
        stem = out / "rejected" / outcome["sha256"][:24]
        if outcome["files"]:
            assert Path(outcome["files"][0]).read_bytes() in made.values()
            reason = json.loads(stem.with_suffix(".reason.json").read_text())
            assert (reason["reason"], reason["sha256"]) == (outcome["reason"], outcome["sha256"])
        else:  # a resend of the accepted message: its bytes are already kept as the package
            assert outcome["reason"] == "duplicate" and "same message was accepted" in outcome["detail"]
    assert len(list((out / "rejected").glob("*.reason.json"))) == len(MESSAGES) - 3


def _deliver_to_folder(tmp_path: Path, pki: DemoPki, server_factory: ServerFactory, messages: list[bytes]) -> Path:
    inbox = tmp_path / "inbox"
    server = server_factory(StoreHandler(inbox))  # <Message-ID>.eml files, as the demo receiver stores them
    for message in messages:
        asyncio.run(deliver(message, sender=SENDER, recipients=[AGENCY], smtp=smtp_config(pki, server.port)))
    return inbox


def test_the_command_runs_on_flags_alone(
    tmp_path: Path, pki: DemoPki, rogue_pki: DemoPki, smtp_server: ServerFactory
) -> None:
    good, foreign = _package(tmp_path, pki, "flags"), _package(tmp_path, pki, "flags-foreign", signer=rogue_pki)
    inbox = _deliver_to_folder(tmp_path, pki, smtp_server, [good, foreign])
    agency = pki.agencies[AGENCY]
    args = [sys.executable, "-m", "intake.cli", "receive", str(inbox), "--address", AGENCY,
            "--cert", str(agency.cert), "--key", str(agency.key), "--trust", str(pki.ca.cert),
            "--out", str(tmp_path / "out")]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == ExitCode.REJECTED, done.stderr
    lines = sorted(done.stdout.splitlines(), key=lambda line: "unknown-signer" in line)
    assert "  accepted  " in lines[0] and "  unknown-signer  " in lines[1]
    assert "accepted 1, unknown-signer 1; already handled 0" in done.stderr
    again = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert (again.returncode, again.stdout) == (ExitCode.OK, "")


def _maildir(folder: Path, message: bytes) -> Path:
    mailbox.Maildir(folder / "Maildir", create=True).add(message)
    return folder / "Maildir"


def _mbox_lf(folder: Path, message: bytes) -> Path:
    # Mail servers store mboxes with LF line ends; the package must survive that.
    box = mailbox.mbox(folder / "mbox")
    box.add(_plain())
    box.add(message.replace(b"\r\n", b"\n"))
    box.flush()
    return folder / "mbox"


def _eml_file(folder: Path, message: bytes) -> Path:
    (folder / "one.eml").write_bytes(message)
    return folder / "one.eml"


@pytest.mark.parametrize("make_source", [_maildir, _mbox_lf, _eml_file], ids=["maildir", "mbox-lf", "eml-file"])
def test_each_kind_of_source(tmp_path: Path, pki: DemoPki, make_source, capsys) -> None:
    source = make_source(tmp_path, _package(tmp_path, pki, "source"))
    code, outcomes, _ = _run_json(capsys, "--config", str(_config(tmp_path, pki)), str(source))
    assert "accepted" in [o["verdict"] for o in outcomes]
    assert code == (ExitCode.REJECTED if make_source is _mbox_lf else ExitCode.OK)  # the mbox's plain mail


@pytest.mark.parametrize(
    ("trust", "signers", "expected"),
    [
        ("ca", "", "accepted"),
        ("signer", "", "accepted"),  # the service point's own certificate, no CA
        ("ca", "signer", "accepted"),
        ("ca", "other", "unknown-signer"),  # the CA vouches for it, but it is not a listed signer
        ("other", "", "unknown-signer"),
    ],
    ids=["ca", "signer-cert-alone", "ca-and-listed-signer", "ca-but-not-listed", "untrusted"],
)
def test_whom_the_agency_trusts(
    tmp_path: Path, pki: DemoPki, rogue_pki: DemoPki, trust: str, signers: str, expected: str, capsys
) -> None:
    files = {"ca": pki.ca.cert, "signer": pki.signer.cert, "other": rogue_pki.signer.cert}
    message = _package(tmp_path, pki, f"trust-{trust}-{signers}")
    extra = f'signers = ["{files[signers]}"]' if signers else ""
    config = _config(tmp_path, pki, extra=extra)
    code, [outcome], _ = _run_json(capsys, "--config", str(config), "--trust", str(files[trust]),
                                   str(_eml_file(tmp_path, message)))  # fmt: skip
    assert (outcome["reason"] or outcome["verdict"]) == expected, outcome["detail"]
    assert code == (ExitCode.OK if expected == "accepted" else ExitCode.REJECTED)
    assert outcome["signer"] == (f"CN={SENDER}" if expected == "accepted" else None)


def test_one_run_at_a_time(tmp_path: Path, pki: DemoPki, capsys) -> None:
    config = _config(tmp_path, pki)
    source = _eml_file(tmp_path, _package(tmp_path, pki, "busy"))
    from intake.config import load_receive

    with Receiver(load_receive(config)):
        assert main(["receive", "--config", str(config), str(source)]) == ExitCode.ENVIRONMENT
    assert "another 'intake receive'" in capsys.readouterr().err
    assert main(["receive", "--config", str(config), str(source)]) == ExitCode.OK


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--config", "{cfg}", "{tmp}/nowhere"], ExitCode.USAGE, "no such Maildir"),
        (["--config", "{cfg}", "--trust", "{tmp}/receive.toml", "{tmp}"], ExitCode.CONFIG, "trusted certificates"),
        (["--config", "{cfg}", "--key", "{tmp}/receive.toml", "{tmp}"], ExitCode.CONFIG, "keys.0.certificate"),
        (["--config", "{cfg}", "--address", "kirjaamo", "{tmp}"], ExitCode.CONFIG, "not an e-mail address"),
        (
            ["--config", "{cfg}", "--cert", "{other_cert}", "--key", "{key}", "{tmp}"],
            ExitCode.CONFIG,
            "is not the private key of",
        ),
        (["--config", "{cfg}"], ExitCode.CONFIG, "where is the mail"),
        (["{tmp}"], ExitCode.CONFIG, "give a receiving configuration"),
    ],
    ids=["no-source", "bad-trust", "key-without-cert", "bad-address", "key-of-another-cert", "no-sources", "no-config"],
)
def test_bad_arguments_are_named(tmp_path: Path, pki: DemoPki, args: list[str], code: int, words: str,
                                 capsys, monkeypatch) -> None:  # fmt: skip
    monkeypatch.delenv("INTAKE_RECEIVE_CONFIG", raising=False)
    config = _config(tmp_path, pki)
    names = {
        "cfg": config,
        "tmp": tmp_path,
        "key": pki.agencies[AGENCY].key,
        "other_cert": pki.agencies[OTHER_AGENCY].cert,
    }
    filled = [arg.format(**names) for arg in args]
    assert main(["receive", *filled]) == code
    assert words in capsys.readouterr().err


def test_a_message_too_large_is_left_in_place_and_the_rest_goes_on(tmp_path: Path, pki: DemoPki, capsys) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "a-good.eml").write_bytes(_package(tmp_path, pki, "beside-a-huge-one"))
    with (inbox / "b-huge.eml").open("wb") as huge:
        huge.truncate(65 << 20)  # sparse: 65 MiB on paper, nothing to read
    config = str(_config(tmp_path, pki))
    code, outcomes, _ = _run_json(capsys, "--config", config, str(inbox))
    assert code == ExitCode.REJECTED
    assert [(o["verdict"], o["reason"]) for o in outcomes] == [("accepted", None), ("skipped", None)]
    assert "larger than 64 MiB" in outcomes[1]["detail"]
    assert not (tmp_path / "out" / "rejected").exists()  # nothing copied; the source stays as it is
    code, outcomes, _ = _run_json(capsys, "--config", config, str(inbox))
    assert (code, [o["verdict"] for o in outcomes]) == (ExitCode.REJECTED, ["skipped"])  # until a person removes it


def test_the_pkcs12_steps_in_the_agency_guide_work(tmp_path: Path, pki: DemoPki) -> None:
    """docs/agencies.md: key + certificate -> .p12 for Thunderbird or Outlook."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    agency = pki.agencies[AGENCY]
    p12 = tmp_path / "kirjaamo.p12"
    subprocess.run(["openssl", "pkcs12", "-export", "-inkey", str(agency.key), "-in", str(agency.cert),
                    "-certfile", str(pki.ca.cert), "-name", AGENCY, "-out", str(p12), "-passout", "pass:s3cret"],
                   check=True, capture_output=True)  # fmt: skip
    guide = (Path(__file__).resolve().parents[1] / "docs" / "agencies.md").read_text()
    assert "openssl pkcs12 -export -inkey" in guide and "-certfile" in guide
    key, certificate, chain = pkcs12.load_key_and_certificates(p12.read_bytes(), b"s3cret")
    assert certificate is not None and key is not None
    assert certificate == _smime.load_certificate(agency.cert)
    assert [c.subject for c in chain] == [_smime.load_certificate(pki.ca.cert).subject]


def test_the_example_configuration_is_valid() -> None:
    from intake.config import load_receive

    config = load_receive(Path(__file__).resolve().parents[1] / "examples" / "receive.toml")
    assert config.addresses == ["kirjaamo@kela.example"] and config.require_encryption
    assert config.output.is_absolute() and config.keys[0].key.name == "agency-kirjaamo_kela.example.key"


@pytest.mark.parametrize(
    ("require", "expected"), [("true", "malformed"), ("false", "accepted")], ids=["required", "not-required"]
)
def test_a_signed_but_unencrypted_package(tmp_path: Path, pki: DemoPki, require: str, expected: str, capsys) -> None:
    config = transport_config(pki, tmp_path / "spool").model_copy(
        update={"smime": SmimeConfig(certificate=pki.signer.cert, key=pki.signer.key, require_encryption=False)}
    )
    package = build_package(_document(tmp_path, "clear"), destination=Destination(address=AGENCY), config=config)
    assert not package.encrypted and package.signed
    receive_config = _config(tmp_path, pki, extra=f"require_encryption = {require}")
    _, [outcome], _ = _run_json(capsys, "--config", str(receive_config), str(_eml_file(tmp_path, package.message)))
    assert (outcome["reason"] or outcome["verdict"]) == expected


def test_a_crash_before_the_state_was_recorded_files_the_same_again(tmp_path: Path, pki: DemoPki, capsys) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "good.eml").write_bytes(_package(tmp_path, pki, "crash"))
    (inbox / "bad.eml").write_bytes(_flipped(_package(tmp_path, pki, "crash-bad")))
    config = str(_config(tmp_path, pki))
    assert _run_json(capsys, "--config", config, str(inbox))[0] == ExitCode.REJECTED
    before = {name: data for name, (data, _) in _tree(tmp_path / "out").items()}
    # Files are written before the state records them: losing the state (a crash in
    # between, or the state deleted) files the same bytes under the same names again.
    for path in (tmp_path / "out" / ".state").glob("receive.sqlite*"):
        path.unlink()
    code, outcomes, _ = _run_json(capsys, "--config", config, str(inbox))
    assert code == ExitCode.REJECTED
    assert sorted(o["reason"] or o["verdict"] for o in outcomes) == ["accepted", "tampered"]
    assert {name: data for name, (data, _) in _tree(tmp_path / "out").items() if "reason" not in name} == {
        name: data for name, data in before.items() if "reason" not in name
    }
    assert sorted(_tree(tmp_path / "out")) == sorted(before)
