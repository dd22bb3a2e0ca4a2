"""The desk's pages: the list of documents (held first), one document, its images, live status, upload.

Every view but sign-in needs a signed-in advisor or administrator. URLs name documents by
their random id only; searching is a POST, so what an advisor types never lands in a URL.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import user_logged_in
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.dispatch import receiver
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from intake.config import Config
from intake.delivery import Dispatcher
from intake.desk import live
from intake.desk.middleware import SIGNED_IN_AT
from intake.desk.users import is_advisor
from intake.desk.words import STATES
from intake.durable import write_durably
from intake.errors import ReviewError
from intake.places import all_municipalities
from intake.reload import Reloader
from intake.spool import safe_suffix
from intake.store import open_store
from intake.store.api import Delivery, Store
from intake.store.models import DeskUser, State, StoredDocument
from intake.store.reasons import doubtful_fields, held_reasons
from intake.store.resolve import Desk
from intake.watch import audit_rules

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = (".pdf", ".tif", ".tiff", ".jpg", ".jpeg", ".png")
KEY_FIELDS = ("last_name", "first_name", "hetu", "ytunnus", "company")  # enough to tell customers apart at a glance


@receiver(user_logged_in)
def _signed_in(sender: object, request: HttpRequest, user: object, **kwargs: object) -> None:
    request.session[SIGNED_IN_AT] = time.time()


def config() -> Config:
    return settings.INTAKE_CONFIG  # type: ignore[no-any-return]


@cache
def _desk_for(key: int) -> Desk:
    current = config()
    return Desk(open_store(current), current, dispatcher=Dispatcher(current))


@cache
def _rules_for(key: int) -> Reloader:
    current = _desk_for(key)
    return Reloader(config(), record=audit_rules(current.dispatcher))


def desk() -> Desk:
    """One desk (store, templates, outbox) per configuration and process, with the rules file's latest good version."""
    key = id(config())
    current = _desk_for(key)
    fresh = _rules_for(key).poll()
    if fresh is not None:
        current.reconfigure(fresh)
    return current


