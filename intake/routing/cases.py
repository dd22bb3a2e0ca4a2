"""The administrator's table of expected routings (``intake rules test``) and replays under new rules.

A cases file is TOML, one ``[[case]]`` per expectation::

    [[case]]
    id = "te-pori-2025"               # unique, named in the report
    form = "te-ilmo1-fi"              # authority and language come from the form's template
    scanned = 2025-01-01              # the scan date (default: today)
    municipality = "Pori"             # the customer's proven municipality (optional)
    postal_code = "28100"             # the customer's proven postal code (optional)
    expect = "te-satakunta"           # the destination key; or
    # hold = "needs the customer's municipality"   # the hold reason (a part of it)
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from intake.config import Config
from intake.errors import ConfigError
from intake.models import Document, FieldValue, Route, SourceFile
from intake.register import Entry
from intake.routing.rules import route
from intake.routing.templates import Template


class Case(BaseModel):
    """One expected routing."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    form: str
    scanned: dt.date | None = None
    municipality: str | None = None
    postal_code: str | None = Field(None, pattern=r"^\d{5}$")
    language: str | None = Field(None, pattern=r"^(fi|sv)$", description="default: the form's")
    expect: str | None = None
    hold: str | None = None

    @model_validator(mode="after")
    def _one_expectation(self) -> Case:
        if (self.expect is None) == (self.hold is None):
            raise ValueError(f"case {self.id!r}: give either expect (a destination) or hold (a reason)")
        return self


class _Cases(BaseModel):
    model_config = ConfigDict(extra="forbid")

    case: list[Case] = Field(min_length=1)


@dataclass(frozen=True)
class Outcome:
    """A case and what routing made of it."""

    case: Case
    passed: bool
    got: str  # "-> destination (rule r)" or "held: reason"


def load_cases(path: Path, templates: Sequence[Template]) -> list[Case]:
    """Read and validate a cases file: ids unique, every form known."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        cases = _Cases.model_validate(data).case
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", file=str(path)) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(path)) from exc
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        raise ConfigError(error["msg"].removeprefix("Value error, "), file=str(path), key=key) from exc
    known = {template.id for template in templates}
    seen: set[str] = set()
    for index, case in enumerate(cases):
        if case.form not in known:
            raise ConfigError(f"unknown form {case.form!r} (see 'intake templates check')", file=str(path),
                              key=f"case.{index}.form")  # fmt: skip
        if case.id in seen:
            raise ConfigError(f"case id {case.id!r} is used twice", file=str(path), key=f"case.{index}.id")
        seen.add(case.id)
    return cases


def case_document(case: Case, template: Template, today: dt.date) -> Document:
    """The document a case describes: the form, its scan date and the customer's proven place."""
    source = SourceFile(Path(f"case-{case.id}"), "", 0, "case", 0)
    document = Document(source, [], template.id, authority=template.authority, code=template.code,
                        language=case.language or template.language, scanned=case.scanned or today)  # fmt: skip
    if case.municipality is not None:
        document.fields["municipality"] = FieldValue(case.municipality, 1.0, True)
    if case.postal_code is not None:
        document.fields["postal_code"] = FieldValue(case.postal_code, 1.0, True)
    return document


def describe(decision: Route | object) -> str:
    if isinstance(decision, Route):
        return f"-> {decision.target} <{decision.destination}> (rule {decision.rule})"
    return f"held: {getattr(decision, 'reason', decision)}"


def run_cases(cases: Sequence[Case], config: Config, templates: Sequence[Template], today: dt.date) -> list[Outcome]:
    """Route every case; each passes when it goes where (or is held as) the administrator expects."""
    by_id = {template.id: template for template in templates}
    outcomes = []
    for case in cases:
        decision = route(case_document(case, by_id[case.form], today), config)
        if case.expect is not None:
            passed = isinstance(decision, Route) and case.expect in (decision.target, decision.destination)
        else:
            passed = not isinstance(decision, Route) and (case.hold or "") in decision.reason
        outcomes.append(Outcome(case, passed, describe(decision)))
    return outcomes


@dataclass(frozen=True)
class Past:
    """A document decided before: what routing knew of it, and where it went (None: held)."""

    label: str  # a package id or a store id: nothing personal
    document: Document
    destination: str | None
    was: str


def from_register(entry: Entry) -> Past:
    return Past(entry.package_id, entry.document(), entry.destination,
                f"-> {entry.target} <{entry.destination}> (rule {entry.rule})")  # fmt: skip


@dataclass(frozen=True)
class Change:
    """A past document that a new rule set would decide differently."""

    past: Past
    now: str


def replay(past: Sequence[Past], config: Config) -> list[Change]:
    """Decide past documents again under ``config``; the ones that would go elsewhere (or be held, or be sent)."""
    changes = []
    for item in past:
        decision = route(item.document, config)
        went = decision.destination if isinstance(decision, Route) else None
        if went != item.destination:
            changes.append(Change(item, describe(decision)))
    return changes
