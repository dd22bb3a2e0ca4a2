"""Retention: handled scans and sent messages go after the configured days; held ones stay."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from smtp_fixtures import destination, make_document, transport_config
from test_watch import watch_config

from intake.cli import ExitCode, main
from intake.config import load
from intake.delivery import Dispatcher
from intake.demo.pki import DemoPki
from intake.transport import Outbox, State, build_package

NOW = dt.datetime.now(dt.UTC)
DAY = dt.timedelta(days=1)


def _file(path: Path, *, age_days: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"a scanned form")
    stamp = (NOW - age_days * DAY).timestamp()
    os.utime(path, (stamp, stamp))
    return path


def _outbox(tmp_path: Path, pki: DemoPki) -> dict[str, str]:
    """Items by their story: sent long ago, sent yesterday, deferred and failed long ago."""
    config = transport_config(pki, tmp_path / "spool")
    package = build_package(make_document(tmp_path), destination=destination(pki), config=config, now=NOW)
    outbox = Outbox(tmp_path / "spool" / "outbox")
    ids = {}
    for story, age in (("sent-old", 20), ("sent-new", 1), ("deferred-old", 20), ("failed-old", 20)):
        when = NOW - age * DAY
        ids[story] = item = outbox.enqueue(package, f"{story}@agency.example", now=when)
        assert outbox.mark_sending(item, now=when)
        if story.startswith("sent"):
            outbox.mark_sent(item, now=when)
        elif story.startswith("deferred"):
            assert outbox.mark_deferred(item, now=when, error="451 busy", code=451) is State.DEFERRED
        else:
            outbox.mark_failed(item, now=when, error="550 no such user", code=550)
    return ids


def test_retention_deletes_old_done_scans_and_sent_messages_and_nothing_held(
    tmp_path: Path, pki: DemoPki, capsys: pytest.CaptureFixture[str]
) -> None:
    config = watch_config(tmp_path, pki)
    config.write_text(config.read_text() + "\n[retention]\nscans_days = 30\nsent_days = 10\n")
    inbox = tmp_path / "inbox"
    expired = [_file(inbox / "done" / "aaaa.pdf", age_days=40), _file(inbox / "done" / "aaaa.result.json", age_days=40)]
    kept = [
        _file(inbox / "done" / "bbbb.pdf", age_days=1),
        _file(inbox / "done" / "bbbb.result.json", age_days=1),
        _file(inbox / "done" / "cccc.tif", age_days=400),  # scanned long ago, handled yesterday
        _file(inbox / "done" / "cccc.result.json", age_days=1),
        _file(inbox / "review" / "dddd.pdf", age_days=400),  # held: stays until the advisor resolves it
        _file(inbox / "quarantine" / "eeee.pdf", age_days=400),
        _file(tmp_path / "spool" / "quarantine" / "ffff.pdf", age_days=400),
    ]
    items = _outbox(tmp_path, pki)
    run = ["retention", "run", str(inbox), "--config", str(config)]

    assert main([*run, "--dry-run"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert out.count("would delete") == 4 and items["sent-old"] in out and "aaaa.result.json" in out
    assert all(path.exists() for path in expired + kept)

    assert main(run) == ExitCode.OK
    assert "deleted 2 file(s) of handled scans, 1 sent message(s)" in capsys.readouterr().out
    assert not any(path.exists() for path in expired) and all(path.exists() for path in kept)
    outbox = Outbox(tmp_path / "spool" / "outbox")
    by_id = {item.id: item for item in outbox.list()}
    assert len(by_id) == 4 and by_id[items["sent-old"]].state is State.SENT  # the record stays
    assert by_id[items["sent-old"]].file is None
    [line] = [line for line in Dispatcher(load(config)).lines() if items["sent-old"] in line]
    assert line.endswith("message deleted (retention)")  # what 'intake outbox' shows
    assert all(by_id[items[story]].file.exists() for story in ("sent-new", "deferred-old", "failed-old"))  # type: ignore[union-attr]

    assert main(run) == ExitCode.OK
    assert "deleted 0 file(s) of handled scans, 0 sent message(s)" in capsys.readouterr().out


def test_watch_runs_retention_at_start(tmp_path: Path, pki: DemoPki) -> None:
    config = watch_config(tmp_path, pki)
    inbox = tmp_path / "inbox"
    old = [_file(inbox / "done" / "aaaa.pdf", age_days=31), _file(inbox / "done" / "aaaa.result.json", age_days=31)]
    new = _file(inbox / "done" / "bbbb.pdf", age_days=29)
    assert main(["watch", str(inbox), "--once", "--interval", "0.1", "--no-send", "--config", str(config)]) == 0
    assert not any(path.exists() for path in old) and new.exists()  # the default: 30 days


def test_retention_refuses_a_done_folder_that_is_a_link(
    tmp_path: Path, pki: DemoPki, capsys: pytest.CaptureFixture[str]
) -> None:
    config = watch_config(tmp_path, pki)
    precious = _file(tmp_path / "elsewhere" / "precious.pdf", age_days=400)
    (tmp_path / "inbox").mkdir()
    os.symlink(precious.parent, tmp_path / "inbox" / "done")
    assert main(["retention", "run", str(tmp_path / "inbox"), "--config", str(config)]) == ExitCode.ENVIRONMENT
    assert "symbolic link" in capsys.readouterr().err and precious.exists()


def test_the_loop_runs_retention_once_a_day(tmp_path: Path, pki: DemoPki) -> None:
    from intake.watch import _Daily

    config = load(watch_config(tmp_path, pki))
    inbox = tmp_path / "inbox"
    daily = _Daily(inbox, config, None)
    daily()
    first = _file(inbox / "done" / "aaaa.pdf", age_days=31)
    daily()  # the same day: nothing runs
    assert first.exists()
    daily.next -= 24 * 3600  # a day later
    daily()
    assert not first.exists()
