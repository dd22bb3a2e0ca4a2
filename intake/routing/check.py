"""``intake rules check``: every form routable today? rules shadowed? dates continuous? certificates valid?

Every finding is data (a ``Finding``) with its severity; the command prints them and
fails when any is an error.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from pathlib import Path

from intake import places
from intake.config import Config, Destination, Rule
from intake.config_routing import PLACE_KINDS
from intake.models import Document, FieldValue, Route, SourceFile
from intake.routing.rules import route
from intake.routing.templates import Template

_PLACES = ("municipality", *PLACE_KINDS)
_SOURCE = SourceFile(Path("rules-check"), "", 0, "check", 0)


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem found in the routing table, in words."""

    severity: Severity
    subject: str  # a rule, destination or form
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.subject}: {self.message}"


@dataclass(frozen=True)
class Coverage:
    """Where one form goes on a day: destination -> number of municipalities, and the places that go nowhere."""

    form: str
    destinations: dict[str, int]
    unrouted: dict[str, list[str]]  # reason -> municipality names


@cache
def _postal_code_of(code: str) -> str | None:
    """One street-address postal code of a municipality (for trying postal-code rules)."""
    return next((p.code for p in places.all_postal_areas() if p.ordinary and p.municipality.code == code), None)


def _document(template: Template, day: dt.date, municipality: places.Municipality | None = None) -> Document:
    document = Document(_SOURCE, [], template.id, authority=template.authority, code=template.code,
                        language=template.language, scanned=day)  # fmt: skip
    if municipality is not None:
        document.fields["municipality"] = FieldValue(municipality.name_fi, 1.0, True)
        postal = _postal_code_of(municipality.code)
        if postal is not None:
            document.fields["postal_code"] = FieldValue(postal, 1.0, True)
    return document


def coverage(config: Config, templates: Sequence[Template], day: dt.date) -> list[Coverage]:
    """For every form: where it goes on ``day``, trying every municipality when a rule needs the place."""
    found = []
    for template in templates:
        decision = route(_document(template, day), config)
        if isinstance(decision, Route) or not decision.rule:  # routed, or no rule at all: place is no matter
            name = decision.target if isinstance(decision, Route) else None
            everywhere = len(places.all_municipalities())
            found.append(Coverage(template.id, {name: everywhere} if name else {},
                                  {} if name else {decision.reason: ["every municipality"]}))  # fmt: skip
            continue
        destinations: dict[str, int] = defaultdict(int)
        unrouted: dict[str, list[str]] = defaultdict(list)
        for municipality in places.all_municipalities():
            decision = route(_document(template, day, municipality), config)
            if isinstance(decision, Route) and decision.target is not None:
                destinations[decision.target] += 1
            elif not isinstance(decision, Route):
                unrouted[decision.reason].append(municipality.name_fi)
        found.append(Coverage(template.id, dict(destinations), dict(unrouted)))
    return found


def _covers(wide: Rule, narrow: Rule, forms: dict[str, str]) -> bool:
    """Whether every document ``narrow`` matches is matched by ``wide`` too (a sufficient test)."""
    narrow_authorities = set(narrow.authority) or {forms.get(f, "") for f in narrow.form}
    if wide.authority and not narrow_authorities <= set(wide.authority):
        return False
    for name in ("form", "language", *_PLACES):
        mine, theirs = getattr(wide, name), getattr(narrow, name)
        if mine and not (theirs and set(theirs) <= set(mine)):
            return False
    if wide.postal_code and not (narrow.postal_code and all(
            any(p.startswith(q) for q in wide.postal_code) for p in narrow.postal_code)):  # fmt: skip
        return False
    early, late = dt.date.min, dt.date.max
    return (wide.valid_from or early) <= (narrow.valid_from or early) and (narrow.valid_until or late) <= (
        wide.valid_until or late
    )


def shadowed(config: Config, templates: Sequence[Template]) -> list[Finding]:
    """Rules that can never decide, because an earlier rule takes every document they match."""
    forms = {template.id: template.authority for template in templates}
    found = []
    for index, rule in enumerate(config.routing.rules):
        earlier = next((e for e in config.routing.rules[:index] if _covers(e, rule, forms)), None)
        if earlier is not None:
            found.append(Finding(Severity.ERROR, f"rule {rule.id}", f"never decides: rule {earlier.id} before it "
                                                                     "takes every document it matches"))  # fmt: skip
    return found


