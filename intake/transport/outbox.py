"""The durable outbox: every accepted package waits here until the agency's server took it."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from intake.config import RetryConfig, TransportConfig
from intake.durable import write_durably
from intake.errors import OutboxBusy, OutboxError
from intake.folders import private_dir, private_file
from intake.transport.package import Package

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    package_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    next_attempt REAL,
    deadline REAL NOT NULL,
    last_error TEXT,
    last_code INTEGER,
    file TEXT NOT NULL,
    certificate TEXT,
    UNIQUE (package_id, recipient)
);
CREATE INDEX IF NOT EXISTS items_due ON items (state, next_attempt);
CREATE INDEX IF NOT EXISTS items_updated ON items (updated);
"""
_COLUMNS = (
    "id, package_id, message_id, sender, recipient, state, attempts,"
    " created, updated, next_attempt, last_error, last_code, file, certificate"
)


class State(StrEnum):
    """Where an outbox item is in its life."""

    QUEUED = "queued"  # waiting for its first attempt
    SENDING = "sending"  # an attempt is under way (or was, when the process died)
    SENT = "sent"  # the server answered 250: it took responsibility
    DEFERRED = "deferred"  # a temporary failure; next attempt at ``next_attempt``
    FAILED = "failed"  # permanent failure or gave up: needs a person (kept, never deleted)


@dataclass(frozen=True)
class Item:
    """One message to one recipient, as recorded in the outbox."""

    id: str
    package_id: str
    message_id: str
    sender: str
    recipient: str
    state: State
    attempts: int
    created: dt.datetime
    updated: dt.datetime
    next_attempt: dt.datetime | None
    last_error: str | None
    last_code: int | None
    file: Path | None  # the message bytes, exactly as they will be (re)sent; None once purged after sending
    certificate: str | None  # fingerprint of the certificate it is sealed for ("": none; None: not recorded)


class OutboxStore(Protocol):
    """Where packages wait for delivery. Contract for every implementation:

    - ``enqueue`` returns only after the message bytes and the item are durable; calling
      it again for the same package and recipient returns the same item id.
    - ``due(now)`` lists queued and deferred items whose next attempt is at or before
      ``now``. Only a caller inside ``sending()`` sends; entering it makes an item a
      crashed sender left ``sending`` due again (at-least-once: the same bytes and
      Message-ID are sent again).
    - ``mark_sending`` claims an item (False if it is no longer due); the other marks
      record the outcome. ``mark_deferred`` returns FAILED instead of DEFERRED once the
      item is older than the give-up time.
    - ``purge_sent(before)`` deletes the message files of items sent before ``before``;
      their rows stay as the record of what was sent when. Nothing else is ever deleted.
    - ``last_change()`` differs after any item was queued or changed state (the desk's
      live list compares it).
    - Item ids, file names and recorded errors contain no personal data.
    """

    def enqueue(self, package: Package, recipient: str, /, *, now: dt.datetime | None = None) -> str: ...
    def sending(self) -> contextlib.AbstractContextManager[None]: ...
    def get(self, item_id: str, /) -> Item: ...
    def due(self, now: dt.datetime, /) -> list[Item]: ...
    def read(self, item_id: str, /) -> bytes: ...
    def mark_sending(self, item_id: str, /, *, now: dt.datetime) -> bool: ...
    def mark_sent(self, item_id: str, /, *, now: dt.datetime) -> None: ...
    def mark_deferred(self, item_id: str, /, *, now: dt.datetime, error: str, code: int | None = None) -> State: ...
    def mark_failed(self, item_id: str, /, *, now: dt.datetime, error: str, code: int | None = None) -> None: ...
    def purge_sent(self, before: dt.datetime, /, *, dry_run: bool = False) -> list[str]: ...
    def list(self, state: State | None = None) -> list[Item]: ...
    def stats(self) -> dict[State, int]: ...
    def last_change(self) -> float: ...


