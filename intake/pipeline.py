"""The pipeline, top to bottom: capture → ocr → routing → transport.

Pages are analysed in worker processes (one Tesseract thread each, one worker per core);
documents are assembled, routed and packaged in the parent.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from intake import capture, spool
from intake.config import Config
from intake.delivery import Dispatcher
from intake.errors import BadInputError, EnvironmentProblem, FileTooLarge, IntakeError, OcrError, TemplateError
from intake.lifeline import bind_to_parent
from intake.models import Document, PageAnalysis, PageIdentity, Rejection, SourceFile, Status
from intake.routing.documents import decide, split
from intake.routing.recognise import recognise
from intake.routing.templates import load_templates

if TYPE_CHECKING:
    from intake.store.api import Store

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]  # (pages done, pages known so far)


def process(
    paths: Iterable[Path],
    config: Config,
    *,
    dispatcher: Dispatcher | None,
    work: Path,
    keep_work: Path | None = None,
    progress: Progress | None = None,
    quarantine: bool = True,
    store: Store | None = None,
) -> Iterator[FileResult]:
    """capture → ocr → routing → transport, file by file.

    Every page is captured, read and recognised in a worker process (``analyse_page``);
    the pages of a file become documents, each routed or held (``Pipeline.run``); each
    routed document is packaged into the durable outbox, and every document (routed or
    held) is kept in the store for the desk, before its file's result is yielded; the
    dispatcher records each step in the audit log. Without a dispatcher (``--dry-run``)
    nothing is queued or recorded; without ``quarantine`` a rejected file is reported but
    not copied to the spool's quarantine; without a store nothing is kept.
    """
    with Pipeline(config, work=work, keep_work=keep_work, quarantine=quarantine) as pipeline:
        for result in pipeline.run(paths, progress=progress):
            if dispatcher is not None:
                dispatcher.scanned(result)  # the audit log: scanned, classified, held
                for document in result.documents:
                    if document.status is Status.QUEUED:
                        dispatcher.enqueue(document)
            if store is not None:
                for document in result.documents:
                    document.store_id = store.keep(document)
            yield result


def analyse_page(
    source: SourceFile, number: int, config: Config, work: Path, keep_work: Path | None = None
) -> PageAnalysis:
    """Everything done to one page: load, clean, recognise, keep the archival copy."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    image, dpi = capture.load_page(source, number, config.capture)
    keep = capture.Keep(keep_work, f"{source.sha256[:16]}-p{number:04d}") if keep_work else None
    engine = config.ocr.engine()
    page = capture.clean(image, dpi, number=number, config=config.capture, engine=engine, keep=keep)
    seconds["capture"] = time.perf_counter() - started
    archive = work / f"{source.sha256[:16]}-p{number:04d}.png"
    if page.blank or page.separator:
        return PageAnalysis(
            number, _blank_identity(), page.blank, page.rotation, page.skew, page.orientation_confident,
            page.flags, {}, {}, None, page.archive_dpi, seconds, separator=page.separator,
        )  # fmt: skip
    templates = load_templates(config.routing.templates)
    # The archival copy is written while the page is recognised: Pillow's encoder lets go
    # of the GIL and tesseract is a process of its own, so a free core takes it (0.2-0.4 s).
    with ThreadPoolExecutor(max_workers=1) as saver:
        saved = saver.submit(spool.save_image, page.image, archive, dpi=page.archive_dpi)
        found = recognise(page, templates, engine=engine)
        started = time.perf_counter()
        saved.result()
    seconds.update(found.seconds)
    if found.turned:
        page.image = page.image.rotate(found.turned)
        page.flags.append(f"turned {found.turned} after recognition")
        spool.save_image(page.image, archive, dpi=page.archive_dpi)  # rarely: the copy kept is the page upright
    if not page.orientation_confident and found.identity.score >= config.routing.review_threshold:
        # Printed text that matches a form's, read the page's way up, and the layout that
        # registers to it settle the orientation that capture could not.
        page.orientation_confident = True
        page.flags.append("orientation confirmed by recognition")
    crops = spool.save_crops(found.crops, work, stem=archive.stem)
    seconds["archive"] = time.perf_counter() - started  # what writing the copies added after recognition
    return PageAnalysis(
        number, found.identity, False, (page.rotation + found.turned) % 360, page.skew,
        page.orientation_confident, page.flags, found.fields, found.checkboxes, archive,
        page.archive_dpi, seconds, placement=found.placement, crops=crops,
    )  # fmt: skip


def _blank_identity() -> PageIdentity:
    return PageIdentity(None, 0, 0.0, "blank page")


@dataclass
class FileResult:
    """The outcome for one input file: its documents, or why it was rejected."""

    path: Path
    documents: list[Document]
    rejection: Rejection | None = None
    pages: list[PageAnalysis] | None = None


def _pool(config: Config) -> ProcessPoolExecutor:
    # Workers ignore Ctrl-C and die with this process, even by kill -9 (see lifeline).
    return ProcessPoolExecutor(max_workers=workers(config), initializer=bind_to_parent, initargs=(os.getpid(),))


def workers(config: Config) -> int:
    return config.ocr.workers or max(1, len(os.sched_getaffinity(0)))


