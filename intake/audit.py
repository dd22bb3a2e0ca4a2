"""The audit log: append-only JSON lines, each chained to the previous one by its sha256.

What happened to which document, and when: ``scanned``, ``classified``, ``held``,
``released``, ``queued``, ``sent``, ``failed`` (and ``rejected`` for a quarantined file,
``deferred`` for a temporary delivery failure), and at the advisor's desk ``corrected``,
``released`` and ``discarded`` with ``who``: the advisor's sign-in name. No personal data
of customers: files are named by a prefix of their sha256, documents by package id or
the store's random id, and there are no file names, no field values and no free-text
reasons, only short codes.

Each entry holds ``prev``, the ``hash`` of the entry before it (64 zeros for the first),
and its own ``hash``: the sha256 of its canonical JSON without the ``hash`` key. Editing,
inserting or removing a line breaks the chain at that line, and ``verify`` names it.
Cutting lines off the end cannot be seen from the file alone: keep copies of the last
hash elsewhere (``intake audit verify`` prints it) if that matters.

Callers: the dispatcher (``intake.delivery``) records what the pipeline and the outbox
do; the advisor's desk (``intake.store.resolve``) records each of its actions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from intake.config import TransportConfig
from intake.durable import fsync_dir
from intake.errors import AuditError

log = logging.getLogger(__name__)

FILE_NAME = "audit.log"
GENESIS = "0" * 64
FILE_PREFIX = 16  # hex digits of a file's sha256 kept in the log: enough to find it, no more
_TAIL_BYTES = 64 * 1024  # more than any one entry: the last complete line is in here


class Action(StrEnum):
    """What happened; the subject is a file (by hash) or a document (by package id)."""

    SCANNED = "scanned"
    REJECTED = "rejected"
    CLASSIFIED = "classified"
    HELD = "held"
    RELEASED = "released"
    QUEUED = "queued"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    CORRECTED = "corrected"  # an advisor changed a held document (code: what, e.g. 'pick:hetu', 'rotate')
    DISCARDED = "discarded"  # an advisor rejected a held document: it will not be sent
    RULES = "rules"  # the routing rules changed: code "reloaded" or "rejected", file the rules file's sha256


_FIELDS = ("seq", "time", "action", "who", "document", "package", "file", "pages", "form", "rule", "destination",
           "code", "prev")  # fmt: skip


def canonical(entry: dict[str, Any]) -> bytes:
    """The bytes an entry's hash covers: sorted keys, no spaces, ASCII, without ``hash``."""
    body = {key: value for key, value in entry.items() if key != "hash"}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def entry_hash(entry: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(entry)).hexdigest()


@dataclass(frozen=True)
class Event:
    """One thing that happened, before it is numbered and chained into the log."""

    action: Action
    package_id: str | None = None
    file_sha256: str | None = None
    pages: list[int] | None = None
    form: str | None = None
    rule: str | None = None
    destination: str | None = None
    code: str | int | None = None
    who: str | None = None  # the advisor, for the desk's actions
    document: str | None = None  # the store's random id, for the desk's actions

    def entry(self, moment: dt.datetime) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "time": moment.astimezone(dt.UTC).isoformat(timespec="milliseconds"),
            "action": str(Action(self.action)),
            "who": self.who,
            "document": self.document,
            "package": self.package_id,
            "file": self.file_sha256[:FILE_PREFIX] if self.file_sha256 else None,
            "pages": list(self.pages) if self.pages else None,
            "form": self.form,
            "rule": self.rule,
            "destination": self.destination,
            "code": str(self.code) if self.code is not None else None,
        }
        return {key: value for key, value in entry.items() if value is not None}