class Outbox:
    """The default :class:`OutboxStore`: SQLite (WAL, synchronous=FULL) plus one file per message.

    Any number of processes may queue and read; one at a time sends (:meth:`sending`).
    """

    def __init__(self, path: Path, /, *, retry: RetryConfig | None = None) -> None:
        self.path = Path(path)
        self.retry = retry if retry is not None else RetryConfig()
        self._db = self.path / "outbox.sqlite"
        self._messages = self.path / "messages"
        try:
            private_dir(self.path)
            private_dir(self._messages)  # 0700: the messages are encrypted, their recipients are not
            private_file(self._db)
            with self._connect() as db:
                db.executescript(_SCHEMA)
                columns = {row[1] for row in db.execute("PRAGMA table_info(items)")}
                if "certificate" not in columns:  # an outbox made before certificates were recorded
                    db.execute("ALTER TABLE items ADD COLUMN certificate TEXT")
        except (OSError, sqlite3.Error) as exc:
            raise OutboxError(f"cannot open the outbox in {self.path}: {exc}") from exc

    @contextlib.contextmanager
    def sending(self, *, wait_s: float = 30.0) -> Iterator[None]:
        """Be the only sender while inside; on entry, items a crashed sender left ``sending`` are due again.

        The lock is held only while sending, never while scans are processed: a page worker
        forked by 'intake process' or 'intake watch' must not inherit it (an orphaned worker
        holding it kept every later 'intake send' from recovering). The lock dies with its
        process, so whoever takes it next knows that every 'sending' item is a crash's leftover.
        Raises OutboxBusy when another process keeps it for longer than ``wait_s``.
        """
        try:
            fd = os.open(self.path / "outbox.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise OutboxError(f"cannot open the lock of the outbox in {self.path}: {exc.strerror}") from exc
        try:
            deadline = time.monotonic() + wait_s
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
                    raise OutboxBusy(f"another intake process (pid {holder}) is sending from {self.path}; try later")
                time.sleep(0.2)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
            self._recover()
            yield
        finally:
            os.close(fd)  # also releases the lock

    @classmethod
    def for_config(cls, config: TransportConfig, /) -> Outbox:
        """The outbox under ``config.spool / "outbox"`` with the configured back-off."""
        return cls(config.spool / "outbox", retry=config.retry)

    def enqueue(self, package: Package, recipient: str, /, *, now: dt.datetime | None = None) -> str:
        """Store the message durably, then record the item; returns the item id."""
        moment = _ts(now if now is not None else dt.datetime.now(dt.UTC))
        existing = self._query(
            "SELECT id FROM items WHERE package_id = ? AND recipient = ?",
            (package.package_id, recipient),
        )
        if existing:
            return str(existing[0][0])
        item_id = uuid.uuid4().hex
        file = self._messages / f"{item_id}.eml"
        try:
            # The bytes are on disk before the row exists: a row never points at nothing.
            write_durably(file, package.message)
        except OSError as exc:
            raise OutboxError(f"cannot store message for package {package.package_id}: {exc.strerror}") from exc
        row = (
            item_id, package.package_id, package.message_id, package.sender, recipient,
            State.QUEUED, 0, moment, moment, moment, moment + self.retry.give_up_after_s,
            str(file.relative_to(self.path)), package.certificate or "",
        )  # fmt: skip
        self._execute(
            "INSERT INTO items (id, package_id, message_id, sender, recipient, state, attempts,"
            " created, updated, next_attempt, deadline, file, certificate) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            row,
        )
        log.info("queued package %s for %s as item %s", package.package_id, recipient, item_id)
        return item_id

    def due(self, now: dt.datetime, /) -> list[Item]:
        """Queued and deferred items whose next attempt is due, oldest first."""
        rows = self._query(
            f"SELECT {_COLUMNS} FROM items WHERE state IN (?, ?) AND next_attempt <= ? ORDER BY next_attempt, created",
            (State.QUEUED, State.DEFERRED, _ts(now)),
        )
        return [self._item(row) for row in rows]

    def read(self, item_id: str, /) -> bytes:
        """The message bytes of an item, exactly as enqueued."""
        item = self.get(item_id)
        if item.file is None:
            raise OutboxError(f"the message of item {item_id} was deleted after it was sent (retention)")
        try:
            return item.file.read_bytes()
        except OSError as exc:
            raise OutboxError(f"cannot read the message of item {item_id}: {exc.strerror}") from exc

    def get(self, item_id: str, /) -> Item:
        rows = self._query(f"SELECT {_COLUMNS} FROM items WHERE id = ?", (item_id,))
        if not rows:
            raise OutboxError(f"no outbox item {item_id}")
        return self._item(rows[0])

    def mark_sending(self, item_id: str, /, *, now: dt.datetime) -> bool:
        """Claim a due item for one attempt; False if it is not queued or deferred."""
        changed = self._execute(
            "UPDATE items SET state = ?, attempts = attempts + 1, updated = ? WHERE id = ? AND state IN (?, ?)",
            (State.SENDING, _ts(now), item_id, State.QUEUED, State.DEFERRED),
        )
        return changed == 1

    def mark_sent(self, item_id: str, /, *, now: dt.datetime) -> None:
        self._set(item_id, State.SENT, now=now, next_attempt=None, error=None, code=None)

    def mark_deferred(self, item_id: str, /, *, now: dt.datetime, error: str, code: int | None = None) -> State:
        """Schedule the next attempt (back-off doubling from first_s to max_s) or give up."""
        item = self.get(item_id)
        deadline = self._query("SELECT deadline FROM items WHERE id = ?", (item_id,))[0][0]
        if _ts(now) >= deadline:
            self.mark_failed(
                item_id,
                now=now,
                error=f"gave up after {item.attempts} attempts: {error}",
                code=code,
            )
            return State.FAILED
        delay = min(self.retry.first_s * 2 ** min(max(item.attempts - 1, 0), 32), self.retry.max_s)
        self._set(item_id, State.DEFERRED, now=now, next_attempt=_ts(now) + delay, error=error, code=code)
        return State.DEFERRED

    def mark_failed(self, item_id: str, /, *, now: dt.datetime, error: str, code: int | None = None) -> None:
        self._set(item_id, State.FAILED, now=now, next_attempt=None, error=error, code=code)
        log.error("outbox item %s failed: %s", item_id, error)

    def requeue(self, item_id: str, /, *, now: dt.datetime) -> None:
        """Make a failed or deferred item due now, with a fresh give-up time (the cause was fixed)."""
        changed = self._execute(
            "UPDATE items SET state = ?, next_attempt = ?, deadline = ?, updated = ? WHERE id = ? AND state IN (?, ?)",
            (State.QUEUED, _ts(now), _ts(now) + self.retry.give_up_after_s, _ts(now), item_id,
             State.FAILED, State.DEFERRED),
        )  # fmt: skip
        if changed != 1:
            raise OutboxError(f"item {item_id} is neither failed nor deferred: nothing to retry")

    def rebuild(self, item_id: str, package: Package, /, *, now: dt.datetime) -> None:
        """Replace a failed item's message with ``package`` (sealed for a new certificate) and queue it.

        Only a failed item: one that may be on its way must keep its bytes. The old file is
        kept; the item points at the new one once it is durable.
        """
        file = self._messages / f"{item_id}-{uuid.uuid4().hex[:8]}.eml"
        try:
            write_durably(file, package.message)
        except OSError as exc:
            raise OutboxError(f"cannot store message for package {package.package_id}: {exc.strerror}") from exc
        changed = self._execute(
            "UPDATE items SET state = ?, file = ?, certificate = ?, attempts = 0, next_attempt = ?, deadline = ?,"
            " updated = ?, last_error = NULL, last_code = NULL WHERE id = ? AND state = ?",
            (State.QUEUED, str(file.relative_to(self.path)), package.certificate or "", _ts(now),
             _ts(now) + self.retry.give_up_after_s, _ts(now), item_id, State.FAILED),
        )  # fmt: skip
        if changed != 1:
            file.unlink(missing_ok=True)
            raise OutboxError(f"item {item_id} is not failed: only failed items can be rebuilt")
        log.info("item %s rebuilt for certificate %.16s and queued again", item_id, package.certificate)

    def purge_sent(self, before: dt.datetime, /, *, dry_run: bool = False) -> list[str]:
        """Delete the message files of items sent before ``before``; returns their ids.

        The row stays (package id, recipient, when it was sent); only the bytes go.
        Deferred and failed items are never touched: they still wait for a person.
        """
        rows = self._query(
            "SELECT id, file FROM items WHERE state = ? AND updated < ? AND file != '' ORDER BY updated",
            (State.SENT, _ts(before)),
        )
        if dry_run:
            return [str(item_id) for item_id, _ in rows]
        for item_id, file in rows:
            # File first, then the row: after a crash between them the next purge finishes it.
            (self.path / file).unlink(missing_ok=True)
            self._execute("UPDATE items SET file = '' WHERE id = ? AND state = ?", (item_id, State.SENT))
        if rows:
            log.info("outbox %s: deleted the messages of %d item(s) sent before %s", self.path, len(rows), before)
        return [str(item_id) for item_id, _ in rows]

    def stats(self) -> dict[State, int]:
        """How many items are in each state (every state listed, zeros included)."""
        counts = dict.fromkeys(State, 0)
        for state, count in self._query("SELECT state, COUNT(*) FROM items GROUP BY state", ()):
            counts[State(state)] = count
        return counts

    def last_change(self) -> float:
        """When an item last changed (its 'updated', seconds since the epoch); 0 for an empty outbox."""
        return float(self._query("SELECT MAX(updated) FROM items", ())[0][0] or 0.0)

    def _recover(self) -> None:
        """Items a crashed process left ``sending`` are due again: at-least-once delivery."""
        changed = self._execute(
            "UPDATE items SET state = ?, next_attempt = updated WHERE state = ?",
            (State.QUEUED, State.SENDING),
        )
        if changed:
            log.warning(
                "outbox %s: %s item(s) were being sent during a crash; sending again",
                self.path,
                changed,
            )

    def _set(
        self, item_id: str, state: State, *, now: dt.datetime, next_attempt: float | None,
        error: str | None, code: int | None,
    ) -> None:  # fmt: skip
        changed = self._execute(
            "UPDATE items SET state = ?, updated = ?, next_attempt = ?, last_error = ?, last_code = ? WHERE id = ?",
            (state, _ts(now), next_attempt, error, code, item_id),
        )
        if changed != 1:
            raise OutboxError(f"no outbox item {item_id}")

    def _item(self, row: tuple) -> Item:
        (item_id, package_id, message_id, sender, recipient, state, attempts,
         created, updated, next_attempt, last_error, last_code, file, certificate) = row  # fmt: skip
        return Item(
            id=item_id, package_id=package_id, message_id=message_id, sender=sender,
            recipient=recipient, state=State(state), attempts=attempts,
            created=_dt(created), updated=_dt(updated),
            next_attempt=None if next_attempt is None else _dt(next_attempt),
            last_error=last_error, last_code=last_code, file=self.path / file if file else None,
            certificate=certificate,
        )  # fmt: skip

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self._db, timeout=30)
        try:
            # synchronous is per connection: FULL, because NORMAL may lose the last
            # commit on power loss, and a lost commit is a lost document.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            with db:
                yield db
        finally:
            db.close()

    def _execute(self, sql: str, params: tuple) -> int:
        try:
            with self._connect() as db:
                return db.execute(sql, params).rowcount
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: {exc}") from exc

    def _query(self, sql: str, params: tuple) -> list[tuple]:
        try:
            with self._connect() as db:
                return db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise OutboxError(f"outbox {self.path}: {exc}") from exc

    # Last in the class: annotations below it would name this method, not the builtin.
    def list(self, state: State | None = None) -> list[Item]:
        """Every item (or those in ``state``), oldest first."""
        if state is None:
            rows = self._query(f"SELECT {_COLUMNS} FROM items ORDER BY created", ())
        else:
            rows = self._query(f"SELECT {_COLUMNS} FROM items WHERE state = ? ORDER BY created", (state,))
        return [self._item(row) for row in rows]


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _ts(moment: dt.datetime) -> float:
    if moment.tzinfo is None:
        raise ValueError("outbox times must be timezone-aware")
    return moment.timestamp()


def _dt(stamp: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(stamp, dt.UTC)
