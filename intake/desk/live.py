"""The desk's live list: a version of what it shows, and requests that wait until it changes.

The page asks ``rows?since=VERSION`` and the answer comes the moment a document or a
delivery changed, or ``204 No Content`` after ``[desk] live_wait_s`` when nothing did, and
the page asks again: a scan is on the screen as soon as it is stored, not at the next tick
of a timer. The version names nothing personal: the day, the store's latest history row
and the outbox's latest change.

A waiting request holds a server thread: at most WAITERS wait at once, so pages, images
and actions always find one of the server's SERVER_THREADS free; a request beyond that
is answered at once and asked to come back after RETRY_AFTER_S.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from intake.changes import changes

if TYPE_CHECKING:
    from intake.store.api import Store
    from intake.transport.outbox import Outbox

CHECK_S = 0.5  # how often a wait reads the databases, for what other processes wrote
SERVER_THREADS = 16
WAITERS = SERVER_THREADS - 4
RETRY_AFTER_S = 2

_waiters = threading.BoundedSemaphore(WAITERS)


def version(store: Store, outbox: Outbox | None) -> str:
    """What the live list shows, in one token: it changes whenever a row would."""
    from django.db.models import Max

    from intake.store.models import Event  # the store's models exist once Django is set up

    latest = Event.objects.aggregate(latest=Max("id"))["latest"] or 0  # every change to a document adds one
    delivered = outbox.last_change() if outbox is not None else 0.0
    return f"{store.today():%Y%m%d}.{latest}.{delivered:.6f}"


@dataclass(frozen=True)
class Answer:
    """The version to answer with, and whether the request was let wait for it."""

    version: str
    waited: bool  # False: too many requests wait already; the page should ask again after RETRY_AFTER_S


def wait_for_change(since: str, current: Callable[[], str], *, seconds: float, check_s: float = CHECK_S) -> Answer:
    """The ``current()`` version as soon as it differs from ``since``, or ``since`` itself after ``seconds``.

    It is read again when this process announces a change (``intake.changes``) and every
    ``check_s`` in any case, for what other processes wrote.
    """
    if not _waiters.acquire(blocking=False):
        return Answer(current(), waited=False)
    try:
        deadline = time.monotonic() + seconds
        while True:
            seen = changes.count  # before reading: an announcement from now on ends the next wait at once
            found = current()
            left = deadline - time.monotonic()
            if found != since or left <= 0:
                return Answer(found, waited=True)
            changes.wait(seen, min(check_s, left))
    finally:
        _waiters.release()
