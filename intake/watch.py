"""The hot folder: take each file the scanner drops once it is complete, handle it once, move it on.

    DIR/                 the scanner writes here (polled with os.scandir: works on network mounts)
    DIR/.intake/processing/   claimed files, renamed here before any work (a restart resumes them)
    DIR/.intake/journal.sqlite  sha256 of every file handled, and every document already queued
    DIR/done/            handled, every document queued:       <sha256[:24]>.<ext> + .result.json
    DIR/review/          handled, some document held for review: <sha256[:24]>.<ext> + .result.json
    DIR/quarantine/      rejected:                               <sha256[:24]>.<ext> + .reason.json

A file is taken once its size and mtime are unchanged over two polls; one renamed into
DIR (written under a hidden name first, as scanners and the desk's upload do) is seen at
once through inotify on Linux and taken at a second look 50 ms later.

The scanner's file name may carry a customer's name or henkilötunnus, and any bytes at
all: intake never stores, logs or prints it. A claimed file is named by a time stamp and
settled under its content hash; the result and reason files give the time it was scanned
(its modification time) so that the advisor can find it. Files and folders intake makes
here are private (0600, 0700), and an output folder that is a symbolic link is refused.

Delivery is at-least-once: documents are queued durably before the file is moved, and the
journal recognises a file (by sha256) or a document already queued, so a restart repeats
nothing that was finished.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import stat
import time
from collections import Counter
from collections.abc import Iterator, Set
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from intake import retention, spool
from intake.arrivals import Arrivals
from intake.audit import Action
from intake.config import Config
from intake.delivery import Dispatcher
from intake.durable import fsync_dir, sha256_file, write_durably
from intake.errors import EnvironmentProblem, UnsafeFolder, UsageError
from intake.folders import private_dir, private_file, sweep_temp
from intake.models import Document, Status
from intake.pipeline import FileResult, Pipeline
from intake.reload import Record, Reloader
from intake.spool import safe_suffix
from intake.transport.outbox import Outbox

if TYPE_CHECKING:
    from intake.store.api import Store

log = logging.getLogger(__name__)

OUTPUTS = ("done", "review", "quarantine")
RENAMED_LOOK_S = 0.05  # the second look at a file renamed in: it must be unchanged since the first
_TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".lock")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (sha256 TEXT PRIMARY KEY, state TEXT NOT NULL, finished REAL NOT NULL);
CREATE TABLE IF NOT EXISTS documents (key TEXT PRIMARY KEY, package_id TEXT NOT NULL, queued REAL NOT NULL);
"""


def temporary_name(name: str) -> bool:
    """Names scanners and copy tools use while a file is still being written, and hidden files."""
    return name.startswith((".", "~")) or name.lower().endswith(_TEMP_SUFFIXES)


class Journal:
    """What the hot folder has finished, in SQLite (WAL, synchronous=FULL, 0600); never a file name."""

    def __init__(self, path: Path) -> None:
        self.path = private_file(path)
        with self._connect() as db:
            db.executescript(_SCHEMA)
            old = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'claims'").fetchone()
            if old:  # older journals kept the scanner's name of each claimed file: erase them
                db.execute("DROP TABLE claims")
        if old:
            with closing(sqlite3.connect(self.path)) as db:
                db.execute("VACUUM")  # DROP only frees the pages; VACUUM rewrites the file without them
                db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")  # per connection: a commit survives power loss
            db.execute("PRAGMA secure_delete=ON")
            with db:
                yield db

    def _one(self, query: str, key: str) -> str | None:
        """The single value ``query`` selects for ``key``, or None."""
        with self._connect() as db:
            row = db.execute(query, (key,)).fetchone()
        return str(row[0]) if row else None

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


@dataclass(frozen=True)
class _Sighting:
    """A file's size and mtime when first seen so, and whether it had just been renamed in."""

    mark: tuple[int, int]
    since: float
    renamed: bool = False


@dataclass
class Summary:
    """What a run of the hot folder did: files per final state (done, review, quarantine, duplicate)."""

    states: Counter[str] = field(default_factory=Counter)


