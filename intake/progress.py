"""A progress line on stderr for long runs: pages done, rate and time left."""

from __future__ import annotations

import sys
import time


class ProgressLine:
    """Rewrites one terminal line; does nothing when stderr is not a terminal."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self.started = time.monotonic()
        self.files = 0
        self._text = ""

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()

    def clear(self) -> None:
        """Take the line away, so that output on stdout starts on a clean line."""
        if self.enabled and self._text:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()

    def redraw(self) -> None:
        """Put the line back below what was written since ``clear``."""
        if self.enabled and self._text:
            sys.stderr.write(self._text)
            sys.stderr.flush()

    def update(self, done: int, total: int) -> None:
        self.files += 1
        if not self.enabled or done <= 0:
            return
        elapsed = time.monotonic() - self.started
        rate = done / elapsed * 60 if elapsed > 0 else 0.0
        left = (total - done) / (done / elapsed) if elapsed > 0 else 0.0
        self.clear()
        left_text = f"{int(left // 60)}:{int(left % 60):02d}"
        self._text = f"\r{self.files} files, {done}/{total} pages, {rate:.0f} pages/min, {left_text} left"
        self.redraw()
