"""The document store's tables: documents, their pages and fields, and the history of every change.

Rows are named by random UUIDs, so a URL, a log line or a file name that names a
document carries no personal data. Page images and field crops are files under the
store folder; the rows hold their paths relative to it.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone


class State(models.TextChoices):
    """Where a stored document is: held for the advisor, in the outbox, or rejected."""

    HELD = "held"
    QUEUED = "queued"
    REJECTED = "rejected"


class StoredDocument(models.Model):
    """One document as intake understood it, and as the advisor corrected it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created = models.DateTimeField(default=timezone.now, db_index=True)
    updated = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=16, choices=State.choices, db_index=True)
    reason = models.TextField(null=True, blank=True)  # why it is held (the pipeline's words)
    source_sha256 = models.CharField(max_length=64, db_index=True)
    source_format = models.CharField(max_length=8)
    source_size = models.BigIntegerField(default=0)
    source_page_count = models.IntegerField(default=0)
    source_pages = models.JSONField(default=list)  # the pages of the source file this document came from
    form_id = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    form_confirmed = models.BooleanField(default=False)  # the advisor said which form it is
    authority = models.CharField(max_length=16, null=True, blank=True)
    code = models.CharField(max_length=32, null=True, blank=True)
    language = models.CharField(max_length=2, null=True, blank=True)
    confidence = models.FloatField(default=0.0)
    municipality = models.CharField(max_length=64, null=True, blank=True)  # given by the advisor
    checkboxes = models.JSONField(default=dict)
    blank_pages = models.JSONField(default=list)
    separator_pages = models.JSONField(default=list)
    rule = models.CharField(max_length=64, null=True, blank=True)
    destination = models.CharField(max_length=254, null=True, blank=True)
    route_reason = models.TextField(null=True, blank=True)
    package_id = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    rejected_reason = models.TextField(null=True, blank=True)
    purged = models.DateTimeField(null=True, blank=True)  # pages and readings deleted once done (see Store.purge)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"document {self.id} ({self.state})"


class StoredPage(models.Model):
    """One page of a stored document, in the document's order."""

    document = models.ForeignKey(StoredDocument, on_delete=models.CASCADE, related_name="pages")
    position = models.IntegerField()  # 1-based order within the document (after advisor's moves)
    number = models.IntegerField()  # page number in the source file
    image = models.CharField(max_length=255)  # path under the store folder
    dpi = models.IntegerField()
    rotation = models.IntegerField(default=0)
    form_id = models.CharField(max_length=64, null=True, blank=True)
    form_page = models.IntegerField(default=0)
    score = models.FloatField(default=0.0)
    evidence = models.TextField(default="")
    orientation_confident = models.BooleanField(default=True)
    flags = models.JSONField(default=list)
    dropped = models.BooleanField(default=False)  # taken out by the advisor; kept for the history

    class Meta:
        ordering = ["position"]


class StoredField(models.Model):
    """One field as read (value, confidence, candidates, the crop of its box) and as corrected."""

    document = models.ForeignKey(StoredDocument, on_delete=models.CASCADE, related_name="fields")
    name = models.CharField(max_length=64)
    value = models.TextField(null=True, blank=True)
    confidence = models.FloatField(default=0.0)
    valid = models.BooleanField(null=True)
    raw = models.TextField(null=True, blank=True)
    candidates = models.JSONField(default=list)
    crop = models.CharField(max_length=255, null=True, blank=True)  # path under the store folder
    page = models.IntegerField(default=0)
    corrected_by = models.CharField(max_length=150, null=True, blank=True)  # the advisor who set it

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["document", "name"], name="one_field_per_name")]


class Event(models.Model):
    """One change to a document: who, when, what. Never holds a field's value."""

    document = models.ForeignKey(StoredDocument, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now, db_index=True)
    who = models.CharField(max_length=150)
    action = models.CharField(max_length=32)
    detail = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]


class DeskUser(models.Model):
    """What the desk keeps about a user beyond Django's account: the interface language."""

    user = models.OneToOneField("auth.User", on_delete=models.CASCADE, related_name="desk")
    language = models.CharField(max_length=2, default="fi")
