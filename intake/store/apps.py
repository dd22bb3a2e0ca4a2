"""The document store as a Django application (models and migrations only)."""

from __future__ import annotations

from django.apps import AppConfig


class StoreConfig(AppConfig):
    name = "intake.store"
    label = "store"
    verbose_name = "intake document store"
    default_auto_field = "django.db.models.BigAutoField"
