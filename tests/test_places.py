"""The shipped place data: complete, consistent, and found by the names people write."""

from __future__ import annotations

import pytest

from intake.places import all_municipalities, find_municipality, municipality_by_code, postal_area
from intake.places.lookup import _postal


def test_every_municipality_has_all_its_areas() -> None:
    municipalities = all_municipalities()
    assert len(municipalities) == 308
    assert len({m.region.code for m in municipalities}) == 19
    assert len({m.elinvoimakeskus.code for m in municipalities}) == 10
    # 45 employment areas, plus Statistics Finland's code 46 for Åland (see SOURCES.md).
    assert len({m.employment_area.code for m in municipalities}) == 46


def test_every_postal_code_names_a_known_municipality() -> None:
    areas = _postal()
    assert len(areas) == 3779
    assert {a.municipality.code for a in areas.values()} == {m.code for m in all_municipalities()}


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Helsinki", "091"),
        ("HELSINGFORS", "091"),
        ("  kuopio ", "297"),
        ("Pedersöre", "599"),
        ("Pedersören kunta", "599"),
        ("S:t Mårtens", "480"),
        ("Sankt Mårtens", "480"),
        ("Mustasaari", "499"),
        ("Korsholm", "499"),
        ("Koski Tl", "284"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_found_by_finnish_or_swedish_name(written: str, code: str) -> None:
    found = find_municipality(written)
    assert found is not None and found.code == code


@pytest.mark.parametrize("written", ["Narpio", "Helsinky", "", "Tukholma"])
def test_unknown_or_misspelt_names_are_not_guessed(written: str) -> None:
    assert find_municipality(written) is None


def test_areas_follow_todays_organisation() -> None:
    espoo = municipality_by_code("49")
    assert espoo is not None and espoo.employment_area.name_fi == "Espoo-Kauniainen"
    kuopio = find_municipality("Kuopio")
    assert kuopio is not None and kuopio.elinvoimakeskus.name_fi == "Itä-Suomen elinvoimakeskus"
    assert kuopio.region.name_fi == "Pohjois-Savo"


def test_postal_code_gives_the_primary_municipality() -> None:
    area = postal_area("70100")
    assert area is not None and area.municipality.name_fi == "Kuopio" and area.ordinary
    assert postal_area("99999") is not None  # Korvatunturi exists
    assert postal_area("00001") is None