class AuditLog:
    """Appends entries to one log file; safe with several processes writing at once."""

    def __init__(self, path: Path, /) -> None:
        self.path = Path(path)

    @classmethod
    def for_config(cls, transport: TransportConfig, /) -> AuditLog:
        return cls(transport.spool / FILE_NAME)

    def record(
        self,
        action: Action,
        /,
        *,
        package_id: str | None = None,
        file_sha256: str | None = None,
        pages: list[int] | None = None,
        form: str | None = None,
        rule: str | None = None,
        destination: str | None = None,
        code: str | int | None = None,
        now: dt.datetime | None = None,
    ) -> dict[str, Any]:
        """Append one entry durably (see :meth:`append`); returns it with its hash."""
        event = Event(action, package_id, file_sha256, pages, form, rule, destination, code)
        return self.append([event], now=now)[0]

    def append(self, events: list[Event], /, *, now: dt.datetime | None = None) -> list[dict[str, Any]]:
        """Chain ``events`` onto the log in one write, fsynced before returning.

        Raises AuditError when the log cannot be written: an installation that cannot
        keep its audit trail should stop, not carry on unrecorded.
        """
        moment = now if now is not None else dt.datetime.now(dt.UTC)
        entries = [event.entry(moment) for event in events]
        try:
            with self._locked() as fd:
                last = _last_entry(fd, self.path)
                seq, previous = (last["seq"], last["hash"]) if last else (0, GENESIS)
                for entry in entries:
                    seq += 1
                    entry.update(seq=seq, prev=previous)
                    entry["hash"] = previous = entry_hash(entry)
                _write_all(fd, b"".join(_line(entry) for entry in entries))
                os.fsync(fd)
        except OSError as exc:
            raise AuditError(f"cannot write the audit log {self.path}: {exc.strerror}") from exc
        return entries

    @contextlib.contextmanager
    def _locked(self) -> Iterator[int]:
        new = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # held until close: one writer at a time
            if new:
                fsync_dir(self.path.parent)
            yield fd
        finally:
            os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _line(entry: dict[str, Any]) -> bytes:
    ordered = {key: entry[key] for key in (*_FIELDS, "hash") if key in entry}
    return json.dumps(ordered, ensure_ascii=True, separators=(",", ":")).encode("ascii") + b"\n"


def _last_entry(fd: int, path: Path) -> dict[str, Any] | None:
    """The last complete entry; a torn last line (a crash mid-write) is cut off first."""
    size = os.fstat(fd).st_size
    if size == 0:
        return None
    start = max(0, size - _TAIL_BYTES)
    tail = os.pread(fd, size - start, start)
    if not tail.endswith(b"\n"):
        keep = tail.rfind(b"\n") + 1
        # Every append is one write() followed by fsync: an unterminated line can only be
        # the unfinished entry of a writer that died, never an entry anyone relied on.
        log.warning("audit log %s ended in an unfinished entry (%d bytes): cut off", path, len(tail) - keep)
        os.ftruncate(fd, start + keep)
        tail = tail[:keep]
    lines = tail.splitlines()
    if not lines:
        return None
    try:
        entry = json.loads(lines[-1])
        return {"seq": int(entry["seq"]), "hash": str(entry["hash"])}
    except (ValueError, KeyError, TypeError) as exc:
        raise AuditError(f"the last entry of {path} is not readable: run 'intake audit verify'") from exc


@dataclass(frozen=True)
class Verdict:
    """The result of checking a log: how many entries hold, and the first that does not."""

    entries: int  # entries read, good or bad
    last_hash: str  # the hash of the last good entry (GENESIS for an empty log)
    broken_line: int | None = None  # 1-based line number of the first broken entry
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_line is None


def verify(path: Path, /) -> Verdict:
    """Check every entry's hash and its link to the one before; stops at the first break."""
    previous, count = GENESIS, 0
    try:
        with open(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                count = number
                problem = _check_line(raw, number, previous)
                if problem is not None:
                    return Verdict(entries=number, last_hash=previous, broken_line=number, problem=problem)
                previous = json.loads(raw)["hash"]
    except FileNotFoundError as exc:
        raise AuditError(f"no audit log at {path}: nothing was recorded there, or it was removed") from exc
    except OSError as exc:
        raise AuditError(f"cannot read the audit log {path}: {exc.strerror}") from exc
    return Verdict(entries=count, last_hash=previous)


def _check_line(raw: bytes, number: int, previous: str) -> str | None:
    """Why line ``number`` breaks the chain, or None when it holds."""
    if not raw.endswith(b"\n"):
        return "the entry is unfinished (the file ends in the middle of a line)"
    try:
        entry = json.loads(raw)
    except ValueError:
        return "not valid JSON"
    if not isinstance(entry, dict) or not isinstance(entry.get("hash"), str):
        return "not an audit entry (no hash)"
    if entry.get("seq") != number:
        return f"sequence number {entry.get('seq')!r} where {number} was expected (a line was removed or inserted)"
    if entry.get("prev") != previous:
        return "its 'prev' is not the hash of the entry before it (a line was removed, inserted or edited)"
    if entry.get("action") not in set(Action):
        return f"unknown action {entry.get('action')!r}"
    if entry_hash(entry) != entry["hash"]:
        return "its content does not match its hash (the entry was edited)"
    return None
