"""Page workers, and the tesseract and pdftoppm they run, die with the process that started them."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
from types import FrameType

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def bind_to_parent(parent: int, /) -> None:
    """Run first in every page worker: when ``parent`` dies, this worker and its children die too.

    A ``kill -9`` of 'intake process' or 'intake watch' gives the parent no chance to stop
    its pool: the workers lived on as orphans, busy with pages nobody would collect. The
    kernel now sends the worker SIGTERM when its parent dies (PR_SET_PDEATHSIG; the signal
    follows the thread that forked the worker, which is the pipeline's main thread). The
    worker leads a process group of its own, which the tesseract and pdftoppm it starts
    join, and SIGTERM ends that whole group: the pool's own ``terminate()`` of a stuck
    worker then stops its tesseract too.
    """
    # Ctrl-C reaches the terminal's foreground group; a worker in its own group no longer
    # gets it, and ignores it anyway: it must not die mid-page and get a good file
    # quarantined as broken. The parent stops the pool in order instead.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Replaces what the fork copied from the parent (intake watch's graceful-stop handler,
    # which would make the worker ignore SIGTERM).
    signal.signal(signal.SIGTERM, _end_group)
    os.setpgid(0, 0)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # the parent died before the request above took effect
        _end_group(signal.SIGTERM, None)


def _end_group(signum: int, frame: FrameType | None) -> None:
    os.killpg(os.getpgid(0), signal.SIGKILL)
