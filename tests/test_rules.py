"""Routing rules: the pure predicate, first match wins, unknown stops routing."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from intake.config import Config
from intake.models import Document, FieldValue, Route, SourceFile
from intake.routing.rules import Match, Verdict, explain, matches, route

SOURCE = SourceFile(Path("scan.pdf"), "0" * 64, 1, "pdf", 1)
CONFIG = Config.model_validate(
    {
        "destinations": {
            "kela-south": {"address": "kirjaamo-etela@kela.example"},
            "kela-sv": {"address": "registrator@kela.example"},
            "kela": {"address": "kirjaamo@kela.example"},
            "vero": {"address": "kirjaamo@vero.example"},
        },
        "routing": {
            "rules": [
                {"id": "kela-sv", "authority": "KELA", "language": "sv", "destination": "kela-sv"},
                {
                    "id": "kela-south",
                    "authority": "KELA",
                    "postal_code": ["00", "01", "02"],
                    "destination": "kela-south",
                },
                {"id": "kela", "authority": "KELA", "destination": "kela"},
                {"id": "vero", "form": "vero-5010-fi", "destination": "vero"},
            ]
        },
    }
)


def doc(authority: str, form: str, language: str = "fi", postal: FieldValue | None = None) -> Document:
    document = Document(SOURCE, [], form, authority=authority, language=language)
    if postal:
        document.fields["postal_code"] = postal
    return document


@pytest.mark.parametrize(
    ("document", "rule", "destination"),
    [
        pytest.param(doc("KELA", "kela-sv8-sv", "sv"), "kela-sv", "registrator@kela.example", id="language"),
        pytest.param(
            doc("KELA", "kela-sv8-fi", postal=FieldValue("00100", 0.9, True)),
            "kela-south",
            "kirjaamo-etela@kela.example",
            id="postal-prefix",
        ),
        pytest.param(
            doc("KELA", "kela-sv8-fi", postal=FieldValue("33100", 0.9, True)),
            "kela",
            "kirjaamo@kela.example",
            id="postal-other",
        ),
        pytest.param(doc("VERO", "vero-5010-fi"), "vero", "kirjaamo@vero.example", id="form"),
    ],
)
def test_first_matching_rule_wins(document: Document, rule: str, destination: str) -> None:
    decision = route(document, CONFIG)
    assert isinstance(decision, Route)
    assert (decision.rule, decision.destination) == (rule, destination)
    assert rule in decision.reason


@pytest.mark.parametrize(
    "postal",
    [
        pytest.param(None, id="missing"),
        pytest.param(FieldValue("0O1OO", 0.9, False), id="invalid"),
        pytest.param(FieldValue("00100", 0.2, True), id="low-confidence"),
    ],
)
def test_unreadable_field_holds_instead_of_falling_through(postal: FieldValue | None) -> None:
    decision = route(doc("KELA", "kela-sv8-fi", postal=postal), CONFIG)
    assert isinstance(decision, Match)
    assert decision.verdict is Verdict.UNKNOWN and decision.rule == "kela-south"
    assert "postal_code" in decision.reason


def test_no_rule_is_not_a_route() -> None:
    decision = route(doc("POLIISI", "poliisi-ase1-fi"), CONFIG)
    assert isinstance(decision, Match) and decision.verdict is Verdict.NO
    assert "no routing rule" in decision.reason


def test_explain_gives_every_rule_a_reason() -> None:
    verdicts = explain(doc("KELA", "kela-sv8-sv", "sv"), CONFIG)
    assert [m.verdict for m in verdicts] == [Verdict.YES, Verdict.UNKNOWN, Verdict.YES, Verdict.NO]
    assert all(m.reason for m in verdicts)


def test_matches_leaves_the_document_as_it_was() -> None:
    document = doc("KELA", "kela-sv8-sv", "sv", postal=FieldValue("00100", 0.99, True))
    before = copy.deepcopy(document)
    verdicts = [matches(rule, document).verdict for rule in CONFIG.routing.rules]
    assert document == before  # asking a rule never changes what it is asked about
    assert verdicts == [Verdict.YES, Verdict.YES, Verdict.YES, Verdict.NO]
