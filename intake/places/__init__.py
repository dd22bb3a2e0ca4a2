"""Finland's places: municipalities (fi/sv), regions, employment areas, elinvoimakeskus areas, postal codes.

The data ships in ``data/`` with its sources and dates in ``data/SOURCES.md``; update it as
that file says. Look-ups accept Finnish or Swedish names in any case and spacing.
"""

from intake.places.lookup import (
    Area,
    Municipality,
    PostalArea,
    all_municipalities,
    all_postal_areas,
    areas,
    find_area,
    find_municipality,
    fold,
    municipality_by_code,
    postal_area,
)

__all__ = [
    "Area",
    "Municipality",
    "PostalArea",
    "all_municipalities",
    "all_postal_areas",
    "areas",
    "find_area",
    "find_municipality",
    "fold",
    "municipality_by_code",
    "postal_area",
]
