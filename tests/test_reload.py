"""A changed rules file takes effect without a restart; a broken one keeps the last good rules, loudly."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from intake.config import load
from intake.reload import Reloader

RULES = (
    '[destinations.d]\naddress = "kirjaamo@d.example"\n[[rules]]\nid = "{id}"\nauthority = "KELA"\ndestination = "d"\n'
)


def write_rules(folder: Path, text: str, *, tick: int) -> None:
    path = folder / "routing.toml"
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(tick * 10**9, tick * 10**9))  # a new mtime even within one clock tick


@pytest.fixture
def reloader(tmp_path: Path) -> tuple[Reloader, list[tuple[str, dict]]]:
    write_rules(tmp_path, RULES.format(id="first"), tick=1)
    config = tmp_path / "intake.toml"
    config.write_text('[routing]\nrules_file = "routing.toml"\n', encoding="utf-8")
    events: list[tuple[str, dict]] = []
    return Reloader(load(config), record=lambda event, details: events.append((event, details))), events


def test_unchanged_files_are_not_read_again(reloader: tuple[Reloader, list]) -> None:
    rules, events = reloader
    assert rules.poll() is None and events == []


def test_a_good_change_takes_effect_and_is_recorded(tmp_path: Path, reloader: tuple[Reloader, list], caplog) -> None:
    rules, events = reloader
    write_rules(tmp_path, RULES.format(id="second"), tick=2)
    with caplog.at_level(logging.WARNING):
        fresh = rules.poll()
    assert fresh is not None and [r.id for r in fresh.routing.rules] == ["second"]
    assert rules.config is fresh
    assert [e for e, _ in events] == ["rules-reloaded"] and len(events[0][1]["sha256"]) == 64
    assert "routing rules reloaded" in caplog.text


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(RULES.format(id="x").replace("KELA", "KLEA"), "unknown authority 'KLEA'", id="unknown-authority"),
        pytest.param("[[rules]\n", "not valid TOML", id="syntax"),
        pytest.param(
            RULES.format(id="x") + 'certificate = "/nonexistent.pem"\n',
            "Extra inputs are not permitted",
            id="key-in-the-wrong-table",
        ),
    ],
)
def test_a_broken_change_keeps_the_last_good_rules(
    tmp_path: Path, reloader: tuple[Reloader, list], caplog, text: str, problem: str
) -> None:
    rules, events = reloader
    write_rules(tmp_path, text, tick=3)
    with caplog.at_level(logging.ERROR):
        assert rules.poll() is None
    assert [r.id for r in rules.config.routing.rules] == ["first"]
    assert "ROUTING RULES NOT RELOADED" in caplog.text and problem in caplog.text
    assert [e for e, _ in events] == ["rules-rejected"]
    write_rules(tmp_path, RULES.format(id="fixed"), tick=4)
    fixed = rules.poll()
    assert fixed is not None and [r.id for r in fixed.routing.rules] == ["fixed"]


def test_an_unreadable_certificate_is_refused(tmp_path: Path, reloader: tuple[Reloader, list], caplog) -> None:
    rules, _ = reloader
    text = RULES.format(id="x").replace('address = "kirjaamo@d.example"\n',
                                        'address = "kirjaamo@d.example"\ncertificate = "missing.pem"\n')  # fmt: skip
    write_rules(tmp_path, text, tick=5)
    with caplog.at_level(logging.ERROR):
        assert rules.poll() is None
    assert "missing.pem is missing or unreadable" in caplog.text


def test_the_desk_releases_by_the_reloaded_rules(fresh: Callable, tmp_path: Path) -> None:
    from intake.delivery import Dispatcher
    from intake.store import open_store
    from intake.store.models import State
    from intake.store.resolve import Desk

    config = fresh()  # its one rule needs the customer's municipality
    desk = Desk(open_store(config), config, dispatcher=Dispatcher(config))
    rules = Reloader(config)
    [held] = [s for s in desk.store.find(state=State.HELD) if s.form_id == "rise-yks4-fi"]
    assert config.source is not None
    text = config.source.read_text(encoding="utf-8").replace('municipality = ["Oulu"]\n', "")
    config.source.write_text(text, encoding="utf-8")
    os.utime(config.source, ns=(7 * 10**9, 7 * 10**9))
    fresh_config = rules.poll()
    assert fresh_config is not None
    desk.reconfigure(fresh_config)
    desk.pick(str(held.id), "hetu", "1", who="maija")
    released = desk.release(str(held.id), who="maija")
    assert released.package_id and desk.store.get(str(held.id)).state == State.QUEUED
