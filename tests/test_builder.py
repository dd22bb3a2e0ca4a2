"""Zones found in blank PDFs alone agree with the catalogue's hand-made geometry."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED

from intake.routing.authoring.layout import Shape
from intake.routing.authoring.zonefind import find_zones, kind_of, slugify
from intake.routing.templates import FieldKind, blank_text


@pytest.mark.parametrize(
    ("label", "kind"),
    [("Henkilötunnus", FieldKind.HETU), ("Personbeteckning", FieldKind.HETU), ("Päivämäärä", FieldKind.DATE),
     ("Työkyvyttömyys alkaen", FieldKind.DATE), ("Datum", FieldKind.DATE), ("Postinumero", FieldKind.POSTAL),
     ("Postnummer", FieldKind.POSTAL), ("Sähköpostiosoite", FieldKind.EMAIL), ("E-post", FieldKind.EMAIL),
     ("Puhelinnumero", FieldKind.PHONE), ("Telefon", FieldKind.PHONE), ("Tilinumero (IBAN)", FieldKind.IBAN),
     ("Y-tunnus", FieldKind.YTUNNUS), ("FO-nummer", FieldKind.YTUNNUS), ("Sukunimi", FieldKind.TEXT),
     ("Tillstånd", FieldKind.TEXT)],
    ids=lambda value: str(value),
)  # fmt: skip
def test_label_words_give_the_kind(label: str, kind: FieldKind) -> None:
    assert kind_of(label, Shape.BOX) is kind


@pytest.mark.parametrize(
    ("label", "slug"),
    [
        ("Lähiosoite", "lahiosoite"),
        ("Tilinumero (IBAN)", "tilinumero_iban"),
        ("1. Hakija", "field_1_hakija"),
        ("", "field"),
    ],
)
def test_slugs_are_valid_zone_names(label: str, slug: str) -> None:
    assert slugify(label, fallback="field") == slug


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy)


def test_zones_found_in_the_shared_blanks_match_the_catalogue() -> None:
    catalogue = json.loads((SHARED / "forms" / "catalogue.json").read_text(encoding="utf-8"))
    total = overlapping = kinds = extra = 0
    for form in catalogue["forms"]:
        pdf = SHARED / "forms" / form["blank_pdf"]
        found = find_zones(pdf, blank_text(pdf), form["pages"])
        used = set()
        for field in form["fields"]:
            total += 1
            score, best = max(((_iou(field["box"], z.box), z) for z in found if z.page == field["page"]),
                              key=lambda pair: pair[0], default=(0.0, None))  # fmt: skip
            if best is not None and score >= 0.8:
                overlapping += 1
                kinds += best.kind == field["kind"] and best.cells == field.get("cells")
                used.add(best.name)
        extra += len([z for z in found if z.name not in used])
    assert overlapping >= 0.95 * total
    assert kinds >= 0.95 * overlapping
    assert extra <= 0.05 * total
