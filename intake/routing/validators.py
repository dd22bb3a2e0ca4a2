"""Normalise and validate field values by kind: henkilötunnus, Y-tunnus, IBAN, dates, ...

Each validator takes the raw text and returns (normalised value, valid). A value is only
marked valid when its own rules (check character, calendar, mod 97) prove it; nothing is
"corrected" into validity.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from stdnum import iban as stdnum_iban
from stdnum.fi import hetu as stdnum_hetu
from stdnum.fi import ytunnus as stdnum_ytunnus

HETU_CHECK = "0123456789ABCDEFHJKLMNPRSTUVWXY"
HETU_CENTURY = {"+": 1800, **dict.fromkeys("-YXWVU", 1900), **dict.fromkeys("ABCDEF", 2000)}
_HETU = re.compile(r"^(\d{2})(\d{2})(\d{2})([-+A-FU-Y])(\d{3})([0-9A-Y])$")
_YTUNNUS = re.compile(r"^(\d{7})-(\d)$")
_EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")

Result = tuple[str | None, bool | None]


def _squash(raw: str) -> str:
    return re.sub(r"\s+", "", raw).upper()


def _digits_like(text: str) -> str:
    """Letters that OCR commonly reads for digits, in a field that holds only digits."""
    return text.translate(str.maketrans("OoQDIl|SZB", "0000111528"))


def hetu(raw: str) -> Result:
    """Finnish personal identity code DDMMYYCZZZQ, every century sign (python-stdnum's check).

    Temporary and artificial codes (individual numbers 900–999) are valid codes too.
    """
    value = _squash(raw)
    if not _HETU.match(value):
        return (value or None), False
    return value, stdnum_hetu.is_valid(value, allow_temporary=True)


def ytunnus(raw: str) -> Result:
    """Business ID NNNNNNN-C with the mod 11 check digit (python-stdnum's check)."""
    value = _digits_like(_squash(raw)).replace("—", "-").replace("–", "-")
    if not _YTUNNUS.match(value):
        return (value or None), False
    return value, stdnum_ytunnus.is_valid(value)


def iban(raw: str) -> Result:
    """IBAN (Finnish ones are FI + 16 digits): country format and mod 97 (python-stdnum's check)."""
    value = _squash(raw)
    if len(value) < 15 or not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]+", value):
        return (value or None), False
    grouped = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return grouped, stdnum_iban.is_valid(value)


def date(raw: str) -> Result:
    """Finnish date D.M.YYYY, normalised to DD.MM.YYYY; must exist in the calendar."""
    value = _digits_like(re.sub(r"\s+", "", raw)).replace(",", ".").replace("/", ".").replace("-", ".")
    match = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", value)
    if not match:
        return (value or None), False
    day, month, year = (int(g) for g in match.groups())
    try:
        dt.date(year, month, day)
    except ValueError:
        return value, False
    return f"{day:02d}.{month:02d}.{year}", 1900 <= year <= 2100


def postal(raw: str) -> Result:
    """Finnish postal code: five digits."""
    value = _digits_like(_squash(raw))
    return (value or None), bool(re.fullmatch(r"\d{5}", value))


def amount(raw: str) -> Result:
    """A sum of money in euros, normalised to 1234.50."""
    value = re.sub(r"(?i)\s|eur|€", "", raw).replace(",", ".")
    value = _digits_like(value)
    if not re.fullmatch(r"\d+(\.\d{1,2})?", value):
        return (value or None), False
    return f"{float(value):.2f}", True


def email(raw: str) -> Result:
    """An e-mail address (lower-cased)."""
    value = re.sub(r"\s+", "", raw).lower()
    return (value or None), bool(_EMAIL.match(value))


def phone(raw: str) -> Result:
    """A Finnish or international phone number: digits, spaces, +, -."""
    value = " ".join(_digits_like(raw).split())
    digits = re.sub(r"[\s-]", "", value)
    return (value or None), bool(re.fullmatch(r"\+?\d{6,15}", digits))


def text(raw: str) -> Result:
    """Free text: whitespace normalised; no validation."""
    value = " ".join(raw.split())
    return (value or None), None


VALIDATORS: dict[str, Callable[[str], Result]] = {
    "hetu": hetu,
    "ytunnus": ytunnus,
    "iban": iban,
    "date": date,
    "postal": postal,
    "amount": amount,
    "email": email,
    "phone": phone,
    "text": text,
    "multiline": text,
}


def validate(kind: str, raw: str) -> Result:
    """Normalise and validate ``raw`` as a value of ``kind``."""
    return VALIDATORS.get(kind, text)(raw)
