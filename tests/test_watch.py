"""The hot folder: files taken only when complete, each handled once, a crash resumed."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from pathlib import Path

from smtp_fixtures import AGENCY

from intake import audit
from intake.arrivals import Arrivals
from intake.cli import ExitCode, main
from intake.demo.pki import DemoPki
from intake.transport import Outbox
from intake.watch import Watcher, temporary_name

NAME = "Virtanen Matti 131052-928T.pdf"  # scanners name files after what the advisor types


def test_a_file_still_being_written_is_not_taken(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path, pipeline=None, dispatcher=None)  # type: ignore[arg-type]
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4\n" + b"x" * 1000)
    assert watcher.poll() == []  # first sight: size and mtime not yet known to be stable
    with scan.open("ab") as stream:
        stream.write(b"y" * 1000)  # the second half arrives between polls
    assert watcher.poll() == []
    (tmp_path / ".scan2.pdf").write_bytes(b"%PDF")
    (tmp_path / "scan3.pdf.tmp").write_bytes(b"%PDF")
    claimed = watcher.poll()
    assert len(claimed) == 1 and claimed[0].parent == tmp_path / ".intake" / "processing"
    assert claimed[0].stat().st_size == 2009 and not scan.exists()
    assert watcher.poll() == [] and watcher.poll() == []  # hidden and temp names wait while fresh
    assert {p.name for p in tmp_path.iterdir() if p.is_file()} == {".scan2.pdf", "scan3.pdf.tmp"}
    # Left unchanged for [watch] temp_names_after_s, they are taken: never ignored forever.
    for name in (".scan2.pdf", "scan3.pdf.tmp"):
        os.utime(tmp_path / name, (time.time() - 601, time.time() - 601))
    assert watcher.poll() == []
    assert len(watcher.poll()) == 2 and not [p for p in tmp_path.iterdir() if p.is_file()]


def test_a_file_renamed_in_is_taken_at_the_second_look_one_written_in_place_only_once_settled(
    tmp_path: Path,
) -> None:
    watcher = Watcher(tmp_path, pipeline=None, dispatcher=None, settle_s=3600)  # type: ignore[arg-type]
    (tmp_path / "in place.pdf").write_bytes(b"%PDF-1.4\n" + b"x" * 1000)
    (tmp_path / ".hidden.pdf").write_bytes(b"%PDF-1.4\n" + b"y" * 1000)
    os.rename(tmp_path / ".hidden.pdf", tmp_path / "renamed.pdf")
    assert watcher.poll({"renamed.pdf"}) == [] and watcher.expecting()
    claimed = watcher.poll()  # unchanged at the second look: complete before it got its name
    assert [p.read_bytes()[-1:] for p in claimed] == [b"y"] and not watcher.expecting()
    assert watcher.poll() == [] and watcher.poll() == []  # written in place: unchanged, but not yet for settle_s
    assert (tmp_path / "in place.pdf").exists()


def test_a_file_renamed_in_that_still_grows_waits_like_any_other(tmp_path: Path) -> None:
    watcher = Watcher(tmp_path, pipeline=None, dispatcher=None, settle_s=3600)  # type: ignore[arg-type]
    (tmp_path / "scan.pdf").write_bytes(b"%PDF-1.4\n")
    assert watcher.poll({"scan.pdf"}) == []
    with (tmp_path / "scan.pdf").open("ab") as stream:
        stream.write(b"more")  # something writes on under the new name
    assert watcher.poll() == [] and watcher.poll() == [] and not watcher.expecting()
    assert (tmp_path / "scan.pdf").exists()


def test_arrivals_reports_names_renamed_in_and_nothing_else(tmp_path: Path) -> None:
    arrivals = Arrivals.open(tmp_path)
    assert arrivals is not None  # Linux: inotify
    try:
        started = time.monotonic()
        assert arrivals.wait(0.2) == set() and time.monotonic() - started >= 0.15
        (tmp_path / "in place.pdf").write_bytes(b"%PDF")
        (tmp_path / ".tmp").mkdir()
        (tmp_path / ".tmp" / "scan.pdf").write_bytes(b"%PDF")
        raw = os.fsencode(tmp_path) + b"/.x"
        with open(raw, "wb") as stream:
            stream.write(b"%PDF")
        os.rename(raw, os.fsencode(tmp_path) + b"/Virtanen \xe4.pdf")  # Latin-1: not UTF-8
        os.rename(tmp_path / ".tmp" / "scan.pdf", tmp_path / "moved in.pdf")
        found: set[str] = set()
        while len(found) < 2 and time.monotonic() - started < 5:
            found |= arrivals.wait(1.0)
        assert found == {"moved in.pdf", os.fsdecode(b"Virtanen \xe4.pdf")}
        assert found <= {entry.name for entry in os.scandir(tmp_path)}  # named as the poll names them
    finally:
        arrivals.close()


def test_temporary_names() -> None:
    assert [temporary_name(n) for n in (".x.pdf", "~lock.pdf", "a.TMP", "a.part", "a.pdf", "a.tif")] == [
        True, True, True, True, False, False,
    ]  # fmt: skip


def watch_config(tmp_path: Path, pki: DemoPki) -> Path:
    rules = "".join(
        f'[[routing.rules]]\nid = "{a.lower()}"\nauthority = "{a}"\ndestination = "agency"\n' for a in ("KELA", "ELY")
    )
    path = tmp_path / "intake.toml"
    path.write_text(f"""{rules}
