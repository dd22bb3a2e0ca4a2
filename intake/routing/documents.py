"""Split a file's pages into documents and decide, per document, route or review.

A form's first page starts a document and its continuation pages join it; blank pages
are dropped and listed with the document they follow; pages that are no known form
make documents of their own, which are never routed.
"""

from __future__ import annotations

from collections.abc import Sequence

from intake.config import Config
from intake.models import Document, PageAnalysis, Route, SourceFile, Status
from intake.routing.place import NEEDS_MUNICIPALITY
from intake.routing.rules import route
from intake.routing.templates import Template

NOTHING_FILLED_IN = "nothing filled in"


def _continues(document: Document | None, page: PageAnalysis) -> bool:
    if document is None or not document.pages:
        return False
    last = document.pages[-1].identity
    here = page.identity
    if here.form_id is None:
        return last.form_id is None  # consecutive unknown pages: one unknown document
    return here.form_id == last.form_id and here.page == last.page + 1


def split(source: SourceFile, pages: Sequence[PageAnalysis]) -> list[Document]:
    """Group pages into documents, in file order."""
    documents: list[Document] = []
    pending_blanks: list[int] = []
    pending_separators: list[int] = []
    current: Document | None = None
    for page in pages:
        if page.separator:  # ends the document in hand; listed with it (or the next one)
            (current.separator_pages if current else pending_separators).append(page.number)
            current = None
            continue
        if page.blank:
            (current.blank_pages if current else pending_blanks).append(page.number)
            continue
        if not _continues(current, page):
            current = Document(source=source, pages=[], form_id=page.identity.form_id)
            current.blank_pages.extend(pending_blanks)
            current.separator_pages.extend(pending_separators)
            pending_blanks.clear()
            pending_separators.clear()
            documents.append(current)
        assert current is not None  # _continues() is False without a current document
        current.pages.append(page)
    if pending_blanks or pending_separators:  # a file of blank pages and separators only
        documents.append(Document(source=source, pages=[], form_id=None, blank_pages=pending_blanks,
                                  separator_pages=pending_separators))  # fmt: skip
    return documents


def _hold_reason(document: Document, template: Template | None, threshold: float) -> str | None:
    """Why ``document`` must be held for the advisor, or None if it may be routed."""
    if not document.pages:
        return "only blank pages"
    if template is None:
        evidence = document.pages[0].identity.reason
        return evidence
    uncertain = [p.number for p in document.pages if not p.orientation_confident]
    if uncertain:
        return f"orientation uncertain on page(s) {uncertain}"
    first = document.pages[0].identity.page
    if first != 1:
        return f"starts with page {first} of {template.id}: its first page is missing"
    if len(document.pages) < template.pages:
        return f"{template.id} has {template.pages} pages, only {len(document.pages)} scanned"
    if document.confidence < threshold:
        weakest = min(document.pages, key=lambda p: p.identity.score)
        return (
            f"unsure it is {template.id} (confidence {document.confidence:.2f} < {threshold:.2f}; "
            f"page {weakest.number}: {weakest.identity.reason})"
        )
    if not _filled_in(document):
        return NOTHING_FILLED_IN
    return None


def _filled_in(document: Document) -> bool:
    """Whether the customer wrote or ticked anything (a zone without ink is not even read).

    A comb field whose every box reads blank ("?") is no writing: it is the printed box
    lines left over once a slightly turned scan is registered.
    """
    written = any(
        value.value or value.candidates or (value.raw or "").strip(" ?") for value in document.fields.values()
    )
    return written or any(document.checkboxes.values())


def decide(document: Document, templates: Sequence[Template], config: Config) -> Document:
    """Fill in form metadata, fields and the status: queued (with a route) or review."""
    template = next((t for t in templates if t.id == document.form_id), None)
    if template is not None:
        document.authority, document.code, document.language = template.authority, template.code, template.language
    document.confidence = min((p.identity.score for p in document.pages), default=0.0)
    for page in document.pages:
        document.fields.update(page.fields)
        document.checkboxes.update(page.checkboxes)
    reason = _hold_reason(document, template, config.routing.review_threshold)
    if reason is not None:
        document.status, document.reason = Status.REVIEW, reason
        return document
    decision = route(document, config)
    if isinstance(decision, Route):
        document.route = decision
        document.status, document.reason = Status.QUEUED, None
    elif decision.reason.startswith(NEEDS_MUNICIPALITY):  # the desk asks the advisor for it
        document.status, document.reason = Status.REVIEW, f"{decision.reason} (rule {decision.rule})"
    else:
        document.status, document.reason = Status.REVIEW, f"not routed: {decision.reason}"
    return document


def confirm(document: Document, templates: Sequence[Template], config: Config) -> Document:
    """Route a document the advisor has checked: form and pages vouched for, only the rules decide.

    The advisor saw the pages and confirmed the form, so the doubts that held it (which
    form, which way up, which pages) are settled; the rules still route only on proven
    fields, and a rule that needs one that is missing still holds the document.
    """
    template = next((t for t in templates if t.id == document.form_id), None)
    if template is None:
        document.route, document.status, document.reason = None, Status.REVIEW, "no known form confirmed"
        return document
    document.authority, document.code, document.language = template.authority, template.code, template.language
    document.confidence = 1.0
    decision = route(document, config)
    if isinstance(decision, Route):
        document.route, document.status, document.reason = decision, Status.QUEUED, None
    else:
        document.route, document.status, document.reason = None, Status.REVIEW, f"not routed: {decision.reason}"
    return document
