"""The desk's form posts: each advisor action on a document, then back to the document (post/redirect/get).

The work is done by :class:`intake.store.resolve.Desk`, the same as ``intake review``;
here only the form's fields are taken apart and the outcome told in the user's language.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from intake.desk.views import advisor, desk
from intake.desk.words import refusal
from intake.errors import IntakeError, ReviewError
from intake.store.resolve import Desk

log = logging.getLogger(__name__)

Action = Callable[[Desk, str, HttpRequest, str], str | None]


def _position(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("page", ""))
    except ValueError:
        raise ReviewError("no page given") from None


def _form(current: Desk, doc: str, request: HttpRequest, who: str) -> str:
    current.set_form(doc, request.POST.get("form", ""), who=who)
    return _("Form confirmed.")


def _field(current: Desk, doc: str, request: HttpRequest, who: str) -> str:
    current.set_field(doc, request.POST.get("name", ""), request.POST.get("value", ""), who=who)
    return _("Field corrected.")


def _pick(current: Desk, doc: str, request: HttpRequest, who: str) -> str:
    current.pick(doc, request.POST.get("name", ""), request.POST.get("candidate", ""), who=who)
    return _("Candidate chosen.")


def _municipality(current: Desk, doc: str, request: HttpRequest, who: str) -> str:
    current.set_municipality(doc, request.POST.get("municipality", ""), who=who)
    return _("Municipality given.")


def _rotate(current: Desk, doc: str, request: HttpRequest, who: str) -> str:
    current.rotate(doc, _position(request), int(request.POST.get("degrees", "90")), who=who)
    return _("Page turned.")


def _drop(current: Desk, doc: str, request: HttpRequest, who: str) -> str:
    current.drop_page(doc, _position(request), who=who)
    return _("Page removed.")


def _split(current: Desk, doc: str, request: HttpRequest, who: str) -> str:
    current.split(doc, _position(request), who=who)
    return _("Document split: the later pages are a new held document.")


def _merge(current: Desk, doc: str, request: HttpRequest, who: str) -> str:
    current.merge(doc, request.POST.get("other", ""), who=who)
    return _("Pages of the other document added.")


def _release(current: Desk, doc: str, request: HttpRequest, who: str) -> str:
    released = current.release(doc, who=who)  # 'intake serve' sends it within a second; the page shows when
    return _("Released: package %(package)s to %(destination)s.") % {
        "package": released.package_id[:8], "destination": released.route.destination,
    }  # fmt: skip


def _reject(current: Desk, doc: str, request: HttpRequest, who: str) -> str:
    current.reject(doc, request.POST.get("reason", ""), who=who)
    return _("Rejected: it will not be sent.")


def _retry(current: Desk, doc: str, request: HttpRequest, who: str) -> str:
    current.retry(doc, who=who)
    return _("Queued again.")


ACTIONS: dict[str, Action] = {
    "form": _form, "field": _field, "pick": _pick, "municipality": _municipality, "rotate": _rotate,
    "drop": _drop, "split": _split, "merge": _merge, "release": _release, "reject": _reject, "retry": _retry,
}  # fmt: skip


@advisor
@require_POST
def act(request: HttpRequest, document_id: uuid.UUID) -> HttpResponse:
    """Do ``action`` on the document as the signed-in user; tell the outcome; show the document again."""
    action = ACTIONS.get(request.POST.get("action", ""))
    if action is None:
        messages.error(request, _("Unknown action."))
        return redirect("desk:document", document_id=document_id)
    try:
        messages.success(request, action(desk(), str(document_id), request, request.user.get_username()))
    except ReviewError as exc:
        messages.error(request, refusal(exc.code, str(exc)))
    except (IntakeError, ValueError) as exc:
        log.warning("desk action %s on %s failed: %s", request.POST.get("action"), document_id, type(exc).__name__)
        messages.error(request, _("The action failed: %(error)s") % {"error": exc})
    return redirect("desk:document", document_id=document_id)
