"""Field validators: every rule proven, nothing 'corrected' into validity."""

from __future__ import annotations

import pytest

from intake.routing import validators


@pytest.mark.parametrize(
    ("raw", "value", "valid"),
    [
        pytest.param("010594Y9032", "010594Y9032", True, id="hetu-1900s-Y"),
        pytest.param("131052-928T", "131052-928T", True, id="hetu-1900s-dash"),
        pytest.param("010190Y999K", "010190Y999K", False, id="hetu-wrong-check"),
        pytest.param("010190Y999W", "010190Y999W", True, id="hetu-right-check"),
        pytest.param("010105A9991", None, None, id="hetu-2000s-A"),
        pytest.param("311399-9999", "311399-9999", False, id="hetu-no-such-date"),
        pytest.param("0105 94Y9032", "010594Y9032", True, id="hetu-spaces"),
        pytest.param("010594-9032", "010594-9032", True, id="hetu-sign-kept-as-written"),
        pytest.param("01059AY903", "01059AY903", False, id="hetu-garbage"),
    ],
)
def test_hetu(raw: str, value: str | None, valid: bool | None) -> None:
    got_value, got_valid = validators.hetu(raw)
    if value is None:  # computed case: derive the check character and test the round trip
        body = raw[:6] + raw[7:10]
        check = validators.HETU_CHECK[int(body) % 31]
        assert validators.hetu(raw[:10] + check) == (raw[:10] + check, True)
        return
    assert (got_value, got_valid) == (value, valid)


@pytest.mark.parametrize(
    ("kind", "raw", "value", "valid"),
    [
        pytest.param("ytunnus", "1572860-0", "1572860-0", True, id="ytunnus-ok"),
        pytest.param("ytunnus", "1572860-1", "1572860-1", False, id="ytunnus-bad-check"),
        pytest.param("iban", "FI21 1234 5600 0007 85", "FI21 1234 5600 0007 85", True, id="iban-ok"),
        pytest.param("iban", "FI21 1234 5600 0007 86", "FI21 1234 5600 0007 86", False, id="iban-mod97"),
        pytest.param("date", "1.2.2026", "01.02.2026", True, id="date-short"),
        pytest.param("date", "31.02.2026", "31.02.2026", False, id="date-impossible"),
        pytest.param("postal", "00100", "00100", True, id="postal-ok"),
        pytest.param("postal", "0010", "0010", False, id="postal-short"),
        pytest.param("amount", "1 250,50 €", "1250.50", True, id="amount-euro"),
        pytest.param("email", "Ville.K@Esimerkki.FI", "ville.k@esimerkki.fi", True, id="email-ok"),
        pytest.param("email", "ville.esimerkki.fi", "ville.esimerkki.fi", False, id="email-no-at"),
        pytest.param("phone", "044 597 4479", "044 597 4479", True, id="phone-ok"),
        pytest.param("text", "  KORHONEN  ", "KORHONEN", None, id="text"),
    ],
)
def test_kinds(kind: str, raw: str, value: str, valid: bool | None) -> None:
    assert validators.validate(kind, raw) == (value, valid)