[destinations.agency]
address = "{AGENCY}"
certificate = "{pki.agencies[AGENCY].cert}"
[transport]
spool = "{tmp_path / 'spool'}"
sender = "intake@asiointipiste.example"
[transport.smime]
certificate = "{pki.signer.cert}"
key = "{pki.signer.key}"
agency_trust = "{pki.ca.cert}"
""", encoding="utf-8")  # fmt: skip
    return path


def _watch_once(folder: Path, config: Path) -> int:
    return main(["watch", str(folder), "--once", "--interval", "0.2", "--no-send", "--config", str(config)])


def test_hot_folder_queues_once_quarantines_and_resumes(corpus: Path, pki: DemoPki, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    processing = inbox / ".intake" / "processing"
    processing.mkdir(parents=True)
    shutil.copyfile(corpus / "scan_0007.pdf", inbox / NAME)  # one KELA form
    (inbox / "broken.jpg").write_bytes((corpus / "scan_0001.jpg").read_bytes()[:5000])
    # A crash left a claimed batch (ELY + KELA form) in processing/: the restart resumes it.
    shutil.copyfile(corpus / "batch_002.pdf", processing / "18f0000000.pdf")
    config = watch_config(tmp_path, pki)

    assert _watch_once(inbox, config) == ExitCode.REJECTED
    outbox = Outbox(tmp_path / "spool" / "outbox")
    assert len(outbox.list()) == 3  # one item per document
    assert not [p for p in inbox.iterdir() if p.is_file()] and not list(processing.iterdir())
    done = sorted(p.name for p in (inbox / "done").iterdir())
    assert len(done) == 4 and all("Virtanen" not in name and "131052" not in name for name in done)
    results = [json.loads(p.read_text()) for p in (inbox / "done").glob("*.result.json")]
    assert len(results) == 2 and all(r["scanned_at"] and len(r["sha256"]) == 64 for r in results)
    assert not any("Virtanen" in p.read_text() for p in (inbox / "done").glob("*.json"))
    assert all(d["status"] == "queued" for r in results for d in r["documents"])
    reason = json.loads(next((inbox / "quarantine").glob("*.reason.json")).read_text())
    assert "original_name" not in reason and "truncated" in reason["reason"]
    assert len(list((inbox / "quarantine").iterdir())) == 2
    audit_log = tmp_path / "spool" / "audit.log"
    actions = Counter(json.loads(line)["action"] for line in audit_log.read_text().splitlines())
    assert (actions["scanned"], actions["rejected"], actions["queued"]) == (2, 1, 3)
    assert audit.verify(audit_log).ok
    assert "Virtanen" not in audit_log.read_text() and "131052" not in audit_log.read_text()
    recorded = audit_log.read_bytes()

    # Crash after the journal recorded the file but before it was moved, and the same scan
    # dropped again: neither is processed twice.
    kept = next((inbox / "done").glob("*.pdf"))
    shutil.copyfile(kept, processing / "18f0000001.pdf")
    kept.unlink()
    shutil.copyfile(corpus / "scan_0007.pdf", inbox / "again.pdf")
    assert _watch_once(inbox, config) == ExitCode.OK
    assert len(outbox.list()) == 3
    assert audit_log.read_bytes() == recorded  # nothing happened again, so nothing recorded
    assert len(list((inbox / "done").glob("*.pdf"))) == 2
    assert not [p for p in inbox.iterdir() if p.is_file()] and not list(processing.iterdir())
