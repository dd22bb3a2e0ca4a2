"""Files renamed into a folder, as Linux's inotify reports them: the hot folder's fast path.

Scanners, copy tools and the desk's upload write a file under a hidden or temporary name
and rename it when it is complete. inotify tells the moment a name is renamed in, so the
hot folder can look at it at once instead of at its next poll. Where inotify is missing
(not Linux, no more watches) or blind (a network mount: a file written by another machine
raises no event here), :meth:`Arrivals.open` returns None or nothing is reported, and the
polling finds every file as before.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import select
import struct
from pathlib import Path

log = logging.getLogger(__name__)

IN_MOVED_TO = 0x00000080  # <sys/inotify.h>: a name was renamed into the watched folder
IN_Q_OVERFLOW = 0x00004000  # events were lost (the polling still finds the files)
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
_HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then the name


class Arrivals:
    """Names renamed into one folder since the last :meth:`wait`."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._poller = select.poll()
        self._poller.register(fd, select.POLLIN)

    @classmethod
    def open(cls, folder: Path) -> Arrivals | None:
        """Watch ``folder``; None where inotify is not available (the caller polls only)."""
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
            init, add = libc.inotify_init1, libc.inotify_add_watch
        except (OSError, AttributeError):
            return None  # not Linux
        fd = init(IN_NONBLOCK | IN_CLOEXEC)
        if fd < 0:
            log.warning("inotify unavailable (%s): the hot folder is polled only", os.strerror(ctypes.get_errno()))
            return None
        if add(fd, os.fsencode(folder), IN_MOVED_TO) < 0:
            log.warning("cannot watch the hot folder with inotify (%s): it is polled only",
                        os.strerror(ctypes.get_errno()))  # fmt: skip
            os.close(fd)
            return None
        return cls(fd)

    def wait(self, seconds: float) -> set[str]:
        """Names renamed in, as soon as there are any, or an empty set after ``seconds``."""
        if not self._poller.poll(max(0, round(seconds * 1000))):
            return set()
        try:
            data = os.read(self._fd, 64 * 1024)
        except BlockingIOError:
            return set()
        return self._names(data)

    @staticmethod
    def _names(data: bytes) -> set[str]:
        names, offset = set(), 0
        while offset + _HEADER.size <= len(data):
            _, mask, _, length = _HEADER.unpack_from(data, offset)
            offset += _HEADER.size
            raw = data[offset : offset + length].rstrip(b"\0")
            offset += length
            if mask & IN_Q_OVERFLOW:
                log.info("inotify lost events; the next poll finds the files")
            elif raw:
                names.add(os.fsdecode(raw))  # as os.scandir names it (undecodable bytes escaped)
        return names

    def close(self) -> None:
        os.close(self._fd)
