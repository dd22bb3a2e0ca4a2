"""The advisor's desk as a Django application: views, templates, static files, translations."""

from __future__ import annotations

from django.apps import AppConfig


class DeskConfig(AppConfig):
    name = "intake.desk"
    label = "desk"
    verbose_name = "intake desk"