def _summary(doc: Document) -> dict[str, Any]:
    return {key: value for key, value in doc.to_json().items() if key not in ("fields", "checkboxes")}


def _scanned_at(path: Path) -> str | None:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC).isoformat(timespec="seconds")
    except OSError:
        return None


class Watcher:
    """Polls ``folder``, claims complete files and hands them through the pipeline.

    Opening it checks the folders it writes to (a symbolic link raises UnsafeFolder) and
    removes temp files a crash left in them. Every document, routed or held, is kept in
    ``store`` (when given) for the desk.
    """

    def __init__(self, folder: Path, pipeline: Pipeline, *, dispatcher: Dispatcher | None,
                 temp_names_after_s: float = 600.0, settle_s: float = 0.0,
                 store: Store | None = None) -> None:  # fmt: skip
        if not folder.is_dir():
            raise UsageError(f"the hot folder {folder} does not exist or is not a folder")
        self.folder = folder
        self.pipeline = pipeline
        self.dispatcher = dispatcher
        self.store = store
        self.temp_names_after_s = temp_names_after_s
        self.settle_s = settle_s
        try:
            self.processing = private_dir(private_dir(folder / ".intake") / "processing")
            for place in (folder / ".intake", self.processing, *(private_dir(folder / name) for name in OUTPUTS)):
                sweep_temp(place)
        except OSError as exc:
            raise EnvironmentProblem(f"cannot prepare the hot folder {folder}: {exc.strerror}") from exc
        self.journal = Journal(folder / ".intake" / "journal.sqlite")
        self.summary = Summary()
        self._seen: dict[str, _Sighting] = {}
        self._others = 0  # entries that are not regular files, last counted

    def poll(self, renamed: Set[str] = frozenset()) -> list[Path]:
        """Claim every file whose size and mtime are unchanged since the previous poll.

        A file written in place must also have been unchanged for ``settle_s`` (polls
        woken early by arrivals do not shorten that). A file ``renamed`` into the folder
        since the previous poll was complete before it got its name, as scanners and the
        desk's upload do it: one more look that finds it unchanged is enough.

        A hidden or temporary name is claimed only once unchanged for
        ``temp_names_after_s``: scanners rename such files when done, so one left alone
        that long is a finished file under an odd name, or an abandoned one; either way
        it is processed (or quarantined with the reason), never ignored forever.
        """
        now = time.monotonic()
        stable, seen = [], {}
        for name, mark in self._scan().items():
            before = self._seen.get(name)
            if before is None or before.mark != mark or name in renamed:
                seen[name] = _Sighting(mark, now, renamed=name in renamed)
            elif before.renamed or now - before.since >= self.settle_s:
                stable.append(name)
            else:
                seen[name] = before
        self._seen = seen
        return [claim for name in sorted(stable) if (claim := self._claim(name)) is not None]

    def expecting(self) -> bool:
        """Whether a file renamed in waits for its second look (the caller looks again soon)."""
        return any(sighting.renamed for sighting in self._seen.values())

    def _scan(self) -> dict[str, tuple[int, int]]:
        current: dict[str, tuple[int, int]] = {}
        others, now = 0, time.time()
        try:
            entries = os.scandir(self.folder)
        except OSError as exc:  # a network mount gone for a moment: try again next poll
            log.warning("cannot list the hot folder %s: %s", self.folder, exc.strerror)
            return current
        with entries:
            for entry in entries:
                if entry.name == ".intake" or entry.name in OUTPUTS:
                    continue
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError:  # gone between listing and stat
                    continue
                if not stat.S_ISREG(info.st_mode):
                    others += 1  # links are never followed: the target could be any file
                    continue
                if temporary_name(entry.name) and now - info.st_mtime < self.temp_names_after_s:
                    continue
                current[entry.name] = (info.st_size, info.st_mtime_ns)
        if others != self._others:
            log.warning("%d entries in the hot folder are not regular files (links, folders, devices); "
                        "they are left alone", others)  # fmt: skip
            self._others = others
        return current

    def _claim(self, name: str) -> Path | None:
        target = self.processing / f"{time.time_ns():x}{safe_suffix(Path(name))}"
        try:
            os.rename(self.folder / name, target)  # atomic on one filesystem
        except FileNotFoundError:
            return None
        except OSError as exc:  # e.g. no permission: the file stays, and is tried again next poll
            log.warning("could not claim a file from the hot folder: %s", exc.strerror)
            return None
        fsync_dir(self.processing)
        log.info("claimed %s", target.name)
        return target

    def pending(self) -> list[Path]:
        """Files claimed by an earlier run that did not finish them (oldest first)."""
        return sorted(p for p in self.processing.iterdir() if p.is_file() and not p.name.endswith(".tmp"))

    def _content_hash(self, claim: Path) -> str | None:
        """The file's sha256, or None when it is above the size limit or cannot be read."""
        try:
            if claim.stat().st_size > self.pipeline.config.capture.max_file_mb * 1e6:
                return None  # the pipeline refuses it unread; reading it to hash is what the limit prevents
            return sha256_file(claim)
        except OSError:
            return None  # the pipeline says why, in the reason file

    def handle(self, claims: list[Path]) -> None:
        """Process claimed files; each ends in done/, review/ or quarantine/."""
        fresh: dict[Path, str | None] = {}
        for claim in claims:
            sha256 = self._content_hash(claim)
            state = self.journal.finished(sha256) if sha256 else None
            if state is None:
                fresh[claim] = sha256
            else:  # finished before a crash, or the same bytes dropped again
                with self._one_file(claim):
                    self._settle(claim, sha256, state, None, duplicate=True)
        for result in self.pipeline.run(list(fresh)):
            with self._one_file(result.path):
                self._finish(result, fresh[result.path])

    @contextmanager
    def _one_file(self, claim: Path) -> Iterator[None]:
        """One file's failure must not stop the desk: it is logged and stays claimed for a retry."""
        try:
            yield
        except UnsafeFolder:
            raise  # an output folder was swapped for a link while running: stop
        except Exception:
            log.exception("could not finish claimed file %s; it stays in processing/", claim.name)

    def _finish(self, result: FileResult, sha256: str | None) -> None:
        if self.dispatcher is not None:
            self.dispatcher.scanned(result)  # the audit log: scanned, classified, held
        if result.rejection is not None:
            sha256 = sha256 or result.rejection.sha256
            self._settle(result.path, sha256, "quarantine", result.rejection.to_json())
            return
        if sha256 is None and result.documents:  # unreadable to us a moment ago, read by the pipeline now
            sha256 = result.documents[0].source.sha256
        for doc in result.documents:
            if doc.status is Status.QUEUED:
                self._enqueue(doc, doc.source.sha256)
            if self.store is not None:
                doc.store_id = self.store.keep(doc)
        held = any(doc.status is not Status.QUEUED for doc in result.documents)
        # What was read stays out of the result file: it rests beside the scan in plain
        # text, and the advisor and the agency get the fields from intake, not from here.
        outcome = {"documents": [_summary(doc) for doc in result.documents]}
        self._settle(result.path, sha256, "review" if held else "done", outcome)
        for page in result.pages or []:
            for image in (page.archive_path, *page.crops.values()):
                if image is not None:
                    image.unlink(missing_ok=True)

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

    def _settle(self, claim: Path, sha256: str | None, state: str, outcome: dict[str, Any] | None, *,
                duplicate: bool = False) -> None:  # fmt: skip
        """Write the result file, record the state, then move the file: in that order."""
        folder = private_dir(self.folder / state)  # checked again: it may have been swapped for a link
        stem = sha256[:24] if sha256 else f"unread-{claim.stem}"
        if outcome is not None:
            kind = "reason" if state == "quarantine" else "result"
            record = {"sha256": sha256, "scanned_at": _scanned_at(claim), **outcome}
            write_durably(folder / f"{stem}.{kind}.json", json.dumps(record, ensure_ascii=False, indent=1).encode())
            if sha256 is not None:
                self.journal.finish(sha256, state)
        target = folder / f"{stem}{safe_suffix(claim)}"
        if target.exists():
            claim.unlink()  # the same bytes are already kept there
        else:
            try:  # kept files are private, whatever mode the scanner wrote them with
                os.chmod(claim, 0o600)
            except OSError as exc:  # another account's file: kept all the same, in a 0700 folder
                log.warning("could not make %s 0600: %s", claim.name, exc.strerror)
            os.rename(claim, target)
            fsync_dir(folder)
        fsync_dir(self.processing)
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

    def wait(self, seconds: float, arrivals: Arrivals | None) -> set[str]:
        """Sleep ``seconds``, less when files are renamed in (returns their names) or a stop is requested."""
        deadline = time.monotonic() + seconds
        while not self.requested and (left := deadline - time.monotonic()) > 0:
            if arrivals is None:
                time.sleep(min(0.2, left))
            elif names := arrivals.wait(min(0.2, left)):
                return names
        return set()


