"""Routing rules are data; one pure predicate says whether a rule matches, and why.

A criterion that depends on a field intake could not read reliably (a postal code with
low confidence) neither matches nor fails: it is *unknown*, and a document whose first
applicable rule is unknown is held for review rather than passed on to a later rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from intake.config import Config, Rule
from intake.models import Document, Route


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


def _field(document: Document, name: str, threshold: float) -> str | None:
    """A field's value when it is proven (``valid`` True) and confident enough to route by."""
    value = document.fields.get(name)
    if value is None or value.value is None or value.valid is not True or value.confidence < threshold:
        return None
    return value.value


def matches(rule: Rule, document: Document, *, field_threshold: float = 0.6) -> Match:
    """Does ``rule`` apply to ``document``? Pure: reads nothing else."""
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
    for name, wanted, compare in (
        ("municipality", rule.municipality, lambda v, w: v.casefold() in {x.casefold() for x in w}),
        ("postal_code", rule.postal_code, lambda v, w: any(v.startswith(p) for p in w)),
    ):
        if not wanted:
            continue
        value = _field(document, name, field_threshold)
        if value is None:
            return Match(rule.id, Verdict.UNKNOWN, f"needs {name}, which could not be read reliably")
        if not compare(value, wanted):
            return Match(rule.id, Verdict.NO, f"{name} does not match")
        said.append(f"{name} matches")
    return Match(rule.id, Verdict.YES, ", ".join(said) or "matches every document")


def route(document: Document, config: Config) -> Route | Match:
    """The first matching rule's destination, or the Match that stops routing (review)."""
    for rule in config.routing.rules:
        match = matches(rule, document, field_threshold=config.routing.field_threshold)
        if match.verdict is Verdict.NO:
            continue
        if match.verdict is Verdict.UNKNOWN:
            return match
        destination = config.destinations[rule.destination]
        return Route(rule=rule.id, destination=destination.address, reason=f"rule {rule.id}: {match.reason}")
    return Match("", Verdict.NO, f"no routing rule for {document.authority} {document.form_id}")


def explain(document: Document, config: Config) -> list[Match]:
    """Every rule's verdict on ``document``, in order: for 'why did it go there?'."""
    return [matches(rule, document, field_threshold=config.routing.field_threshold) for rule in config.routing.rules]
