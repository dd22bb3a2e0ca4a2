"""The ``intake`` command end to end: real scans, real Tesseract, a real TLS SMTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import copy_example_config
from smtp_fixtures import AGENCY, StoreHandler

from intake.cli import ExitCode, main
from intake.config import load as load_config
from intake.demo.pki import DemoPki, make_demo_pki
from intake.receive import open_package


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
    config = write_config(
        tmp_path,
        f"""
[[routing.rules]]
id = "kela"
authority = "KELA"
destination = "kela"
[destinations.kela]
address = "{AGENCY}"
certificate = "{pki.agencies[AGENCY].cert}"
[transport]
spool = "{tmp_path / "spool"}"
sender = "intake@asiointipiste.example"
[transport.smtp]
host = "127.0.0.1"
port = {server.port}
ca_file = "{pki.ca.cert}"
timeout_s = 20
[transport.smime]
certificate = "{pki.signer.cert}"
key = "{pki.signer.key}"
""",
    )
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
    assert main(["outbox", "--config", str(config)]) == ExitCode.OK
    assert " sent " in capsys.readouterr().out


def test_unknown_form_in_a_rule_is_caught_before_work(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path, '[[routing.rules]]\nid = "x"\nform = "kela-sv9-fi"\ndestination = "d"\n'
                                  '[destinations.d]\naddress = "a@b.example"\n')  # fmt: skip
    assert main(["config", "check", "--config", str(path)]) == ExitCode.CONFIG
    err = capsys.readouterr().err
    assert "kela-sv9-fi" in err and "routing.rules.0.form" in err
