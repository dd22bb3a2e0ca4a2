"""What an agency has received: messages by content hash, packages by id, sources by location."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from intake.errors import ReceiveError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    sha256 TEXT PRIMARY KEY,
    verdict TEXT NOT NULL,
    reason TEXT,
    package_id TEXT,
    received TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS packages (
    package_id TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    signer TEXT NOT NULL,
    received TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
    location TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Known:
    """How a message was handled the first time it was seen."""

    verdict: str
    reason: str | None
    package_id: str | None
    received: str


class ReceiveState:
    """The agency's memory between runs (SQLite, WAL, synchronous=FULL).

    One run at a time per output folder: the lock is held for the object's life, and a
    second ``intake receive`` on the same folder stops with a clear error.
    """

    def __init__(self, folder: Path, /) -> None:
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise ReceiveError(f"cannot use {self.folder}: {exc.strerror}") from exc
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(self._lock)
            raise ReceiveError(f"another 'intake receive' is writing to {self.folder.parent}: try again later") from exc
        try:
            self._db = sqlite3.connect(self.folder / "receive.sqlite", isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            self.close()
            raise ReceiveError(f"cannot open the receiving state in {self.folder}: {exc}") from exc

    def close(self) -> None:
        with contextlib.suppress(AttributeError):
            self._db.close()
        os.close(self._lock)

    def at(self, location: str, /) -> str | None:
        """The content hash last handled at ``location``, if any."""
        row = self._db.execute("SELECT sha256 FROM sources WHERE location = ?", (location,)).fetchone()
        return row[0] if row else None

    def message(self, sha256: str, /) -> Known | None:
        row = self._db.execute(
            "SELECT verdict, reason, package_id, received FROM messages WHERE sha256 = ?", (sha256,)
        ).fetchone()
        return Known(*row) if row else None

    def package(self, package_id: str, /) -> str | None:
        """When ``package_id`` was accepted, if it was."""
        row = self._db.execute("SELECT received FROM packages WHERE package_id = ?", (package_id,)).fetchone()
        return row[0] if row else None

    def record(
        self,
        location: str,
        sha256: str,
        /,
        *,
        verdict: str,
        reason: str | None,
        package_id: str | None,
        signer: str | None = None,
    ) -> None:
        """Remember one handled message, in one transaction (after its files are on disk)."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._transaction() as db:
            db.execute("INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?, ?)",
                       (sha256, verdict, reason, package_id, now))  # fmt: skip
            if verdict == "accepted" and package_id is not None:
                db.execute(
                    "INSERT OR IGNORE INTO packages VALUES (?, ?, ?, ?)", (package_id, sha256, signer or "", now)
                )
            db.execute("INSERT OR REPLACE INTO sources VALUES (?, ?)", (location, sha256))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise ReceiveError(f"cannot record in {self.folder}: {exc}") from exc
