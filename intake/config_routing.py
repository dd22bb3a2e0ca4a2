"""The routing part of the configuration: authorities, agencies, dated destinations and rules.

An *authority* owns a printed form (its code is on the paper and never changes); an
*agency* receives documents today (an employment area, an elinvoimakeskus, the Lupa- ja
valvontavirasto); a *destination* is one agency's registry address and certificate.
Rules and destinations carry the dates they are in force, decided by the scan date.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from intake import places

_ADDRESS = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
ID = r"^[a-z0-9][a-z0-9_.-]*$"
PLACE_KINDS = ("region", "employment_area", "elinvoimakeskus")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Dated(_Strict):
    """Something in force from ``valid_from`` to ``valid_until``, both days included."""

    valid_from: dt.date | None = None
    valid_until: dt.date | None = None

    @model_validator(mode="after")
    def _date_order(self) -> _Dated:
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            raise ValueError(f"valid_until {self.valid_until} is before valid_from {self.valid_from}")
        return self

    def in_force(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until
        )

    def dates(self) -> str:
        return f"{self.valid_from or '…'} – {self.valid_until or '…'}"


class Authority(_Strict):
    """The owner printed on a form, e.g. KELA: its names in Finnish and Swedish."""

    name_fi: str = Field(min_length=1)
    name_sv: str = Field(min_length=1)


# The owners printed on the forms this project knows; a configuration may add more.
BUILTIN_AUTHORITIES: dict[str, Authority] = {
    code: Authority(name_fi=fi, name_sv=sv)
    for code, fi, sv in (
        ("AVI", "Aluehallintovirasto", "Regionförvaltningsverket"),
        ("DVV", "Digi- ja väestötietovirasto", "Myndigheten för digitalisering och befolkningsdata"),
        ("ELY", "Elinkeino-, liikenne- ja ympäristökeskus", "Närings-, trafik- och miljöcentralen"),
        ("MIGRI", "Maahanmuuttovirasto", "Migrationsverket"),
        ("MML", "Maanmittauslaitos", "Lantmäteriverket"),
        ("OIKEUSAPU", "Oikeusapu ja edunvalvonta", "Rättshjälp och intressebevakning"),
        ("POLIISI", "Poliisin lupahallinto", "Polisens tillståndsförvaltning"),
        ("RISE", "Rikosseuraamuslaitos", "Brottspåföljdsmyndigheten"),
        ("TE", "TE-toimistot / työllisyyspalvelut", "TE-byråerna / sysselsättningstjänster"),
        ("ULOSOTTO", "Ulosottolaitos", "Utsökningsverket"),
        ("VERO", "Verohallinto", "Skatteförvaltningen"),
        ("KELA", "Kansaneläkelaitos", "Folkpensionsanstalten"),
    )
}


class Agency(_Dated):
    """An organisation that receives documents (in force between its dates)."""

    name_fi: str = Field(min_length=1)
    name_sv: str = Field(min_length=1)


class Destination(_Dated):
    """A receiving agency's registry address and S/MIME certificate, in force between its dates."""

    address: str
    certificate: Path | None = Field(None, description="PEM certificate to encrypt to")
    agency: str | None = Field(None, description="the agency this address belongs to ([agencies] key)")

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value


class Rule(_Dated):
    """A routing rule: when every given criterion matches, send to ``destination``.

    Place criteria (municipality, region, employment_area, elinvoimakeskus) are decided
    by the customer's proven municipality; postal_code by the proven postal code.
    """

    id: str = Field(pattern=ID)
    destination: str
    authority: list[str] = Field(default_factory=list)
    form: list[str] = Field(default_factory=list)
    language: list[str] = Field(default_factory=list)
    municipality: list[str] = Field(default_factory=list)
    postal_code: list[str] = Field(default_factory=list, description="prefixes, e.g. '00' or '001'")
    region: list[str] = Field(default_factory=list)
    employment_area: list[str] = Field(default_factory=list)
    elinvoimakeskus: list[str] = Field(default_factory=list)

    @field_validator("authority", "form", "language", "municipality", "postal_code", *PLACE_KINDS, mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _names_an_authority_or_form(self) -> Rule:
        # A rule on language or place alone would send every agency's forms to one address.
        if not self.authority and not self.form:
            raise ValueError(f"rule {self.id!r} must name an authority or a form")
        return self

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: list[str]) -> list[str]:
        for code in value:
            if code not in ("fi", "sv"):
                raise ValueError(f"unknown language {code!r} (known: fi, sv)")
        return value

    @field_validator("postal_code")
    @classmethod
    def _postal_prefix(cls, value: list[str]) -> list[str]:
        for prefix in value:
            if not re.fullmatch(r"\d{1,5}", prefix):
                raise ValueError(f"postal code prefix {prefix!r} is not 1-5 digits")
        return value

    @field_validator("municipality")
    @classmethod
    def _known_municipality(cls, value: list[str]) -> list[str]:
        for name in value:
            if places.find_municipality(name) is None and places.municipality_by_code(name) is None:
                raise ValueError(f"unknown municipality {name!r} (Finnish or Swedish name, or its code)")
        return value

    @field_validator(*PLACE_KINDS)
    @classmethod
    def _known_area(cls, value: list[str], info: Any) -> list[str]:
        for name in value:
            if places.find_area(info.field_name, name) is None:
                known = ", ".join(a.name_fi for a in places.areas(info.field_name))
                raise ValueError(f"unknown {info.field_name} {name!r} (known: {known})")
        return value

    @property
    def places(self) -> bool:
        """Whether the rule needs to know where the customer lives."""
        return bool(self.municipality or self.region or self.employment_area or self.elinvoimakeskus)


class TableError(ValueError):
    """A cross-check between sections failed; ``key`` says where (e.g. routing.rules.3.authority)."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        super().__init__(message)


def check_table(
    authorities: dict[str, Authority],
    agencies: dict[str, Agency],
    destinations: dict[str, Destination],
    rules: list[Rule],
) -> None:
    """Cross-checks between the sections; a ValueError names the key and the problem."""
    for name, destination in destinations.items():
        if destination.agency is not None and destination.agency not in agencies:
            known = ", ".join(sorted(agencies)) or "none defined"
            raise TableError(f"destinations.{name}.agency", f"unknown agency {destination.agency!r} (known: {known})")
    seen: set[str] = set()
    for index, rule in enumerate(rules):
        where = f"routing.rules.{index}"
        if rule.id in seen:
            raise TableError(f"{where}.id", f"rule id {rule.id!r} is used twice")
        seen.add(rule.id)
        for code in rule.authority:
            if code not in authorities:
                known = ", ".join(authorities)
                raise TableError(
                    f"{where}.authority", f"unknown authority {code!r} in rule {rule.id!r} (known: {known})"
                )
        if rule.destination not in destinations:
            known = ", ".join(sorted(destinations)) or "none defined"
            message = f"unknown destination {rule.destination!r} in rule {rule.id!r} (known: {known})"
            raise TableError(f"{where}.destination", message)
