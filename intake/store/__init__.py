"""The document store: every document intake sees, kept with its pages, readings and history until it is done.

Django's ORM and migrations as a library (SQLite under the spool by default, PostgreSQL
by configuration). ``open_store`` sets Django up and migrates before anything is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from intake.config import Config

if TYPE_CHECKING:
    from intake.store.api import Store


def open_store(config: Config) -> Store:
    """The store of ``config``, its schema brought up to date."""
    from intake.store.setup import configure

    configure(config)
    from intake.store.api import Store

    return Store(config)


__all__ = ["open_store"]
