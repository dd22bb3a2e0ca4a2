"""The hot folder: take each file the scanner drops once it is complete, handle it once, move it on.

    DIR/                 the scanner writes here (polled with os.scandir: works on network mounts)
    DIR/.intake/processing/   claimed files, renamed here before any work (a restart resumes them)
    DIR/.intake/journal.sqlite  sha256 of every file handled, and every document already queued
    DIR/done/            handled, every document queued:       <sha256[:24]>.<ext> + .result.json
    DIR/review/          handled, some document held for review: <sha256[:24]>.<ext> + .result.json
    DIR/quarantine/      rejected:                               <sha256[:24]>.<ext> + .reason.json

Files on disk are named by content hash, never by the scanner's name (which may carry a
customer's name); the original name is only inside the JSON next to the file. Delivery is
at-least-once: documents are queued durably before the file is moved, and the journal
recognises a file (by sha256) or a document already queued, so a restart repeats nothing
that was finished.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from intake.config import Config
from intake.delivery import Dispatcher
from intake.durable import fsync_dir, sha256_file, write_durably
from intake.models import Document, Status
from intake.pipeline import FileResult, Pipeline
from intake.reload import Reloader
from intake.spool import safe_suffix

log = logging.getLogger(__name__)

_IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".lock")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS claims (claim TEXT PRIMARY KEY, original TEXT NOT NULL, claimed REAL NOT NULL);
CREATE TABLE IF NOT EXISTS files (sha256 TEXT PRIMARY KEY, state TEXT NOT NULL, finished REAL NOT NULL);
CREATE TABLE IF NOT EXISTS documents (key TEXT PRIMARY KEY, package_id TEXT NOT NULL, queued REAL NOT NULL);
"""


def ignored(name: str) -> bool:
    """Names scanners and copy tools use while a file is still being written, and hidden files."""
    return name.startswith((".", "~")) or name.lower().endswith(_IGNORED_SUFFIXES)


