"""Each field kind's rules over the recogniser's alternatives: what may be written where, and what is valid.

A reading becomes a field's value only when the recogniser offered each of its characters;
the rules (calendar, existing postal code, municipality list, check characters, phone
formats, e-mail structure) choose among those readings and never add to them.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
from stdnum import iban as stdnum_iban
from stdnum.fi import hetu as stdnum_hetu
from stdnum.fi import ytunnus as stdnum_ytunnus

from intake.places import all_municipalities, find_municipality, postal_area
from intake.routing.icr.decode import (
    DIGITS,
    LETTERS,
    FieldReading,
    Slot,
    beam,
    decide,
    decode,
    fold,
    posteriors,
    raw_text,
    weigh,
    within,
)
from intake.routing.icr.lexicon import lexicon
from intake.routing.icr.line import Glyph
from intake.routing.validators import HETU_CENTURY, HETU_CHECK, amount

HETU_SIGNS = "".join(HETU_CENTURY)
HETU_ALLOWED = (*[DIGITS] * 6, HETU_SIGNS, *[DIGITS] * 3)
_WORD_SAME_DRAWING = (("O", "0"), ("I", "1"), ("S", "5"))  # a word is all letters or all digits
# Since 2023 a henkilötunnus may carry Y X W V U (1900s) or B C D E F (2000s): codes given to
# people who had none, a small share of everyone alive. Against - and A each weighs this.
NEW_SIGN_PRIOR = 0.05
_USUAL_SIGNS = "-A+"
PO_BOX_PRIOR = 0.01  # a postal code that is not a street address's, against one that is (read_postal)
EARLIEST_YEAR = 1900  # dates on these forms: births, moves, periods, signatures
LATEST_YEARS_AHEAD = 10
OLDEST_YEARS = 120  # a henkilötunnus on a form belongs to someone alive: born 1906 or later in 2026
_MARKS = ".,-"
_MIXED = 15.0  # log-odds by which a mixed letters-and-digits word must beat a pure one
_MIXED_BLOCKS = 5.0  # ... or, when its letters and digits are two blocks, like a code's
_BLOCKS = re.compile(r"^([A-ZÅÄÖ]+[0-9]+|[0-9]+[A-ZÅÄÖ])$")
_EMAIL_DIGIT_PRIOR = 0.05  # digits in an e-mail address against letters
# A known word is preferred to the best reading when it is at least this probable against
# it. Set on 150 synthetic forms in fonts held out of training (--synthetic 150 --seed 23),
# values exact: 0.001: 868, 0.003: 872, 0.01: 871, 0.05: 854, 0.2: 830; the plateau's
# cautious end is taken (a rare surname Voikko does not know must survive).
KNOWN_WORD = 0.01
_WORD_BEAM = 64
_WORD_OVER_DIGITS = 4  # a known word this long beats a likelier all-digit reading
# In an amount, a glyph may be a comma when it starts low (its top under this share of the
# digits' height) ...
_COMMA_TOP = 0.75
_COMMA_TALL = 0.9  # ... and is shorter than a digit, however far its tail reaches under the line
_COMMA_SHARE = 0.5
_EMAIL_SEPARATORS = ".@-_+"
_EMAIL_MARK = {",": "."}
_EMAIL_LETTERS = LETTERS[:26]
_LETTERS_OVER_DIGITS = math.log(100)  # letters (0 as O) this much likelier than digits: a word
_STREET_TYPES = frozenset(
    ["TIE", "KATU", "KUJA", "POLKU", "RAITTI", "VÄYLÄ", "KAARI", "PIHA", "AUKIO", "TORI", "VÄGEN", "GATAN", "GRÄND",
     "STIGEN", "TORGET", "BACKEN"]
)  # fmt: skip
_JOIN = 3  # a word split by wide gaps is joined back from at most this many pieces, one of them no word
_ASCII_VARIANTS = 4  # the A and O of a name tried as Ä and Ö: the first four of them
# Top-level domains people here write; another one is read as written.
_COMMON_TLDS = frozenset(
    ["FI", "COM", "NET", "ORG", "SE", "EU", "INFO", "IO", "AX", "NU", "DE", "EE", "NO", "DK", "UK", "FR", "BIZ", "ME"]
)
_GAP = 0.01  # a glyph with no letter, or a letter with no glyph, in _nearest_names
_MAX_GAPS = 2
_NEAREST_PER_GLYPH = 0.05  # a name may fall this short of the best reading a glyph, on average
_NEAREST_SHARE = 0.5  # the nearest name must hold this share of all names' alignment weight
_NEAREST_SHOWN = 3
_EMAIL_CHARS = LETTERS[:26] + DIGITS + "._-@+"
# Finland's numbering plan (Traficom): a mobile number 04x or 050; a geographic one, an area
# code (013-019, 02, 03, 05, 06, 08, 09) and a subscriber number that never starts with 0; a
# nationwide or service number 010, 020, 029, 030, 060, 070, 071, 073, 075, 080(0). From
# abroad, +358 and the same without its 0; another country's, + or 00 and its code.
_FINNISH = r"(4\d|50)\d{5,8}|(1[3-9]|[235689])[1-9]\d{4,7}|(10|20|29|30|60|70|71|73|75|80)\d{4,8}"
_PHONE = re.compile(rf"^(0({_FINNISH})|\+358({_FINNISH})|(\+|00)[1-9]\d{{6,14}})$")
_EMAIL = re.compile(r"^[A-Z0-9._%+-]+@[A-Z0-9-]+(\.[A-Z0-9-]+)*\.[A-Z]{2,}$")


def _hetu_date_ok(text: str, today: dt.date | None = None) -> bool:
    """A real date of birth: in the calendar, not in the future, and someone alive (OLDEST_YEARS)."""
    try:
        born = dt.date(HETU_CENTURY[text[6]] + int(text[4:6]), int(text[2:4]), int(text[0:2]))
    except ValueError:
        return False
    today = today or dt.date.today()
    return today.year - OLDEST_YEARS <= born.year and born <= today


def read_hetu(boxes: Sequence[Slot]) -> FieldReading:
    """Henkilötunnus from its 11 boxes: date, century sign and check character must all hold."""
    if len(boxes) != 11:
        return FieldReading(None, 0.0, (), raw_text(boxes), f"a henkilötunnus has 11 characters, got {len(boxes)}")
    if any(not box for box in boxes):
        return FieldReading(None, 0.0, (), raw_text(boxes), "a box is empty")
    raw = raw_text(boxes)
    boxes = [fold(box, chars) for box, chars in zip(boxes, (*HETU_ALLOWED, HETU_CHECK), strict=True)]
    scored, best = [], -math.inf
    for score, head in beam(boxes[:10], HETU_ALLOWED):
        tail = max(boxes[10].values())
        best = max(best, score + math.log(max(tail, 1e-6)))
        if not _hetu_date_ok(head):
            continue
        value = head + HETU_CHECK[int(head[:6] + head[7:10]) % 31]
        if stdnum_hetu.is_valid(value, allow_temporary=True):
            scored.append((score + math.log(max(boxes[10].get(value[10], 0.0), 1e-6)), value))
    # The century sign is outside the check character: a box torn between - and V leaves two
    # valid codes. The new signs are rare, and weigh NEW_SIGN_PRIOR.
    scored, best = weigh(scored, lambda text: 1.0 if text[6] in _USUAL_SIGNS else NEW_SIGN_PRIOR, best)

    allowed = (*HETU_ALLOWED, HETU_CHECK)

    def weakest(text: str) -> float:
        return min(within(box, chars, c) for box, chars, c in zip(boxes, allowed, text, strict=True))

    return decide(scored, weakest, raw=raw, best_score=best)


def hetu_birth_date(value: str) -> dt.date | None:
    """The date of birth a valid henkilötunnus carries."""
    try:
        return dt.date(HETU_CENTURY[value[6]] + int(value[4:6]), int(value[2:4]), int(value[0:2]))
    except (ValueError, KeyError, IndexError):
        return None


def _solid(glyphs: Sequence[Glyph], slots: Sequence[Slot]) -> list[Slot]:
    """The characters that are not marks (. , -) or spaces: codes read as one run of characters."""
    return [slot for glyph, slot in zip(glyphs, slots, strict=True) if glyph.mark is None and _best(slot) != "-"]


def _best(slot: Slot) -> str:
    return max(slot, key=lambda c: slot[c]) if slot else "?"


def _no_dots(glyphs: Sequence[Glyph], reading: FieldReading) -> FieldReading:
    """A code holds no full stops: one seen means a character fell apart when cut, so a clear
    reading of what is left is not clear at all (a 3 whose lower bow came off reads as 2)."""
    if any(g.mark in (".", ",") for g in glyphs):
        reason = "a dot where the code has none: a character may be cut"
        return replace(reading, clear=False, sound=frozenset(), reason=reason)
    return reading


def read_postal(glyphs: Sequence[Glyph], slots: Sequence[Slot]) -> FieldReading:
    """Five digits that Posti has as a postal code; a street address's code is the usual one.

    A fifth of Posti's codes are P.O. boxes, a firm's own code or reply mail (28361 beside
    Pori's 28360). A customer's address seldom has one: such a code weighs PO_BOX_PRIOR, so a
    0 drawn narrow and read as a sure I does not turn 28360 into a clear 28361.
    """

    def usual(text: str) -> float:
        area = postal_area(text)
        return 1.0 if area is not None and area.ordinary else PO_BOX_PRIOR

    reading = decode(_solid(glyphs, slots), [DIGITS] * 5, lambda text: postal_area(text) is not None, prior=usual)
    return _no_dots(glyphs, reading)


def read_ytunnus(glyphs: Sequence[Glyph], slots: Sequence[Slot]) -> FieldReading:
    """Business ID: seven digits, a hyphen, the mod 11 check digit."""
    reading = decode(
        _solid(glyphs, slots),
        [DIGITS] * 8,
        lambda text: stdnum_ytunnus.is_valid(f"{text[:7]}-{text[7]}"),
        show=lambda text: f"{text[:7]}-{text[7]}",
    )
    return _no_dots(glyphs, reading)


def read_iban(glyphs: Sequence[Glyph], slots: Sequence[Slot]) -> FieldReading:
    """A Finnish IBAN: FI, two check digits, 14 digits; mod 97 must hold."""
    reading = decode(
        _solid(glyphs, slots),
        ["F", "I", *[DIGITS] * 16],
        stdnum_iban.is_valid,
        show=lambda text: stdnum_iban.format(text),
    )
    return _no_dots(glyphs, reading)


def _date_ok(day: str, month: str, year: str) -> bool:
    try:
        date = dt.date(int(year), int(month), int(day))
    except ValueError:
        return False
    return EARLIEST_YEAR <= date.year <= dt.date.today().year + LATEST_YEARS_AHEAD


def _groups(glyphs: Sequence[Glyph], slots: Sequence[Slot]) -> list[list[Slot]]:
    """Runs of characters split at marks and spaces (the parts of a date: day, month, year)."""
    groups: list[list[Slot]] = [[]]
    for glyph, slot in zip(glyphs, slots, strict=True):
        if glyph.mark is not None:
            groups.append([])
            continue
        if glyph.space_before and groups[-1]:
            groups.append([])
        groups[-1].append(slot)
    return [g for g in groups if g]


def read_date(glyphs: Sequence[Glyph], slots: Sequence[Slot]) -> FieldReading:
    """A calendar date D.M.YYYY in a plausible range, written with dots (or as DDMMYYYY)."""
    groups = _groups(glyphs, slots)
    lengths = [len(g) for g in groups]
    if len(groups) == 3 and lengths[0] in (1, 2) and lengths[1] in (1, 2) and lengths[2] == 4:
        d, m = lengths[0], lengths[1]
    elif sum(lengths) == 8:  # DDMMYYYY, or a dot that was not seen
        d, m = 2, 2
    else:
        return FieldReading(None, 0.0, (), raw_text(slots), f"not a date: groups of {lengths}")
    flat = [slot for group in groups for slot in group]

    def parts(text: str) -> tuple[str, str, str]:
        return text[:d], text[d : d + m], text[d + m :]

    def show(text: str) -> str:
        day, month, year = parts(text)
        return f"{int(day):02d}.{int(month):02d}.{year}"

    return decode(flat, [DIGITS] * len(flat), lambda text: _date_ok(*parts(text)), show=show)


def read_phone(glyphs: Sequence[Glyph], slots: Sequence[Slot]) -> FieldReading:
    """A phone number in Finland's numbering plan (0… or +358…) or another country's (+… or 00…), spaced as written."""
    kept = [(g, s) for g, s in zip(glyphs, slots, strict=True) if g.mark is None]
    allowed = ["+" + DIGITS if i == 0 else DIGITS for i in range(len(kept))]
    spaces = [i for i, (g, _) in enumerate(kept) if g.space_before and i]

    def show(text: str) -> str:
        return "".join((" " if i in spaces else "") + c for i, c in enumerate(text))

    return _no_dots(glyphs, decode([s for _, s in kept], allowed, lambda text: bool(_PHONE.match(text)), show=show))


def read_amount(glyphs: Sequence[Glyph], slots: Sequence[Slot]) -> FieldReading:
    """A sum in euros: digits, and cents after a comma or a dot.

    A decimal comma is often drawn taller than a dot and reaches the model as a digit (a 1
    or a 2): a glyph much smaller than the digits and low on the line may be the comma.
    Marks in a row (a comma in two pieces) are one separator, and only a mark before the
    last one or two digits is one.
    """
    kept: list[tuple[Glyph, Slot]] = []
    for g, s in zip(glyphs, slots, strict=True):
        if g.mark and kept and kept[-1][0].mark:
            continue
        kept.append((g, s))
    # One separator, before the cents: any other dot is a speck or a piece broken off a digit.
    marks = [k for k, (g, _) in enumerate(kept) if g.mark]
    cents = [k for k in marks if 1 <= len(kept) - k - 1 <= 2]
    kept = [item for k, item in enumerate(kept) if not item[0].mark or k in cents[-1:]]
    digits = [g for g, _ in kept if not g.mark]
    height = float(np.median([g.image.shape[0] for g in digits])) if digits else 0.0
    base = float(np.median([g.top + g.image.shape[0] for g in digits])) if digits else 0.0

    def comma_like(g: Glyph) -> bool:
        return g.image.shape[0] < _COMMA_TALL * height and g.top > base - _COMMA_TOP * height

    allowed = [_MARKS if g.mark else (DIGITS + "," if comma_like(g) else DIGITS) for g, _ in kept]
    marked = [
        {g.mark: 1.0} if g.mark else ({",": _COMMA_SHARE, **{c: p * (1 - _COMMA_SHARE) for c, p in s.items()}}
                                      if comma_like(g) else s)
        for g, s in kept
    ]  # fmt: skip

    def valid(text: str) -> bool:
        return bool(re.fullmatch(r"\d+([.,]\d{1,2})?", text))

    return decode(marked, allowed, valid, show=lambda text: amount(text)[0] or text)


def read_email(glyphs: Sequence[Glyph], slots: Sequence[Slot]) -> FieldReading:
    """An e-mail address: one @, a domain with a dot; lower case."""
    allowed = [_MARKS if g.mark else _EMAIL_CHARS for g in glyphs]
    # Addresses are names: a written O, I or S is far likelier a letter than 0, 1 or 5. No
    # address has a comma: a dot written with a tail is its dot.
    marked = [
        {_EMAIL_MARK.get(g.mark, g.mark): 1.0}
        if g.mark
        else {c: p * (_EMAIL_DIGIT_PRIOR if c in DIGITS else 1.0) for c, p in s.items()}
        for g, s in zip(glyphs, slots, strict=True)
    ]
    reading = decode(marked, allowed, lambda text: bool(_EMAIL.match(text)), show=str.lower)
    if reading.value is None:
        return reading
    value = _known_email_parts(reading.value.upper(), marked)
    if value == reading.value.upper():
        return reading
    shown = value.lower()
    candidates = ((shown, reading.confidence), *[c for c in reading.candidates if c[0] != shown])
    reason = "the address's names and domain chosen among the readings as words Voikko knows"
    return replace(reading, value=shown, candidates=candidates[: len(reading.candidates)], clear=False,
                   reason=reason)  # fmt: skip


def _known_email_parts(text: str, slots: Sequence[Slot]) -> str:
    """Each name of an address (between . @ - _ +) as a word Voikko knows, if one was nearly as likely.

    Addresses are spelt without Ä and Ö (järvinen → jarvinen): a part is known when Voikko
    knows it with some of its A and O as Ä and Ö. The last part is the top-level domain.
    """
    out = list(text)
    starts = [0, *[k + 1 for k, c in enumerate(text) if c in _EMAIL_SEPARATORS]]
    ends = [k for k, c in enumerate(text) if c in _EMAIL_SEPARATORS] + [len(text)]
    for k, (a, b) in enumerate(zip(starts, ends, strict=True)):
        if b - a < 2:
            continue
        part = [_email_letters(slot) for slot in slots[a:b]]
        known = _is_tld if k == len(starts) - 1 else _known_spelt_ascii
        best = sum(math.log(max(max(s.values(), default=0.0), 1e-6)) for s in part)
        word = _first_known(part, _EMAIL_LETTERS, best + math.log(KNOWN_WORD), known)
        if word is not None:
            out[a:b] = word
    return "".join(out)


def _first_known(slots: Sequence[Slot], chars: str, floor: float, known: Callable[[str], bool]) -> str | None:
    """The likeliest reading over ``slots`` (each limited to ``chars``) that ``known`` accepts, from ``floor`` up."""
    for score, text in beam(slots, [chars] * len(slots), width=_WORD_BEAM):
        if score < floor:
            return None
        if known(text):
            return text
    return None


def _email_letters(slot: Slot) -> Slot:
    """A character of an address's name: the digits that look like letters count as those letters."""
    folded = {c: p for c, p in slot.items() if c in _EMAIL_LETTERS}
    for digit, letter in (("0", "O"), ("1", "L"), ("5", "S")):
        folded[letter] = folded.get(letter, 0.0) + slot.get(digit, 0.0)
    return folded


def _known_spelt_ascii(word: str) -> bool:
    words = lexicon()
    places = [k for k, c in enumerate(word) if c in "AO"][:_ASCII_VARIANTS]
    for pattern in range(2 ** len(places)):
        variant = list(word)
        for bit, k in enumerate(places):
            if pattern >> bit & 1:
                variant[k] = "Ä" if word[k] == "A" else "Ö"
        if words.finnish("".join(variant)):  # names: Voikko knows Swedish-speaking Finns' too
            return True
    return False


def _is_tld(word: str) -> bool:
    return word in _COMMON_TLDS


def _word(slots: Sequence[Slot]) -> str:
    """A word's best reading: all letters, all digits, or mixed only when the writing clearly says so.

    Hand-printed O and 0, I and 1, S and 5 look alike; a word is rarely mixed (a street is
    ASEMATIE 14, not A5EMATIE), so the likelier of letters-only and digits-only wins unless
    the mixed reading is far more probable.
    """

    def best(slots: Sequence[Slot], chars: str) -> tuple[float, str]:
        picks = [max(chars, key=lambda c: s.get(c, 0.0)) for s in slots]
        return sum(math.log(max(s.get(c, 0.0), 1e-6)) for s, c in zip(slots, picks, strict=True)), "".join(picks)

    mixed = best(slots, LETTERS + DIGITS + "-+")
    letters = best(slots, LETTERS + "-")
    digits = best(slots, DIGITS + "-+")
    # Whether the word is mixed: a round 0 in a word of letters could as well be its O
    # (K0RH0NEN), so the letters' side counts 0, 1 and 5 as O, I and S. Which letter a
    # glyph is stays the model's call: a hollow U that reads 0 is not made an O.
    as_letters = best([fold(s, LETTERS, _WORD_SAME_DRAWING) for s in slots], LETTERS + "-")
    # Letters then digits (a passport's JK9159069) or digits then a letter (a house's 12B) is
    # how codes are written; letters and digits mixed through a word (A5EMATIE) are not.
    block = bool(_BLOCKS.match(mixed[1]))
    if mixed[0] > max(as_letters[0], digits[0]) + (_MIXED_BLOCKS if block else _MIXED):
        return mixed[1]
    # A round O is as much a 0, but a letter that looks like no digit decides: ON drawn 0N is
    # no 02, whose 2 the model barely offered.
    lettered = any(c in LETTERS and c not in "OIS" for c in mixed[1])
    if letters[0] >= digits[0] or (lettered and as_letters[0] > digits[0] + _LETTERS_OVER_DIGITS):
        return _known_word(slots, letters, letters[0])
    # Digits are likelier (OSOITE drawn round reads 050172), but a known word of some length
    # nearly as likely is the word: a house number is rarely a word (150 could be ISO). A short
    # number starting with 0 is no house or flat number: a known word then wins (OY read 04).
    if len(slots) >= _WORD_OVER_DIGITS or digits[1].startswith("0"):
        word = _known_word(slots, letters, digits[0])
        if lexicon().known(word):
            return word
    return digits[1]


def _known_word(slots: Sequence[Slot], best: tuple[float, str], against: float) -> str:
    """The likeliest reading of a known word, if it is nearly as probable as ``against``.

    Finnish first, then Swedish: the Swedish list has many short words that are also misread
    Finnish ones (ON read ÖN, JA read TA), so a Swedish word is taken only where no reading
    is a Finnish word (JAG BER OM SVAR PÅ SVENSKA).
    """
    if len(slots) < 2:
        return best[1]
    floor = against + math.log(KNOWN_WORD)
    for known in (lexicon().finnish, lexicon().swedish):
        if known(best[1]) and best[0] >= floor:
            return best[1]
        word = _first_known(slots, LETTERS + "-", floor, known)
        if word is not None:
            return word
    return best[1]


def read_text(lines: Sequence[tuple[Sequence[Glyph], Sequence[Slot]]], *, name: bool = False) -> FieldReading:
    """Free text in block capitals: each word's best reading, spaces where the writer left them.

    A wide gap inside a word (some hands space their letters) splits it: two or three pieces,
    one of which is no word of its own, that make a known word together are read as that word.
    ``name``: a person's surname, where the pieces may be words themselves (KOSKIN EN, SALMIN
    EN): a surname is one word, not a phrase, so a known name they make is read.
    """
    runs: list[list[Slot]] = []
    confidence = 1.0
    for glyphs, slots in lines:
        run: list[Slot] = []
        for k, (glyph, slot) in enumerate(zip(glyphs, slots, strict=True)):
            if glyph.space_before and run:
                runs.append(run)
                run = []
            if glyph.mark not in (".", ","):  # dots in a name or street are specks, not writing
                run.append(slot)
                confidence = min(confidence, max(slot.values(), default=0.0))
            if k == len(glyphs) - 1 and run:
                runs.append(run)
    words = [_word(run) for run in runs]
    _address(runs, words)
    # Joins go by Finnish words only: the Swedish list's short words are too often the halves
    # of a Finnish name split by a gap (JUHA NI), or make a Swedish word of two (BEK OM: BEKOM).
    known = lexicon().finnish
    for span in range(2, _JOIN + 1):  # pairs first: TODIS TUS joins before VOIMASSA TODIS TUS could
        k = 0
        while k + span <= len(words):
            pieces = words[k : k + span]
            # A piece that is no word: the first (KOSKINE N), or one of letters after it (ASIA N, ASE MATIE).
            loose = [(name or not known(w)) and (i == 0 or w.isalpha()) for i, w in enumerate(pieces)]
            # A house number is no piece of a word, nor is its staircase (ASEMATIE 17 A; 11 A: IRA;
            # after a street, 5 B: AB). No house number starts with 0: a round O (0 N: ON).
            house = len(pieces[0]) > 1 or (k > 0 and words[k - 1].isalpha() and not pieces[0].startswith("0"))
            number = any(len(w) > 1 and w.isdigit() for w in pieces[1:]) or (
                house and pieces[0].isdigit() and len(pieces[1]) == 1
            )
            merged = [slot for run in runs[k : k + span] for slot in run]
            joined = _word(merged) if any(loose) and not number else ""
            if joined and known(joined):
                runs[k : k + span] = [merged]
                words[k : k + span] = [joined]
            else:
                k += 1
    value = " ".join(words)
    return FieldReading(value or None, confidence, (), value, "free text: no rule to check it against")


def _address(runs: list[list[Slot]], words: list[str]) -> None:
    """Words in a street address's shape, in place: STREETTYPE HOUSE [STAIRCASE FLAT].

    Between a house number and a flat's (KIRKKOKATU 47 A 4) one character is the staircase:
    a letter, however much it looks like a digit (a B drawn as an 8). A street's name is one
    word with its type (MYLLYTIE, SATAMAKATU, ÅSVÄGEN): a type written apart before the house
    number goes with the word before it.
    """
    for k in range(1, len(words) - 1):
        if len(runs[k]) == 1 and words[k - 1].isdigit() and words[k + 1].isdigit():
            letters = {c: p for c, p in fold(runs[k][0], LETTERS, _WORD_SAME_DRAWING).items() if c in LETTERS and p > 0}
            if letters:
                words[k] = max(letters, key=letters.__getitem__)
    for k in range(len(words) - 2, 0, -1):
        if words[k] in _STREET_TYPES and words[k - 1].isalpha() and words[k + 1][:1].isdigit():
            runs[k - 1 : k + 1] = [runs[k - 1] + runs[k]]
            words[k - 1 : k + 1] = [words[k - 1] + words[k]]


def read_municipality(glyphs: Sequence[Glyph], slots: Sequence[Slot]) -> FieldReading:
    """A municipality's name, Finnish or Swedish, chosen from the list by the characters read.

    A name has no digits, and a hand-printed 0 or 1 is the same drawing as O or I: their
    share goes to the letter.
    """
    # No name holds a full stop or a comma: such a mark is a speck or a piece of a letter.
    chars = [(g, fold(s, LETTERS)) for g, s in zip(glyphs, slots, strict=True) if g.mark not in (".", ",")]
    slots = [s for _, s in chars]
    scored = []
    for name in _names():
        letters = name.replace(" ", "")
        if len(letters) != len(chars):
            continue
        score = 0.0
        for (glyph, slot), c in zip(chars, letters, strict=True):
            p = 1.0 if glyph.mark == c else (0.0 if glyph.mark else slot.get(c, 0.0))
            score += math.log(max(p, 1e-6))
        scored.append((score, name))
    raw = raw_text(slots)
    best = sum(math.log(max(max(s.values()), 1e-6)) for s in slots if s)

    def weakest(name: str) -> float:
        letters = name.replace(" ", "")
        return min((1.0 if g.mark == c else s.get(c, 0.0)) for (g, s), c in zip(chars, letters, strict=True))

    reading = decide(scored, weakest, raw=raw, best_score=best)
    if reading.value is None:
        nearest = _nearest_names(chars, best)
        if nearest and nearest[0][1] >= _NEAREST_SHARE:  # a letter merged, split or lost: never clear
            reason = "nearest municipality name to what was read (a letter cut, merged or misread)"
            # The place's other name goes with it, however far down: which of the two was
            # written is a question for a second field's proof (fields._torn), not only which place.
            found = find_municipality(nearest[0][0])
            other = {n.upper() for n in found.names()} if found else set()
            shown = nearest[:_NEAREST_SHOWN] + [(n, p) for n, p in nearest[_NEAREST_SHOWN:] if n in other]
            return FieldReading(nearest[0][0], 0.0, tuple(shown), raw, reason)
        # Not a name on the list: what was read, for a person to check.
        return FieldReading(read_text([([g for g, _ in chars], slots)]).value, 0.0, reading.candidates, raw,
                            reading.reason)  # fmt: skip
    return reading


def _nearest_names(chars: Sequence[tuple[Glyph, Slot]], best: float) -> list[tuple[str, float]]:
    """Municipality names by how well they explain the glyphs when one or two were cut wrong.

    An alignment of glyphs to a name's letters: a glyph read as the letter scores its
    probability; a glyph with no letter (a stray piece) or a letter with no glyph (two
    touching letters cut as one) costs _GAP each, at most _MAX_GAPS of them. Apart from
    its gaps, a name may fall short of the best reading (``best``) by _NEAREST_PER_GLYPH a
    glyph on average: scribble is near no name.
    """
    gap = math.log(_GAP)
    logs = [{c: math.log(max(p, 1e-6)) for c, p in slot.items()} for _, slot in chars]
    marks = [glyph.mark for glyph, _ in chars]
    n = len(chars)
    scored = []
    for name in _names():
        letters = name.replace(" ", "")
        m = len(letters)
        if not n or abs(m - n) > _MAX_GAPS:
            continue
        previous = [j * gap for j in range(m + 1)]
        for i in range(1, n + 1):
            row = [i * gap] + [0.0] * m
            for j in range(1, m + 1):
                c = letters[j - 1]
                hit = 0.0 if marks[i - 1] == c else (-13.8 if marks[i - 1] else logs[i - 1].get(c, -13.8))
                row[j] = max(previous[j - 1] + hit, previous[j] + gap, row[j - 1] + gap)
            previous = row
        if previous[m] >= best + abs(m - n) * gap + n * math.log(_NEAREST_PER_GLYPH):
            scored.append((previous[m], name))
    return posteriors(scored)


def _names() -> list[str]:
    names = {n.upper() for m in all_municipalities() for n in m.names()}
    return sorted(names)
