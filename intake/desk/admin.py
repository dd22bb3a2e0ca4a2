"""Administrators' pages: the routing rules, the rule test table, ``explain`` for a document, the desk's audit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from intake.desk.users import is_administrator
from intake.desk.views import _get, desk
from intake.models import Document, SourceFile
from intake.routing.rules import Match, explain, route
from intake.store.models import Event


def administrator(view: Any) -> Any:
    """Signed in with the administrator role."""

    @login_required
    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_administrator(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return checked


@dataclass(frozen=True)
class TestRow:
    """Where a form would go when nothing but its identity is known (no place, no fields)."""

    form: str
    authority: str
    language: str
    rule: str
    outcome: str


def _test_table() -> list[TestRow]:
    current = desk()
    source = SourceFile(path=current.store.folder, sha256="0" * 64, size=0, format="pdf", page_count=1)
    table = []
    for template in sorted(current.templates, key=lambda t: (t.authority, t.id)):
        probe = Document(source=source, pages=[], form_id=template.id, authority=template.authority,
                         code=template.code, language=template.language)  # fmt: skip
        decision = route(probe, current.config)
        if isinstance(decision, Match):
            table.append(TestRow(template.id, template.authority, template.language, decision.rule or "-",
                                 decision.reason))  # fmt: skip
        else:
            table.append(TestRow(template.id, template.authority, template.language, decision.rule or "-",
                                 decision.destination or "-"))  # fmt: skip
    return table


@administrator
def rules(request: HttpRequest) -> HttpResponse:
    current = desk()
    context = {"rules": current.config.routing.rules, "destinations": current.config.destinations,
               "table": _test_table(), "source": current.config.source}  # fmt: skip
    return render(request, "desk/rules.html", context)


@administrator
def explain_document(request: HttpRequest, document_id: uuid.UUID) -> HttpResponse:
    current = desk()
    stored = _get(current, document_id)
    document = current.store.rebuild(stored)
    return render(request, "desk/explain.html", {"doc": stored, "matches": explain(document, current.config)})


@administrator
def audit(request: HttpRequest) -> HttpResponse:
    """Every desk action, newest first, with the advisor's name (intake's own arrivals left out)."""
    events = Event.objects.exclude(who="intake").select_related("document").order_by("-at")[:500]
    return render(request, "desk/audit.html", {"events": events})
