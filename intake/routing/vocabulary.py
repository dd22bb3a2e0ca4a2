"""One field vocabulary across forms: canonical names and the Finnish and Swedish labels that mean them.

Rules, manifests and the agencies' case systems use these names whatever the form, so a
field printed "Postinumero" on one form and "Postnummer" on another is ``postal_code``
on both. A form's own fields (a property id, a loan amount) keep names of their own.
"""

from __future__ import annotations

import re
import unicodedata

# name -> label patterns (folded: lower case, no diacritics), Finnish and Swedish.
# Order matters: the first name whose pattern is found in a label wins, so the more
# specific labels ("uusi lähiosoite", "syntymäaika") come before the general ones.
CANONICAL: dict[str, tuple[str, ...]] = {
    "hetu": (r"henkilotunnus", r"personbeteckning"),
    "ytunnus": (r"y-tunnus", r"\bytunnus", r"fo-nummer", r"foretags- och organisationsnummer"),
    "iban": (r"\biban\b", r"tilinumero", r"kontonummer"),
    "birth_date": (r"syntymaaika", r"fodelsedatum"),
    "signed_date": (r"^paivamaara", r"^paikka ja (aika|paivamaara)", r"^datum", r"^ort och datum"),
    "signature": (r"allekirjoitus", r"underskrift"),
    "new_street": (r"uusi (lahi)?osoite", r"ny (nar)?adress"),
    "last_name": (r"sukunimi", r"efternamn"),
    "first_name": (r"etunimet", r"etunimi", r"fornamn"),
    "name": (r"^nimi", r"nimi tai toiminimi", r"hakijan nimi", r"yrityksen nimi", r"^namn", r"sokandens namn"),
    "street": (r"lahiosoite", r"kayntiosoite", r"^osoite", r"naradd?ress", r"besoksadress", r"^adress"),
    "postal_code": (r"postinumero", r"postnummer"),
    "municipality": (r"postitoimipaikka", r"kotikunta", r"postanstalt", r"hemkommun", r"^kunta", r"^kommun"),
    "phone": (r"puhelin", r"telefon"),
    "email": (r"sahkoposti", r"e-post"),
}


def fold(text: str) -> str:
    """Lower case without diacritics and with single spaces: 'Päivämäärä' -> 'paivamaara'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return " ".join(ascii_text.split())


def canonical_name(label: str) -> str | None:
    """The canonical field name a printed label means, or None for a form's own field."""
    folded = fold(label)
    for name, patterns in CANONICAL.items():
        if any(re.search(pattern, folded) for pattern in patterns):
            return name
    return None
