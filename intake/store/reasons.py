"""Why a document is held, in plain words: worked out from what was read, not parsed from the pipeline's log text.

Each reason is a code with a few parameters; the desk translates the code (fi, sv, en),
and ``describe`` gives the English for the command line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from intake.config import Config
from intake.routing.place import NEEDS_MUNICIPALITY
from intake.routing.rules import Match, Verdict, route
from intake.routing.templates import Template
from intake.store.api import Store
from intake.store.models import State, StoredDocument

ENGLISH = {
    "blank": "Only blank pages were found.",
    "unknown-form": "Intake did not recognise the form: choose it from the list.",
    "unsure-form": "Intake is not sure which form this is: check and confirm the form.",
    "orientation": "Page {page} may be the wrong way up: look at it and turn it if needed.",
    "first-page-missing": "The first page of the form is missing.",
    "pages-missing": "The form has {expected} pages but {found} were scanned.",
    "needs-field": "Where it goes depends on the customer's {field}, which could not be read: give it.",
    "no-rule": "No rule says where this form goes: ask the administrator.",
    "not-queued": "The package could not be made ({detail}): ask the administrator.",
    "doubtful-field": "The {field} could not be read for certain: check it against the form.",
}


@dataclass(frozen=True)
class Reason:
    """One reason a document is held, or one doubtful field the advisor should check."""

    code: str
    params: dict[str, str | int] = field(default_factory=dict)

    def describe(self) -> str:
        return ENGLISH[self.code].format(**self.params)


def _form_reasons(stored: StoredDocument, template: Template | None, threshold: float) -> list[Reason]:
    pages = list(stored.pages.filter(dropped=False))
    if not pages:
        return [Reason("blank")]
    if template is None:
        return [Reason("unknown-form")]
    found: list[Reason] = []
    if not stored.form_confirmed:
        found += [Reason("orientation", {"page": p.position}) for p in pages if not p.orientation_confident]
        if pages[0].form_page not in (0, 1):
            found.append(Reason("first-page-missing"))
        if len(pages) < template.pages:
            found.append(Reason("pages-missing", {"expected": template.pages, "found": len(pages)}))
        if stored.confidence < threshold:
            found.append(Reason("unsure-form"))
    return found


def _rule_reason(decision: Match) -> Reason:
    if decision.verdict is Verdict.UNKNOWN and decision.reason.startswith(NEEDS_MUNICIPALITY):
        return Reason("needs-field", {"field": "municipality"})
    if decision.verdict is Verdict.UNKNOWN and decision.reason.startswith("needs "):
        return Reason("needs-field", {"field": decision.reason.split()[1].rstrip(",")})
    return Reason("no-rule")


def held_reasons(stored: StoredDocument, store: Store, templates: tuple[Template, ...], config: Config) -> list[Reason]:
    """Why ``stored`` is held, in the order the advisor should deal with them (empty when it is not held)."""
    if stored.state != State.HELD:
        return []
    template = next((t for t in templates if t.id == stored.form_id), None)
    found = _form_reasons(stored, template, config.routing.review_threshold)
    if stored.reason and stored.reason.startswith("could not be queued"):
        found.append(Reason("not-queued", {"detail": stored.reason.removeprefix("could not be queued: ")}))
    if template is not None:
        document = store.rebuild(stored)
        document.authority, document.language = template.authority, template.language
        decision = route(document, config)
        if isinstance(decision, Match):
            found.append(_rule_reason(decision))
    return found


def doubtful_fields(stored: StoredDocument, threshold: float) -> list[str]:
    """Names of the fields the advisor should look at: unproven candidates, broken rules, low confidence."""
    doubtful = []
    for item in stored.fields.all():
        if item.corrected_by:
            continue
        if item.candidates or item.valid is False or (item.value and item.confidence < threshold):
            doubtful.append(item.name)
    return doubtful
