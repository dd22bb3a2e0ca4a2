"""Routing rules are data; one pure predicate says whether a rule matches, and why.

A rule is in force between its dates, decided by the document's scan date. A criterion
that depends on something intake could not prove (a postal code read with low confidence,
the customer's municipality) neither matches nor fails: it is *unknown*, and a document
whose first applicable rule is unknown is held for review rather than passed on to a
later rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from intake import places
from intake.config import Config, Rule
from intake.models import Document, Route
from intake.routing.place import Place, Unknown, proven_value, resolve


class Verdict(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Match:
    """Whether ``rule`` matches a document, with the reason in words."""

    rule: str
    verdict: Verdict
    reason: str


def _in_place(kind: str, wanted: list[str], place: Place) -> bool:
    municipality = place.municipality
    if kind == "municipality":
        return any(places.find_municipality(w) == municipality or w.zfill(3) == municipality.code for w in wanted)
    area: places.Area = getattr(municipality, kind)
    return any(places.find_area(kind, w) == area for w in wanted)


def _place_match(rule: Rule, document: Document, threshold: float) -> tuple[Verdict, str]:
    place = resolve(document, field_threshold=threshold)
    if isinstance(place, Unknown):
        return Verdict.UNKNOWN, place.reason
    for kind in ("municipality", "region", "employment_area", "elinvoimakeskus"):
        wanted: list[str] = getattr(rule, kind)
        if wanted and not _in_place(kind, wanted, place):
            return Verdict.NO, f"the customer's {kind.replace('_', ' ')} is not {'/'.join(wanted)}"
    return Verdict.YES, f"the customer lives in {place.describe()}"


def matches(rule: Rule, document: Document, *, field_threshold: float = 0.6) -> Match:
    """Does ``rule`` apply to ``document``? Pure: reads nothing else."""
    day = document.scan_date
    if not rule.in_force(day):
        return Match(rule.id, Verdict.NO, f"not in force on {day} (in force {rule.dates()})")
    said = []
    for name, wanted, have in (
        ("authority", rule.authority, document.authority),
        ("form", rule.form, document.form_id),
        ("language", rule.language, document.language),
    ):
        if wanted:
            if have not in wanted:
                return Match(rule.id, Verdict.NO, f"{name} {have} is not {'/'.join(wanted)}")
            said.append(f"{name} {have}")
    if rule.postal_code:
        value = proven_value(document, "postal_code", field_threshold)
        if value is None:
            return Match(rule.id, Verdict.UNKNOWN, "needs postal_code, which could not be read reliably")
        if not any(value.startswith(prefix) for prefix in rule.postal_code):
            return Match(rule.id, Verdict.NO, "postal_code does not match")
        said.append("postal_code matches")
    if rule.places:
        verdict, reason = _place_match(rule, document, field_threshold)
        if verdict is not Verdict.YES:
            return Match(rule.id, verdict, reason)
        said.append(reason)
    return Match(rule.id, Verdict.YES, ", ".join(said) or "matches every document")


def route(document: Document, config: Config) -> Route | Match:
    """The first matching rule's destination, or the Match that stops routing (review)."""
    day = document.scan_date
    for rule in config.routing.rules:
        match = matches(rule, document, field_threshold=config.routing.field_threshold)
        if match.verdict is Verdict.NO:
            continue
        if match.verdict is Verdict.UNKNOWN:
            return match
        destination = config.destinations[rule.destination]
        if not destination.in_force(day):
            return Match(rule.id, Verdict.NO, f"destination {rule.destination} is not in force on {day} "
                                              f"(in force {destination.dates()})")  # fmt: skip
        place = resolve(document, field_threshold=config.routing.field_threshold) if rule.places else None
        return Route(
            rule=rule.id, destination=destination.address, reason=f"rule {rule.id}: {match.reason}",
            target=rule.destination, place=place.municipality.code if isinstance(place, Place) else None,
        )  # fmt: skip
    return Match("", Verdict.NO, f"no routing rule for {document.authority} {document.form_id} on {day}")


def explain(document: Document, config: Config) -> list[Match]:
    """Every rule's verdict on ``document``, in order: for 'why did it go there?'."""
    return [matches(rule, document, field_threshold=config.routing.field_threshold) for rule in config.routing.rules]
