"""The document store: the real pipeline keeps every document; 'intake review' resolves held ones."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from desk_fixtures import OTHER, UNSURE_HETU_TRUTH, Fresh, write_config
from smtp_fixtures import AGENCY

from intake.cli import ExitCode, main
from intake.demo.pki import DemoPki
from intake.errors import ReviewError
from intake.store import open_store
from intake.transport import Outbox


def _review(capsys: pytest.CaptureFixture[str], config: Path, *args: str) -> tuple[int, str]:
    code = main(["review", *args, "--config", str(config)])
    return code, capsys.readouterr().out


def _ids(capsys: pytest.CaptureFixture[str], config: Path) -> dict[str, str]:
    code, out = _review(capsys, config, "list", "--json")
    assert code == ExitCode.OK
    return {row["form"]: row["id"] for row in map(json.loads, out.splitlines())}


def test_process_keeps_each_document_with_pages_crops_and_history(stored_spool: Path) -> None:
    with sqlite3.connect(stored_spool / "store" / "store.sqlite") as db:
        documents = db.execute(
            "SELECT id, state, form_id, source_pages, package_id FROM store_storeddocument"
        ).fetchall()
        hetu = [
            json.loads(row[0]) for row in db.execute("SELECT candidates FROM store_storedfield WHERE name = 'hetu'")
        ]
        crops = [row[0] for row in db.execute("SELECT crop FROM store_storedfield WHERE crop IS NOT NULL")]
        events = db.execute("SELECT who, action FROM store_event").fetchall()
        images = [row[0] for row in db.execute("SELECT image FROM store_storedpage")]
    assert sorted(row[2] for row in documents) == ["rise-yks4-fi", "ulosotto-uo1-fi"]
    assert {row[1] for row in documents} == {"held"} and {row[4] for row in documents} == {None}
    assert any(UNSURE_HETU_TRUTH in candidates for candidates in hetu)
    assert crops and all((stored_spool / "store" / crop).is_file() for crop in crops)
    assert events == [("intake", "received"), ("intake", "received")]
    assert len(images) == 2 and all((stored_spool / "store" / image).is_file() for image in images)
    for private in [stored_spool / "store" / "store.sqlite", *(stored_spool / "store" / i for i in images + crops)]:
        assert private.stat().st_mode & 0o077 == 0, private  # what was read: intake's user only
    for image in images:  # page images named by the document's random id, nothing from the scan
        assert re.fullmatch(r"documents/[0-9a-f-]{36}/p001\.png", image)


def test_review_show_says_why_in_plain_words(fresh: Fresh, capsys: pytest.CaptureFixture[str]) -> None:
    config = fresh().source
    ids = _ids(capsys, config)
    code, out = _review(capsys, config, "show", ids["rise-yks4-fi"], "--json")
    shown = json.loads(out)
    assert code == ExitCode.OK
    assert shown["reasons"] == [
        "Where it goes depends on the customer's municipality, which could not be read: give it."
    ]
    assert "hetu" in shown["doubtful"] and shown["fields"]["hetu"]["candidates"][0] == UNSURE_HETU_TRUTH
    code, out = _review(capsys, config, "show", ids["ulosotto-uo1-fi"], "--json")
    assert json.loads(out)["reasons"] == ["No rule says where this form goes: ask the administrator."]


def test_release_needs_the_municipality_then_routes_and_queues(
    fresh: Fresh, capsys: pytest.CaptureFixture[str]
) -> None:
    config = fresh()
    doc = _ids(capsys, config.source)["rise-yks4-fi"]
    code, _ = _review(capsys, config.source, "release", doc, "--no-send", "--as", "maija")
    assert code == ExitCode.USAGE  # the rules still need the municipality: held, nothing queued
    assert Outbox(config.transport.spool / "outbox").list() == []
    code, out = _review(capsys, config.source, "release", doc, "--pick", "hetu=1", "--municipality", "oulu",
                        "--no-send", "--as", "maija")  # fmt: skip
    assert code == ExitCode.OK and "queued  package" in out and AGENCY in out
    [item] = Outbox(config.transport.spool / "outbox").list()
    store = open_store(config)
    stored = store.get(doc)
    assert stored.state == "queued" and stored.package_id == item.package_id and stored.municipality == "Oulu"
    hetu = stored.fields.get(name="hetu")
    assert (hetu.value, hetu.valid, hetu.corrected_by) == (UNSURE_HETU_TRUTH, True, "maija")
    assert [(e.who, e.action) for e in stored.events.all()] == [
        ("intake", "received"), ("maija", "release-refused"), ("maija", "pick"), ("maija", "municipality"),
        ("maija", "release"),
    ]  # fmt: skip
    assert UNSURE_HETU_TRUTH not in json.dumps([e.detail for e in stored.events.all()])  # no values in history
    log = (config.transport.spool / "audit.log").read_text()
    desk = [json.loads(line) for line in log.splitlines() if '"who"' in line]
    assert [(e["action"], e.get("code"), e["who"], e["document"]) for e in desk] == [
        ("held", "release-refused", "maija", doc), ("corrected", "pick:hetu", "maija", doc),
        ("corrected", "municipality", "maija", doc), ("released", "release", "maija", doc),
    ]  # fmt: skip
    assert desk[-1]["package"] == item.package_id and UNSURE_HETU_TRUTH not in log and "Oulu" not in log
    assert main(["audit", "verify", "--config", str(config.source)]) == ExitCode.OK
    code, _ = _review(capsys, config.source, "release", doc, "--no-send")
    assert code == ExitCode.USAGE  # released once; not held any more


def test_reject_with_a_reason(fresh: Fresh, capsys: pytest.CaptureFixture[str]) -> None:
    config = fresh()
    doc = _ids(capsys, config.source)["ulosotto-uo1-fi"]
    code, _ = _review(capsys, config.source, "reject", doc, "--reason", "customer took it back", "--as", "maija")
    assert code == ExitCode.OK
    stored = open_store(config).get(doc)
    assert (stored.state, stored.rejected_reason) == ("rejected", "customer took it back")
    assert _ids(capsys, config.source).keys() == {"rise-yks4-fi"}  # list: held only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pick", "hetu=7"], "no such candidate"),
        (["--field", "hetu=200889-970X"], "not a valid hetu"),
        (["--municipality", "Atlantis"], "not a Finnish municipality"),
        (["--form", "no-such-form"], "unknown form"),
        (["--field", "nonsense"], "NAME=VALUE"),
    ],
    ids=["candidate-out-of-range", "hetu-check-character", "unknown-municipality", "unknown-form", "bad-pair"],
)
def test_wrong_corrections_are_refused(
    fresh: Fresh, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    config = fresh()
    doc = _ids(capsys, config.source)["rise-yks4-fi"]
    code = main(["review", "release", doc, *args, "--no-send", "--config", str(config.source)])
    assert code == ExitCode.USAGE and message in capsys.readouterr().err
    assert open_store(config).get(doc).state == "held"


def test_unknown_document(fresh: Fresh, capsys: pytest.CaptureFixture[str]) -> None:
    config = fresh()
    assert _review(capsys, config.source, "show", "7b0c8d3e-0000-4000-8000-000000000000")[0] == ExitCode.USAGE
    assert _review(capsys, config.source, "show", "../../etc/passwd")[0] == ExitCode.USAGE


def test_page_actions_split_rotate_drop_merge(fresh: Fresh, capsys: pytest.CaptureFixture[str]) -> None:
    from PIL import Image

    from intake.store.resolve import Desk

    config = fresh()
    store = open_store(config)
    desk = Desk(store, config)
    ids = _ids(capsys, config.source)
    first, second = ids["rise-yks4-fi"], ids["ulosotto-uo1-fi"]
    image = store.image(store.get(first).pages.get(position=1).image)
    with Image.open(image) as before:
        size = before.size
    desk.rotate(first, 1, 90, who="maija")
    with Image.open(image) as after:
        assert after.size == (size[1], size[0])
    desk.merge(first, second, who="maija")
    assert [p.number for p in store.get(first).pages.filter(dropped=False)] == [1, 1]
    assert store.get(second).state == "rejected"
    new = desk.split(first, 2, who="maija")
    assert store.get(first).pages.filter(dropped=False).count() == 1
    assert store.get(new).pages.filter(dropped=False).count() == 1 and store.get(new).state == "held"
    with pytest.raises(ReviewError, match="last page"):
        desk.drop_page(new, 1, who="maija")
    desk.merge(first, new, who="maija")
    desk.drop_page(first, 2, who="maija")
    assert [(p.position, p.dropped) for p in store.get(first).pages.all()] == [(1, False), (1001, True)]


def test_same_document_is_kept_once(
    fresh: Fresh, corpus: Path, pki: DemoPki, capsys: pytest.CaptureFixture[str]
) -> None:
    config = fresh()
    assert main(["process", "--no-send", "--config", str(config.source), str(corpus / OTHER)]) == ExitCode.REVIEW
    capsys.readouterr()
    assert len(_ids(capsys, config.source)) == 2  # the hot folder resuming a file stores nothing twice


def test_dry_run_stores_nothing(tmp_path: Path, corpus: Path, pki: DemoPki) -> None:
    config = write_config(tmp_path, pki)
    assert main(["process", "--dry-run", "--config", str(config), str(corpus / OTHER)]) == ExitCode.REVIEW
    assert not (tmp_path / "spool" / "store").exists()


def test_finished_documents_are_purged_after_keep_days(fresh: Fresh, capsys: pytest.CaptureFixture[str]) -> None:
    import datetime as dt

    from intake.delivery import Dispatcher
    from intake.store.resolve import Desk

    config = fresh()
    ids = _ids(capsys, config.source)
    sent, rejected = ids["rise-yks4-fi"], ids["ulosotto-uo1-fi"]
    desk = Desk(open_store(config), config, dispatcher=Dispatcher(config))
    desk.set_municipality(sent, "Oulu", who="maija")
    released = desk.release(sent, who="maija")
    desk.reject(rejected, "customer took it back", who="maija")
    store = desk.store
    files = [store.image(p.image) for d in (sent, rejected) for p in store.get(d).pages.all()]
    files += [store.image(f.crop) for d in (sent, rejected) for f in store.get(d).fields.all() if f.crop]
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=config.store.keep_days + 1)
    assert desk.purge(now=later) == 1  # the released one is not sent yet: it stays
    assert store.get(sent).purged is None and store.get(rejected).purged is not None
    outbox = desk.dispatcher.outbox  # type: ignore[union-attr]
    [item] = outbox.list()
    assert outbox.mark_sending(item.id, now=later)
    outbox.mark_sent(item.id, now=later)
    assert desk.purge(now=dt.datetime.now(dt.UTC)) == 0  # sent just now: kept keep_days
    assert desk.purge(now=later) == 1 and released.package_id == item.package_id
    assert all(not path.exists() for path in files) and files
    for document in (sent, rejected):
        stored = store.get(document)
        assert stored.purged is not None and stored.municipality is None
        assert {(f.value, f.crop) for f in stored.fields.all()} == {(None, None)}
        assert [e.action for e in stored.events.all()][-1] == "purge"  # the history stays


@pytest.mark.parametrize(
    ("database", "expected"),
    [
        (None, {"ENGINE": "django.db.backends.sqlite3", "NAME": "SPOOL/store/store.sqlite"}),
        ("SPOOL/desk.sqlite", {"ENGINE": "django.db.backends.sqlite3", "NAME": "SPOOL/desk.sqlite"}),
        ("postgresql://intake@hub.example:5433/desk",
         {"ENGINE": "django.db.backends.postgresql", "NAME": "desk", "USER": "intake", "HOST": "hub.example",
          "PORT": "5433", "PASSWORD": "from-the-environment"}),
    ],
    ids=["default-under-spool", "sqlite-file", "postgresql-hub"],
)  # fmt: skip
def test_database_from_the_configuration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, database: str | None, expected: dict[str, str]
) -> None:
    from intake.config import Config, StoreConfig, TransportConfig
    from intake.store.setup import database_settings

    monkeypatch.setenv("INTAKE_STORE_PASSWORD", "from-the-environment")
    where = database.replace("SPOOL", str(tmp_path)) if database else None
    store = StoreConfig(database=where, password_env="INTAKE_STORE_PASSWORD")
    config = Config(transport=TransportConfig(spool=tmp_path), store=store)
    settings = database_settings(config)
    wanted = {key: value.replace("SPOOL", str(tmp_path)) for key, value in expected.items()}
    assert {key: settings[key] for key in wanted} == wanted


def test_unsupported_database_is_a_configuration_error(tmp_path: Path) -> None:
    from intake.config import load
    from intake.errors import ConfigError

    path = tmp_path / "intake.toml"
    path.write_text('[store]\ndatabase = "mysql://root@db/intake"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"store\.database.*'mysql' databases are not supported"):
        load(path)


def test_opening_the_store_again_keeps_it_usable_while_other_processes_come_and_go(fresh: Fresh) -> None:
    """'intake serve' opens the store from several threads; 'intake review' runs beside it.

    Opening the database file again in a process dropped the POSIX locks SQLite holds on
    it for the other threads' connections; another process's connection then closed as if
    it were the last one and deleted the WAL under them: every later request of the desk
    failed with 'disk I/O error'. Opening it again must not close this thread's
    connection either.
    """
    from django.contrib.auth.models import User
    from django.db import connection

    from intake.store.models import StoredDocument

    config = fresh()
    open_store(config)
    steps = [threading.Event() for _ in range(4)]

    def watch_thread() -> None:  # the desk's hot folder: its connection stays open, and it writes
        User.objects.create(username="first")
        steps[0].set()
        steps[1].wait(30)
        User.objects.create(username="second")
        steps[2].set()
        steps[3].wait(30)
        connection.close()

    thread = threading.Thread(target=watch_thread)
    thread.start()
    try:
        assert steps[0].wait(30)
        assert StoredDocument.objects.count() == 2
        open_store(config)  # again, as a request thread of the desk does
        assert connection.connection is not None  # the same database: nothing switched or closed
        database = str(config.transport.spool / "store" / "store.sqlite")
        reader = "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]); db.execute('SELECT * FROM sqlite_master')"
        subprocess.run([sys.executable, "-c", f"{reader}; db.close()", database], check=True)  # 'intake review list'
        steps[1].set()
        assert steps[2].wait(30)
        connection.close()  # the desk opens a connection per request
        assert StoredDocument.objects.count() == 2 and User.objects.filter(username="second").exists()
    finally:
        steps[1].set()
        steps[3].set()
        thread.join()
