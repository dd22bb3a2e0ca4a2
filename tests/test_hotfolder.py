"""The hot folder against hostile names, swapped folders and a crash's leftovers.

Every name is created for real on disk: bytes that are not UTF-8, a newline, a leading
dot, a 250-character name, no extension. Each file is handled or refused with a reason,
and the loop never stops.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_watch import watch_config

from intake import spool
from intake.cli import ExitCode, main
from intake.demo.pki import DemoPki
from intake.errors import UnsafeFolder
from intake.folders import private_file
from intake.watch import OUTPUTS, Journal, Watcher

LATIN1 = b"caf\xe9 Meik\xe4l\xe4inen.pdf"  # what a Windows scanner writes on a Samba share
HOSTILE = {  # name (bytes) -> what it holds
    b"two\nlines 010594Y9032.jpg": "broken",
    b".hidden scan.pdf": "text",  # a leading dot, left unchanged longer than temp_names_after_s
    b"x" * 250 + b".png": "broken",
    b"no extension at all": "text",
    b"\x1b[2J\r.tif": "text",
}


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def _watch_once(folder: Path, config: Path) -> int:
    return main(["watch", str(folder), "--once", "--interval", "0.2", "--no-send", "--config", str(config)])


def test_hostile_names_are_handled_or_refused_and_the_loop_goes_on(
    corpus: Path, pki: DemoPki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    raw = os.fsencode(inbox)
    shutil.copyfile(corpus / "scan_0007.pdf", raw + b"/" + LATIN1)  # a KELA form
    # Claimed by a run that then died: the restart resumes it (the old journal crashed here).
    claimer = Watcher(inbox, pipeline=None, dispatcher=None)  # type: ignore[arg-type]
    assert claimer.poll() == [] and len(claimer.poll()) == 1
    broken = (corpus / "scan_0001.jpg").read_bytes()[:5000]
    for name, content in HOSTILE.items():
        with open(raw + b"/" + name, "wb") as stream:
            stream.write((broken if content == "broken" else b"not a scan\n") + name)  # distinct bytes
    old = time.time() - 3600
    os.utime(raw + b"/.hidden scan.pdf", (old, old))
    os.symlink("/etc/passwd", inbox / "link.pdf")  # never followed, left alone
    config = watch_config(tmp_path, pki)

    assert _watch_once(inbox, config) == ExitCode.REJECTED
    assert capsys.readouterr().out.strip() == f"done 1, quarantine {len(HOSTILE)}"
    assert sorted(os.listdir(raw)) == sorted([b".intake", b"done", b"link.pdf", b"quarantine", b"review"])
    assert not os.listdir(inbox / ".intake" / "processing")
    reasons = [json.loads(p.read_bytes()) for p in (inbox / "quarantine").glob("*.reason.json")]
    assert len(reasons) == len(HOSTILE) and all(
        r["reason"].startswith(("corrupt", "unsupported-format")) for r in reasons
    )
    assert len(list((inbox / "done").glob("*.pdf"))) == 1
    for path in (inbox / "done").iterdir():
        assert path.name.isascii() and "Meik" not in path.name
    # Private: every folder intake made is 0700, every file it keeps is 0600.
    spool_dir = tmp_path / "spool"
    folders = [
        inbox / ".intake",
        inbox / ".intake" / "processing",
        *(inbox / name for name in OUTPUTS),
        spool_dir / "quarantine",
        spool_dir / "work",
        spool_dir / "outbox",
        spool_dir / "outbox" / "messages",
    ]
    assert {str(f): _mode(f) for f in folders} == {str(f): 0o700 for f in folders}
    kept = [p for folder in folders for p in folder.iterdir() if p.is_file() and p.name != "outbox.lock"]
    assert len(kept) > 15 and {str(p): _mode(p) for p in kept} == {str(p): 0o600 for p in kept}
    assert not list((spool_dir / "work").iterdir())  # the run's work folder is gone


@pytest.mark.parametrize("name", [*OUTPUTS, ".intake", ".intake/processing"])
def test_an_output_folder_that_is_a_link_is_refused(tmp_path: Path, name: str) -> None:
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    (inbox / ".intake").mkdir(parents=True)
    elsewhere.mkdir()
    if name == ".intake":
        (inbox / ".intake").rmdir()
    os.symlink(elsewhere, inbox / name)
    with pytest.raises(UnsafeFolder, match="symbolic link"):
        Watcher(inbox, pipeline=None, dispatcher=None)  # type: ignore[arg-type]
    assert not list(elsewhere.iterdir())  # nothing was written through the link


def test_watch_refuses_to_start_on_a_linked_folder(pki: DemoPki, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "scan.pdf").write_bytes(b"%PDF-1.4\n")
    os.symlink(tmp_path, inbox / "done")
    assert _watch_once(inbox, watch_config(tmp_path, pki)) == ExitCode.ENVIRONMENT
    assert "done is a symbolic link" in capsys.readouterr().err
    assert (inbox / "scan.pdf").exists()  # refused before anything was taken


def test_a_missing_hot_folder_is_a_usage_error(pki: DemoPki, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    assert _watch_once(tmp_path / "nowhere", watch_config(tmp_path, pki)) == ExitCode.USAGE
    assert "nowhere does not exist" in capsys.readouterr().err


def test_a_crash_s_leftovers_are_removed_at_start(tmp_path: Path) -> None:
    inbox, spool_dir = tmp_path / "inbox", tmp_path / "spool"
    old = time.time() - 7200
    leftovers = [inbox / ".intake" / "processing" / ".18f.pdf.x1.tmp", inbox / "done" / ".abc.result.json.x2.tmp",
                 inbox / ".intake" / ".journal.x3.tmp", spool_dir / "quarantine" / ".def.pdf.x4.tmp",
                 spool_dir / "outbox" / "messages" / ".0a1b.eml.x5.tmp"]  # fmt: skip
    fresh = spool_dir / "quarantine" / ".being-written.pdf.x6.tmp"  # a live writer's temp file
    claim = inbox / ".intake" / "processing" / "18f0000000.pdf"  # a claim: resumed, never removed
    for path in [*leftovers, fresh, claim]:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"page of a customer's form")
    for path in leftovers:
        os.utime(path, (old, old))
    dead = spool_dir / "work" / "intake-dead1234"  # a run killed with SIGKILL
    (dead / "page-0001.png").parent.mkdir(parents=True)
    (dead / "page-0001.png").write_bytes(b"png")
    (dead / ".lock").write_bytes(b"")
    with spool.work_dir(spool_dir) as live:  # another run, still working
        spool.clean_at_start(spool_dir)
        watcher = Watcher(inbox, pipeline=None, dispatcher=None)  # type: ignore[arg-type]
        assert live.is_dir()
    assert not dead.exists() and not any(path.exists() for path in leftovers)
    assert fresh.exists() and watcher.pending() == [claim]


def test_an_old_journal_s_names_are_erased(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "journal.sqlite"
    with sqlite3.connect(path) as db:  # the schema intake used before names were dropped
        db.execute("CREATE TABLE claims (claim TEXT PRIMARY KEY, original TEXT NOT NULL, claimed REAL NOT NULL)")
        db.execute("INSERT INTO claims VALUES ('18f0', 'Virtanen Matti 131052-928T.pdf', 0)")
    db.close()
    Journal(path)
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("journal"))
    assert b"131052-928T" not in stored and b"Virtanen" not in stored
    assert _mode(path) == 0o600


def test_a_file_above_the_size_limit_is_quarantined_unread(
    pki: DemoPki, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = watch_config(tmp_path, pki)
    config.write_text(config.read_text() + "\n[capture]\nmax_file_mb = 1\n")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    huge = inbox / "huge.pdf"
    with huge.open("wb") as stream:  # 20 GB, sparse: reading it whole would take minutes
        stream.write(b"%PDF-1.4\n")
        stream.truncate(20 * 10**9)
    started = time.monotonic()
    assert main(["process", "--json", "--no-send", "--config", str(config), str(huge)]) == ExitCode.REJECTED
    [doc] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert doc["reason"].startswith("limit-exceeded: the file is 20000 MB, above the limit of 1 MB")
    [reason] = [json.loads(p.read_text()) for p in (tmp_path / "spool" / "quarantine").glob("*.reason.json")]
    assert reason["sha256"] is None and reason["copy"].startswith("not copied (the file is above the size limit)")

    assert _watch_once(inbox, config) == ExitCode.REJECTED
    kept = [p for p in (inbox / "quarantine").iterdir() if p.suffix == ".pdf"]
    assert len(kept) == 1 and kept[0].stat().st_size == 20 * 10**9  # moved, not copied
    assert time.monotonic() - started < 30


def test_a_folder_swapped_for_a_link_while_running_stops_the_loop(tmp_path: Path) -> None:
    inbox, elsewhere = tmp_path / "inbox", tmp_path / "elsewhere"
    inbox.mkdir()
    elsewhere.mkdir()
    watcher = Watcher(inbox, pipeline=None, dispatcher=None)  # type: ignore[arg-type]
    claim = watcher.processing / "18f0000000.pdf"
    claim.write_bytes(b"%PDF-1.4\n")
    (inbox / "done").rmdir()
    os.symlink(elsewhere, inbox / "done")  # by whoever else can write to the scanner's share
    with pytest.raises(UnsafeFolder, match="symbolic link"):
        watcher._settle(claim, "ab" * 32, "done", {"documents": []})
    assert claim.exists() and not list(elsewhere.iterdir())  # still claimed, nothing written through


def test_private_file_keeps_the_locks_sqlite_holds_on_an_open_database(tmp_path: Path) -> None:
    """Closing any descriptor of a file drops this process's POSIX locks on it, so the file of
    a database open here is never opened again (another process would delete its WAL)."""
    path = tmp_path / "journal.sqlite"
    path.write_bytes(b"")
    os.chmod(path, 0o644)
    with open(path, "rb+") as database:
        fcntl.lockf(database, fcntl.LOCK_SH | fcntl.LOCK_NB)  # as SQLite holds a database in WAL mode
        private_file(path)
        probe = "import fcntl, sys; fcntl.lockf(open(sys.argv[1], 'rb+'), fcntl.LOCK_EX | fcntl.LOCK_NB)"
        other = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, check=False)
    assert other.returncode != 0 and b"BlockingIOError" in other.stderr  # still locked by this process
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    os.symlink(path, tmp_path / "link.sqlite")
    with pytest.raises(UnsafeFolder, match="symbolic link"):
        private_file(tmp_path / "link.sqlite")