def _scope(rule: Rule) -> tuple:
    return tuple(tuple(sorted(getattr(rule, name))) for name in ("authority", "form", "language"))


def _places(rule: Rule) -> tuple:
    return tuple(tuple(sorted(getattr(rule, name))) for name in ("postal_code", *_PLACES))


def dated(config: Config) -> list[Finding]:
    """Overlaps between dated rules of the same scope and place, and gaps in a scope's dates."""
    groups: dict[tuple, list[Rule]] = defaultdict(list)
    for rule in config.routing.rules:
        groups[_scope(rule)].append(rule)
    found = []
    for rules in groups.values():
        if not any(rule.valid_from or rule.valid_until for rule in rules):
            continue
        ordered = sorted(rules, key=lambda r: r.valid_from or dt.date.min)
        for index, rule in enumerate(ordered):
            for later in ordered[index + 1 :]:
                if _places(later) == _places(rule) and (rule.valid_until is None or later.valid_from is None
                                                        or later.valid_from <= rule.valid_until):  # fmt: skip
                    found.append(Finding(Severity.ERROR, f"rule {later.id}",
                                         f"overlaps rule {rule.id} ({later.dates()} and {rule.dates()})"))  # fmt: skip
        found += _gaps(ordered)
    return found


def _gaps(ordered: list[Rule]) -> list[Finding]:
    found = []
    covered_until: dt.date | None = ordered[0].valid_until
    for rule in ordered[1:]:
        if covered_until is None:
            break
        start = rule.valid_from or dt.date.min
        if start > covered_until + dt.timedelta(days=1):
            found.append(Finding(Severity.ERROR, f"rule {rule.id}",
                                 f"gap: nothing in force from {covered_until + dt.timedelta(days=1)} "
                                 f"to {start - dt.timedelta(days=1)} before it"))  # fmt: skip
        covered_until = None if rule.valid_until is None else max(covered_until, rule.valid_until)
    return found


def certificates(config: Config, day: dt.date) -> list[Finding]:
    """Destinations in force on ``day`` that a rule uses, whose certificate is missing, invalid or not theirs."""
    used = {rule.destination for rule in config.routing.rules if rule.in_force(day)}
    found = []
    for name in sorted(used):
        destination = config.destinations[name]
        if destination.in_force(day):
            problem = _certificate_problem(destination, day)
            if problem is not None:
                severity = Severity.ERROR if config.transport.smime.require_encryption else Severity.WARNING
                found.append(Finding(severity, f"destination {name}", problem))
    return found


def _certificate_problem(destination: Destination, day: dt.date) -> str | None:
    from cryptography import x509

    if destination.certificate is None:
        return "no certificate: packages to it cannot be encrypted"
    try:
        cert = x509.load_pem_x509_certificate(Path(destination.certificate).read_bytes())
    except OSError as exc:
        return f"certificate {destination.certificate} cannot be read ({exc.strerror})"
    except ValueError:
        return f"{destination.certificate} is not a PEM certificate"
    now = dt.datetime.now(dt.UTC)
    moment = now if day == now.date() else dt.datetime.combine(day, dt.time(12), dt.UTC)
    if not cert.not_valid_before_utc <= moment <= cert.not_valid_after_utc:
        since, until = cert.not_valid_before_utc, cert.not_valid_after_utc
        return f"certificate valid {since:%Y-%m-%d} – {until:%Y-%m-%d}, not on {day}"
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        addresses = {a.lower() for a in names.get_values_for_type(x509.RFC822Name)}
    except x509.ExtensionNotFound:
        addresses = set()
    if destination.address.lower() not in addresses:
        return f"certificate is not for {destination.address} (it names {', '.join(sorted(addresses)) or 'no address'})"
    return None


def check(config: Config, templates: Sequence[Template], day: dt.date) -> list[Finding]:
    """Everything ``intake rules check`` reports, errors first."""
    found = shadowed(config, templates) + dated(config) + certificates(config, day)
    for item in coverage(config, templates, day):
        for reason, names in item.unrouted.items():
            where = "every municipality" if names == ["every municipality"] else f"{len(names)} municipalities"
            found.append(Finding(Severity.ERROR, f"form {item.form}", f"not routable on {day} for {where}: {reason}"))
    return sorted(found, key=lambda f: f.severity != Severity.ERROR)
