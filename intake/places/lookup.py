"""Look-ups over the shipped place data: name or code to municipality, postal code to municipality."""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Area:
    """A named area with a code: a region, an employment area or an elinvoimakeskus area."""

    code: str
    name_fi: str
    name_sv: str


@dataclass(frozen=True)
class Municipality:
    """A municipality with every area it belongs to."""

    code: str  # Statistics Finland's three-digit code, e.g. "091"
    name_fi: str
    name_sv: str
    region: Area  # maakunta
    employment_area: Area  # työllisyysalue, from 1.1.2025
    elinvoimakeskus: Area  # from 1.1.2026

    def names(self) -> tuple[str, ...]:
        return (self.name_fi,) if self.name_fi == self.name_sv else (self.name_fi, self.name_sv)


@dataclass(frozen=True)
class PostalArea:
    """A postal code and the municipality Posti gives as its primary one."""

    code: str
    name_fi: str
    name_sv: str
    municipality: Municipality
    ordinary: bool  # Posti type 1: a street-address area (others are P.O. boxes, reply mail …)


def fold(name: str) -> str:
    """A comparison key: case, spacing, hyphens and the sv prefix form 'S:t' do not matter.

    Diacritics do matter (Närpiö and Narpio are not folded together): Ä and A are different
    letters in Finnish and Swedish, and a reading that lost them is a misreading.
    """
    text = unicodedata.normalize("NFC", name).casefold().replace("s:t ", "sankt ")
    return " ".join(text.replace("-", " ").split())


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


@cache
def _by_code() -> dict[str, Municipality]:
    areas = {row["municipality_code"]: Area(row["area_code"], row["area_fi"], row["area_sv"])
             for row in _rows("employment_areas.csv")}  # fmt: skip
    centres = {row["region_code"]: Area(row["centre_code"], row["centre_fi"], row["centre_sv"])
               for row in _rows("elinvoimakeskus.csv")}  # fmt: skip
    found = {}
    for row in _rows("municipalities.csv"):
        region = Area(row["region_code"], row["region_fi"], row["region_sv"])
        found[row["code"]] = Municipality(
            row["code"], row["name_fi"], row["name_sv"], region, areas[row["code"]], centres[row["region_code"]]
        )
    return found


@cache
def _by_name() -> dict[str, Municipality]:
    index: dict[str, Municipality] = {}
    for municipality in _by_code().values():
        for name in municipality.names():
            index[fold(name)] = municipality
    # Statistics Finland writes 599 "Pedersören kunta"; Posti and people write "Pedersöre".
    index.setdefault(fold("Pedersöre"), _by_code()["599"])
    return index


@cache
def _postal() -> dict[str, PostalArea]:
    municipalities = _by_code()
    return {
        row["postal_code"]: PostalArea(
            row["postal_code"],
            row["postal_name_fi"],
            row["postal_name_sv"],
            municipalities[row["municipality_code"]],
            row["type_code"] == "1",
        )
        for row in _rows("postal_codes.csv")
    }


def all_municipalities() -> list[Municipality]:
    """Every municipality, by code."""
    return sorted(_by_code().values(), key=lambda m: m.code)


def municipality_by_code(code: str) -> Municipality | None:
    return _by_code().get(code.zfill(3))


def find_municipality(name: str) -> Municipality | None:
    """The municipality called ``name`` in Finnish or Swedish, or None."""
    return _by_name().get(fold(name))


def postal_area(code: str) -> PostalArea | None:
    """The postal area of a five-digit code, or None when Posti has no such code."""
    return _postal().get(code.strip())


def areas(kind: str) -> list[Area]:
    """Every area of one kind ("region", "employment_area" or "elinvoimakeskus"), by code."""
    found = {getattr(m, kind).code: getattr(m, kind) for m in _by_code().values()}
    return [found[code] for code in sorted(found)]


def find_area(kind: str, name: str) -> Area | None:
    """The area of ``kind`` named ``name`` (Finnish or Swedish, any case) or with that code."""
    key = fold(name)
    for area in areas(kind):
        if key in (fold(area.code), fold(area.name_fi), fold(area.name_sv)):
            return area
    return None


def all_postal_areas() -> list[PostalArea]:
    """Every postal code Posti lists, by code."""
    return sorted(_postal().values(), key=lambda p: p.code)
