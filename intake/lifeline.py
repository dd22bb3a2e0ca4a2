"""Page workers, and the tesseract and pdftoppm they run, die with the process that started them."""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType

_POLL_S = 0.25


def bind_to_parent(parent: int, /) -> None:
    """Run first in every page worker: when ``parent`` dies, this worker and its children die too.

    A ``kill -9`` of 'intake process' or 'intake watch' gives the parent no chance to stop
    its pool: the workers lived on as orphans, busy with pages nobody would collect. Each
    worker now leads a process group of its own, which the tesseract and pdftoppm it starts
    join, and ends that whole group when its parent is gone or when it gets SIGTERM (so the
    pool's ``terminate()`` of a stuck worker stops its tesseract too).
    """
    # Ctrl-C reaches the terminal's foreground group; a worker in its own group no longer
    # gets it, and ignores it anyway: it must not die mid-page and get a good file
    # quarantined as broken. The parent stops the pool in order instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Replaces what the fork copied from the parent (intake watch's graceful-stop handler,
    # which made orphaned workers ignore SIGTERM).
    signal.signal(signal.SIGTERM, _end_group)
    os.setpgid(0, 0)
    threading.Thread(target=_watch_parent, args=(parent,), name="intake-lifeline", daemon=True).start()


def _watch_parent(parent: int) -> None:
    # Polling rather than prctl(PR_SET_PDEATHSIG): that signal follows the *thread* that
    # forked the worker, and a pool grown from a short-lived thread (a desk's web request)
    # would lose its workers when that thread ends. An orphan is re-parented, so its parent
    # pid changes; a thread also acts while the main thread is busy inside a C call.
    while os.getppid() == parent:
        time.sleep(_POLL_S)
    _end_group(signal.SIGTERM, None)


def _end_group(signum: int, frame: FrameType | None) -> None:
    os.killpg(os.getpgid(0), signal.SIGKILL)
