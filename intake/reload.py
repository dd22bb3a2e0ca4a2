"""Rules that change while ``watch`` (or a desk server) runs: take a valid change, refuse a broken one loudly.

Only the routing table is replaced (authorities, agencies, destinations, the [routing]
section with its rules): capture, OCR and transport settings need a restart, and the log
says so. A file that does not validate, or names a certificate that cannot be read,
leaves the last good rules in force and is reported at ERROR on every change until fixed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from collections.abc import Callable
from pathlib import Path

from intake import config as configuration
from intake.config import Config
from intake.errors import ConfigError, TemplateError

log = logging.getLogger(__name__)

Record = Callable[[str, dict[str, object]], None]  # (event, details) for the audit log


def _mark(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)


class Reloader:
    """Watches the configuration file and its rules file; ``poll()`` returns the new config on a good change."""

    def __init__(self, config: Config, *, record: Record | None = None) -> None:
        self.config = config
        self.loaded = dt.datetime.now()
        self._record = record
        self._marks = self._stat()
        self._lock = threading.Lock()  # the desk's request threads poll one reloader

    def _files(self) -> list[Path]:
        named = [self.config.source, self.config.routing.rules_file]
        return [Path(path) for path in named if path is not None]

    def _stat(self) -> dict[Path, tuple[int, int] | None]:
        return {path: _mark(path) for path in self._files()}

    def poll(self) -> Config | None:
        """The new configuration if a file changed and it is valid; None otherwise."""
        with self._lock:
            return self._poll()

    def _poll(self) -> Config | None:
        if self.config.source is None:
            return None
        marks = self._stat()
        if marks == self._marks:
            return None
        self._marks = marks
        try:
            fresh = self._load()
        except (ConfigError, TemplateError) as exc:
            log.error("ROUTING RULES NOT RELOADED: %s; the rules loaded at %s stay in force until this is fixed",
                      exc, f"{self.loaded:%Y-%m-%d %H:%M:%S}")  # fmt: skip
            self._audit("rules-rejected", {"problem": str(exc), "sha256": self._digest()})
            return None
        if fresh.model_dump(exclude={"routing", "authorities", "agencies", "destinations"}) != self.config.model_dump(
            exclude={"routing", "authorities", "agencies", "destinations"}
        ):
            log.warning("configuration changed outside the routing table: that part takes effect on restart")
        before = len(self.config.routing.rules)
        self.config = self.config.model_copy(update={
            "routing": fresh.routing, "authorities": fresh.authorities,
            "agencies": fresh.agencies, "destinations": fresh.destinations,
        })  # fmt: skip
        self.loaded = dt.datetime.now()
        log.warning("routing rules reloaded from %s: %d rules (were %d), %d destinations",
                    self._files()[-1], len(fresh.routing.rules), before, len(fresh.destinations))  # fmt: skip
        self._audit("rules-reloaded", {"rules": len(fresh.routing.rules), "destinations": len(fresh.destinations),
                                       "sha256": self._digest()})  # fmt: skip
        return self.config

    def _digest(self) -> str:
        """The sha256 of the rules in force (the rules file, else the configuration): which version it was."""
        path = self._files()[-1]
        try:
            return hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return ""

    def _load(self) -> Config:
        from intake import preflight

        assert self.config.source is not None
        fresh = configuration.load(self.config.source)
        preflight.check_rules(fresh)
        preflight.check_files(fresh)
        return fresh

    def _audit(self, event: str, details: dict[str, object]) -> None:
        record = self._record or _log_record
        try:
            record(event, details)
        except Exception:  # the audit log's trouble must not stop the desk; it logs its own
            log.exception("could not record %s in the audit log", event)


def _log_record(event: str, details: dict[str, object]) -> None:
    """Until the audit log takes rules events, each change is one structured log line of its own."""
    logging.getLogger("intake.audit").warning("audit %s %s", event, details)
