"""Write examples/routing.toml: the example routing table, following today's organisation.

    .venv/bin/python -m tools.example_routing        # rewrites examples/routing.toml

The employment areas (from 1.1.2025) and the elinvoimakeskus areas (from 1.1.2026) come
from the place data shipped in intake/places, so the example covers every municipality;
run it again when that data is updated. Addresses use example domains only.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from intake import places

ROOT = Path(__file__).resolve().parents[1]

TE_END, AREAS_START = "2024-12-31", "2025-01-01"
REFORM_END, REFORM_START = "2025-12-31", "2026-01-01"
# Owners whose forms go to one national registry, today as before.
NATIONAL = (
    ("dvv", "DVV", "Digi- ja väestötietovirasto", "Myndigheten för digitalisering och befolkningsdata"),
    ("migri", "MIGRI", "Maahanmuuttovirasto", "Migrationsverket"),
    ("mml", "MML", "Maanmittauslaitos", "Lantmäteriverket"),
    ("oikeusapu", "OIKEUSAPU", "Oikeusapu- ja edunvalvontapiirit", "Rättshjälps- och intressebevakningsdistrikten"),
    ("poliisi", "POLIISI", "Poliisi", "Polisen"),
    ("rise", "RISE", "Rikosseuraamuslaitos", "Brottspåföljdsmyndigheten"),
    ("ulosotto", "ULOSOTTO", "Ulosottolaitos", "Utsökningsverket"),
    ("vero", "VERO", "Verohallinto", "Skatteförvaltningen"),
)

HEAD = """\
# intake: example routing table (the demo uses it as it is). Written by
# "python -m tools.example_routing" from the place data in intake/places; example domains only.
#
# Check it:   intake rules check --config examples/intake.toml --coverage
# Test it:    intake rules test --config examples/intake.toml examples/cases.toml
#
# [authorities.CODE]  owners printed on forms: the twelve of the known forms are built in;
#                     add a new one here (name_fi, name_sv).
# [agencies.ID]       organisations that receive documents, with the dates they exist.
# [destinations.ID]   an agency's registry address and S/MIME certificate, with dates.
# [[rules]]           first rule in force on the scan date whose criteria all match wins.
#                     Criteria: authority, form, language, municipality, postal_code
#                     (prefixes), region, employment_area, elinvoimakeskus (names or codes);
#                     valid_from / valid_until (both days included). A rule on the place
#                     holds a document whose customer's municipality is not proven with
#                     "needs the customer's municipality", which the desk asks the advisor.
"""


def slug(name: str) -> str:
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def _cert(address: str) -> str:
    return "../var/pki/agency-" + re.sub(r"[^a-z0-9.-]", "_", address.lower()) + ".pem"


def agency(key: str, fi: str, sv: str, *, since: str | None = None, until: str | None = None) -> str:
    dates = (f"valid_from = {since}\n" if since else "") + (f"valid_until = {until}\n" if until else "")
    return f'[agencies.{key}]\nname_fi = "{fi}"\nname_sv = "{sv}"\n{dates}'


def destination(key: str, address: str, agency_key: str, *, since: str | None = None, until: str | None = None) -> str:
    dates = (f"valid_from = {since}\n" if since else "") + (f"valid_until = {until}\n" if until else "")
    cert = _cert(address)
    return f'[destinations.{key}]\naddress = "{address}"\ncertificate = "{cert}"\nagency = "{agency_key}"\n{dates}'


def rule(key: str, authority: str, target: str, *, extra: str = "", since: str | None = None,
         until: str | None = None) -> str:  # fmt: skip
    dates = (f"valid_from = {since}\n" if since else "") + (f"valid_until = {until}\n" if until else "")
    return f'[[rules]]\nid = "{key}"\nauthority = "{authority}"\n{extra}{dates}destination = "{target}"\n'


def build() -> str:
    agencies = [agency("kela", "Kansaneläkelaitos", "Folkpensionsanstalten")]
    destinations = [destination("kela-sv", "registrator@kela.example", "kela"),
                    destination("kela", "kirjaamo@kela.example", "kela")]  # fmt: skip
    rules = [
        "# Kela: Swedish forms to the Swedish-language service, the rest to the registry.\n"
        + rule("kela-sv", "KELA", "kela-sv", extra='language = "sv"\n'),
        rule("kela", "KELA", "kela"),
    ]
    agencies.append(agency("te-toimistot", "TE-toimistot", "TE-byråerna", until=TE_END))
    destinations.append(destination("te-toimistot", "kirjaamo@te-toimisto.example", "te-toimistot", until=TE_END))
    rules.append("# TE forms: to the TE offices until 2024; from 2025 to the customer's employment area.\n"
                 + rule("te-toimistot", "TE", "te-toimistot", until=TE_END))  # fmt: skip
    for area in places.areas("employment_area"):
        key = f"tyollisyys-{slug(area.name_fi)}"
        address = f"kirjaamo@{slug(area.name_fi)}.tyollisyysalue.example"
        agencies.append(agency(key, f"Työllisyysalue {area.name_fi}", f"Sysselsättningsområde {area.name_sv}",
                               since=AREAS_START))  # fmt: skip
        destinations.append(destination(key, address, key, since=AREAS_START))
        rules.append(rule(key, "TE", key, extra=f'employment_area = "{area.name_fi}"\n', since=AREAS_START))
    for code, fi, sv in (("avi", "Aluehallintovirasto", "Regionförvaltningsverket"),
                         ("ely", "ELY-keskus", "NTM-centralen")):  # fmt: skip
        agencies.append(agency(code, fi, sv, until=REFORM_END))
        destinations.append(destination(code, f"kirjaamo@{code}.example", code, until=REFORM_END))
        rules.append(rule(code, code.upper(), code, until=REFORM_END))
    agencies.append(agency("lupa-ja-valvontavirasto", "Lupa- ja valvontavirasto", "Tillstånds- och tillsynsverket",
                           since=REFORM_START))  # fmt: skip
    destinations.append(destination("lupa-ja-valvontavirasto", "kirjaamo@lupajavalvonta.example",
                                    "lupa-ja-valvontavirasto", since=REFORM_START))  # fmt: skip
    rules.append("# AVI forms: to the Lupa- ja valvontavirasto from 2026.\n"
                 + rule("avi-lvv", "AVI", "lupa-ja-valvontavirasto", since=REFORM_START))  # fmt: skip
    rules.append("# ELY forms: to the customer's elinvoimakeskus from 2026.\n")
    for area in places.areas("elinvoimakeskus"):
        key = f"ek-{slug(area.name_fi.removesuffix(' elinvoimakeskus'))}"
        agencies.append(agency(key, area.name_fi, area.name_sv, since=REFORM_START))
        address = f"kirjaamo@{key.removeprefix('ek-')}.elinvoimakeskus.example"
        destinations.append(destination(key, address, key, since=REFORM_START))
        rules.append(rule(key, "ELY", key, extra=f'elinvoimakeskus = "{area.name_fi}"\n', since=REFORM_START))
    rules.append("# The rest: each authority's registry.\n")
    for key, code, fi, sv in NATIONAL:
        agencies.append(agency(key, fi, sv))
        destinations.append(destination(key, f"kirjaamo@{key}.example", key))
        rules.append(rule(key, code, key))
    return "\n".join([HEAD, *agencies, *destinations, *rules])


if __name__ == "__main__":
    target = ROOT / "examples" / "routing.toml"
    target.write_text(build(), encoding="utf-8")
    print(f"wrote {target}")
