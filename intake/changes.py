"""Announcements within one process that documents or deliveries changed: the desk's live list waits on them.

Only a wake-up, never the news itself: the live list reads the databases to know what
changed, and looks at them every half second as well, since other processes ('intake
process', another desk on the same store) write there without a word to this one.
"""

from __future__ import annotations

import threading


class Changes:
    """A counter of announcements, and a way to wait for the next one."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.count = 0

    def announce(self) -> None:
        """Something was committed: wake whoever waits."""
        with self._condition:
            self.count += 1
            self._condition.notify_all()

    def wait(self, seen: int, seconds: float) -> None:
        """Return once there was an announcement after ``seen`` (an earlier ``count``), or after ``seconds``."""
        with self._condition:
            self._condition.wait_for(lambda: self.count != seen, seconds)


changes = Changes()
