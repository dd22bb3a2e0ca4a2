"""Holds that protect agencies: a form with nothing filled in, and a rescan of a paper already queued."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import EXAMPLES
from PIL import Image
from smtp_fixtures import AGENCY, make_document

from intake.cli import ExitCode, main
from intake.config import Config
from intake.delivery import Dispatcher
from intake.demo.pki import DemoPki
from intake.models import Document, FieldValue, Status
from intake.register import Register
from intake.routing.templates import BUNDLED, render_blank


def scanned_blank(form: str, target: Path) -> Path:
    """The blank form as a desk scanner would give it back: 200 dpi, a little turned, noisy."""
    page = Image.fromarray(render_blank(BUNDLED / f"{form}.pdf", 1, dpi=200))
    page = page.rotate(0.8, resample=Image.Resampling.BILINEAR, fillcolor=255)
    noise = np.random.default_rng(3).normal(0, 10, (page.height, page.width))
    Image.fromarray(np.clip(np.asarray(page, float) + noise, 0, 255).astype(np.uint8)).save(target, dpi=(200, 200))
    return target


@pytest.mark.parametrize("form", ["kela-sv8-sv", "te-ilmo1-fi", "vero-5010-fi"])
def test_a_blank_form_is_held_not_delivered(tmp_path: Path, form: str, capsys) -> None:
    files = [str(BUNDLED / f"{form}.pdf"), str(scanned_blank(form, tmp_path / f"{form}.png"))]
    code = main(["process", "--json", "--dry-run", "--config", str(EXAMPLES / "intake.toml"), *files])
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert code == ExitCode.REVIEW
    assert [(d["form"]["id"], d["status"], d["reason"]) for d in docs] == [(form, "review", "nothing filled in")] * 2


@pytest.fixture
def dispatcher(tmp_path: Path, pki: DemoPki) -> Dispatcher:
    config = Config.model_validate({
        "destinations": {"kela": {"address": AGENCY, "certificate": str(pki.agencies[AGENCY].cert)}},
        "routing": {"rules": [{"id": "kela-fi", "authority": "KELA", "destination": "kela"}], "duplicate_days": 14},
        "transport": {"spool": str(tmp_path / "spool"), "sender": "intake@asiointipiste.example",
                      "smime": {"certificate": str(pki.signer.cert), "key": str(pki.signer.key),
                                "agency_trust": str(pki.ca.cert)}},
    })  # fmt: skip
    return Dispatcher(config)


def rescan(folder: Path) -> Document:
    """The same paper scanned again: another file (other bytes), the same readings."""
    document = make_document(folder)
    document.source = dataclasses.replace(document.source, sha256=hashlib.sha256(b"rescan").hexdigest())
    return document


def test_a_rescan_of_a_queued_paper_is_held_as_a_possible_duplicate(tmp_path: Path, dispatcher: Dispatcher) -> None:
    first = make_document(tmp_path)
    assert dispatcher.enqueue(first) is not None
    again = rescan(tmp_path)
    assert dispatcher.enqueue(again) is None
    assert again.status is Status.REVIEW and again.package_id is None
    assert again.reason is not None and again.reason.startswith("possible duplicate")
    assert first.package_id in again.reason
    assert len(dispatcher.outbox.list()) == 1


@pytest.mark.parametrize(
    ("change", "held"),
    [
        pytest.param({}, True, id="same-paper"),
        pytest.param({"last_name": FieldValue("Korhonen", 0.9, None)}, False, id="other-readings"),
        pytest.param({"hetu": FieldValue("131052-962W", 0.9, True)}, False, id="other-person"),
        pytest.param({"hetu": FieldValue("010594Y9032", 0.9, None)}, False, id="person-not-proven"),
    ],
)
def test_what_counts_as_the_same_paper(tmp_path: Path, change: dict, held: bool) -> None:
    register = Register(tmp_path / "spool")
    now = dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)
    register.record(make_document(tmp_path), "pkg", now=now)
    again = rescan(tmp_path)
    again.fields.update(change)
    found = register.duplicate_of(again, days=14, now=now + dt.timedelta(days=2))
    assert (found is not None) is held
    if found is not None:
        assert found.package_id == "pkg" and found.form_id == "kela-y38-fi"


def test_a_rescan_after_the_set_days_is_new(tmp_path: Path) -> None:
    register = Register(tmp_path / "spool")
    now = dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)
    register.record(make_document(tmp_path), "pkg", now=now)
    assert register.duplicate_of(rescan(tmp_path), days=14, now=now + dt.timedelta(days=13)) is not None
    assert register.duplicate_of(rescan(tmp_path), days=14, now=now + dt.timedelta(days=15)) is None
    assert register.duplicate_of(rescan(tmp_path), days=0, now=now) is None


def test_the_same_scan_processed_again_is_no_rescan(tmp_path: Path) -> None:
    register = Register(tmp_path / "spool")
    now = dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)
    register.record(make_document(tmp_path), "pkg", now=now)
    assert register.duplicate_of(make_document(tmp_path), days=14, now=now) is None


def test_the_register_keeps_no_personal_data(tmp_path: Path) -> None:
    register = Register(tmp_path / "spool")
    document = make_document(tmp_path)
    register.record(document, "pkg", now=dt.datetime(2026, 5, 4, tzinfo=dt.UTC))
    stored = register.path.read_bytes() + b"".join(p.read_bytes() for p in register.path.parent.glob("register*"))
    for value in (document.fields["hetu"].value, document.fields["last_name"].value):
        assert value is not None and value.encode() not in stored
    assert (register.path.parent / "register.key").stat().st_mode & 0o077 == 0
