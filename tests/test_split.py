"""Splitting a file's pages into documents."""

from __future__ import annotations

from pathlib import Path

from intake.models import PageAnalysis, PageIdentity, SourceFile
from intake.routing.documents import split

SOURCE = SourceFile(Path("batch.pdf"), "0" * 64, 1, "pdf", 8)


def page(number: int, form: str | None, form_page: int = 1, *, blank: bool = False) -> PageAnalysis:
    identity = PageIdentity(form, form_page if form else 0, 0.95 if form else 0.1, "test")
    return PageAnalysis(number, identity, blank, 0, 0.0, True, [], {}, {}, None, 300)


def shape(pages: list[PageAnalysis]) -> list[tuple[str | None, list[int], list[int]]]:
    return [(d.form_id, d.page_numbers, d.blank_pages) for d in split(SOURCE, pages)]


def test_first_pages_start_documents_and_continuations_join() -> None:
    pages = [page(1, "migri-olety1-fi", 1), page(2, "migri-olety1-fi", 2), page(3, "kela-sv8-fi"),
             page(4, "kela-sv8-fi"), page(5, "migri-olety1-fi", 1), page(6, "migri-olety1-fi", 2)]  # fmt: skip
    assert shape(pages) == [
        ("migri-olety1-fi", [1, 2], []),
        ("kela-sv8-fi", [3], []),
        ("kela-sv8-fi", [4], []),
        ("migri-olety1-fi", [5, 6], []),
    ]


def test_blank_backs_are_dropped_and_listed_with_their_document() -> None:
    pages = [page(1, "kela-to1-fi", 1), page(2, None, blank=True), page(3, "kela-to1-fi", 2),
             page(4, None, blank=True), page(5, "vero-5010-fi"), page(6, None, blank=True)]  # fmt: skip
    assert shape(pages) == [("kela-to1-fi", [1, 3], [2, 4]), ("vero-5010-fi", [5], [6])]


def test_orphan_continuation_and_unknown_pages_stand_alone() -> None:
    pages = [page(1, "kela-to1-fi", 2), page(2, None), page(3, None), page(4, "te-ilmo1-fi")]
    assert shape(pages) == [("kela-to1-fi", [1], []), (None, [2, 3], []), ("te-ilmo1-fi", [4], [])]


def test_only_blank_pages() -> None:
    assert shape([page(1, None, blank=True), page(2, None, blank=True)]) == [(None, [], [1, 2])]
