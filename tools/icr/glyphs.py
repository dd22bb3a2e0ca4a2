"""Handwriting-style characters rendered from Debian fonts, and the augmentation that makes them look scanned.

Shared by training (tools/icr/train.py) and measuring (tools/icr/evaluate.py). The dev corpus'
hands (EXCLUDED) are never used to train; measuring on them is allowed and is how the
recogniser's own share of the loss is found.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"))
# The dev corpus' simulated hands (truth.json "hand"): humor, dkg, femke, learn. Their whole
# Debian packages are left out of training so the corpus stays a held-out test.
EXCLUDED = ("humor-sans", "fifthhorseman", "femkeklaver", "bwht")
CORPUS_HANDS = {"humor": "Humor-Sans", "dkg": "dkg", "femke": "femkeklaver", "learn": "BecauseWeLearn-Regular"}
# Symbol, phonetic, Greek and guide-line fonts: not Latin block capitals.
UNSUITABLE = ("api", "ipa", "ellen", "elle", "BABE", "Guiada", "Pautada", "Punt", "alfa-beta", "woff", "OCRB")
HELD_OUT = ("Kristi", "SteveHand", "Purisa-Oblique", "Rufscript010", "Delphine", "KleeOne-SemiBold")
FONT_PACKAGES = (
    "fonts-comic-neue fonts-breip fonts-dancingscript fonts-klee fonts-kristi fonts-rufscript fonts-sjfonts "
    "fonts-linex fonts-cabinsketch fonts-tlwg-purisa-ttf fonts-kaushanscript fonts-yozvox-yozfont fonts-seto "
    "fonts-kiloji fonts-yusei-magic fonts-fantasque-sans fonts-opendyslexic fonts-tlwg-typist-ttf "
    "fonts-tlwg-umpush-ttf fonts-tlwg-waree-ttf fonts-tlwg-sawasdee-ttf fonts-leckerli-one fonts-havana "
    "fonts-joscelyn fonts-freefont-ttf fonts-liberation fonts-open-sans fonts-cabin fonts-dejavu-core"
)
CANVAS = 96
_NEEDED = "0123456789ABCDEFHJKLMNPRSTUVWXY-"


def _redundant(stem: str) -> bool:
    """Near-copies that would outweigh the handwriting fonts (YOz ships 150 variants of two hands)."""
    if stem.startswith("YOz"):
        return stem not in ("YOzRN_", "YOzBN_", "YOzRS_", "YOzRNF")
    return stem.startswith(("DejaVuSerifCondensed", "DejaVuSansCondensed", "DejaVuMath", "Kinnari", "Sawasdee-"))


def _has(font: ImageFont.FreeTypeFont, char: str) -> bool:
    """The font draws ``char`` itself rather than its missing-glyph box."""
    return bool(font.getmask(char).getbbox()) and _mask(font, char) != _mask(font, "\ue000")


@cache
def _mask_cache(path: str, char: str) -> bytes:
    font = ImageFont.truetype(path, 48)
    return bytes(font.getmask(char))


def _mask(font: ImageFont.FreeTypeFont, char: str) -> bytes:
    return _mask_cache(str(font.path), char)


def fonts(*, corpus: bool = False) -> list[Path]:
    """Every usable font file that is not one of the corpus' hands (only those with ``corpus``)."""
    found = []
    for folder in FONT_DIRS:
        for path in sorted(folder.rglob("*.[ot]tf")):
            text = str(path)
            if corpus != any(x in text for x in EXCLUDED):
                continue
            if corpus and path.stem not in CORPUS_HANDS.values():
                continue
            if any(x in path.name for x in UNSUITABLE) or _redundant(path.stem):
                continue
            if "fantasque" in text and "/Normal/" not in text:
                continue
            try:
                font = ImageFont.truetype(str(path), 48)
            except OSError:  # a broken font file is just skipped
                continue
            if all(_has(font, c) for c in _NEEDED):
                found.append(path)
    return found


def render(path: Path, chars: str) -> dict[str, np.ndarray]:
    """Each of ``chars`` the font has, black on white, about CANVAS/2 pixels tall, on the same baseline."""
    font = ImageFont.truetype(str(path), 48)
    glyphs = {}
    for char in chars:
        if not _has(font, char):
            continue
        image = Image.new("L", (CANVAS, CANVAS), 255)
        ImageDraw.Draw(image).text((CANVAS / 2, CANVAS * 0.7), char, font=font, fill=0, anchor="ms")
        array = np.asarray(image)
        if (array < 128).sum() > 3:
            glyphs[char] = array
    return glyphs


def _elastic(image: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    h, w = image.shape
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), 8) * amount
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), 8) * amount
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, xs + dx, ys + dy, cv2.INTER_LINEAR, borderValue=255)


