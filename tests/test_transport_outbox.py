"""The durable outbox: states, back-off, giving up, crash safety, no personal data on disk."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from pathlib import Path

import pytest
from smtp_fixtures import AGENCY, HETU, T0, destination, make_document, transport_config

from intake.config import RetryConfig
from intake.demo.pki import DemoPki
from intake.errors import OutboxBusy, OutboxError
from intake.transport import Outbox, Package, State, build_package

RETRY = RetryConfig(first_s=60, max_s=240, give_up_after_s=3600)


@pytest.fixture
def package(tmp_path: Path, pki: DemoPki) -> Package:
    config = transport_config(pki, tmp_path / "spool")
    return build_package(make_document(tmp_path), destination=destination(pki), config=config, now=T0)


def test_enqueue_is_durable_idempotent_and_due(tmp_path: Path, package: Package) -> None:
    outbox = Outbox(tmp_path / "outbox", retry=RETRY)
    item_id = outbox.enqueue(package, AGENCY, now=T0)
    assert outbox.enqueue(package, AGENCY, now=T0) == item_id  # a retried enqueue adds nothing
    [item] = outbox.due(T0)
    assert (item.id, item.state, item.message_id) == (item_id, State.QUEUED, package.message_id)
    assert outbox.read(item_id) == package.message
    assert outbox.stats()[State.QUEUED] == 1 and outbox.stats()[State.SENT] == 0


def test_no_personal_data_in_outbox_files(tmp_path: Path, package: Package) -> None:
    outbox = Outbox(tmp_path / "outbox", retry=RETRY)
    outbox.enqueue(package, AGENCY, now=T0)
    for path in (tmp_path / "outbox").rglob("*"):
        assert HETU not in path.name
        if path.is_file():
            assert HETU.encode() not in path.read_bytes(), path  # the message is encrypted


def test_sqlite_is_in_wal_mode(tmp_path: Path) -> None:
    Outbox(tmp_path / "outbox")
    with sqlite3.connect(tmp_path / "outbox" / "outbox.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_back_off_doubles_up_to_the_maximum(tmp_path: Path, package: Package) -> None:
    outbox = Outbox(tmp_path / "outbox", retry=RETRY)
    item_id = outbox.enqueue(package, AGENCY, now=T0)
    delays = []
    now = T0
    for _ in range(4):
        assert outbox.mark_sending(item_id, now=now)
        assert outbox.mark_deferred(item_id, now=now, error="451 busy", code=451) is State.DEFERRED
        item = outbox.get(item_id)
        assert item.next_attempt is not None
        delays.append((item.next_attempt - now).total_seconds())
        assert outbox.due(item.next_attempt - dt.timedelta(seconds=1)) == []
        now = item.next_attempt
    assert delays == [60, 120, 240, 240]
    assert (item.attempts, item.last_code, item.last_error) == (4, 451, "451 busy")


def test_gives_up_after_the_configured_time(tmp_path: Path, package: Package) -> None:
    outbox = Outbox(tmp_path / "outbox", retry=RETRY)
    item_id = outbox.enqueue(package, AGENCY, now=T0)
    late = T0 + dt.timedelta(seconds=RETRY.give_up_after_s)
    outbox.mark_sending(item_id, now=late)
    assert outbox.mark_deferred(item_id, now=late, error="451 busy", code=451) is State.FAILED
    item = outbox.get(item_id)
    assert item.state is State.FAILED and "gave up" in (item.last_error or "")
    assert item.file.exists()  # failed is kept, never deleted
    outbox.requeue(item_id, now=late)
    assert [i.id for i in outbox.due(late)] == [item_id]


def test_crash_while_sending_makes_the_item_due_again(tmp_path: Path, package: Package) -> None:
    outbox = Outbox(tmp_path / "outbox", retry=RETRY)
    item_id = outbox.enqueue(package, AGENCY, now=T0)
    onlooker = Outbox(tmp_path / "outbox", retry=RETRY)  # say 'intake outbox' or a second 'intake send'
    with outbox.sending():
        assert outbox.mark_sending(item_id, now=T0)
        assert outbox.due(T0) == []
        assert not outbox.mark_sending(item_id, now=T0)  # already claimed
        # While the sender lives, nobody else sends, so nobody turns its item back:
        with pytest.raises(OutboxBusy, match=f"pid {os.getpid()}"), onlooker.sending(wait_s=0.3):
            pass
        assert onlooker.due(T0) == []
    # The sender died here (its lock with it). The next sender takes the item up again:
    with onlooker.sending():
        [item] = onlooker.due(T0)
    assert (item.id, item.state, item.message_id) == (item_id, State.QUEUED, package.message_id)
    assert onlooker.read(item_id) == package.message  # the very same bytes go out again


def test_only_failed_or_deferred_items_are_retried(tmp_path: Path, package: Package) -> None:
    outbox = Outbox(tmp_path / "outbox", retry=RETRY)
    item_id = outbox.enqueue(package, AGENCY, now=T0)
    outbox.mark_sending(item_id, now=T0)
    outbox.mark_deferred(item_id, now=T0, error="TLS certificate not trusted")
    outbox.requeue(item_id, now=T0 + dt.timedelta(seconds=1))  # due now, not after the back-off
    assert [i.id for i in outbox.due(T0 + dt.timedelta(seconds=1))] == [item_id]
    with pytest.raises(OutboxError, match="neither failed nor deferred"):
        outbox.requeue(item_id, now=T0)


def test_an_outbox_from_before_certificates_were_recorded_opens(tmp_path: Path, package: Package) -> None:
    folder = tmp_path / "outbox"
    folder.mkdir()
    with sqlite3.connect(folder / "outbox.sqlite") as db:
        db.executescript(OLD_SCHEMA)
        db.execute("INSERT INTO items VALUES ('a','p','<m>','s','r','queued',0,1,1,1,9e9,NULL,NULL,'messages/a.eml')")
    [item] = Outbox(folder).list()
    assert item.certificate is None  # unknown: sent without the comparison (logged)
    assert Outbox(folder).enqueue(package, AGENCY, now=T0)


OLD_SCHEMA = """
CREATE TABLE items (id TEXT PRIMARY KEY, package_id TEXT NOT NULL, message_id TEXT NOT NULL,
    sender TEXT NOT NULL, recipient TEXT NOT NULL, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL, updated REAL NOT NULL, next_attempt REAL, deadline REAL NOT NULL,
    last_error TEXT, last_code INTEGER, file TEXT NOT NULL, UNIQUE (package_id, recipient));
"""


def test_unknown_item_is_an_outbox_error(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "outbox")
    with pytest.raises(OutboxError, match="no outbox item"):
        outbox.mark_sent("nope", now=T0)
    with pytest.raises(OutboxError, match="neither failed nor deferred"):
        outbox.requeue("nope", now=T0)


def test_unwritable_spool_is_an_outbox_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OutboxError, match="cannot open the outbox"):
        Outbox(tmp_path / "file" / "outbox")
