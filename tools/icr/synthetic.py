"""Synthetic filled forms written in fonts held out of training, as zone crops like tools/icr/corpus.py gives.

Each form is a real template; every text zone gets a value of its kind (valid codes, a real
postal code with its own municipality, a date, …) written character by character in one
held-out font, with the training augmentation, inside a drawn box with a printed label.
"""

from __future__ import annotations

import datetime as dt
import random
from functools import cache

import cv2
import numpy as np
from stdnum import iban
from stdnum.fi import ytunnus

from intake.places import all_municipalities
from intake.places.lookup import _postal
from intake.routing.icr.comb import BELOW_MM, MARGIN_MM
from intake.routing.templates import FieldKind, load_templates
from intake.routing.validators import HETU_CHECK
from intake.units import px_per_mm
from tools.icr import glyphs

DPI = 300
SCALE = px_per_mm(DPI)
NAMES = ("KORHONEN", "VIRTANEN", "MÄKINEN", "NIEMINEN", "HÄMÄLÄINEN", "LAINE", "HEIKKINEN", "KOSKINEN",
         "JÄRVINEN", "LEHTONEN", "SAARINEN", "SALMINEN", "AINO", "EINO", "JUHANI", "MARIA", "ÖRJAN", "SOFIA",
         "TAPIO", "HELENA", "PEKKA", "ANNELI", "ÅSA", "BJÖRN")  # fmt: skip
STREETS = ("ASEMATIE", "KOULUKATU", "RANTATIE", "MYLLYTIE", "KIRKKOKATU", "PUISTOTIE", "HÄMEENKATU")
_ASCII = str.maketrans("åäö", "aao")
_SPECK_PX = 5  # a bilevel scan's noise leaves specks of a pixel or two around a glyph; the dots of Ä and Ö are bigger
WORDS = ("PYYDÄN", "ASIAN", "KÄSITTELYÄ", "LIITTEENÄ", "TODISTUS", "OSOITE", "ON", "VOIMASSA", "KUUN", "ALUSSA")


def _hetu(rng: random.Random) -> str:
    """An artificial henkilötunnus (individual number 900–999) of someone born 1920–2024."""
    d, m, year = rng.randint(1, 28), rng.randint(1, 12), rng.randint(1920, 2024)
    body, z = f"{d:02d}{m:02d}{year % 100:02d}", f"{rng.randint(900, 999):03d}"
    sign = rng.choice("-" * 4 + "Y") if year < 2000 else rng.choice("AAB")
    return body + sign + z + HETU_CHECK[int(body + z) % 31]


def _ytunnus(rng: random.Random) -> str:
    while True:
        body = f"{rng.randint(0, 9999999):07d}"
        for check in "0123456789":
            if ytunnus.is_valid(f"{body}-{check}"):
                return f"{body}-{check}"


def _iban(rng: random.Random) -> str:
    bban = "".join(rng.choice("0123456789") for _ in range(14))
    return "FI" + iban.calc_check_digits("FI00" + bban) + bban


@cache
def _postal_codes() -> list[tuple[str, str]]:
    return [(code, area.municipality.name_fi) for code, area in _postal().items() if area.ordinary]


def value_for(name: str, kind: FieldKind, rng: random.Random, place: tuple[str, str]) -> str:
    """A plausible value for a zone: the kind decides, the zone's name for places and names."""
    if name.endswith("municipality"):
        return place[1].upper()
    day = dt.date(1950, 1, 1) + dt.timedelta(days=rng.randint(0, 28000))
    makers = {
        FieldKind.HETU: lambda: _hetu(rng),
        FieldKind.YTUNNUS: lambda: _ytunnus(rng),
        FieldKind.IBAN: lambda: _iban(rng),
        FieldKind.POSTAL: lambda: place[0],
        FieldKind.DATE: lambda: day.strftime("%d.%m.%Y"),
        FieldKind.PHONE: lambda: f"04{rng.randint(0, 9)} {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        FieldKind.AMOUNT: lambda: f"{rng.randint(10, 9999)},{rng.randint(0, 99):02d}",
        FieldKind.EMAIL: lambda: f"{rng.choice(NAMES)}.{rng.choice(NAMES)}@esimerkki.fi".lower().translate(_ASCII),
        FieldKind.MULTILINE: lambda: " ".join(rng.choice(WORDS) for _ in range(4)),
    }
    if kind in makers:
        return makers[kind]()
    if "street" in name:
        return f"{rng.choice(STREETS)} {rng.randint(1, 60)}"
    return rng.choice(NAMES)


