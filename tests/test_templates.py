"""A form intake has never seen: made in the test, added from its blank PDF, then read filled in."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import copy_example_config
from PIL import Image, ImageDraw, ImageFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from intake.cli import ExitCode, main
from intake.routing.templates import load_template, render_blank

TOP = A4[1]


def _box(pdf: canvas.Canvas, x: float, y: float, w: float, h: float) -> None:
    pdf.rect(x * mm, TOP - (y + h) * mm, w * mm, h * mm)


def _text(pdf: canvas.Canvas, x: float, y: float, text: str, size: float = 7) -> None:
    pdf.setFont("Helvetica", size)
    pdf.drawString(x * mm, TOP - y * mm, text)


def make_blank(path: Path) -> None:
    """A one-page MML form: header, two labelled boxes, a comb field, two checkboxes, lines."""
    pdf = canvas.Canvas(str(path), pagesize=A4)
    _text(pdf, 15, 18, "Maanmittauslaitos", 11)
    _text(pdf, 15, 23, "Lantmäteriverket", 7)
    _text(pdf, 110, 18, "Hakemus – Rajankäyntitoimitus", 15)
    _text(pdf, 15, 38, "Täytä lomake tekstaten. Rajankäynnillä selvitetään kiinteistön rajat maastossa.", 8)
    _box(pdf, 15, 50, 120, 12), _text(pdf, 16.2, 52.5, "Sukunimi")
    _box(pdf, 135, 50, 60, 12), _text(pdf, 136.2, 52.5, "Postinumero")
    _text(pdf, 15, 70, "Henkilötunnus")
    for cell in range(11):
        _box(pdf, 15 + 6 * cell, 72, 6, 8)
    for x, label in ((17, "Omistaja"), (80, "Vuokralainen")):
        _box(pdf, x, 92, 4, 4), _text(pdf, x + 6, 95.2, label, 8)
    _text(pdf, 15, 108, "Lisätietoja", 8)
    for y in (118, 127, 136):
        pdf.line(15 * mm, TOP - y * mm, 195 * mm, TOP - y * mm)
    pdf.line(15 * mm, TOP - 275 * mm, 195 * mm, TOP - 275 * mm)
    _text(pdf, 15, 280, "MML RK 2  03.26   Lomake palautetaan asiointipisteeseen.            1 (1)")
    pdf.showPage()
    pdf.save()


def fill_and_scan(blank: Path, target: Path) -> None:
    """Write in the boxes, tick 'Omistaja', then turn 1.5 degrees and add scanner noise."""
    dpi = 200
    page = Image.fromarray(render_blank(blank, 1, dpi=dpi))
    draw = ImageDraw.Draw(page)
    font = ImageFont.load_default(size=40)
    at = lambda x, y: (round(x * dpi / 25.4), round(y * dpi / 25.4))  # noqa: E731
    draw.text(at(17, 55), "VIRTANEN", fill=20, font=font)
    draw.text(at(137, 55), "00100", fill=20, font=font)
    draw.line([at(17.5, 94.5), at(18.8, 95.6), at(20.6, 92.4)], fill=40, width=4)
    page = page.rotate(1.5, resample=Image.Resampling.BILINEAR, expand=False, fillcolor=255)
    noise = np.random.default_rng(7).normal(0, 12, (page.height, page.width))
    noisy = np.clip(np.asarray(page, float) + noise, 0, 255).astype(np.uint8)
    Image.fromarray(noisy).save(target, dpi=(dpi, dpi))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return copy_example_config(tmp_path, templates=tmp_path / "forms")


def test_add_a_new_form_and_read_a_filled_scan_of_it(tmp_path: Path, config: Path, capsys) -> None:
    blank = tmp_path / "mml-rk2.pdf"
    make_blank(blank)
    code = main(["templates", "add", str(blank), "--authority", "MML", "--code", "RK 2", "--id", "mml-rk2-fi",
                 "--config", str(config)])  # fmt: skip
    assert code == ExitCode.OK
    assert "omistaja" in capsys.readouterr().out
    template = load_template(tmp_path / "forms" / "mml-rk2-fi.json")
    kinds = {zone.name: (zone.kind, zone.cells) for zone in template.zones}
    assert kinds == {
        "last_name": ("text", None), "postal_code": ("postal", None), "hetu": ("hetu", 11),
        "omistaja": ("checkbox", None), "vuokralainen": ("checkbox", None), "lisatietoja": ("multiline", None),
    }  # fmt: skip
    assert template.title == "Hakemus – Rajankäyntitoimitus"

    scan = tmp_path / "filled.png"
    fill_and_scan(blank, scan)
    main(["process", "--json", "--dry-run", "--config", str(config), str(scan)])
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(docs) == 1
    assert docs[0]["form"]["id"] == "mml-rk2-fi"
    assert docs[0]["checkboxes"] == {"omistaja": True, "vuokralainen": False}
    assert docs[0]["fields"]["postal_code"]["value"] == "00100"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        pytest.param(["--authority", "POLIISI", "--code", "SV 8", "--id", "kela-sv8-fi"],
                     "a form with id 'kela-sv8-fi' exists already: pass --replace", id="bundled-id-taken"),
        pytest.param(["--authority", "KLEA", "--code", "SV 8"], "unknown authority 'KLEA'", id="unknown-authority"),
    ],
)  # fmt: skip
def test_templates_add_refuses(tmp_path: Path, config: Path, capsys, args: list[str], error: str) -> None:
    blank = tmp_path / "blank.pdf"
    make_blank(blank)
    assert main(["templates", "add", str(blank), *args, "--config", str(config)]) == ExitCode.CONFIG
    assert error in capsys.readouterr().err
    assert not (tmp_path / "forms").exists() or not list((tmp_path / "forms").glob("*.json"))


def test_templates_add_replaces_only_when_asked(tmp_path: Path, config: Path, capsys) -> None:
    blank = tmp_path / "blank.pdf"
    make_blank(blank)
    add = ["templates", "add", str(blank), "--authority", "MML", "--code", "RK 2", "--config", str(config)]
    assert main(add) == ExitCode.OK
    assert main(add) == ExitCode.CONFIG
    assert "exists already" in capsys.readouterr().err
    assert main([*add, "--replace"]) == ExitCode.OK


def test_templates_add_takes_an_authority_the_configuration_adds(tmp_path: Path, config: Path) -> None:
    rules = tmp_path / "routing.toml"
    rules.write_text('[authorities.PALKKATURVA]\nname_fi = "Palkkaturva"\nname_sv = "Lönegaranti"\n'
                     + rules.read_text(encoding="utf-8"), encoding="utf-8")  # fmt: skip
    blank = tmp_path / "blank.pdf"
    make_blank(blank)
    args = ["templates", "add", str(blank), "--authority", "PALKKATURVA", "--code", "PT 1", "--config", str(config)]
    assert main(args) == ExitCode.OK
    assert load_template(tmp_path / "forms" / "palkkaturva-pt-1-fi.json").authority == "PALKKATURVA"
