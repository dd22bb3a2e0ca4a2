"""What was queued to which agency: to hold rescans as duplicates and to replay routing under new rules.

One SQLite file beside the outbox (``<spool>/register.sqlite``). It keeps what routing
decided by (form, language, scan date, the customer's proven municipality and postal
code) and never a name or a henkilötunnus: the person and the readings are kept only as
keyed HMACs (key in ``<spool>/register.key``, made on first use, readable by intake
alone), enough to tell "the same paper again" and nothing more.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from intake.models import Document, FieldValue, SourceFile
from intake.routing.place import proven_value

_SCHEMA = """
CREATE TABLE IF NOT EXISTS queued (
    package_id TEXT PRIMARY KEY, queued REAL NOT NULL, scanned TEXT NOT NULL,
    authority TEXT, form_id TEXT, language TEXT, municipality TEXT, postal_code TEXT,
    rule TEXT, target TEXT, destination TEXT, person TEXT, readings TEXT NOT NULL, source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS queued_person ON queued (form_id, person, queued);
"""
SAME_READINGS = 0.8  # share of the readings both scans have that must agree for "nearly the same"


@dataclass(frozen=True)
class Entry:
    """One queued document as the register keeps it."""

    package_id: str
    queued: dt.datetime
    scanned: dt.date
    authority: str | None
    form_id: str | None
    language: str | None
    municipality: str | None  # code, when routing proved it
    postal_code: str | None  # when proven
    rule: str | None
    target: str | None
    destination: str | None

    def document(self) -> Document:
        """A document carrying exactly what routing decided this one by, to decide it again."""
        source = SourceFile(Path(self.package_id), "", 0, "register", 0)
        document = Document(source, [], self.form_id, authority=self.authority, language=self.language,
                            scanned=self.scanned)  # fmt: skip
        if self.municipality is not None:
            document.fields["municipality"] = FieldValue(self.municipality, 1.0, True)
        if self.postal_code is not None:
            document.fields["postal_code"] = FieldValue(self.postal_code, 1.0, True)
        return document


def _proven(document: Document, name: str) -> str | None:
    # Any proven value counts, whatever its confidence: the register compares, it does not route.
    return proven_value(document, name, 0.0)


class Register:
    """The register of queued documents (SQLite, WAL, synchronous=FULL)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "register.sqlite"
        self._key = self._load_key(folder / "register.key")
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @staticmethod
    def _load_key(path: Path) -> bytes:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            key = secrets.token_bytes(32)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process made it first
                return path.read_bytes()
            with os.fdopen(fd, "wb") as stream:
                stream.write(key)
                stream.flush()
                os.fsync(stream.fileno())
            return key

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30)) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            with db:
                yield db

    def _mac(self, text: str) -> str:
        return hmac.new(self._key, text.encode("utf-8"), hashlib.sha256).hexdigest()[:32]

    def _readings(self, document: Document) -> dict[str, str]:
        return {name: self._mac(f"{name}={value.value}") for name, value in document.fields.items()
                if value.value and name != "hetu"}  # fmt: skip

    def record(self, document: Document, package_id: str, *, now: dt.datetime) -> None:
        """Remember a queued document (after it is safely in the outbox)."""
        hetu = _proven(document, "hetu")
        route = document.route
        row = (
            package_id, now.timestamp(), document.scan_date.isoformat(), document.authority, document.form_id,
            document.language, route.place if route else None, _proven(document, "postal_code"),
            route.rule if route else None, route.target if route else None, route.destination if route else None,
            self._mac(f"hetu={hetu}") if hetu else None, json.dumps(self._readings(document)), _source(document),
        )  # fmt: skip
        with self._connect() as db:
            db.execute(f"INSERT OR REPLACE INTO queued VALUES ({', '.join('?' * len(row))})", row)

    def duplicate_of(self, document: Document, *, days: int, now: dt.datetime) -> Entry | None:
        """An earlier package of the same form, person and nearly the same readings, within ``days``.

        The same scan processed again (same file, same pages) is no rescan: the outbox and
        the hot folder's journal already make that idempotent.
        """
        hetu = _proven(document, "hetu")
        if days <= 0 or hetu is None or document.form_id is None:
            return None
        since = (now - dt.timedelta(days=days)).timestamp()
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM queued WHERE form_id = ? AND person = ? AND queued >= ? ORDER BY queued DESC",
                (document.form_id, self._mac(f"hetu={hetu}"), since),
            ).fetchall()
        mine = self._readings(document)
        for row in rows:
            if row[13] == _source(document):
                continue
            theirs: dict[str, str] = json.loads(row[12])
            common = set(mine) & set(theirs)
            if not common or sum(mine[n] == theirs[n] for n in common) >= SAME_READINGS * len(common):
                return _entry(row)
        return None

    def since(self, day: dt.date) -> list[Entry]:
        """Every document queued on or after ``day``, oldest first."""
        start = dt.datetime.combine(day, dt.time()).timestamp()
        with self._connect() as db:
            rows = db.execute("SELECT * FROM queued WHERE queued >= ? ORDER BY queued", (start,)).fetchall()
        return [_entry(row) for row in rows]


def _source(document: Document) -> str:
    return f"{document.source.sha256}:{','.join(map(str, document.page_numbers))}"


def _entry(row: tuple) -> Entry:
    return Entry(
        package_id=row[0], queued=dt.datetime.fromtimestamp(row[1], dt.UTC), scanned=dt.date.fromisoformat(row[2]),
        authority=row[3], form_id=row[4], language=row[5], municipality=row[6], postal_code=row[7],
        rule=row[8], target=row[9], destination=row[10],
    )  # fmt: skip
