"""Zones found in blank PDFs alone agree with the catalogue's hand-made geometry."""

from __future__ import annotations

import json

import pytest
from conftest import SHARED

from intake.routing.authoring import detect_language, detect_template
from intake.routing.authoring.layout import Shape
from intake.routing.authoring.zonefind import find_zones, kind_of, slugify
from intake.routing.templates import FieldKind, Template, blank_text, load_templates
from intake.routing.vocabulary import canonical_name


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


@pytest.mark.parametrize(
    ("label", "name"),
    [("Sukunimi", "last_name"), ("Efternamn", "last_name"), ("Etunimet", "first_name"), ("Förnamn", "first_name"),
     ("Henkilötunnus", "hetu"), ("Personbeteckning", "hetu"), ("Lähiosoite", "street"), ("Näradress", "street"),
     ("Postinumero", "postal_code"), ("Postnummer", "postal_code"), ("Postitoimipaikka", "municipality"),
     ("Postanstalt", "municipality"), ("Kotikunta", "municipality"), ("Hemkommun", "municipality"),
     ("Puhelinnumero", "phone"), ("Telefonnummer", "phone"), ("Sähköpostiosoite", "email"), ("E-postadress", "email"),
     ("Tilinumero (IBAN)", "iban"), ("Kontonummer (IBAN)", "iban"), ("Y-tunnus", "ytunnus"), ("FO-nummer", "ytunnus"),
     ("Päivämäärä", "signed_date"), ("Datum", "signed_date"), ("Syntymäaika", "birth_date"),
     ("Uusi lähiosoite", "new_street"), ("Ammatti", None), ("Kiinteistötunnus", None)],
    ids=lambda value: str(value),
)  # fmt: skip
def test_labels_in_finnish_and_swedish_give_the_canonical_name(label: str, name: str | None) -> None:
    assert canonical_name(label) == name


# Fields of someone other than the customer keep names of their own on purpose.
NOT_THE_CUSTOMERS = {("kela-to1-fi", "spouse_birth"), ("kela-to1-fi", "child1_birth"),
                     ("dvv-muutto-fi", "new_postal_code"), ("dvv-muutto-fi", "new_municipality")}  # fmt: skip


@pytest.mark.parametrize("template", load_templates(), ids=lambda t: t.id)
def test_every_bundled_form_uses_the_canonical_names(template: Template) -> None:
    for zone in template.zones:
        name = canonical_name(zone.label) if zone.kind != FieldKind.CHECKBOX else None
        if name is not None and (template.id, zone.name) not in NOT_THE_CUSTOMERS:
            assert zone.name == name, (zone.label, zone.name)


@pytest.mark.parametrize("form", json.loads((SHARED / "forms" / "catalogue.json").read_text())["forms"],
                         ids=lambda form: form["id"])  # fmt: skip
def test_the_language_is_detected_from_the_printed_text(form: dict) -> None:
    assert detect_language(blank_text(SHARED / "forms" / form["blank_pdf"])) == form["language"]


def test_templates_add_names_fields_canonically_and_detects_swedish(tmp_path) -> None:
    template = detect_template(SHARED / "forms" / "kela-sv8-sv.pdf", authority="KELA", code="SV 8r")
    assert template.language == "sv" and template.id == "kela-sv-8r-sv"
    names = {zone.name for zone in template.zones}
    assert {"last_name", "first_name", "hetu", "postal_code", "municipality", "iban", "email"} <= names