class _Daily:
    """Retention at start and then once a day; a failure is logged and tried again tomorrow."""

    def __init__(self, folder: Path, config: Config, outbox: Outbox | None) -> None:
        self.folder, self.config, self.outbox, self.next = folder, config, outbox, 0.0

    def __call__(self) -> None:
        if time.monotonic() < self.next:
            return
        self.next = time.monotonic() + 24 * 3600
        try:
            retention.run(self.config, hot_folder=self.folder, outbox=self.outbox, now=datetime.now(UTC))
        except Exception:  # keeping files a day longer is no reason to stop the desk
            log.exception("retention failed; it runs again in a day")


def _reload(rules: Reloader, pipeline: Pipeline, dispatcher: Dispatcher | None) -> None:
    """A changed, valid rules file takes effect from the next file on; a broken one changes nothing."""
    fresh = rules.poll()
    if fresh is None:
        return
    pipeline.reconfigure(fresh)
    if dispatcher is not None:
        dispatcher.reconfigure(fresh)


def audit_rules(dispatcher: Dispatcher | None) -> Record | None:
    """Rules changes go into the audit log beside the documents they decide (code: reloaded or rejected)."""
    if dispatcher is None:
        return None
    audit = dispatcher.audit

    def record(event: str, details: dict[str, object]) -> None:
        digest = details.get("sha256")
        audit.record(Action.RULES, file_sha256=digest if isinstance(digest, str) and digest else None,
                     code=event.removeprefix("rules-"))  # fmt: skip

    return record