def _stroke(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pen width, and sometimes hollow letters (people outline block capitals too)."""
    stroke = int(rng.integers(-1, 4))
    if stroke > 0:
        image = cv2.erode(image, np.ones((stroke, stroke), np.uint8))
    elif stroke < 0 and (image < 128).sum() > 400:
        image = cv2.dilate(image, np.ones((2, 2), np.uint8))
    if rng.random() < 0.12 and (image < 128).sum() > 250:
        ink = (image < 128).astype(np.uint8)
        thick = cv2.dilate(ink, np.ones((5, 5), np.uint8))
        edge = cv2.morphologyEx(thick, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
        image = np.where(edge > 0, 0, 255).astype(np.uint8)
    return image


def augment(
    glyph: np.ndarray, rng: np.random.Generator, *, strength: float = 1.0, size: int | None = None
) -> np.ndarray:
    """A plausible hand-printed, scanned version of ``glyph`` (grey, ink dark, paper 255)."""
    image = _stroke(glyph.copy(), rng)
    angle, shear = rng.normal(0, 5 * strength), rng.normal(0, 0.15 * strength)
    sx, sy = rng.uniform(0.75, 1.2), rng.uniform(0.85, 1.15)
    c = CANVAS / 2
    rot = cv2.getRotationMatrix2D((c, c), angle, 1.0)
    affine = np.array([[sx, shear, 0], [0, sy, 0]], np.float32)
    affine[:, 2] = [c - sx * c - shear * c, c - sy * c]
    matrix = np.vstack([rot, [0, 0, 1]]) @ np.vstack([affine, [0, 0, 1]])
    image = cv2.warpAffine(image, matrix[:2], (CANVAS, CANVAS), borderValue=255)
    image = _elastic(image, rng, rng.uniform(0, 60 * strength))
    height = size or int(rng.integers(28, 64))  # the character's size in a scanned cell at 200–300 dpi
    image = cv2.resize(image, (height, height), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.2))
    ink = rng.uniform(0.35, 1.0)  # faint pencil to black marker
    image = 255 - (255 - image.astype(np.float32)) * ink + rng.normal(0, 6, image.shape)
    if rng.random() < 0.25:  # bilevel scanners
        image = np.where(image < 255 - 60 * ink, 0, 255)
    image = np.clip(image, 0, 255).astype(np.uint8)
    level = 255 - max(30.0, 0.3 * (255 - float(image.min())))
    return np.where(image < level, image, np.uint8(255))  # what the cutting hands over


def drawn_digits(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Digits as people in Finland draw them and few fonts do, drawn stroke by stroke on the canvas.

    A 1 with a long flag from halfway down (the way it is taught here), sometimes on a base; a
    7 with or without a bar across its stem; a 4 open at the top; a 9 whose tail is a straight
    stroke. Fonts mostly draw the American shapes, and the model took such a 1 for an A.
    """
    h = CANVAS * rng.uniform(0.34, 0.4)  # a digit's height, as a font's capital on this canvas
    base = CANVAS * 0.7
    x = CANVAS / 2 + rng.uniform(-0.1, 0.1) * h
    slant = rng.uniform(-0.05, 0.3) * h  # how far right the top is of the bottom
    pen = int(rng.integers(3, 7))

    def at(u: float, v: float) -> tuple[int, int]:
        """A point u across (in heights, from x) and v up (0 the baseline, 1 the top), slanted."""
        return round(x + u * h + v * slant), round(base - v * h)

    strokes: dict[str, list[list[tuple[int, int]]]] = {}
    flag = rng.uniform(0.3, 0.8)  # how far down the flag of the 1 reaches
    one = [[at(-rng.uniform(0.25, 0.55), 1 - flag), at(-rng.uniform(0.0, 0.08), 1 - rng.uniform(0.0, 0.08)), at(0, 1),
            at(0, 0)]]  # fmt: skip
    if rng.random() < 0.3:
        foot = rng.uniform(0.2, 0.35)
        one.append([at(-foot, 0), at(foot, 0)])
    strokes["1"] = one
    width = rng.uniform(0.45, 0.7)
    seven = [[at(-width / 2, 1 - rng.uniform(0, 0.12) * (rng.random() < 0.3)), at(-width / 2, 1), at(width / 2, 1),
              at(rng.uniform(-0.25, 0.05), 0)]]  # fmt: skip
    if rng.random() < 0.5:
        seven.append([at(-0.2, 0.5), at(0.22, 0.5)])
    strokes["7"] = seven
    bar = rng.uniform(0.3, 0.45)
    four = [[at(-0.05, 1), at(-0.35, bar), at(0.3, bar)], [at(0.12, 1 - rng.uniform(0, 0.3)), at(0.12, 0)]]
    strokes["4"] = four
    ring = rng.uniform(0.2, 0.28)
    loop = [at(0.05 + ring * np.cos(a), 1 - ring + ring * np.sin(a)) for a in np.linspace(0, 2 * np.pi, 24)]
    nine = [loop, [at(0.05 + ring, 1 - ring), at(0.05 + ring - rng.uniform(0, 0.15), 0)]]
    strokes["9"] = nine
    out = {}
    for char, lines in strokes.items():
        image = np.full((CANVAS, CANVAS), 255, np.uint8)
        for line in lines:
            cv2.polylines(image, [np.array(line, np.int32)], False, 0, pen, cv2.LINE_AA)
        out[char] = image
    return out
