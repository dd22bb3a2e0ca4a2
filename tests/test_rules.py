"""Routing rules: the pure predicate, first match wins, unknown stops routing."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path

import pytest
from conftest import EXAMPLES

from intake.config import Config
from intake.config import load as load_config
from intake.models import Document, FieldValue, Route, SourceFile
from intake.routing.place import NEEDS_MUNICIPALITY
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


def test_matches_is_pure() -> None:
    document = doc("KELA", "kela-sv8-sv", "sv")
    rule = CONFIG.routing.rules[0]
    assert matches(rule, document) == matches(rule, document)


# --- dated rules and place rules, on the example routing table (today's organisation) ---

EXAMPLE = load_config(EXAMPLES / "intake.toml")
REFORMS = [("te-ilmo1-fi", "TE"), ("avi-alk1-fi", "AVI"), ("ely-yt1-fi", "ELY")]


def placed(form: str, authority: str, day: dt.date, *, municipality: str | None = None,
           postal: str | None = None, valid: bool | None = True, advisor: str | None = None) -> Document:  # fmt: skip
    document = Document(SOURCE, [], form, authority=authority, language="fi", scanned=day)
    if municipality is not None:
        document.fields["municipality"] = FieldValue(municipality, 0.9, valid)
    if postal is not None:
        document.fields["postal_code"] = FieldValue(postal, 0.9, valid)
    document.place_override = advisor
    return document


@pytest.mark.parametrize(
    ("document", "target"),
    [
        pytest.param(placed("te-ilmo1-fi", "TE", dt.date(2024, 12, 31)), "te-toimistot", id="te-last-office-day"),
        pytest.param(placed("te-ilmo1-fi", "TE", dt.date(2025, 1, 1), municipality="PORI"), "tyollisyys-satakunta",
                     id="te-first-day-of-employment-areas"),
        pytest.param(placed("te-ilmo1-fi", "TE", dt.date(2025, 6, 1), municipality="Helsingfors"),
                     "tyollisyys-helsinki", id="te-swedish-name"),
        pytest.param(placed("te-ilmo1-fi", "TE", dt.date(2026, 2, 1), postal="10300"),
                     "tyollisyys-hanko-inkoo-raasepori", id="te-postal-code-alone"),
        pytest.param(placed("te-ilmo1-fi", "TE", dt.date(2026, 2, 1), municipality="KARJAA", postal="10300"),
                     "tyollisyys-hanko-inkoo-raasepori", id="te-post-office-name-of-its-code"),
        pytest.param(placed("te-ilmo1-fi", "TE", dt.date(2026, 2, 1), advisor="Kotka"),
                     "tyollisyys-etela-kymenlaakso", id="te-municipality-given-by-advisor"),
        pytest.param(placed("avi-alk1-fi", "AVI", dt.date(2025, 12, 31)), "avi", id="avi-last-day"),
        pytest.param(placed("avi-alk1-fi", "AVI", dt.date(2026, 1, 1)), "lupa-ja-valvontavirasto",
                     id="avi-to-lupa-ja-valvontavirasto"),
        pytest.param(placed("ely-yt1-fi", "ELY", dt.date(2025, 12, 31)), "ely", id="ely-last-day"),
        pytest.param(placed("ely-yt1-fi", "ELY", dt.date(2026, 1, 1), municipality="Kuopio"), "ek-ita-suomen",
                     id="ely-to-elinvoimakeskus"),
        pytest.param(placed("ely-yt1-fi", "ELY", dt.date(2026, 1, 1), municipality="Maarianhamina"),
                     "ek-lounais-suomen", id="ely-aland-to-lounais-suomi"),
    ],
)  # fmt: skip
def test_should_route(document: Document, target: str) -> None:
    decision = route(document, EXAMPLE)
    assert isinstance(decision, Route), decision
    assert decision.target == target
    assert decision.destination == EXAMPLE.destinations[target].address


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        pytest.param(placed("te-ilmo1-fi", "TE", dt.date(2025, 1, 1)), NEEDS_MUNICIPALITY, id="te-nothing-proven"),
        pytest.param(placed("te-ilmo1-fi", "TE", dt.date(2025, 1, 1), municipality="Pori", valid=None),
                     NEEDS_MUNICIPALITY, id="te-municipality-not-proven"),
        pytest.param(placed("te-ilmo1-fi", "TE", dt.date(2025, 1, 1), municipality="Pori", postal="00100"),
                     "disagree", id="te-postal-code-contradicts"),
        pytest.param(placed("te-ilmo1-fi", "TE", dt.date(2025, 1, 1), municipality="Atlantis"),
                     "no municipality", id="te-not-a-municipality"),
        pytest.param(placed("te-ilmo1-fi", "TE", dt.date(2025, 1, 1), advisor="Atlantis"),
                     "no municipality", id="te-advisor-typo"),
        pytest.param(placed("ely-yt1-fi", "ELY", dt.date(2026, 1, 1)), NEEDS_MUNICIPALITY, id="ely-nothing-proven"),
        pytest.param(placed("ely-yt1-fi", "ELY", dt.date(2026, 1, 1), postal="00011"), NEEDS_MUNICIPALITY,
                     id="ely-po-box-code-is-no-home"),
    ],
)  # fmt: skip
def test_should_hold(document: Document, reason: str) -> None:
    decision = route(document, EXAMPLE)
    assert isinstance(decision, Match) and decision.verdict is Verdict.UNKNOWN
    assert decision.reason.startswith(NEEDS_MUNICIPALITY) and reason in decision.reason


@pytest.mark.parametrize(("form", "authority"), [pytest.param(f, a, id=a) for f, a in REFORMS])
def test_every_reform_date_has_a_rule_either_side(form: str, authority: str) -> None:
    for day in (dt.date(2024, 12, 31), dt.date(2025, 1, 1), dt.date(2025, 12, 31), dt.date(2026, 1, 1)):
        decision = route(placed(form, authority, day, municipality="Oulu"), EXAMPLE)
        assert isinstance(decision, Route), (day, decision)


def test_a_rule_out_of_force_says_so() -> None:
    rule = next(r for r in EXAMPLE.routing.rules if r.id == "avi")
    verdict = matches(rule, placed("avi-alk1-fi", "AVI", dt.date(2026, 1, 1)))
    assert verdict.verdict is Verdict.NO and verdict.reason == "not in force on 2026-01-01 (in force … – 2025-12-31)"


def test_a_destination_out_of_force_is_not_used() -> None:
    config = Config.model_validate({
        "destinations": {"old": {"address": "a@old.example", "valid_until": "2025-12-31"}},
        "routing": {"rules": [{"id": "kela", "authority": "KELA", "destination": "old"}]},
    })  # fmt: skip
    decision = route(placed("kela-sv8-fi", "KELA", dt.date(2026, 1, 1)), config)
    assert isinstance(decision, Match) and "destination old is not in force on 2026-01-01" in decision.reason