class Journal:
    """What the hot folder has claimed and finished, in SQLite (WAL, synchronous=FULL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # per connection: a commit survives power loss
            with db:
                yield db

    def claim(self, claim: str, original: str) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO claims VALUES (?, ?, ?)", (claim, original, time.time()))

    def release(self, claim: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM claims WHERE claim = ?", (claim,))

    def _one(self, query: str, key: str) -> str | None:
        """The single value ``query`` selects for ``key``, or None."""
        with self._connect() as db:
            row = db.execute(query, (key,)).fetchone()
        return str(row[0]) if row else None

    def original(self, claim: str) -> str:
        return self._one("SELECT original FROM claims WHERE claim = ?", claim) or claim

    def finished(self, sha256: str) -> str | None:
        """The state a file with this content was left in, or None if it was never finished."""
        return self._one("SELECT state FROM files WHERE sha256 = ?", sha256)

    def finish(self, sha256: str, state: str) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO files VALUES (?, ?, ?)", (sha256, state, time.time()))

    def queued(self, key: str) -> str | None:
        """The package id a document was queued as, or None."""
        return self._one("SELECT package_id FROM documents WHERE key = ?", key)

    def mark_queued(self, key: str, package_id: str) -> None:
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO documents VALUES (?, ?, ?)", (key, package_id, time.time()))


@dataclass
class Summary:
    """What a run of the hot folder did: files per final state (done, review, quarantine, duplicate)."""

    states: Counter[str] = field(default_factory=Counter)


def _summary(doc: Document) -> dict[str, Any]:
    return {key: value for key, value in doc.to_json().items() if key not in ("fields", "checkboxes")}


class Watcher:
    """Polls ``folder``, claims complete files and hands them through the pipeline."""

    def __init__(self, folder: Path, pipeline: Pipeline, *, dispatcher: Dispatcher | None) -> None:
        self.folder = folder
        self.pipeline = pipeline
        self.dispatcher = dispatcher
        self.processing = folder / ".intake" / "processing"
        self.processing.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(folder / ".intake" / "journal.sqlite")
        self.summary = Summary()
        self._seen: dict[str, tuple[int, int]] = {}

    def poll(self) -> list[Path]:
        """Claim every file whose size and mtime are unchanged since the previous poll."""
        current: dict[str, tuple[int, int]] = {}
        with os.scandir(self.folder) as entries:
            for entry in entries:
                if ignored(entry.name) or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                current[entry.name] = (stat.st_size, stat.st_mtime_ns)
        stable = sorted(name for name, mark in current.items() if self._seen.get(name) == mark)
        self._seen = {name: mark for name, mark in current.items() if name not in stable}
        return [claim for name in stable if (claim := self._claim(name)) is not None]

    def _claim(self, name: str) -> Path | None:
        # Journal first, then rename: after a crash between the two the claim row names a
        # file still in the inbox, which the next poll simply claims again.
        target = self.processing / f"{time.time_ns():x}{safe_suffix(Path(name))}"
        self.journal.claim(target.name, name)
        try:
            os.rename(self.folder / name, target)  # atomic on one filesystem
        except FileNotFoundError:
            self.journal.release(target.name)
            return None
        fsync_dir(self.processing)
        log.info("claimed %s", target.name)
        return target

    def pending(self) -> list[Path]:
        """Files claimed by an earlier run that did not finish them (oldest first)."""
        return sorted(p for p in self.processing.iterdir() if p.is_file() and not ignored(p.name))

    def handle(self, claims: list[Path]) -> None:
        """Process claimed files; each ends in done/, review/ or quarantine/."""
        fresh: dict[Path, str] = {}
        for claim in claims:
            sha256 = sha256_file(claim)
            state = self.journal.finished(sha256)
            if state is None:
                fresh[claim] = sha256
            else:  # finished before a crash, or the same bytes dropped again
                self._settle(claim, sha256, state, None, duplicate=True)
        for result in self.pipeline.run(list(fresh)):
            try:
                self._finish(result, fresh[result.path])
            except Exception:  # one file must not stop the desk; it stays claimed for a retry
                log.exception("could not finish claimed file %s; it stays in processing/", result.path.name)

    def _finish(self, result: FileResult, sha256: str) -> None:
        if result.rejection is not None:
            self._settle(result.path, sha256, "quarantine", result.rejection.to_json())
            return
        for doc in result.documents:
            if doc.status is Status.QUEUED:
                self._enqueue(doc, sha256)
        held = any(doc.status is not Status.QUEUED for doc in result.documents)
        # What was read stays out of the result file: it rests beside the scan in plain
        # text, and the advisor and the agency get the fields from intake, not from here.
        outcome = {"documents": [_summary(doc) for doc in result.documents]}
        self._settle(result.path, sha256, "review" if held else "done", outcome)
        for page in result.pages or []:
            if page.archive_path is not None:
                page.archive_path.unlink(missing_ok=True)

    def _enqueue(self, doc: Document, sha256: str) -> None:
        key = f"{sha256}:{','.join(map(str, doc.page_numbers))}"
        known = self.journal.queued(key)
        if known is not None:  # queued before a crash: never twice
            doc.package_id = known
            return
        if self.dispatcher is None:  # nothing to queue into: hold it, never file it as done
            doc.status, doc.reason = Status.REVIEW, "not queued: no outbox"
            return
        package = self.dispatcher.enqueue(doc)
        if package is not None:
            self.journal.mark_queued(key, package.package_id)

    def _settle(self, claim: Path, sha256: str, state: str, outcome: dict[str, Any] | None, *,
                duplicate: bool = False) -> None:  # fmt: skip
        """Write the result file, record the state, then move the file: in that order."""
        folder = self.folder / state
        folder.mkdir(exist_ok=True)
        stem = sha256[:24]
        if outcome is not None:
            kind = "reason" if state == "quarantine" else "result"
            record = {"original_name": self.journal.original(claim.name), "sha256": sha256, **outcome}
            write_durably(folder / f"{stem}.{kind}.json", json.dumps(record, ensure_ascii=False, indent=1).encode())
            self.journal.finish(sha256, state)
        target = folder / f"{stem}{safe_suffix(claim)}"
        if target.exists():
            claim.unlink()  # the same bytes are already kept there
        else:
            os.rename(claim, target)
            fsync_dir(folder)
        fsync_dir(self.processing)
        self.journal.release(claim.name)
        self.summary.states["duplicate" if duplicate else state] += 1
        log.info("%s -> %s/%s%s", claim.name, state, target.name, " (already handled)" if duplicate else "")

    def flush(self) -> None:
        if self.dispatcher is None:
            return
        try:
            self.dispatcher.flush()
        except Exception:  # delivery trouble is retried on the next poll; the desk goes on
            log.exception("flushing the outbox failed; will retry")


class _Stop:
    """SIGTERM and SIGINT end the loop after the file in hand, never in the middle of one."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.requested and time.monotonic() < deadline:
            time.sleep(min(0.2, seconds))


def _reload(rules: Reloader, pipeline: Pipeline, dispatcher: Dispatcher | None) -> None:
    """A changed, valid rules file takes effect from the next file on; a broken one changes nothing."""
    fresh = rules.poll()
    if fresh is None:
        return
    pipeline.reconfigure(fresh)
    if dispatcher is not None:
        dispatcher.config = fresh


def watch(folder: Path, config: Config, *, dispatcher: Dispatcher | None, interval: float,
          once: bool = False, send: bool = True) -> Summary:  # fmt: skip
    """Run the hot folder until stopped (or, with ``once``, over what is there now)."""
    stop = _Stop()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with tempfile.TemporaryDirectory(prefix="intake-watch-") as work, Pipeline(config, work=Path(work)) as pipeline:
            watcher = Watcher(folder, pipeline, dispatcher=dispatcher)
            rules = Reloader(config)
            resumed = watcher.pending()
            watcher.handle(resumed)
            watcher.poll()
            while not stop.requested:
                stop.sleep(interval)
                _reload(rules, pipeline, dispatcher)
                claimed = watcher.poll()
                watcher.handle(claimed)
                if send:  # also retries what a mail server deferred while the desk was quiet
                    watcher.flush()
                resumed = []
                if once:
                    break
            return watcher.summary
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
