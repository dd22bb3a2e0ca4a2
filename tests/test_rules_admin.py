"""The administrator's commands: rules check, explain, test and replay."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import EXAMPLES, copy_example_config
from smtp_fixtures import AGENCY

from intake.cli import ExitCode, main
from intake.config import Config
from intake.config import load as load_config
from intake.demo.pki import make_demo_pki
from intake.models import Document, Route, SourceFile
from intake.register import Register
from intake.routing.check import certificates, check, coverage, dated, shadowed
from intake.routing.templates import load_templates

TEMPLATES = load_templates()
TODAY = dt.date(2026, 5, 4)


def table(*rules: dict, destinations: dict | None = None) -> Config:
    return Config.model_validate({
        "destinations": destinations or {"d": {"address": "kirjaamo@d.example"}, "e": {"address": "k@e.example"}},
        "routing": {"rules": list(rules)},
    })  # fmt: skip


@pytest.mark.parametrize(
    ("rules", "finding"),
    [
        pytest.param([{"id": "kela", "authority": "KELA", "destination": "d"},
                      {"id": "kela-sv", "authority": "KELA", "language": "sv", "destination": "e"}],
                     "rule kela-sv: never decides: rule kela before it takes every document it matches",
                     id="shadowed"),
        pytest.param([{"id": "kela", "authority": "KELA", "destination": "d"},
                      {"id": "kela-form", "form": "kela-sv8-sv", "destination": "e"}],
                     "rule kela-form: never decides: rule kela before it", id="shadowed-by-authority-of-form"),
        pytest.param([{"id": "te-uusimaa", "authority": "TE", "region": "Uusimaa", "destination": "d"},
                      {"id": "te-helsinki", "authority": "TE", "region": ["Uusimaa"], "valid_from": "2025-01-01",
                       "destination": "e"}],
                     "rule te-helsinki: never decides", id="shadowed-place"),
    ],
)  # fmt: skip
def test_shadowed_rules_are_found(rules: list[dict], finding: str) -> None:
    found = [str(f) for f in shadowed(table(*rules), TEMPLATES)]
    assert len(found) == 1 and found[0].startswith(f"error: {finding}")


def test_narrower_rule_first_is_not_shadowed() -> None:
    config = table({"id": "kela-sv", "authority": "KELA", "language": "sv", "destination": "e"},
                   {"id": "kela", "authority": "KELA", "destination": "d"})  # fmt: skip
    assert shadowed(config, TEMPLATES) == []


@pytest.mark.parametrize(
    ("rules", "finding"),
    [
        pytest.param([{"id": "a", "authority": "AVI", "valid_until": "2025-12-31", "destination": "d"},
                      {"id": "b", "authority": "AVI", "valid_from": "2026-01-01", "destination": "e"}],
                     None, id="continuous"),
        pytest.param([{"id": "a", "authority": "AVI", "valid_until": "2025-12-31", "destination": "d"},
                      {"id": "b", "authority": "AVI", "valid_from": "2026-01-02", "destination": "e"}],
                     "error: rule b: gap: nothing in force from 2026-01-01 to 2026-01-01 before it", id="gap"),
        pytest.param([{"id": "a", "authority": "AVI", "valid_until": "2026-01-01", "destination": "d"},
                      {"id": "b", "authority": "AVI", "valid_from": "2026-01-01", "destination": "e"}],
                     "error: rule b: overlaps rule a (2026-01-01 – … and … – 2026-01-01)", id="overlap"),
        pytest.param([{"id": "a", "authority": "TE", "valid_until": "2024-12-31", "destination": "d"},
                      {"id": "b", "authority": "TE", "employment_area": "Helsinki", "valid_from": "2025-01-01",
                       "destination": "e"},
                      {"id": "c", "authority": "TE", "employment_area": "Vantaa", "valid_from": "2025-01-01",
                       "destination": "e"}],
                     None, id="places-side-by-side"),
    ],
)  # fmt: skip
def test_dated_rules_of_one_scope_have_no_overlap_or_gap(rules: list[dict], finding: str | None) -> None:
    found = [str(f) for f in dated(table(*rules))]
    assert found == ([finding] if finding else [])


def test_the_example_routes_every_form_from_every_municipality_today() -> None:
    config = load_config(EXAMPLES / "intake.toml")
    for item in coverage(config, TEMPLATES, TODAY):
        assert item.unrouted == {}, item.form
        assert sum(item.destinations.values()) == 308, item.form
    te = next(item for item in coverage(config, TEMPLATES, TODAY) if item.form == "te-ilmo1-fi")
    assert len(te.destinations) == 46  # the 45 employment areas and Åland's own
    findings = [f for f in check(config, TEMPLATES, TODAY) if "certificate" not in f.message]
    assert findings == []


def test_an_unroutable_form_is_reported() -> None:
    config = table({"id": "kela", "authority": "KELA", "destination": "d"},
                   {"id": "te", "authority": "TE", "employment_area": "Helsinki", "destination": "d"})  # fmt: skip
    messages = [f.message for f in check(config, TEMPLATES, TODAY) if f.subject == "form te-ilmo1-fi"]
    assert messages == [
        f"not routable on {TODAY} for 307 municipalities: no routing rule for TE te-ilmo1-fi on {TODAY}"
    ]
    assert any(f.subject == "form vero-5010-fi" and "every municipality" in f.message
               for f in check(config, TEMPLATES, TODAY))  # fmt: skip


def test_certificates_missing_expired_or_for_another_address(tmp_path: Path) -> None:
    pki = make_demo_pki(tmp_path, agencies=["kirjaamo@d.example", "other@e.example"])
    mine, other = (str(pki.agencies[a].cert) for a in ("kirjaamo@d.example", "other@e.example"))
    config = table(
        {"id": "a", "authority": "KELA", "destination": "d"},
        {"id": "b", "authority": "VERO", "destination": "e"},
        {"id": "c", "authority": "DVV", "destination": "f"},
        destinations={"d": {"address": "kirjaamo@d.example", "certificate": mine},
                      "e": {"address": "k@e.example", "certificate": other}, "f": {"address": "k@f.example"}},
    )  # fmt: skip
    found = {f.subject: f.message for f in certificates(config, dt.date.today())}
    assert set(found) == {"destination e", "destination f"}
    assert found["destination e"] == "certificate is not for k@e.example (it names other@e.example)"
    assert found["destination f"] == "no certificate: packages to it cannot be encrypted"
    late = certificates(config, dt.date.today() + dt.timedelta(days=3 * 365))
    assert any("not on" in f.message for f in late if f.subject == "destination d")


def test_rules_check_command_fails_on_problems_and_lists_coverage(tmp_path: Path, capsys) -> None:
    config = copy_example_config(tmp_path)
    assert main(["rules", "check", "--config", str(config)]) == ExitCode.RULES  # no certificates yet
    assert "cannot be read" in capsys.readouterr().out
    addresses = [d.address for d in load_config(config).destinations.values()]
    make_demo_pki(tmp_path / "pki", agencies=addresses)
    assert main(["rules", "check", "--coverage", "--config", str(config)]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "0 error(s)" in out and "te-ilmo1-fi" in out and "tyollisyys-helsinki (1)" in out


def test_rules_test_runs_the_example_cases(capsys) -> None:
    code = main(["rules", "test", "--config", str(EXAMPLES / "intake.toml"), str(EXAMPLES / "cases.toml")])
    out = capsys.readouterr().out
    assert code == ExitCode.OK, out
    assert "0 failed" in out and "FAIL" not in out


def test_rules_test_fails_loudly(tmp_path: Path, capsys) -> None:
    cases = tmp_path / "cases.toml"
    case = '[[case]]\nid = "{}"\nform = "avi-alk1-fi"\nscanned = {}\nexpect = "avi"\n'
    cases.write_text(case.format("wrong", "2026-01-01") + case.format("right", "2025-12-31"))
    assert main(["rules", "test", "--config", str(EXAMPLES / "intake.toml"), str(cases)]) == ExitCode.RULES
    captured = capsys.readouterr()
    assert "FAIL  wrong  expected -> avi, got -> lupa-ja-valvontavirasto" in captured.out
    assert "PASS  right" in captured.out and "1 passed, 1 failed" in captured.out
    assert "1 case(s) FAILED: wrong" in captured.err


def test_replay_lists_what_a_new_rule_set_would_send_elsewhere(tmp_path: Path, capsys) -> None:
    config = copy_example_config(tmp_path)
    register = Register(tmp_path / "spool")
    now = dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)
    for number, (form, authority) in enumerate([("avi-alk1-fi", "AVI"), ("vero-5010-fi", "VERO")]):
        document = Document(SourceFile(Path("x"), "", 0, "pdf", 1), [], form, authority=authority, language="fi",
                            scanned=TODAY)  # fmt: skip
        document.route = Route(rule="r", destination=f"kirjaamo@{authority.lower()}.example", reason="", target="t")
        register.record(document, f"pkg{number}", now=now)
    new = tmp_path / "new.toml"
    new.write_text((tmp_path / "routing.toml").read_text().replace('id = "avi-lvv"\nauthority = "AVI"',
                                                                   'id = "avi-lvv"\nauthority = "DVV"'))  # fmt: skip
    assert main(["rules", "replay", "--config", str(config), "--since", "2026-05-01", "--rules", str(new)]) == 0
    out = capsys.readouterr().out
    assert "pkg0  scanned 2026-05-04  avi-alk1-fi: was -> t <kirjaamo@avi.example> (rule r), now held:" in out
    assert "pkg1 " not in out  # the new table sends VERO where it went
    assert "2 document(s) since 2026-05-01 (the outbox's register): 1 would be decided differently" in out


@pytest.mark.parametrize(
    ("scan", "extra", "last"),
    [
        pytest.param("scan_0000.tif", [], "=> tyollisyys-satakunta <kirjaamo@satakunta.tyollisyysalue.example>"
                     " by rule tyollisyys-satakunta", id="place-proven"),  # PORI and 28100, read and agreeing
        pytest.param("duplex_004.pdf", [], "=> held: needs the customer's municipality (rule tyollisyys-",
                     id="place-unproven"),  # RAASEPORI 10600: the code's digits run together, no pair agrees
        pytest.param("duplex_004.pdf", ["--municipality", "Raasepori"], "=> tyollisyys-hanko-inkoo-raasepori "
                     "<kirjaamo@hanko-inkoo-raasepori.tyollisyysalue.example> by rule tyollisyys-hanko-inkoo-raasepori",
                     id="advisor-gives-municipality"),
        pytest.param("duplex_004.pdf", ["--date", "2024-12-31"], "=> te-toimistot <kirjaamo@te-toimisto.example> by"
                     " rule te-toimistot", id="before-the-reform"),
    ],
)  # fmt: skip
def test_explain_a_real_scan(corpus: Path, capsys, scan: str, extra: list[str], last: str) -> None:
    args = ["rules", "explain", "--config", str(EXAMPLES / "intake.toml"), str(corpus / scan), *extra]
    assert main(args) == ExitCode.OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{scan} pages 1: te-ilmo1-fi (TE, fi), scanned ")
    assert lines[1].split() == ["no", "kela-sv", "authority", "TE", "is", "not", "KELA"]
    assert len(lines) == 1 + 70 + 1 and lines[-1].strip().startswith(last)


def test_replay_reads_the_document_store_when_there_is_one(fresh: Callable, tmp_path: Path, capsys) -> None:
    config = fresh()  # the real pipeline stored a RISE form held for its municipality, and a form no rule takes
    new = tmp_path / "new.toml"
    certificate = config.destinations["agency"].certificate
    new.write_text(f'[destinations.agency]\naddress = "{AGENCY}"\ncertificate = "{certificate}"\n'
                   '[[rules]]\nid = "rise"\nauthority = "RISE"\ndestination = "agency"\n')  # fmt: skip
    args = ["rules", "replay", "--config", str(config.source), "--since", str(dt.date.today()), "--rules", str(new)]
    assert main(args) == ExitCode.OK
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == f"2 document(s) since {dt.date.today()} (the document store): 1 would be decided differently"
    assert "rise-yks4-fi: was held: " in out[0] and out[0].endswith(f"now -> agency <{AGENCY}> (rule rise)")
