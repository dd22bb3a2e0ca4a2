"""The ``intake`` command end to end: real scans, real Tesseract, a real TLS SMTP server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
from conftest import copy_example_config
from smtp_fixtures import AGENCY, ScriptedHandler, StoreHandler, make_document, sending_config

from intake.cli import ExitCode, main
from intake.config import load as load_config
from intake.delivery import Dispatcher
from intake.demo.pki import DemoPki, make_demo_pki
from intake.models import Status
from intake.receive import open_package
from intake.transport.manifest import SCHEMA_PATH


def write_config(folder: Path, text: str) -> Path:
    path = folder / "intake.toml"
    path.write_text(text, encoding="utf-8")
    return path


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    code = main(["process", "--json", *args])
    out = capsys.readouterr().out
    return code, [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture
def dry_config(tmp_path: Path) -> Path:
    """The shipped example config with its spool moved into the test's folder."""
    return copy_example_config(tmp_path)


def test_dry_run_json_classifies_splits_and_holds(corpus: Path, truth: dict, dry_config: Path, capsys) -> None:
    files = ["batch_001.pdf", "scan_0006.tif", "other_002.pdf"]
    code, docs = run_json(capsys, "--dry-run", "--config", str(dry_config), *(str(corpus / f) for f in files))
    assert code == ExitCode.REVIEW  # the letter is held
    expected = [(f, d) for f in files for d in truth[f]["documents"]]
    assert len(docs) == len(expected)
    for doc, (name, want) in zip(docs, expected, strict=True):
        assert Path(doc["source"]["file"]).name == name
        assert doc["source"]["sha256"] == truth[name]["sha256"]
        assert doc["source"]["pages"] == want["pages"]
        assert doc["form"] == {"id": want["form_id"], "code": want.get("code"), "language": want.get("language")}
        assert doc["authority"] == want.get("authority")
        assert 0.0 <= doc["confidence"] <= 1.0
        if want["form_id"] is None:
            assert doc["status"] == "review" and doc["route"]["destination"] is None and doc["reason"]
        else:
            assert doc["status"] == "queued", doc["reason"]
            assert doc["route"]["rule"] and doc["route"]["destination"].endswith(".example")
            assert set(doc["checkboxes"]) == set(want["checkboxes"])
            for field in doc["fields"].values():
                assert {"value", "confidence", "valid"} <= set(field) <= {"value", "confidence", "valid", "candidates"}
    assert not (dry_config.parent / "spool" / "outbox").exists()  # dry run: nothing queued


