"""The font of the PDF's invisible text layer: DejaVu Sans (Debian's fonts-dejavu-core), subset.

PDF/A wants every font embedded, and a text layer is only useful when copying and
searching give back the right letters. DejaVu Sans covers Finnish, Swedish and Sámi
letters. It is subset (fontTools) twice: once per process to the Latin ranges and common
punctuation (the characters a package may show), then per package to the glyphs its
text uses, so that a package carries about 5 KiB of font rather than 700.
"""

from __future__ import annotations

import hashlib
import io
import logging
import unicodedata
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTFont, TTLibError

from intake.errors import EnvironmentProblem

log = logging.getLogger(__name__)

FONT_PATH = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_PACKAGE = "fonts-dejavu-core"
# Basic Latin to Latin Extended-B (Finnish, Swedish, Sámi, the neighbours' names),
# general punctuation (dashes, quotes), the euro and the numero sign.
_RANGES = ((0x20, 0x7E), (0xA0, 0x24F), (0x2010, 0x2027), (0x2030, 0x203A), (0x20AC, 0x20AC), (0x2116, 0x2116))
_FALLBACK = "?"


@dataclass(frozen=True)
class SubsetFont:
    """An embeddable font program and what a PDF needs to describe and use it."""

    name: str  # PostScript name with the subset tag, e.g. "ABCDEF+DejaVuSans"
    program: bytes  # the TrueType subset (FontFile2)
    glyphs: dict[str, int]  # character -> glyph id
    widths: tuple[int, ...]  # advance per glyph id, in 1/1000 em
    bbox: tuple[int, int, int, int]  # in 1/1000 em
    ascent: int
    descent: int  # negative
    cap_height: int

    def encode(self, text: str) -> bytes:
        """``text`` as 2-byte glyph ids (Identity-H); letters the font lacks fall back to their base letter."""
        return b"".join(self.glyphs[char].to_bytes(2, "big") for char in self.supported(text))

    def supported(self, text: str) -> str:
        """``text`` with each character the font lacks replaced by its base letters, or '?'."""
        out = []
        for char in text:
            if char in self.glyphs:
                out.append(char)
                continue
            base = "".join(part for part in unicodedata.normalize("NFKD", char) if part in self.glyphs)
            out.append(base or _FALLBACK)
        return "".join(out)

    def width(self, text: str) -> float:
        """Advance of ``text`` in em at size 1 (after ``supported``)."""
        return sum(self.widths[self.glyphs[char]] for char in self.supported(text)) / 1000

    def only(self, text: str) -> SubsetFont:
        """This font cut down to the glyphs ``text`` needs (about 20 ms; a package then carries ~5 KiB).

        Glyph ids are kept, so codes, widths and the ToUnicode map stay those of this font.
        """
        chars = set(self.supported(text))
        options = _options()
        options.retain_gids = True
        font = TTFont(io.BytesIO(self.program), recalcTimestamp=False)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[ord(char) for char in chars])
        subsetter.subset(font)
        buffer = io.BytesIO()
        font.save(buffer)
        program = buffer.getvalue()
        glyphs = {char: gid for char, gid in self.glyphs.items() if char in chars}
        return replace(self, name=f"{_tag(program)}+{self.name.partition('+')[2]}", program=program, glyphs=glyphs)

    def to_unicode(self) -> dict[int, str]:
        """Glyph id -> the character it shows (the lowest code point where glyphs are shared)."""
        found: dict[int, str] = {}
        for char, gid in sorted(self.glyphs.items(), key=lambda item: ord(item[0]), reverse=True):
            found[gid] = char
        return found


@cache
def text_font(path: Path = FONT_PATH) -> SubsetFont:
    """The subset font, made once per process (about 0.4 s). Raises EnvironmentProblem when missing."""
    try:
        font = TTFont(path, recalcTimestamp=False)  # the same subset, byte for byte, every time
        subsetter = subset.Subsetter(_options())
        subsetter.populate(unicodes=[code for low, high in _RANGES for code in range(low, high + 1)])
        subsetter.subset(font)
        buffer = io.BytesIO()
        font.save(buffer)
    except (OSError, TTLibError) as exc:
        raise EnvironmentProblem(
            f"the text layer's font {path} cannot be read: apt-get install {FONT_PACKAGE}"
        ) from exc
    program = buffer.getvalue()
    scale = 1000 / font["head"].unitsPerEm
    order = font.getGlyphOrder()
    head, hhea, os2 = font["head"], font["hhea"], font["OS/2"]
    log.debug("text layer font: %d glyphs, %d bytes", len(order), len(program))
    return SubsetFont(
        name=f"{_tag(program)}+{font['name'].getDebugName(6) or 'DejaVuSans'}",
        program=program,
        glyphs={chr(code): font.getGlyphID(glyph) for code, glyph in font.getBestCmap().items()},
        widths=tuple(round(font["hmtx"][glyph][0] * scale) for glyph in order),
        bbox=(round(head.xMin * scale), round(head.yMin * scale), round(head.xMax * scale), round(head.yMax * scale)),
        ascent=round(hhea.ascent * scale),
        descent=round(hhea.descent * scale),
        cap_height=round(getattr(os2, "sCapHeight", hhea.ascent) * scale),
    )


def _tag(program: bytes) -> str:
    """A subset's name carries a tag of six capitals; from the bytes, so the same subset gets the same name."""
    digest = hashlib.sha256(program).digest()
    return "".join(chr(ord("A") + byte % 26) for byte in digest[:6])


def _options() -> subset.Options:
    options = subset.Options()
    options.layout_features = []  # no shaping: one character, one glyph
    options.hinting = False  # the text is never rasterised
    options.glyph_names = False
    options.notdef_outline = True
    options.drop_tables += ["MATH", "FFTM"]
    return options