def advisor(view: Any) -> Any:
    """Signed in, and an advisor or administrator."""

    @login_required
    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_advisor(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return checked


@dataclass
class Row:
    """One document on the list: what it is, where it goes, how far it got."""

    stored: StoredDocument
    reasons: list[Any]
    delivery: Delivery | None
    thumbnail: int | None  # position of the first kept page
    key: list[str]  # the key fields' values, for the advisor's screen only


def deliveries(store: Store, dispatcher: Dispatcher) -> dict[str, Delivery]:
    """The outbox's latest word on every package, by package id."""
    found = {}
    for item in dispatcher.outbox.list():
        found[item.package_id] = Delivery(str(item.state), item.id, item.attempts, item.last_error, item.updated)
    return found


def _rows(found: Any) -> list[Row]:
    current = desk()
    sent = deliveries(current.store, current.dispatcher) if current.dispatcher else {}
    rows = []
    for stored in found[:200]:
        first = None if stored.purged else stored.pages.filter(dropped=False).first()
        reasons = held_reasons(stored, current.store, current.templates, current.config)
        key = {f.name: f.value for f in stored.fields.filter(name__in=KEY_FIELDS) if f.value}
        rows.append(Row(stored, reasons, sent.get(stored.package_id or ""), first.position if first else None,
                        [key[name] for name in KEY_FIELDS if name in key]))  # fmt: skip
    return rows


def _today_and_held(store: Store) -> Any:
    return store.find().filter(Q(created__gte=store.today()) | Q(state=State.HELD))


def _version() -> str:
    current = desk()
    return live.version(current.store, current.dispatcher.outbox if current.dispatcher else None)


def _live(request: HttpRequest, answer: Callable[[], HttpResponse]) -> HttpResponse:
    """``answer()`` now or, asked ``?since=VERSION``, once what the list shows differs from that version.

    The version goes with it (X-Desk-Version), read before the answer so that a change
    made meanwhile is never missed; nothing new before the wait ends is 204 No Content.
    """
    since = request.GET.get("since")
    if since is None:
        found = live.Answer(_version(), waited=True)
    else:
        found = live.wait_for_change(since, _version, seconds=config().desk.live_wait_s)
        if found.version == since:
            response = HttpResponse(status=204)
            if not found.waited:
                response["Retry-After"] = str(live.RETRY_AFTER_S)
            return response
    response = answer()
    response["X-Desk-Version"] = found.version
    return response


@advisor
def index(request: HttpRequest) -> HttpResponse:
    """Today's documents and every held one, held first; a POSTed search narrows them."""
    store = desk().store
    query = request.POST.get("q", "").strip() if request.method == "POST" else ""
    version = _version()  # before the rows: the page's first wait starts from what it shows
    found = store.find(query=query, since=store.today()) if query else _today_and_held(store)
    return render(request, "desk/index.html", {"rows": _rows(found), "query": query, "version": version})


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    return HttpResponse(status=204)


@advisor
@require_GET
def rows(request: HttpRequest) -> HttpResponse:
    """The list's rows alone, for the page's live list: at once, or with ``?since=`` once they changed."""
    return _live(request, lambda: render(request, "desk/rows.html", {"rows": _rows(_today_and_held(desk().store))}))


@advisor
@require_GET
def status(request: HttpRequest) -> HttpResponse:
    """Ids, states and delivery states of today's documents (nothing personal); live like ``rows``."""
    return _live(request, _status)


def _status() -> JsonResponse:
    found = []
    for row in _rows(_today_and_held(desk().store)):
        delivery = row.delivery.state if row.delivery else None
        found.append({"id": str(row.stored.id), "state": row.stored.state, "delivery": delivery,
                      "delivery_label": str(STATES.get(delivery, delivery)) if delivery else None})  # fmt: skip
    return JsonResponse({"documents": found})


@advisor
def document(request: HttpRequest, document_id: uuid.UUID) -> HttpResponse:
    current = desk()
    version = _version()  # before reading: the delivery's live update starts from what the page shows
    stored = _get(current, document_id)
    sent = deliveries(current.store, current.dispatcher) if current.dispatcher else {}
    delivery = sent.get(stored.package_id or "")
    threshold = current.config.routing.field_threshold
    context = {
        "doc": stored,
        "pages": list(stored.pages.filter(dropped=False)),
        "fields": list(stored.fields.all()),
        "doubtful": set(doubtful_fields(stored, threshold)),
        "reasons": held_reasons(stored, current.store, current.templates, current.config),
        "history": list(stored.events.all()),
        "forms": sorted(current.templates, key=lambda t: (t.authority, t.code, t.language)),
        "municipalities": all_municipalities(),
        "delivery": delivery,
        "held": stored.state == State.HELD,
        "others": current.store.find(state=State.HELD).exclude(id=stored.id)[:50],
        "rotations": [(90, _("Turn right")), (180, _("Turn upside down")), (270, _("Turn left"))],
        "version": version,
    }
    return render(request, "desk/document.html", context)


def _get(current: Desk, document_id: uuid.UUID) -> StoredDocument:
    try:
        return current.store.get(str(document_id))
    except ReviewError:
        raise Http404 from None


def _image(path: Path) -> FileResponse:
    if not path.is_file():
        raise Http404
    return FileResponse(path.open("rb"), content_type="image/png")


@advisor
@require_GET
def page_image(request: HttpRequest, document_id: uuid.UUID, position: int) -> FileResponse:
    current = desk()
    page = _get(current, document_id).pages.filter(position=position).first()
    if page is None:
        raise Http404
    return _image(current.store.image(page.image))


@advisor
@require_GET
def crop_image(request: HttpRequest, document_id: uuid.UUID, name: str) -> FileResponse:
    current = desk()
    field = _get(current, document_id).fields.filter(name=name).first()
    if field is None or not field.crop:
        raise Http404
    return _image(current.store.image(field.crop))


@advisor
@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    """Files dropped on the page go into the hot folder, as if the scanner had written them."""
    folder = config().desk.hot_folder
    if folder is None:
        messages.error(request, _("Uploading needs a hot folder ([desk] hot_folder in the configuration)."))
        return redirect("desk:index")
    taken = 0
    for upload in request.FILES.getlist("files"):
        suffix = safe_suffix(Path(upload.name or ""))
        if suffix not in UPLOAD_SUFFIXES:
            messages.error(request, _("Only PDF, TIFF, JPEG and PNG files can be added."))
            continue
        # Named by a random id, never the browser's file name (it may carry a customer's name);
        # written under a hidden name first so the hot folder takes it only when complete.
        name = f"upload-{uuid.uuid4().hex}{suffix}"
        hidden = folder / f".{name}"
        write_durably(hidden, b"".join(upload.chunks()))
        os.replace(hidden, folder / name)
        taken += 1
    if taken:
        messages.success(request, _("%(count)d file(s) added; they appear here once read.") % {"count": taken})
    if request.headers.get("X-Requested-With") == "fetch":
        return JsonResponse({"taken": taken})
    return redirect("desk:index")


@require_POST
def language(request: HttpRequest) -> HttpResponse:
    """Choose the interface language: kept with the user (or the session, before sign-in)."""
    chosen = request.POST.get("language", "")
    if chosen in dict(settings.LANGUAGES):
        if request.user.is_authenticated:
            DeskUser.objects.update_or_create(user=request.user, defaults={"language": chosen})
        else:
            request.session["intake_language"] = chosen
    back = request.POST.get("next", "/")
    return redirect(back if url_has_allowed_host_and_scheme(back, allowed_hosts=None) else "/")