def _paste(page: np.ndarray, image: np.ndarray, x: int, baseline: int, size: int) -> int:
    """Put a glyph (its canvas baseline at 0.7 of ``size``) at ``x``; the x after its ink.

    Where the glyph starts and ends is measured on its strokes, not on the bilevel scanner's
    specks around it: a speck at the canvas's edge would put the character a box to the right.
    """
    _, labels, stats, _ = cv2.connectedComponentsWithStats((image < 200).astype(np.uint8), connectivity=8)
    strokes = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= _SPECK_PX)
    cols = np.flatnonzero(np.isin(labels, strokes + 1).any(axis=0))
    if cols.size == 0:
        return x
    glyph = image[:, cols[0] : cols[-1] + 1]
    top = baseline - round(0.7 * size)
    h, w = glyph.shape
    y0, y1 = max(0, top), min(page.shape[0], top + h)
    x1 = min(page.shape[1], x + w)
    if x1 > x and y1 > y0:
        region = page[y0:y1, x:x1]
        np.minimum(region, glyph[y0 - top : y1 - top, : x1 - x], out=region)
    return x + w


def _width(value: str, font: dict, size: int) -> float:
    """About how wide ``value`` comes out at ``size`` (ink plus the gaps write_zone leaves)."""
    total = 0.0
    for char in value:
        if char == " ":
            total += 0.45 * size
        elif char in font:
            cols = np.flatnonzero((font[char] < 200).any(axis=0))
            total += (cols[-1] - cols[0] + 1 if cols.size else 0) * size / font[char].shape[1] + 0.12 * size
    return total


def write_zone(
    value: str, box: tuple[float, float], cells: int | None, font: dict, rng: np.random.Generator
) -> np.ndarray:
    """A zone crop (as ``zone_crop`` cuts it) with the printed box and ``value`` hand-written in it."""
    m, below = round(MARGIN_MM * SCALE), round(BELOW_MM * SCALE)
    w, h = round(box[0] * SCALE), round(box[1] * SCALE)
    page = np.full((h + m + below, w + 2 * m), 255, np.uint8)
    cv2.rectangle(page, (m, m), (m + w, m + h), 0, 3)
    # As on the catalogue's forms: a comb's label is printed above it, a free box's inside its top-left corner.
    cv2.putText(page, "Label", (m + 8, m - 6) if cells else (m + 8, m + 22), cv2.FONT_HERSHEY_SIMPLEX, 0.6, 60, 1)
    # A capital is about 0.36 of the glyph canvas; people write them 3.5–5 mm tall.
    size = round(rng.uniform(3.5, 5.0) * SCALE / 0.36)
    if cells:
        pitch = w / cells
        for k in range(1, cells):
            cv2.line(page, (m + round(k * pitch), m), (m + round(k * pitch), m + h), 0, 3)
        size = min(size, round(pitch * 0.8 / 0.36))
    baseline = m + round(min(h, 7.5 * SCALE) * rng.uniform(0.78, 0.9))
    x = m + round(rng.uniform(2, 5) * SCALE)
    if not cells:  # people write smaller to fit a long name in the box
        room = 0.85 * (w - (x - m) - SCALE)  # augmentation widens a glyph by up to a fifth
        size = min(size, round(size * room / max(1.0, _width(value, font, size))))
    for k, char in enumerate(value):
        if cells:
            x = m + round(k * pitch + pitch * 0.15)
        if char == " ":
            x += round(size * rng.uniform(0.35, 0.55))
            continue
        if char in font:
            end = _paste(page, glyphs.augment(font[char], rng, strength=0.6, size=size), x, baseline, size)
            x = end + round(size * rng.uniform(0.06, 0.18))
    return page


def documents(count: int, seed: int) -> list[list[dict]]:
    """``count`` filled forms, each a list of zone samples as tools/icr/corpus.py gives them."""
    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    held = [p for p in glyphs.fonts() if p.stem in glyphs.HELD_OUT]
    chars = "".join(
        sorted(
            {
                c
                for c in "".join(NAMES + STREETS + WORDS)
                + "0123456789-+.,@ABCDEFHJKLMNPRSTUVWXYabcdefghijklmnopqrstuvwxyzåäö"
            }
        )
    )
    fonts = {p.stem: glyphs.render(p, chars) for p in held}
    municipalities = {m.name_fi for m in all_municipalities()}
    templates = load_templates()
    out = []
    for _ in range(count):
        template = rng.choice(templates)
        stem = rng.choice(sorted(fonts))
        place = rng.choice([p for p in _postal_codes() if p[1] in municipalities])
        samples = []
        for zone in template.zones:
            if zone.kind in (FieldKind.CHECKBOX, FieldKind.SIGNATURE):
                continue
            value = value_for(zone.name, zone.kind, rng, place)
            if any(c not in fonts[stem] for c in value if c != " "):
                continue  # the font cannot write it: no sample rather than a wrong one
            crop = write_zone(value, zone.box[2:], zone.cells, fonts[stem], nrng)
            samples.append({"file": "synthetic", "form_id": template.id, "zone": zone.name, "kind": str(zone.kind),
                            "hand": stem, "value": value, "crop": crop, "box": zone.box[2:],
                            "cells": zone.cells})  # fmt: skip
        out.append(samples)
    return out
