"""Where the customer lives, as far as it is proven: the municipality that place rules decide by.

Only proven readings count (``valid is True``): the municipality written on the form,
cross-checked with the postal code when both are proven, or the postal code alone (Posti's
primary municipality of a street-address code). A municipality the advisor gave at the
desk (``Document.place_override``) is proven by them and wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from intake import places
from intake.models import Document

NEEDS_MUNICIPALITY = "needs the customer's municipality"


@dataclass(frozen=True)
class Place:
    """The customer's municipality and how it is known."""

    municipality: places.Municipality
    source: str  # "given by the advisor", "municipality and postal code", "postal code", "municipality"

    def describe(self) -> str:
        return f"{self.municipality.name_fi} ({self.municipality.code}, from the {self.source})"


@dataclass(frozen=True)
class Unknown:
    """Why the place could not be proven."""

    reason: str


def proven_value(document: Document, name: str, threshold: float) -> str | None:
    """A field's value when it is proven (``valid`` True) and confident enough to route by."""
    value = document.fields.get(name)
    if value is None or value.value is None or value.valid is not True or value.confidence < threshold:
        return None
    return value.value


def _named(text: str) -> places.Municipality | None:
    return places.find_municipality(text) or places.municipality_by_code(text) if text.strip() else None


def resolve(document: Document, *, field_threshold: float = 0.6) -> Place | Unknown:
    """The customer's proven municipality, or why there is none. Pure: reads only the document."""
    if document.place_override:
        given = _named(document.place_override)
        if given is None:
            return Unknown(f"{NEEDS_MUNICIPALITY}: the advisor's {document.place_override!r} is no municipality")
        return Place(given, "given by the advisor")
    written = proven_value(document, "municipality", field_threshold)
    postal = proven_value(document, "postal_code", field_threshold)
    area = places.postal_area(postal) if postal else None
    if written is not None:
        named = _named(written)
        if named is None and area is not None and places.fold(written) in {places.fold(area.name_fi),
                                                                            places.fold(area.name_sv)}:  # fmt: skip
            named = area.municipality  # the post office's name, in the municipality of its code
        if named is None:
            return Unknown(f"{NEEDS_MUNICIPALITY}: the written place is no municipality")
        if area is not None and area.municipality != named and area.ordinary:
            return Unknown(f"{NEEDS_MUNICIPALITY}: the postal code and the written municipality disagree")
        return Place(named, "municipality and postal code" if area is not None else "municipality")
    if area is not None and area.ordinary:
        return Place(area.municipality, "postal code")
    return Unknown(NEEDS_MUNICIPALITY)
