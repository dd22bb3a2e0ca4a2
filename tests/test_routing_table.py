"""The routing table as configuration: rules files, authorities and agencies as data, exact errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from intake.config import load
from intake.errors import ConfigError

DESTINATION = '[destinations.d]\naddress = "kirjaamo@d.example"\n'


def write(folder: Path, rules: str) -> Path:
    (folder / "routing.toml").write_text(rules, encoding="utf-8")
    path = folder / "intake.toml"
    path.write_text('[routing]\nrules_file = "routing.toml"\n', encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("rules", "error"),
    [
        pytest.param(
            DESTINATION + '[[rules]]\nid = "x"\nauthority = "KLEA"\ndestination = "d"\n',
            "rules.0.authority: unknown authority 'KLEA' in rule 'x' (known: AVI, DVV, ELY, MIGRI, MML, OIKEUSAPU, "
            "POLIISI, RISE, TE, ULOSOTTO, VERO, KELA)",
            id="unknown-authority",
        ),
        pytest.param(
            DESTINATION + '[[rules]]\nid = "x"\nauthority = "AVI"\nvalid_from = 2026-01-01\n'
            'valid_until = 2025-12-31\ndestination = "d"\n',
            "rules.0: valid_until 2025-12-31 is before valid_from 2026-01-01",
            id="bad-date-order",
        ),
        pytest.param(
            DESTINATION + '[[rules]]\nid = "x"\nauthority = "KELA"\ndestination = "nowhere"\n',
            "rules.0.destination: unknown destination 'nowhere' in rule 'x' (known: d)",
            id="unknown-destination",
        ),
        pytest.param(
            DESTINATION + '[[rules]]\nid = "x"\nauthority = "TE"\nemployment_area = "Atlantis"\ndestination = "d"\n',
            "rules.0.employment_area: unknown employment_area 'Atlantis' (known: Espoo-Kauniainen,",
            id="unknown-area",
        ),
        pytest.param(
            DESTINATION + '[[rules]]\nid = "x"\nauthority = "TE"\nmunicipality = "Pory"\ndestination = "d"\n',
            "rules.0.municipality: unknown municipality 'Pory' (Finnish or Swedish name, or its code)",
            id="unknown-municipality",
        ),
        pytest.param(
            '[destinations.d]\naddress = "kirjaamo@d.example"\nagency = "ely"\n',
            "destinations.d.agency: unknown agency 'ely' (known: none defined)",
            id="unknown-agency",
        ),
        pytest.param(
            DESTINATION + '[[rules]]\nid = "x"\nauthority = "KELA"\ndestination = "d"\n'
            '[[rules]]\nid = "x"\nauthority = "VERO"\ndestination = "d"\n',
            "rules.1.id: rule id 'x' is used twice",
            id="duplicate-id",
        ),
        pytest.param(DESTINATION + "[smtp]\nhost = 'x'\n", "unknown section(s) smtp", id="unknown-section"),
    ],
)
def test_invalid_rules_files_give_their_exact_error(tmp_path: Path, rules: str, error: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(write(tmp_path, rules))
    assert str(caught.value).startswith(f"{tmp_path / 'routing.toml'}: {error}")


def test_rules_in_both_files_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, DESTINATION)
    path.write_text(path.read_text() + DESTINATION, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[destinations\] is in both this file and the rules file"):
        load(path)


def test_a_new_agency_and_authority_are_a_few_lines(tmp_path: Path) -> None:
    config = load(
        write(
            tmp_path,
            """
[authorities.PALKKATURVA]
name_fi = "Palkkaturva"
name_sv = "Lönegaranti"
[agencies.tyollisyys-x]
name_fi = "Työllisyysalue X"
name_sv = "Sysselsättningsområde X"
valid_from = 2025-01-01
[destinations.x]
address = "kirjaamo@x.example"
agency = "tyollisyys-x"
valid_from = 2025-01-01
[[rules]]
id = "palkkaturva"
authority = "PALKKATURVA"
destination = "x"
""",
        )
    )
    assert "PALKKATURVA" in config.authorities and "KELA" in config.authorities  # built-ins stay
    assert config.destinations["x"].agency == "tyollisyys-x"
    assert config.routing.rules_file == tmp_path / "routing.toml"


def test_a_rules_file_can_be_tried_in_place_of_the_configured_one(tmp_path: Path) -> None:
    path = write(tmp_path, DESTINATION + '[[rules]]\nid = "old"\nauthority = "KELA"\ndestination = "d"\n')
    new = tmp_path / "new.toml"
    new.write_text(DESTINATION + '[[rules]]\nid = "new"\nauthority = "KELA"\ndestination = "d"\n', encoding="utf-8")
    assert [r.id for r in load(path).routing.rules] == ["old"]
    assert [r.id for r in load(path, rules=new).routing.rules] == ["new"]