def test_bad_files_are_quarantined_and_the_batch_goes_on(
    corpus: Path, dry_config: Path, tmp_path: Path, capsys
) -> None:
    empty = tmp_path / "empty.pdf"
    empty.write_bytes(b"")
    text = tmp_path / "notes.png"
    text.write_text("this is not an image\n")
    good = corpus / "scan_0004.png"
    config = load_config(dry_config)
    make_demo_pki(tmp_path / "pki", agencies=[d.address for d in config.destinations.values()],
                  signer=config.transport.sender)  # fmt: skip
    code, docs = run_json(capsys, "--no-send", "--config", str(dry_config), str(empty), str(text), str(good))
    assert code == ExitCode.REJECTED
    assert [d["status"] for d in docs] == ["rejected", "rejected", "queued"]
    assert all(d["reason"] for d in docs[:2])
    reasons = sorted((tmp_path / "spool" / "quarantine").glob("*.reason.json"))
    assert {json.loads(r.read_text())["original_name"] for r in reasons} == {"empty.pdf", "notes.png"}
    assert empty.exists() and text.exists()  # the originals are never touched


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        pytest.param(
            '[[routing.rules]]\nid = "x"\nauthority = "KLEA"\ndestination = "d"\n'
            '[destinations.d]\naddress = "a@b.example"\n',
            "routing.rules.0.authority",
            "KLEA",
            id="authority",
        ),
        pytest.param(
            '[[routing.rules]]\nid = "x"\nauthority = "KELA"\ndestination = "nowhere"\n',
            "",
            "nowhere",
            id="destination",
        ),
        pytest.param(
            '[[routing.rules]]\nid = "all"\nlanguage = "sv"\ndestination = "d"\n'
            '[destinations.d]\naddress = "a@b.example"\n',
            "",
            "must name an authority or a form",
            id="too-broad",
        ),
        pytest.param("[capture]\nmax_pages = 0\n", "capture.max_pages", "greater than or equal", id="range"),
        pytest.param("[ocr]\nlanguage = 'fin'\n", "ocr.language", "Extra inputs", id="unknown-key"),
        pytest.param("[capture\n", "", "not valid TOML", id="syntax"),
    ],
)
def test_config_errors_name_file_key_and_problem(tmp_path: Path, capsys, toml: str, key: str, words: str) -> None:
    path = write_config(tmp_path, toml)
    assert main(["config", "check", "--config", str(path)]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert str(path) in err and words in err and key in err


def test_example_config_checks(dry_config: Path, tmp_path: Path, capsys) -> None:
    # Its certificates do not exist yet: the check says which one is missing, by key.
    assert main(["config", "check", "--config", str(dry_config)]) == ExitCode.CONFIG
    assert "transport.smtp.ca_file" in capsys.readouterr().err
    config = load_config(dry_config)
    make_demo_pki(tmp_path / "pki", agencies=[d.address for d in config.destinations.values()],
                  signer=config.transport.sender)  # fmt: skip
    assert main(["config", "check", "--config", str(dry_config)]) == ExitCode.OK
    assert "OK" in capsys.readouterr().out


def test_templates_check_lists_all_forms(capsys) -> None:
    assert main(["templates", "check"]) == ExitCode.OK
    assert len(capsys.readouterr().out.splitlines()) == 14


def test_whole_path_delivers_over_tls(corpus: Path, pki: DemoPki, smtp_server, tmp_path: Path, capsys) -> None:
    received = tmp_path / "received"
    server = smtp_server(StoreHandler(received))
    config = sending_config(tmp_path, pki, server.port, timeout_s=20)
    code, docs = run_json(capsys, "--config", str(config), str(corpus / "batch_002.pdf"))
    # batch_002 holds an ELY form (no rule here: held) and a KELA form (delivered).
    assert code == ExitCode.REVIEW
    assert [(d["form"]["id"], d["status"]) for d in docs] == [("ely-yt1-fi", "review"), ("kela-sv8-fi", "queued")]
    assert "no routing rule" in docs[0]["reason"]
    messages = list(received.glob("*.eml"))
    assert len(messages) == 1
    opened = open_package(messages[0].read_bytes(), recipient_key=pki.agencies[AGENCY].key,
                          recipient_cert=pki.agencies[AGENCY].cert, ca_file=pki.ca.cert)  # fmt: skip
    assert opened.signer_verified
    assert opened.pdf.startswith(b"%PDF")
    assert opened.manifest["form"]["id"] == "kela-sv8-fi"
    assert opened.manifest["package_id"] == docs[1]["package"]
    # What the agency gets is what the shipped schema promises, and the PDF is searchable.
    jsonschema.validate(opened.manifest, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    (tmp_path / "received.pdf").write_bytes(opened.pdf)
    text = subprocess.run(["pdftotext", str(tmp_path / "received.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    assert "SV 8" in text and "Sairauspäivärahat" in text
    assert main(["outbox", "--config", str(config)]) == ExitCode.OK
    assert " sent " in capsys.readouterr().out


def test_unknown_form_in_a_rule_is_caught_before_work(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path, '[[routing.rules]]\nid = "x"\nform = "kela-sv9-fi"\ndestination = "d"\n'
                                  '[destinations.d]\naddress = "a@b.example"\n')  # fmt: skip
    assert main(["config", "check", "--config", str(path)]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "kela-sv9-fi" in err and "routing.rules.0.form" in err


def _send_config(tmp_path: Path, pki: DemoPki, port: int) -> Path:
    return sending_config(tmp_path, pki, port, rule="kela-fi", timeout_s=10)


def test_tls_failures_are_deferred_shown_and_retried(pki: DemoPki, smtp_server, tmp_path: Path, capsys) -> None:
    stripped = smtp_server(StoreHandler(tmp_path / "stripped"), tls="none")  # STARTTLS stripped on the way
    document = make_document(tmp_path)
    document.status = Status.QUEUED
    Dispatcher(load_config(_send_config(tmp_path, pki, stripped.port))).enqueue(document)
    assert main(["send", "--config", str(tmp_path / "intake.toml")]) == ExitCode.DELIVERY
    assert main(["outbox", "--config", str(tmp_path / "intake.toml")]) == ExitCode.OK
    out = capsys.readouterr().out
    assert " deferred " in out and "does not offer STARTTLS: not sending in plain text" in out
    assert not (tmp_path / "stripped").exists()  # nothing went out in plain text
    received = tmp_path / "received"
    fixed = smtp_server(StoreHandler(received))
    config = str(_send_config(tmp_path, pki, fixed.port))
    assert main(["send", "--config", config]) == ExitCode.OK  # the back-off is not over yet
    assert "sent 0, deferred 0" in capsys.readouterr().out
    assert main(["retry", "--all", "--config", config]) == ExitCode.OK
    assert "queued again" in capsys.readouterr().out
    assert main(["send", "--config", config]) == ExitCode.OK
    assert "sent 1" in capsys.readouterr().out
    [eml] = received.iterdir()
    agency = pki.agencies[AGENCY]
    opened = open_package(eml.read_bytes(), recipient_key=agency.key, recipient_cert=agency.cert, ca_file=pki.ca.cert)
    assert opened.signer_verified  # openssl cms -verify, as the agency would


def test_retry_needs_items_or_all(tmp_path: Path, capsys) -> None:
    assert main(["retry"]) == ExitCode.USAGE
    assert "--all" in capsys.readouterr().err


def test_processing_again_a_document_whose_package_failed_says_so(
    corpus: Path, pki: DemoPki, smtp_server, tmp_path: Path, capsys
) -> None:
    server = smtp_server(ScriptedHandler(tmp_path / "inbox", rcpt={AGENCY: "550 5.1.1 no such mailbox"}))
    config = str(_send_config(tmp_path, pki, server.port))
    scan = str(corpus / "scan_0007.pdf")  # one KELA form
    code, [first] = run_json(capsys, "--config", config, scan)
    assert (code, first["status"]) == (ExitCode.DELIVERY, "queued")  # queued, then refused for good
    code, [again] = run_json(capsys, "--config", config, scan)
    assert (code, again["status"]) == (ExitCode.DELIVERY, "failed")
    assert "550" in again["reason"] and "intake retry " in again["reason"]
    assert again["package"] == first["package"]  # the same item, not a second copy
