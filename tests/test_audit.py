"""The audit log: hash chain, concurrent writers, torn lines, and what a real run records."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from smtp_fixtures import AGENCY, HETU, ScriptedHandler, StoreHandler, make_document, sending_config

from intake import audit
from intake.audit import Action, AuditLog
from intake.cli import main
from intake.config import load as load_config
from intake.delivery import Dispatcher
from intake.demo.pki import DemoPki
from intake.durable import sha256_file
from intake.errors import ExitCode


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _fill(path: Path, count: int) -> None:
    log = AuditLog(path)
    for number in range(count):
        log.record(Action.QUEUED, package_id=f"p{number}", destination=AGENCY, rule="kela")


def test_entries_chain_and_verify(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    _fill(path, 3)
    entries = _lines(path)
    assert [e["seq"] for e in entries] == [1, 2, 3]
    assert entries[0]["prev"] == audit.GENESIS
    assert [e["prev"] for e in entries[1:]] == [e["hash"] for e in entries[:-1]]
    verdict = audit.verify(path)
    assert (verdict.ok, verdict.entries, verdict.last_hash) == (True, 3, entries[-1]["hash"])


def test_a_batch_is_chained_like_single_entries(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    _fill(path, 1)
    events = [audit.Event(Action.SCANNED, file_sha256="ab" * 32, pages=[1, 2]),
              audit.Event(Action.CLASSIFIED, file_sha256="ab" * 32, pages=[1], form="kela-sv8-fi"),
              audit.Event(Action.HELD, file_sha256="ab" * 32, pages=[2])]  # fmt: skip
    written = AuditLog(path).append(events)
    assert [e["seq"] for e in written] == [2, 3, 4] and written[0]["file"] == "ab" * 8
    assert _lines(path)[1:] == written
    assert audit.verify(path).ok


def _edit(lines: list[str]) -> list[str]:
    entry = json.loads(lines[2])
    entry["destination"] = "kirjaamo@vero.example"
    return [*lines[:2], json.dumps(entry, separators=(",", ":")), *lines[3:]]


def _edit_and_rehash(lines: list[str]) -> list[str]:
    # A forger who recomputes the edited entry's hash still breaks the next entry's link.
    entry = json.loads(lines[2])
    entry["destination"] = "kirjaamo@vero.example"
    entry["hash"] = audit.entry_hash(entry)
    return [*lines[:2], json.dumps(entry, separators=(",", ":")), *lines[3:]]


@pytest.mark.parametrize(
    ("tamper", "line", "words"),
    [
        (_edit, 3, "does not match its hash"),
        (_edit_and_rehash, 4, "'prev' is not the hash"),
        (lambda lines: lines[:1] + lines[2:], 2, "sequence number 3 where 2"),
        (lambda lines: [*lines[:3], "{not json", *lines[3:]], 4, "not valid JSON"),
        (lambda lines: [*lines[:4], lines[1], *lines[4:]], 5, "sequence number 2 where 5"),
    ],
    ids=["edited", "edited-and-rehashed", "removed", "garbage-inserted", "replayed"],
)
def test_verify_names_the_first_broken_entry(tmp_path: Path, tamper, line: int, words: str, capsys) -> None:
    path = tmp_path / "audit.log"
    _fill(path, 5)
    path.write_text("\n".join(tamper(path.read_text().splitlines())) + "\n")
    verdict = audit.verify(path)
    assert (verdict.ok, verdict.broken_line) == (False, line)
    assert words in (verdict.problem or "")
    assert main(["audit", "verify", str(path)]) == ExitCode.AUDIT
    err = capsys.readouterr().err
    assert f"line {line}: " in err and words in err


def _writer(path: str, label: str) -> None:
    log = AuditLog(Path(path))
    for number in range(25):
        log.record(Action.SENT, package_id=f"{label}-{number}", destination=AGENCY)


def test_concurrent_writers_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_writer, args=(str(path), label)) for label in "abcd"]
    for process in writers:
        process.start()
    for process in writers:
        process.join(60)
        assert process.exitcode == 0
    verdict = audit.verify(path)
    assert (verdict.ok, verdict.entries) == (True, 100)
    assert len({e["package"] for e in _lines(path)}) == 100


def test_a_torn_last_line_is_cut_off_by_the_next_writer(tmp_path: Path, caplog) -> None:
    path = tmp_path / "audit.log"
    _fill(path, 2)
    with path.open("ab") as handle:
        handle.write(b'{"seq":3,"time":"2026-')  # a writer died mid-entry
    assert audit.verify(path).broken_line == 3
    AuditLog(path).record(Action.SENT, package_id="p9")
    assert "unfinished entry" in caplog.text
    verdict = audit.verify(path)
    assert (verdict.ok, verdict.entries) == (True, 3)


def test_a_real_run_records_every_step_without_personal_data(
    corpus: Path, truth: dict, pki: DemoPki, smtp_server, tmp_path: Path, capsys
) -> None:
    received = tmp_path / "received"
    server = smtp_server(StoreHandler(received))
    config = sending_config(tmp_path, pki, server.port, timeout_s=20)
    broken = tmp_path / f"scan-{HETU}.pdf"  # a customer's code in a file name must not reach the log
    broken.write_bytes(b"%PDF-1.4 truncated")
    args = ["--config", str(config)]
    # batch_002 holds an ELY form (no rule here: held) and a KELA form (queued).
    assert main(["process", "--no-send", *args, str(corpus / "batch_002.pdf"), str(broken)]) == ExitCode.REJECTED
    assert main(["send", *args]) == ExitCode.OK
    log_path = tmp_path / "spool" / "audit.log"
    entries = _lines(log_path)
    actions = [(e["action"], e.get("form")) for e in entries]
    assert actions == [
        ("scanned", None),
        ("classified", "ely-yt1-fi"),
        ("held", "ely-yt1-fi"),
        ("classified", "kela-sv8-fi"),
        ("queued", "kela-sv8-fi"),
        ("rejected", None),
        ("sent", None),
    ]
    queued, sent = entries[4], entries[6]
    assert queued["rule"] == "kela" and queued["destination"] == AGENCY
    assert sent["package"] == queued["package"] and sent["destination"] == AGENCY
    assert (entries[5]["code"], entries[5]["file"]) == ("corrupt", sha256_file(broken)[:16])
    text = log_path.read_text()
    values = [v for doc in truth["batch_002.pdf"]["documents"] for v in doc["values"].values() if len(v) > 3]
    assert values and not [v for v in values if v in text]
    assert HETU not in text and "batch_002" not in text and "scan-" not in text
    assert main(["audit", "verify", *args]) == ExitCode.OK
    # An edit of one entry (here: who it was sent to) is found and named.
    lines = log_path.read_text().splitlines()
    lines[4] = lines[4].replace(AGENCY, "kirjaamo@vero.example")
    log_path.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["audit", "verify", *args]) == ExitCode.AUDIT
    assert "line 5: its content does not match its hash" in capsys.readouterr().err


def test_a_missing_log_is_not_a_clean_bill(tmp_path: Path, capsys) -> None:
    assert main(["audit", "verify", str(tmp_path / "audit.log")]) == ExitCode.AUDIT
    assert "no audit log at" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("reply", "action", "exit_code"),
    [("550 5.7.1 refused", "failed", ExitCode.DELIVERY), ("451 4.3.0 try later", "deferred", ExitCode.DELIVERY)],
    ids=["permanent", "temporary"],
)
def test_delivery_outcomes_are_recorded_with_their_smtp_code(
    pki: DemoPki, smtp_server, tmp_path: Path, reply: str, action: str, exit_code: int
) -> None:
    server = smtp_server(ScriptedHandler(tmp_path / "received", data=[reply]))
    config = sending_config(tmp_path, pki, server.port, rule="kela-fi")
    dispatcher = Dispatcher(load_config(config))
    package = dispatcher.enqueue(make_document(tmp_path))  # a KELA form routed by rule kela-fi
    assert package is not None
    assert main(["send", "--config", str(config)]) == exit_code
    entries = _lines(tmp_path / "spool" / "audit.log")
    assert [(e["action"], e.get("code")) for e in entries] == [("queued", None), (action, reply[:3])]
    assert entries[1]["package"] == package.package_id and entries[1]["destination"] == AGENCY
    if action == "failed":  # a person fixed the cause and queues it again
        [item] = dispatcher.outbox.list()
        assert main(["retry", "--config", str(config), item.id]) == ExitCode.OK
        last = _lines(tmp_path / "spool" / "audit.log")[-1]
        assert (last["action"], last["code"], last["package"]) == ("queued", "retry", package.package_id)
    assert audit.verify(tmp_path / "spool" / "audit.log").ok