def watch(folder: Path, config: Config, *, dispatcher: Dispatcher | None, interval: float,
          once: bool = False, send: bool = True, store: Store | None = None) -> Summary:  # fmt: skip
    """Run the hot folder until stopped (or, with ``once``, over what is there now)."""
    stop = _Stop()
    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    arrivals = None if once else Arrivals.open(folder)
    try:
        spool.clean_at_start(config.transport.spool)
        with spool.work_dir(config.transport.spool) as work, Pipeline(config, work=work) as pipeline:
            watcher = Watcher(folder, pipeline, dispatcher=dispatcher, settle_s=interval,
                              temp_names_after_s=config.watch.temp_names_after_s, store=store)  # fmt: skip
            daily = _Daily(folder, config, dispatcher.outbox if dispatcher else None)
            rules = Reloader(config, record=audit_rules(dispatcher))
            daily()
            watcher.handle(watcher.pending())
            watcher.poll()
            while not stop.requested:
                renamed = stop.wait(RENAMED_LOOK_S if watcher.expecting() else interval, arrivals)
                _reload(rules, pipeline, dispatcher)
                watcher.handle(watcher.poll(renamed))
                if send:  # also retries what a mail server deferred while the desk was quiet
                    watcher.flush()
                daily()
                if once:
                    break
            return watcher.summary
    finally:
        if arrivals is not None:
            arrivals.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
