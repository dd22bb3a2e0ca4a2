"""What the advisor does to a held document: confirm the form, fix fields, give the place, fix pages, release, reject.

Every action checks that the document is still held, changes it in one transaction and
writes who did what to its history (never a field's value). ``release`` lets the routing
rules decide again on the corrected document and hands it to the outbox, the only way out.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.db import transaction
from PIL import Image

from intake.audit import Action, AuditLog, Event
from intake.config import Config
from intake.delivery import Dispatcher
from intake.errors import ReviewError
from intake.models import Route
from intake.places import find_municipality
from intake.routing.documents import confirm
from intake.routing.templates import FieldKind, Template, load_templates
from intake.routing.validators import validate
from intake.store.api import Store
from intake.store.models import State, StoredDocument, StoredPage
from intake.transport import State as OutboxState

log = logging.getLogger(__name__)


# The audit log's word for each desk action (the rest are corrections: Action.CORRECTED).
_AUDITED = {"release": Action.RELEASED, "reject": Action.DISCARDED, "release-refused": Action.HELD,
            "retry": Action.QUEUED}  # fmt: skip


@dataclass(frozen=True)
class Released:
    """A released document: its package id and the route the rules chose."""

    document_id: str
    package_id: str
    route: Route


class Desk:
    """The advisor's actions on one store, for the command line and the web desk alike."""

    def __init__(self, store: Store, config: Config, *, dispatcher: Dispatcher | None = None) -> None:
        self.store = store
        self.config = config
        self.dispatcher = dispatcher
        self.audit = AuditLog.for_config(config.transport)
        self.templates = load_templates(config.routing.templates)

    def reconfigure(self, config: Config, /) -> None:
        """Reloaded rules: releases from now on are routed by them."""
        self.config = config
        self.templates = load_templates(config.routing.templates)
        if self.dispatcher is not None:
            self.dispatcher.reconfigure(config)

    def _held(self, document_id: str) -> StoredDocument:
        stored = self.store.get(document_id)
        if stored.state != State.HELD:
            raise ReviewError(
                f"document {stored.id} is {stored.state}, not held", document=str(stored.id), code="not-held"
            )
        return stored

    def template(self, form_id: str | None) -> Template | None:
        return next((t for t in self.templates if t.id == form_id), None)

    # -- the form and the fields -------------------------------------------------------

    @transaction.atomic
    def set_form(self, document_id: str, form_id: str, /, *, who: str) -> None:
        """The advisor says which form this is (from the list of known forms)."""
        stored = self._held(document_id)
        template = self.template(form_id)
        if template is None:
            raise ReviewError(
                f"unknown form {form_id!r} (see 'intake templates check')", document=str(stored.id), code="unknown-form"
            )
        before = stored.form_id
        stored.form_id, stored.form_confirmed = template.id, True
        stored.authority, stored.code, stored.language = template.authority, template.code, template.language
        stored.save()
        self._record(stored, who=who, action="form", before=before, after=template.id)

    def _field_kind(self, stored: StoredDocument, name: str) -> FieldKind:
        template = self.template(stored.form_id)
        zone = next((z for z in template.zones if z.name == name), None) if template else None
        if zone is None or zone.kind in (FieldKind.CHECKBOX, FieldKind.SIGNATURE):
            raise ReviewError(f"form {stored.form_id} has no field {name!r}", document=str(stored.id), code="no-field")
        return zone.kind

    @transaction.atomic
    def set_field(self, document_id: str, name: str, value: str, /, *, who: str, picked: bool = False) -> None:
        """The advisor types a field's value (or picks a candidate): checked by the field's rules, then proven."""
        stored = self._held(document_id)
        kind = self._field_kind(stored, name)
        normalised, valid = validate(kind, value)
        if valid is False or not normalised:
            raise ReviewError(
                f"{value!r} is not a valid {kind} for {name}", document=str(stored.id), code="invalid-value"
            )
        field, _ = stored.fields.get_or_create(name=name)
        field.value, field.valid, field.confidence, field.corrected_by = normalised, True, 1.0, who
        field.save()
        self._record(stored, who=who, action="pick" if picked else "field", field=name)

    def pick(self, document_id: str, name: str, choice: str, /, *, who: str) -> None:
        """Pick one of a field's candidates, by its 1-based number or its value."""
        stored = self._held(document_id)
        field = stored.fields.filter(name=name).first()
        candidates = list(field.candidates) if field else []
        if choice.isdigit() and 1 <= int(choice) <= len(candidates):
            choice = candidates[int(choice) - 1]
        if choice not in candidates:
            raise ReviewError(
                f"{name} has no such candidate (it has {len(candidates)})", document=str(stored.id), code="no-candidate"
            )
        self.set_field(document_id, name, choice, who=who, picked=True)

    @transaction.atomic
    def set_municipality(self, document_id: str, name: str, /, *, who: str) -> None:
        """The customer's municipality, as the customer says it (Finnish or Swedish name)."""
        stored = self._held(document_id)
        municipality = find_municipality(name)
        if municipality is None:
            raise ReviewError(
                f"{name!r} is not a Finnish municipality", document=str(stored.id), code="unknown-municipality"
            )
        stored.municipality = municipality.name_fi
        stored.save()
        self._record(stored, who=who, action="municipality", code=municipality.code)

    # -- pages ---------------------------------------------------------------------------

    def _page(self, stored: StoredDocument, position: int) -> StoredPage:
        page = stored.pages.filter(position=position, dropped=False).first()
        if page is None:
            raise ReviewError(f"the document has no page {position}", document=str(stored.id), code="no-page")
        return page

    @transaction.atomic
    def rotate(self, document_id: str, position: int, degrees: int, /, *, who: str) -> None:
        """Turn a page by a multiple of 90° clockwise (the stored image itself, losslessly)."""
        stored = self._held(document_id)
        if degrees % 90:
            raise ReviewError("pages turn by 90, 180 or 270 degrees", document=str(stored.id), code="bad-rotation")
        page = self._page(stored, position)
        path = self.store.image(page.image)
        with Image.open(path) as image:
            image.load()
            turned = image.rotate(-degrees, expand=True)
        turned.save(path, format="PNG", dpi=(page.dpi, page.dpi), compress_level=1)
        page.rotation = (page.rotation + degrees) % 360
        page.orientation_confident = True  # the advisor looked at it
        page.save()
        self._record(stored, who=who, action="rotate", page=position, degrees=degrees % 360)

    @transaction.atomic
    def drop_page(self, document_id: str, position: int, /, *, who: str) -> None:
        """Take a page out of the document (a stray page, a blank back); it stays in the history."""
        stored = self._held(document_id)
        page = self._page(stored, position)
        if stored.pages.filter(dropped=False).count() == 1:
            raise ReviewError(
                "the last page cannot be dropped: reject the document instead",
                document=str(stored.id),
                code="last-page",
            )
        page.dropped = True
        page.save()
        self._renumber(stored)
        self._record(stored, who=who, action="drop", page=position)

    @transaction.atomic
    def split(self, document_id: str, position: int, /, *, who: str) -> str:
        """Pages from ``position`` on become a new held document; returns its id."""
        stored = self._held(document_id)
        kept = list(stored.pages.filter(dropped=False))
        if not 1 < position <= len(kept):
            raise ReviewError(f"split before page 2..{len(kept)}", document=str(stored.id), code="split-range")
        moved = kept[position - 1 :]
        columns = {f.attname: getattr(stored, f.attname) for f in StoredDocument._meta.concrete_fields}
        del columns["id"]  # a fresh random id, the same source and form
        other = StoredDocument.objects.create(**columns)
        numbers = [page.number for page in moved]
        for page in moved:
            page.document = other
            page.save()
        stored.fields.filter(page__in=numbers).update(document=other)  # fields read on the moved pages
        self._renumber(stored)
        self._renumber(other)
        self._record(stored, who=who, action="split", page=position, into=str(other.id))
        self._record(other, who=who, action="split-from", document=str(stored.id))
        return str(other.id)

    @transaction.atomic
    def merge(self, document_id: str, other_id: str, /, *, who: str) -> None:
        """Append the pages of another held document (a form's pages split apart by a bad scan)."""
        stored, other = self._held(document_id), self._held(other_id)
        if stored.id == other.id:
            raise ReviewError("a document cannot be merged into itself", document=str(stored.id), code="merge-self")
        end = stored.pages.count()
        for offset, page in enumerate(other.pages.all(), 1):
            page.document, page.position = stored, end + offset
            page.save()
        for field in other.fields.exclude(name__in=stored.fields.values_list("name", flat=True)):
            field.document = stored
            field.save()
        other.state, other.rejected_reason = State.REJECTED, f"merged into {stored.id}"
        other.save()
        self._renumber(stored)
        self._record(stored, who=who, action="merge", document=str(other.id))
        self._record(other, who=who, action="merged-into", document=str(stored.id))

    def _renumber(self, stored: StoredDocument) -> None:
        for position, page in enumerate(stored.pages.filter(dropped=False).order_by("position", "id"), 1):
            if page.position != position:
                page.position = position
                page.save(update_fields=["position"])
        for offset, page in enumerate(stored.pages.filter(dropped=True).order_by("position", "id"), 1):
            page.position = 1000 + offset  # after the kept ones, out of the way
            page.save(update_fields=["position"])

    # -- the end of the road ---------------------------------------------------------------

    def release(self, document_id: str, /, *, who: str) -> Released:
        """Route the corrected document by the rules and queue it in the outbox.

        Raises ReviewError (the document stays held, with the rules' reason) when the rules
        still cannot decide: a field they need is missing, or no rule takes the form.
        """
        if self.dispatcher is None:
            raise ReviewError("releasing needs the outbox (no dispatcher)")
        with transaction.atomic():
            stored = self._held(document_id)
            if self.template(stored.form_id) is None:
                raise ReviewError("confirm which form this is first", document=str(stored.id), code="no-form")
            document = confirm(self.store.rebuild(stored), self.templates, self.config)
            package = self.dispatcher.enqueue(document) if document.route is not None else None
            if package is None or document.route is None:  # the rules or the dispatcher said why
                stored.reason = document.reason
                stored.save(update_fields=["reason"])
                self._record(stored, who=who, action="release-refused", reason=document.reason)
            else:
                stored.state, stored.package_id, stored.reason = State.QUEUED, package.package_id, None
                stored.rule, stored.destination = document.route.rule, document.route.destination
                stored.route_reason, stored.confidence = document.route.reason, document.confidence
                stored.save()
                self._record(stored, who=who, action="release", package=package.package_id, rule=document.route.rule)
        if package is None or document.route is None:
            raise ReviewError(f"not released: {document.reason}", document=str(stored.id), code="not-released")
        return Released(str(stored.id), package.package_id, document.route)

    @transaction.atomic
    def reject(self, document_id: str, reason: str, /, *, who: str) -> None:
        """The document will not be sent (a wrong form, a customer who took it back): why, in words."""
        stored = self._held(document_id)
        if not reason.strip():
            raise ReviewError("say why the document is rejected", document=str(stored.id), code="no-reason")
        stored.state, stored.rejected_reason = State.REJECTED, reason.strip()
        stored.save()
        self._record(stored, who=who, action="reject", reason=reason.strip())

    def purge(self, *, now: dt.datetime | None = None) -> int:
        """Delete what finished documents no longer need (see Store.purge); the outbox says what was sent."""
        outbox = self.dispatcher.outbox if self.dispatcher is not None else None
        sent = {i.package_id for i in outbox.list(OutboxState.SENT)} if outbox is not None else set()
        return self.store.purge(sent=sent, now=now)

    @transaction.atomic
    def retry(self, document_id: str, /, *, who: str) -> None:
        """Queue a failed delivery again, once its cause is fixed (a wrong address, a full mailbox)."""
        stored = self.store.get(document_id)
        item = next((i for i in self.dispatcher.outbox.list() if i.package_id == stored.package_id), None) \
            if self.dispatcher is not None and stored.package_id else None  # fmt: skip
        if item is None or item.state != "failed":
            raise ReviewError("only a failed delivery can be retried", document=str(stored.id), code="not-failed")
        self.dispatcher.outbox.requeue(item.id, now=dt.datetime.now(dt.UTC))  # type: ignore[union-attr]
        self._record(stored, who=who, action="retry", item=item.id)

    def _record(self, stored: StoredDocument, *, who: str, action: str, **detail: object) -> None:
        """History in the store (the document's own), then the audit log (the installation's, chained)."""
        self.store.record(stored, who=who, action=action, **detail)
        kind = _AUDITED.get(action, Action.CORRECTED)
        code = action if "field" not in detail else f"{action}:{detail['field']}"
        event = Event(kind, package_id=stored.package_id, form=stored.form_id, rule=stored.rule,
                      destination=stored.destination, code=code, who=who, document=str(stored.id))  # fmt: skip
        self.audit.append([event])
