"""Known words for free text: is a reading a Finnish or a Swedish word?

Free text has no check character, but what people write in these boxes (names, streets,
occupations, a sentence to the agency) is nearly always a word of one of the country's two
languages. Finnish: Voikko, the Finnish spelling checker, knows inflected forms
(KÄSITTELYÄ, HAKEMUKSEEN) and Finnish first names, surnames and place names, Swedish-speaking
Finns' names among them. Swedish: the Swedish word list Debian ships (``wswedish``, 121,000
words with their inflected forms: SVAR, SVENSKA, BIFOGAR) and street names built on one
(ÅS + VÄGEN, STOR + GATAN). Among the readings the recogniser offered for a word, a known word
nearly as probable as the best is preferred (``rules.read_text``). It never makes a field
valid, and it never adds a character the recogniser did not offer.

Debian: voikko-fi (the dictionary), libvoikko1 and wswedish; Python: libvoikko (a ctypes binding).
"""

from __future__ import annotations

import threading
from functools import cache, lru_cache
from pathlib import Path

from intake.errors import EnvironmentProblem

INSTALL = "apt-get install voikko-fi libvoikko1 wswedish, and pip install libvoikko"
LANGUAGE = "fi"
SWEDISH = Path("/usr/share/dict/swedish")  # wswedish: one word a line, ISO-8859-1
# The last part of a Swedish street's name: its type (ÅSVÄGEN, STORGATAN, KYRKOSTIGEN).
_STREET_TYPES = ("VÄGEN", "GATAN", "GRÄNDEN", "GRÄND", "STIGEN", "TORGET", "BACKEN", "STRANDEN", "ALLÉN", "KULLEN")


class LexiconMissing(EnvironmentProblem):
    """Voikko, its Finnish dictionary or the Swedish word list is not installed."""


class Lexicon:
    """Whether a word (any case) is Finnish as Voikko knows it, or Swedish; answers are cached."""

    def __init__(self, language: str = LANGUAGE, swedish: Path = SWEDISH) -> None:
        try:
            from libvoikko import Voikko, VoikkoException
        except (ImportError, OSError) as exc:
            raise LexiconMissing(f"the Finnish word list (Voikko) cannot be loaded: {INSTALL}") from exc
        try:
            self._voikko = Voikko(language)
        except (VoikkoException, OSError) as exc:
            raise LexiconMissing(f"the Finnish dictionary for Voikko is missing: {INSTALL}") from exc
        try:
            text = swedish.read_text(encoding="iso-8859-1")
        except OSError as exc:
            raise LexiconMissing(f"the Swedish word list {swedish} is missing: {INSTALL}") from exc
        self._swedish = frozenset(word.strip().upper() for word in text.splitlines() if len(word.strip()) > 1)
        self._lock = threading.Lock()  # a Voikko handle is not safe to share between threads

    def known(self, word: str) -> bool:
        """True when ``word`` (block capitals are fine) is a Finnish or Swedish word, name or place."""
        return self.finnish(word) or self.swedish(word)

    @lru_cache(maxsize=65536)  # noqa: B019 -- one Lexicon per process, kept for its life
    def finnish(self, word: str) -> bool:
        """True when Voikko knows ``word`` (any case): a Finnish word, inflected form or name."""
        if not _wordlike(word):
            return False
        with self._lock:
            return bool(self._voikko.spell(word) or self._voikko.spell(word.capitalize()))

    def swedish(self, word: str) -> bool:
        """True when ``word`` (any case) is on the Swedish list, or a street name built on a word of it."""
        if not _wordlike(word):
            return False
        word = word.upper()
        if word in self._swedish:
            return True
        for kind in _STREET_TYPES:  # a street: a word and its type (ÅS VÄGEN written as one)
            stem = word.removesuffix(kind)
            if stem != word and (len(stem) > 1 and (stem in self._swedish or stem.rstrip("S") in self._swedish)):
                return True
        return False


def _wordlike(word: str) -> bool:
    return len(word) > 1 and word.replace("-", "").isalpha()


@cache
def lexicon() -> Lexicon:
    """The process's lexicon (loading Voikko and the Swedish list takes about 0.2 s)."""
    return Lexicon(LANGUAGE)
