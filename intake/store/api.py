"""The store's surface for the pipeline, the command line and the desk: keep, find, rebuild.

A document is written once as intake understood it (``keep``) and changed only by desk
actions (``intake.store.resolve``); every change adds an :class:`Event`. Page images and
field crops are copied into the store folder, named by the document's random id.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.db import DatabaseError, transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from intake.changes import changes
from intake.config import Config
from intake.durable import copy_durably
from intake.errors import ReviewError, StoreError
from intake.models import Document, FieldValue, PageAnalysis, PageIdentity, SourceFile, Status
from intake.store.models import Event, State, StoredDocument, StoredField, StoredPage
from intake.store.setup import store_folder

log = logging.getLogger(__name__)

PIPELINE = "intake"  # the 'who' of what intake itself did


@dataclass(frozen=True)
class Delivery:
    """The outbox's word on a document's package: queued, sending, sent, deferred or failed."""

    state: str
    item_id: str
    attempts: int
    error: str | None
    updated: dt.datetime


class Store:
    """The document store of one configuration (database and folder)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.folder = store_folder(config)

    # -- writing what intake saw -------------------------------------------------------

    def keep(self, document: Document, /, *, who: str = PIPELINE) -> str:
        """Store ``document`` with copies of its page images and field crops; returns its id.

        Idempotent: the same pages of the same file (a hot folder resuming after a crash)
        are the document already stored, not a second one.
        """
        known = StoredDocument.objects.filter(source_sha256=document.source.sha256,
                                              source_pages=document.page_numbers).first()  # fmt: skip
        if known is not None:
            return str(known.id)
        stored_id = uuid.uuid4()
        folder = self.folder / "documents" / str(stored_id)
        try:
            pages = [self._copy_page(page, folder, position) for position, page in enumerate(document.pages, 1)]
            crops = self._copy_crops(document, folder)
            with transaction.atomic():
                stored = StoredDocument.objects.create(id=stored_id, **_columns(document))
                for page in pages:
                    page.document = stored
                    page.save()
                for name, value in document.fields.items():
                    crop, page_number = crops.get(name, (None, 0))
                    StoredField.objects.create(document=stored, name=name, **_field_columns(value),
                                               crop=crop, page=page_number)  # fmt: skip
                Event.objects.create(document=stored, who=who, action="received", detail=_received(document))
        except (OSError, DatabaseError) as exc:
            raise StoreError(f"cannot keep the document in the store: {exc}") from exc
        changes.announce()  # the desk's live list shows it now
        log.info("stored document %s (%s)", stored_id, stored.state)
        return str(stored_id)

    def _copy_page(self, page: PageAnalysis, folder: Path, position: int) -> StoredPage:
        if page.archive_path is None:
            raise StoreError(f"page {page.number} has no image to keep")
        image = folder / f"p{position:03d}.png"
        copy_durably(page.archive_path, image)
        identity = page.identity
        return StoredPage(
            position=position, number=page.number, image=str(image.relative_to(self.folder)), dpi=page.archive_dpi,
            form_id=identity.form_id, form_page=identity.page, score=identity.score, evidence=identity.reason,
            orientation_confident=page.orientation_confident, flags=list(page.flags),
        )  # fmt: skip

    def _copy_crops(self, document: Document, folder: Path) -> dict[str, tuple[str, int]]:
        crops = {}
        for page in document.pages:
            for name, path in page.crops.items():
                if name in document.fields and path.exists():
                    target = folder / f"crop-{name}.png"
                    copy_durably(path, target)
                    crops[name] = (str(target.relative_to(self.folder)), page.number)
        return crops

    # -- reading -----------------------------------------------------------------------

    def get(self, document_id: str, /) -> StoredDocument:
        """The stored document with this id; ReviewError when there is none."""
        try:
            key = uuid.UUID(str(document_id))
        except ValueError:
            raise ReviewError(f"{document_id!r} is not a document id", document=None) from None
        try:
            return StoredDocument.objects.get(id=key)
        except StoredDocument.DoesNotExist:
            raise ReviewError(f"no document {key} in the store", document=str(key)) from None

    def find(self, *, state: str | None = None, since: dt.datetime | None = None,
             query: str | None = None) -> QuerySet[StoredDocument]:  # fmt: skip
        """Documents, held first then newest first; ``query`` matches a package id or a form, nothing personal."""
        found = StoredDocument.objects.all()
        if state is not None:
            found = found.filter(state=state)
        if since is not None:
            found = found.filter(created__gte=since)
        if query:
            text = query.strip()
            found = found.filter(Q(package_id__istartswith=text) | Q(form_id__icontains=text) | Q(code__icontains=text))
        return _held_first(found)

    def today(self) -> dt.datetime:
        """Midnight at the service point (the desk's 'today')."""
        return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)

    def image(self, relative: str) -> Path:
        """The file of a stored page image or crop; never outside the store folder."""
        path = (self.folder / relative).resolve()
        if not path.is_relative_to(self.folder.resolve()):
            raise ReviewError("image path outside the store")
        return path

    def purge(self, *, sent: set[str], now: dt.datetime | None = None) -> int:
        """Delete the page images, crops and readings of done documents untouched for ``[store] keep_days``.

        Done means rejected, or released and taken by the agency's server (``sent``: package
        ids). What was read rests in the store only while someone may still need it; the
        row and its history (who did what, no values) stay. Returns how many were purged.
        """
        moment = now if now is not None else timezone.now()
        cutoff = moment - dt.timedelta(days=self.config.store.keep_days)
        done = StoredDocument.objects.filter(purged__isnull=True, updated__lt=cutoff).filter(
            Q(state=State.REJECTED) | Q(state=State.QUEUED, package_id__in=sent)
        )
        count = 0
        for stored in done:
            with transaction.atomic():
                for relative in [p.image for p in stored.pages.all()] + [f.crop for f in stored.fields.all() if f.crop]:
                    self.image(relative).unlink(missing_ok=True)
                stored.fields.update(value=None, raw=None, candidates=[], crop=None)
                stored.checkboxes, stored.municipality, stored.purged = {}, None, moment
                stored.save(update_fields=["checkboxes", "municipality", "purged"])
                Event.objects.create(document=stored, at=moment, who=PIPELINE, action="purge", detail={})
            folder = self.folder / "documents" / str(stored.id)
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()
            count += 1
        if count:
            changes.announce()
            log.info("purged the pages and readings of %d finished document(s)", count)
        return count

    def record(self, stored: StoredDocument, /, *, who: str, action: str, **detail: object) -> Event:
        """Add a history row (the caller's transaction) and touch the document."""
        stored.updated = timezone.now()
        stored.save(update_fields=["updated"])
        transaction.on_commit(changes.announce)
        return Event.objects.create(document=stored, who=who, action=action, detail=detail)

    # -- back to the pipeline's types --------------------------------------------------

    def _page_analysis(self, page: StoredPage) -> PageAnalysis:
        return PageAnalysis(
            number=page.number, identity=PageIdentity(page.form_id, page.form_page, page.score, page.evidence),
            blank=False, rotation=page.rotation, skew=0.0, orientation_confident=page.orientation_confident,
            flags=list(page.flags), fields={}, checkboxes={}, archive_path=self.folder / page.image,
            archive_dpi=page.dpi,
        )  # fmt: skip

    def rebuild(self, stored: StoredDocument, /) -> Document:
        """The pipeline's Document for a stored one, with the advisor's corrections in."""
        source = SourceFile(
            path=Path(f"{stored.source_sha256[:24]}.{stored.source_format}"), sha256=stored.source_sha256,
            size=stored.source_size, format=stored.source_format, page_count=stored.source_page_count,
        )  # fmt: skip
        pages = [self._page_analysis(page) for page in stored.pages.filter(dropped=False)]
        fields = {
            f.name: FieldValue(f.value, f.confidence, f.valid, f.raw, tuple(f.candidates)) for f in stored.fields.all()
        }
        if stored.municipality:
            # Given by the advisor with the customer in front of them: proven, like a check character.
            fields["municipality"] = FieldValue(stored.municipality, 1.0, True, raw="given by the advisor")
        return Document(
            source=source, pages=pages, form_id=stored.form_id, authority=stored.authority, code=stored.code,
            language=stored.language, confidence=stored.confidence, fields=fields,
            checkboxes=dict(stored.checkboxes), blank_pages=list(stored.blank_pages),
            separator_pages=list(stored.separator_pages),
            status=Status.REVIEW if stored.state == State.HELD else Status.QUEUED, reason=stored.reason,
            package_id=stored.package_id,
            # Dated rules decide by the day it was scanned (stored the same day), not the day it is released;
            # the advisor's municipality wins over a postal code that disagrees with it.
            scanned=stored.created.astimezone().date(), place_override=stored.municipality or None,
        )  # fmt: skip


