"""Retention: handled scans and sent messages are deleted after the configured days; held ones stay.

What is deleted: scans in the hot folder's ``done/`` (with their ``.result.json``) whose
newest file is older than ``[retention] scans_days``, and the message files of outbox
items the agency's server accepted more than ``sent_days`` ago (the item's row stays as
the record). What stays until a person resolves it: ``review/``, both quarantines, and
outbox items not yet sent (queued, deferred, failed).
"""

from __future__ import annotations

import logging
import os
import stat
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from intake.config import Config
from intake.folders import private_dir
from intake.transport.outbox import Outbox

log = logging.getLogger(__name__)


@dataclass
class RetentionReport:
    """What retention deleted, or with ``dry_run`` would delete."""

    dry_run: bool
    scans: list[Path] = field(default_factory=list)  # files in DIR/done (named by hash)
    messages: list[str] = field(default_factory=list)  # outbox item ids whose message went


def expired_scans(done: Path, *, before: datetime) -> list[Path]:
    """Files in ``done`` whose scan, result and all, were last changed before ``before``."""
    if not done.is_dir():
        return []
    groups: dict[str, list[tuple[Path, float]]] = defaultdict(list)
    with os.scandir(done) as entries:
        for entry in entries:
            info = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(info.st_mode) and not entry.name.startswith("."):
                # <sha256[:24]>.pdf and <sha256[:24]>.result.json go together
                groups[entry.name.partition(".")[0]].append((Path(entry.path), info.st_mtime))
    cutoff = before.timestamp()
    return sorted(path for group in groups.values() if max(t for _, t in group) < cutoff for path, _ in group)


def run(config: Config, *, hot_folder: Path | None, now: datetime, outbox: Outbox | None = None,
        dry_run: bool = False) -> RetentionReport:  # fmt: skip
    """Apply ``config.retention`` to ``hot_folder``'s done/ (if given) and to the outbox."""
    report = RetentionReport(dry_run=dry_run)
    if hot_folder is not None:
        done = private_dir(hot_folder / "done")  # a link here would delete files wherever it points
        report.scans = expired_scans(done, before=now - timedelta(days=config.retention.scans_days))
        if not dry_run:
            for path in report.scans:
                path.unlink(missing_ok=True)
    store = Outbox.for_config(config.transport) if outbox is None else outbox
    report.messages = store.purge_sent(now - timedelta(days=config.retention.sent_days), dry_run=dry_run)
    log.info("retention%s: %d file(s) of handled scans, %d sent message(s)",
             " (dry run)" if dry_run else "", len(report.scans), len(report.messages))  # fmt: skip
    return report
