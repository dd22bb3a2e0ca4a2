"""Read a registered page's zones: hand-printed fields by the ICR under each kind's rules, and checkboxes."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace

import cv2
import numpy as np

from intake.models import FieldValue
from intake.places import find_municipality, postal_area
from intake.routing.checkboxes import read_marks
from intake.routing.icr import FieldReading, decode, is_municipality, read_zone
from intake.routing.icr.comb import ink_mask
from intake.routing.icr.rules import hetu_birth_date
from intake.routing.templates import FieldKind, Zone
from intake.units import px_per_mm

log = logging.getLogger(__name__)

_INSET_MM = 0.7  # stay clear of the printed box lines
_EMPTY_INK = 0.002  # a zone with less ink than this (after removing rules) holds nothing
_UNREAD = (FieldKind.CHECKBOX, FieldKind.SIGNATURE)
CHECKED_KINDS = frozenset({FieldKind.HETU, FieldKind.YTUNNUS, FieldKind.IBAN})  # carry a check character
_RULED_KINDS = CHECKED_KINDS | {FieldKind.DATE, FieldKind.POSTAL, FieldKind.PHONE, FieldKind.AMOUNT, FieldKind.EMAIL}
_CONTENDER = 0.2  # a half of an agreeing pair must hold this much of its own field's readings
# Which birth date a henkilötunnus on the same page vouches for.
BIRTH_DATES = ("birth_date",)


def _crop(warped: np.ndarray, zone: Zone, dpi: int, inset_mm: float) -> np.ndarray:
    scale = px_per_mm(dpi)
    x, y, w, h = zone.box
    x0, y0 = round((x + inset_mm) * scale), round((y + inset_mm) * scale)
    x1, y1 = round((x + w - inset_mm) * scale), round((y + h - inset_mm) * scale)
    return warped[max(0, y0) : max(0, y1), max(0, x0) : max(0, x1)]


def _written(crop: np.ndarray) -> bool:
    """Whether a zone holds writing, its printed lines (comb separators, writing lines) aside.

    Ink is what the reader takes for ink (``comb.ink_mask``: each stroke by its own darkness),
    so a field written lightly or in hollow letters is read, not skipped as empty: a fixed
    grey level took 24 written fields of the dev corpus for blank (a postal code, a phone
    number and both dates of one form among them).
    """
    if crop.size == 0:
        return False
    ink = ink_mask(crop)
    h, w = ink.shape
    lines = np.zeros_like(ink)
    if w > 20:
        across = cv2.getStructuringElement(cv2.MORPH_RECT, (max(20, w // 3), 1))
        lines = np.maximum(lines, cv2.morphologyEx(ink, cv2.MORPH_OPEN, across))
    if h > 10:
        down = cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(10, int(h * 0.85))))
        lines = np.maximum(lines, cv2.morphologyEx(ink, cv2.MORPH_OPEN, down))
    ink[cv2.dilate(lines, np.ones((3, 3), np.uint8)) > 0] = 0
    return float(ink.mean()) >= _EMPTY_INK


def read_fields(warped: np.ndarray, zones: Sequence[Zone], *, dpi: int) -> dict[str, FieldValue]:
    """Read every written text zone of a page with the hand-print reader, then prove what can be proven.

    Each kind's rules choose among the recogniser's readings; ``valid`` is True only for a
    clear reading that a rule or a second field confirms (see ``prove``). Zones without ink
    are not read at all.
    """
    readings: dict[str, tuple[Zone, FieldReading]] = {}
    for zone in zones:
        if zone.kind in _UNREAD or not _written(_crop(warped, zone, dpi, _INSET_MM)):
            continue
        reading = read_zone(warped, zone, dpi=dpi)
        if reading.value is not None or reading.raw:
            readings[zone.name] = (zone, reading)
    return prove(readings)


def prove(readings: dict[str, tuple[Zone, FieldReading]]) -> dict[str, FieldValue]:
    """Field values with ``valid`` True only where proven: a clear reading and a rule or a second field.

    - henkilötunnus, Y-tunnus, IBAN: their check character is the rule;
    - postal code and municipality: the postal code's municipality (Posti) is the one written;
      with only one of them written, a clear reading of a code Posti has or of a municipality;
    - a birth date: the henkilötunnus on the page carries the same date.
    Anything else that is well read stays None ("not provable"); a reading that fails its
    kind's rules is False. What is not proven keeps its candidates for the advisor; an
    unproven henkilötunnus has no value at all, only candidates (at the desk).
    """
    readings = dict(readings)
    proven = _places_agree(readings) | _lone_places(readings) | _birth_dates_agree(readings)
    proven |= {name for name, (zone, r) in readings.items() if r.clear and zone.kind in CHECKED_KINDS}
    result = {}
    for name, (zone, reading) in readings.items():
        if name in proven:
            result[name] = FieldValue(reading.value, reading.confidence, True, raw=reading.raw)
            continue
        value = reading.value if reading.value is not None else (reading.formed or reading.raw.replace("?", "") or None)
        valid: bool | None = None
        if reading.value is None and zone.kind in _RULED_KINDS:
            valid = False  # as read, it breaks the kind's rules: a person must look
        if zone.kind == FieldKind.HETU:
            value = None  # an unproven reading may be another person's valid code: only candidates
        candidates = tuple(text for text, _ in reading.candidates[:3])
        result[name] = FieldValue(value, reading.confidence, valid, raw=reading.raw, candidates=candidates)
    return result


def _places_agree(readings: dict[str, tuple[Zone, FieldReading]]) -> set[str]:
    """Postal code and municipality pairs (``x_postal_code`` with ``x_municipality``) that confirm each other.

    The pair is read as one: among the two fields' candidates, the pairs whose postal code
    lies in the written municipality (Posti's table) compete, and the best must hold
    PAIR_CODE_POSTERIOR of them, each half being a real contender of its own field
    (``_contender``). The winning pair replaces the fields' readings: the rule chose it
    among what was read, as the check character does for a henkilötunnus. Failing that,
    one clear half proves the other when the other's best reading names the same
    municipality (a clear municipality proves only the place, not the code).
    """
    agreed = set()
    for name, zone, postal, prefix, pair in _postal_pairs(readings):
        joint = [
            (code, place, p * q)
            for code, p in postal.candidates
            for place, q in pair[1].candidates
            if _same_place(code, place)
        ]
        total = sum(w for _, _, w in joint)
        if total <= 0:  # no pair agrees, or only pairs too unlikely to weigh anything
            continue
        code, place, weight = max(joint, key=lambda item: item[2])
        contender = _contender(postal, code) and _contender(pair[1], place, by_list=True)
        if contender and weight / total >= decode.PAIR_CODE_POSTERIOR:
            readings[name] = (zone, replace(postal, value=code, confidence=weight / total, clear=True))
            agreed.add(name)
            if _torn(pair[1], place):  # the code and the place are proven, the name's spelling is not
                readings[f"{prefix}municipality"] = (pair[0], _with_both_names(pair[1], place))
            else:
                readings[f"{prefix}municipality"] = (
                    pair[0],
                    replace(pair[1], value=place, confidence=weight / total, clear=True),
                )
                agreed.add(f"{prefix}municipality")
            continue
        # The code may be torn between two of the same municipality's codes (50100 or 50200,
        # both Mikkeli): the municipality is still proven, by all the pairs that name it.
        municipality = _agreed_municipality(joint, total, postal, pair[1])
        if municipality is not None:
            place, share = municipality
            readings[f"{prefix}municipality"] = (pair[0], replace(pair[1], value=place, confidence=share, clear=True))
            agreed.add(f"{prefix}municipality")
    for name, _zone, postal, prefix, pair in _postal_pairs(readings):
        if name in agreed:
            continue
        written = pair[1]
        # A clear postal code, and the written name read as that code's municipality (even
        # with a letter in doubt): each reading is checked by the other.
        if postal.clear and postal.value and written.value and _same_place(postal.value, written.value):
            agreed.add(name)
            if not _torn(written, written.value):  # the place agrees; its name as written must be clear too
                readings[f"{prefix}municipality"] = (pair[0], replace(written, clear=True))
                agreed.add(f"{prefix}municipality")
            else:
                readings[f"{prefix}municipality"] = (pair[0], _with_both_names(written, written.value))
        # A clear municipality, and the postal code's best reading lies in it: the place is proven.
        elif written.clear and written.value and postal.value and _same_place(postal.value, written.value):
            agreed.add(f"{prefix}municipality")
    return agreed


def _lone_places(readings: dict[str, tuple[Zone, FieldReading]]) -> set[str]:
    """A clear postal code with no municipality written beside it, or a clear municipality with
    no postal code: the list is the rule (Posti's codes; Finland's municipalities).

    A clear reading already holds ACCEPT_POSTERIOR among what the list has: 3 % of all
    five-digit strings are postal codes, about the share a check character lets through, and
    far fewer strings of letters are municipalities. Where both are written, they must agree
    instead (``_places_agree``): a half that cannot be read, or names another place, leaves
    the other to a person.
    """
    lone = set()
    for name, (zone, reading) in readings.items():
        if not (reading.clear and reading.value):
            continue
        if zone.kind == FieldKind.POSTAL:
            other = readings.get(f"{name.removesuffix('postal_code')}municipality")
        elif is_municipality(zone):
            other = readings.get(f"{name.removesuffix('municipality')}postal_code")
        else:
            continue
        if other is None or not other[1].raw:
            lone.add(name)
    return lone


def _postal_pairs(
    readings: dict[str, tuple[Zone, FieldReading]],
) -> Iterator[tuple[str, Zone, FieldReading, str, tuple[Zone, FieldReading]]]:
    """Each postal code with its municipality field: (name, zone, reading, prefix, (zone, reading))."""
    for name, (zone, postal) in list(readings.items()):
        prefix = name.removesuffix("postal_code")
        pair = readings.get(f"{prefix}municipality")
        if zone.kind == FieldKind.POSTAL and pair is not None and is_municipality(pair[0]):
            yield name, zone, postal, prefix, pair


def _agreed_municipality(
    joint: list[tuple[str, str, float]], total: float, postal: FieldReading, written: FieldReading
) -> tuple[str, float] | None:
    """The municipality that PAIR_POSTERIOR of the agreeing pairs name, its name as written, and that share."""
    shares: dict[str, float] = {}
    for code, _place, weight in joint:
        key = postal_area(code).municipality.code  # type: ignore[union-attr]  # _same_place found it
        shares[key] = shares.get(key, 0.0) + weight / total
    key, share = max(shares.items(), key=lambda item: item[1])
    if share < decode.PAIR_POSTERIOR:
        return None
    ours = [(code, place, weight) for code, place, weight in joint if postal_area(code).municipality.code == key]  # type: ignore[union-attr]
    code, place, _ = max(ours, key=lambda item: item[2])
    if not (_contender(postal, code) and _contender(written, place, by_list=True)) or _torn(written, place):
        return None
    return place, share


def _contender(reading: FieldReading, value: str, *, by_list: bool = False) -> bool:
    """A reading of its own field in its own right: a real share of it, no character a long shot.

    ``by_list``: a municipality's name is chosen among the list's names of the written
    length, so one letter in doubt (TUKKU: the R read as K) does not make the name a guess;
    the name must still come from a plausible reading of the letters (``confidence`` above
    0), or be the name nearest to what was read when a letter was cut, merged or lost
    (TYMÄ5KYLÄ: JYVÄSKYLÄ), never clear on its own. Either way the pair must still hold
    PAIR_POSTERIOR for the municipality and PAIR_CODE_POSTERIOR for the code: the postal
    code, read apart, names the same municipality.
    """
    share = dict(reading.candidates).get(value, 0.0)
    if share < _CONTENDER:
        return False
    if value in reading.sound and (by_list or value in reading.plain):
        return True
    return by_list and (reading.confidence > 0 or (_nearest(reading) and reading.value == value))


def _nearest(reading: FieldReading) -> bool:
    """The name nearest to a reading with a letter cut, merged or lost (``rules.read_municipality``)."""
    return reading.confidence == 0 and bool(reading.candidates) and reading.value == reading.candidates[0][0]


def _torn(written: FieldReading, place: str) -> bool:
    """The municipality is read, but not which of its names was written (VASA or VAASA, both Vaasa).

    A second field proves the place, not the spelling: the name read must hold PAIR_POSTERIOR
    among the candidates that name the same municipality, or it is left to a person. A name
    nearest to a badly cut reading brings its place's other name among its candidates
    (``rules.read_municipality``) when that name is near the reading too, and then the two
    are never told apart: how many letters were written is what the cut put in doubt, and
    the alignment ranks names of other lengths by its gap cost, not by the writing. Femke's
    VAASA, cut into V, R, a speck, AS as one glyph and A, was VASA 0.51, VIRMO 0.23, VANDA 0.14
    and VAASA 0.04 with one model, VASA 0.85 and VAASA 0.015 with the next.
    """
    municipality = find_municipality(place)
    if municipality is None:
        return False
    same = {text: p for text, p in written.candidates if (m := find_municipality(text)) and m.code == municipality.code}
    total = sum(same.values())
    if len(same) > 1 and _nearest(written):
        return True
    return total > 0 and len(same) > 1 and same.get(place, 0.0) < decode.PAIR_POSTERIOR * total


def _with_both_names(written: FieldReading, place: str) -> FieldReading:
    """The reading with the place's names first among its candidates, for a person to choose."""
    municipality = find_municipality(place)
    names = tuple(name.upper() for name in municipality.names()) if municipality else (place,)
    share = dict(written.candidates)
    first = [(name, share.get(name, 0.0)) for name in sorted(names, key=lambda n: n != place)]
    rest = [(text, p) for text, p in written.candidates if text not in names]
    return replace(written, value=place, clear=False, candidates=tuple(first + rest))


def _same_place(code: str, name: str) -> bool:
    area, written = postal_area(code), find_municipality(name)
    return area is not None and written is not None and area.municipality.code == written.code


def _birth_dates_agree(readings: dict[str, tuple[Zone, FieldReading]]) -> set[str]:
    hetu = readings.get("hetu")
    if hetu is None or not hetu[1].clear or hetu[1].value is None:
        return set()
    born = hetu_birth_date(hetu[1].value)
    agreed = set()
    for name in BIRTH_DATES:
        date = readings.get(name)
        if born and date and date[1].clear and date[1].value == born.strftime("%d.%m.%Y"):
            agreed.add(name)
    return agreed


def read_checkboxes(
    warped: np.ndarray, zones: Sequence[Zone], *, dpi: int, blank: np.ndarray | None = None
) -> dict[str, bool]:
    """Ticked or not, for every checkbox zone (see ``checkboxes.read_marks`` for confidences)."""
    return {name: mark.ticked for name, mark in read_marks(warped, zones, dpi=dpi, blank=blank).items()}
