"""kill -9 of real ``intake`` processes: no worker outlives its parent, nothing is lost or sent twice."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from smtp_fixtures import AGENCY, GatedHandler, ServerFactory, make_document, sending_config

from intake import config as configuration
from intake.delivery import Dispatcher
from intake.demo.pki import DemoPki
from intake.lifeline import bind_to_parent
from intake.models import Status
from intake.receive import open_package
from intake.transport import Outbox, State

ROOT = Path(__file__).resolve().parents[1]


def _toml(tmp_path: Path, pki: DemoPki, port: int) -> Path:
    return sending_config(tmp_path, pki, port, rule="kela-fi", timeout_s=120, head="[ocr]\nworkers = 2")


def _intake(*args: str | Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "intake.cli", *map(str, args)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def _stat(pid: int) -> tuple[str, str, int] | None:
    """(command name, state, parent pid) from /proc, or None when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    name, rest = text[text.index("(") + 1 : text.rindex(")")], text[text.rindex(")") + 2 :].split()
    return name, rest[0], int(rest[1])


def _descendants(pid: int) -> dict[int, str]:
    """Every living descendant of ``pid``, by pid, with its command name."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (info := _stat(int(entry.name))) is not None and info[1] != "Z":
            parents[int(entry.name)] = (info[0], info[2])
    found: dict[int, str] = {}
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for child, (name, ppid) in parents.items():
            if ppid == parent and child not in found:
                found[child] = name
                frontier.append(child)
    return found


def _alive(pid: int) -> bool:
    info = _stat(pid)
    return info is not None and info[1] != "Z"  # a zombie is dead, waiting for init to reap it


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


def _kill_and_check_no_child_survives(proc: subprocess.Popen[bytes], children: dict[int, str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    _until(lambda: not any(_alive(pid) for pid in children), 10, f"the orphans {children} to end")


def test_kill_9_of_process_leaves_no_worker_nor_tesseract(corpus: Path, pki: DemoPki, tmp_path: Path) -> None:
    config = _toml(tmp_path, pki, 25)
    files = [corpus / name for name in ("scan_0002.pdf", "scan_0009.pdf", "scan_0011.pdf", "scan_0021.pdf")]
    proc = _intake("process", "--no-send", "--config", config, *files)
    seen: dict[int, str] = {}

    def busy_reading() -> bool:  # a worker's own tesseract or pdftoppm, not the parent's preflight one
        seen.update(_descendants(proc.pid))
        return any(
            name in ("tesseract", "pdftoppm") and (info := _stat(pid)) is not None and info[2] != proc.pid
            for pid, name in seen.items()
        )

    try:
        _until(busy_reading, 120, "page workers running tesseract or pdftoppm")
        with Outbox(tmp_path / "spool" / "outbox").sending(wait_s=0.5):
            pass  # only a sender holds the outbox lock: processing does not
    finally:
        _kill_and_check_no_child_survives(proc, _descendants(proc.pid) | seen)
    with Outbox(tmp_path / "spool" / "outbox").sending(wait_s=0.5):
        pass  # and no orphan keeps it


def test_kill_9_of_watch_while_sending_then_send_delivers(
    corpus: Path, pki: DemoPki, tmp_path: Path, smtp_server: ServerFactory
) -> None:
    handler = GatedHandler(tmp_path / "inbox", hold="DATA")
    server = smtp_server(handler)
    config = _toml(tmp_path, pki, server.port)
    inbox = tmp_path / "scans"
    inbox.mkdir()
    shutil.copyfile(corpus / "scan_0007.pdf", inbox / "a.pdf")  # one KELA form
    proc = _intake("watch", inbox, "--interval", "0.2", "--config", config)
    try:
        _until(handler.reached.is_set, 180, "the watcher to reach DATA")
        workers = _descendants(proc.pid)
        assert workers  # the page workers are still there, idle, waiting for the next scan
    finally:
        _kill_and_check_no_child_survives(proc, _descendants(proc.pid))
    outbox = Outbox(tmp_path / "spool" / "outbox")
    [item] = outbox.list()
    assert item.state is State.SENDING  # the crash left it mid-delivery
    handler.release.set()  # the server works again; the hung session gets its 451
    send = _intake("send", "--config", config)
    out, err = send.communicate(timeout=60)
    assert send.returncode == 0, err.decode()
    assert b"sent 1, deferred 0, failed 0" in out
    assert outbox.get(item.id).state is State.SENT
    [eml] = handler.received
    agency = pki.agencies[AGENCY]
    opened = open_package(eml.read_bytes(), recipient_key=agency.key, recipient_cert=agency.cert, ca_file=pki.ca.cert)
    assert opened.signer_verified and opened.manifest["authority"] == "KELA"


def test_kill_9_during_a_slow_quit_sends_nothing_twice(
    pki: DemoPki, tmp_path: Path, smtp_server: ServerFactory
) -> None:
    handler = GatedHandler(tmp_path / "inbox", hold="QUIT")
    server = smtp_server(handler)
    config = _toml(tmp_path, pki, server.port)
    document = make_document(tmp_path)
    document.status = Status.QUEUED
    assert Dispatcher(configuration.load(config)).enqueue(document) is not None
    send = _intake("send", "--config", config)
    try:
        _until(handler.reached.is_set, 60, "the sender to say QUIT")
    finally:
        send.kill()
        send.wait(10)
    handler.release.set()
    again = _intake("send", "--config", config)
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err.decode()
    assert b"sent 0, deferred 0, failed 0" in out
    assert handler.data_commands == 1
    [item] = Outbox(tmp_path / "spool" / "outbox").list()
    assert item.state is State.SENT


def _pid_after(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def test_workers_started_from_a_thread_that_ends_keep_working() -> None:
    # A desk may grow the pool from a short-lived request thread: the workers belong to the
    # process, not to that thread (which prctl(PR_SET_PDEATHSIG) would have tied them to).
    pool = ProcessPoolExecutor(max_workers=2, initializer=bind_to_parent, initargs=(os.getpid(),))
    with pool:
        first: list[int] = []
        starter = threading.Thread(target=lambda: first.extend(pool.map(_pid_after, [0.2, 0.2])))
        starter.start()
        starter.join()
        time.sleep(1.0)  # longer than the lifeline's poll
        assert set(pool.map(_pid_after, [0.2, 0.2])) <= set(_descendants(os.getpid()))
        assert all(_alive(pid) for pid in first)