def _held_first(found: QuerySet[StoredDocument]) -> QuerySet[StoredDocument]:
    ranks = {State.HELD: 0, State.QUEUED: 1, State.REJECTED: 2}
    rank = Case(*[When(state=state, then=Value(value)) for state, value in ranks.items()], output_field=IntegerField())
    return found.annotate(rank=rank).order_by("rank", "-created")


def _columns(document: Document) -> dict[str, object]:
    route = document.route
    return {
        "state": State.QUEUED if document.status is Status.QUEUED and document.package_id else State.HELD,
        "reason": document.reason,
        "source_sha256": document.source.sha256,
        "source_format": document.source.format,
        "source_size": document.source.size,
        "source_page_count": document.source.page_count,
        "source_pages": document.page_numbers,
        "form_id": document.form_id,
        "authority": document.authority,
        "code": document.code,
        "language": document.language,
        "confidence": document.confidence,
        "checkboxes": dict(document.checkboxes),
        "blank_pages": list(document.blank_pages),
        "separator_pages": list(document.separator_pages),
        "rule": route.rule if route else None,
        "destination": route.destination if route else None,
        "route_reason": route.reason if route else None,
        "package_id": document.package_id,
    }


def _field_columns(value: FieldValue) -> dict[str, object]:
    return {"value": value.value, "confidence": value.confidence, "valid": value.valid, "raw": value.raw,
            "candidates": list(value.candidates)}  # fmt: skip


def _received(document: Document) -> dict[str, object]:
    """What the history says about arrival: the outcome, never a field's value."""
    return {"status": str(document.status), "form": document.form_id, "pages": document.page_numbers,
            "package": document.package_id}  # fmt: skip