class Pipeline:
    """Runs files through the stages with a pool of page workers."""

    def __init__(self, config: Config, *, work: Path, keep_work: Path | None = None, quarantine: bool = True) -> None:
        self.config = config
        self.work = work
        self.quarantine = quarantine
        self._submitted = 0  # each submission works in a folder of its own: the same scan twice never collides
        self.keep_work = keep_work  # --keep-work: every capture stage's image per page
        self.templates = load_templates(config.routing.templates)
        self._pool = _pool(config)
        self._broken = False

    def reconfigure(self, config: Config) -> None:
        """New rules (and templates) for the files from now on; pages in flight keep theirs."""
        self.config = config
        self.templates = load_templates(config.routing.templates)

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def run(self, paths: Iterable[Path], *, progress: Progress | None = None) -> Iterator[FileResult]:
        """Process ``paths``; yields one FileResult per file, in order. Never raises for a bad file."""
        inspected = [(path, self._inspect(path)) for path in paths]
        total = sum(item.page_count for _, item in inspected if isinstance(item, SourceFile))
        # Pages of the next files are submitted while this one finishes, so that every core
        # stays busy across file boundaries; the look-ahead is bounded to keep memory flat.
        ahead: deque[tuple[SourceFile, list[Future[PageAnalysis]]]] = deque()
        queue = deque(inspected)
        done = 0
        while queue or ahead:
            while queue and (not ahead or sum(len(f) for _, f in ahead) < 4 * workers(self.config)):
                path, item = queue.popleft()
                if isinstance(item, Rejection):
                    if not ahead:
                        yield FileResult(path, [], item)
                        continue
                    queue.appendleft((path, item))
                    break
                ahead.append((item, self._submit(item)))
            if not ahead:
                continue
            source, pending = ahead.popleft()
            result = self._collect(source, pending)
            if self._broken:
                ahead = deque((item, self._submit(item)) for item, _ in ahead)
                self._broken = False
            done += source.page_count
            if progress:
                progress(done, total)
            yield result

    def _submit(self, source: SourceFile) -> list[Future[PageAnalysis]]:
        self._submitted += 1
        work = self.work / f"{self._submitted:06d}"
        return [
            self._pool.submit(analyse_page, source, number, self.config, work, self.keep_work)
            for number in range(1, source.page_count + 1)
        ]

    def _inspect(self, path: Path) -> SourceFile | Rejection:
        try:
            return capture.inspect(path, self.config.capture)
        except BadInputError as exc:
            return self._reject(path, None, exc)
        except OSError as exc:
            return self._reject(
                path, None, BadInputError(f"cannot read the file: {exc.strerror or type(exc).__name__}")
            )
        except Exception as exc:  # a decoder's unexpected error is this file's problem, not the batch's
            log.exception("internal error inspecting an input file")
            return self._reject(path, None, BadInputError(f"internal error reading the file: {type(exc).__name__}"))

    def _reject(self, path: Path, sha256: str | None, exc: BadInputError) -> Rejection:
        rejection = Rejection(path, sha256, exc.code, str(exc))
        if self.quarantine:
            copy = not isinstance(exc, FileTooLarge)  # reading it whole is what the limit prevents
            rejection.quarantined_to = spool.quarantine(path, rejection, self.config.transport.spool, copy=copy)
        # The file's name may carry a customer's name: the log names it by its hash.
        log.warning("rejected file %.12s: %s", sha256 or "(unread)", rejection.reason)
        return rejection

    def _restart_pool(self) -> None:
        # shutdown() does not stop a worker stuck on a page: terminate them, or every later
        # file would wait behind it and time out too.
        for process in list(getattr(self._pool, "_processes", {}).values()):
            process.terminate()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._pool = _pool(self.config)
        self._broken = True

    def _collect(self, source: SourceFile, pending: list[Future[PageAnalysis]], *, retry: bool = True) -> FileResult:
        timeout = self.config.capture.file_timeout_s
        deadline = time.monotonic() + timeout
        pages = []
        try:
            for future in pending:
                pages.append(future.result(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            self._restart_pool()
            failure = BadInputError(f"processing took longer than {timeout:.0f} s")
            return FileResult(source.path, [], self._reject(source.path, source.sha256, failure))
        except BadInputError as exc:
            return FileResult(source.path, [], self._reject(source.path, source.sha256, exc))
        except BrokenProcessPool:
            # A worker died (out of memory, a decoder crash) and took every pending page with
            # it. Retry this file alone in a fresh pool: if it breaks again it is the culprit.
            self._restart_pool()
            if retry:
                return self._collect(source, self._submit(source), retry=False)
            failure = BadInputError("a worker process died while reading this file")
            return FileResult(source.path, [], self._reject(source.path, source.sha256, failure))
        except (EnvironmentProblem, TemplateError):
            raise  # the machine or the templates, not this file: stop rather than quarantine
        except (OcrError, IntakeError) as exc:
            failure = BadInputError(f"page {len(pages) + 1}: {exc}")
            return FileResult(source.path, [], self._reject(source.path, source.sha256, failure))
        except Exception as exc:  # a bug must not cost the batch: quarantine this file, go on
            log.exception("internal error on file %.12s page %d", source.sha256, len(pages) + 1)
            failure = BadInputError(f"internal error on page {len(pages) + 1}: {type(exc).__name__}")
            return FileResult(source.path, [], self._reject(source.path, source.sha256, failure))
        try:
            documents = [decide(doc, self.templates, self.config) for doc in split(source, pages)]
        except Exception as exc:  # a bug in assembly must not cost the batch either
            log.exception("internal error assembling file %.12s", source.sha256)
            failure = BadInputError(f"internal error assembling documents: {type(exc).__name__}")
            return FileResult(source.path, [], self._reject(source.path, source.sha256, failure))
        return FileResult(source.path, documents, pages=pages)
