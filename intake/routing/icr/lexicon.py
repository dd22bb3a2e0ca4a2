"""Known words for free text: Voikko, the Finnish spelling checker, says whether a reading is a word.

Free text has no check character, but what people write in these boxes (names, streets,
occupations, a sentence to the agency) is nearly always a word Voikko knows: it knows
inflected forms (KÄSITTELYÄ, HAKEMUKSEEN) and Finnish first names, surnames and place
names, Swedish-speaking Finns' names among them. Among the readings the recogniser offered
for a word, a known word nearly as probable as the best is preferred (``rules.read_text``).
It never makes a field valid, and it never adds a character the recogniser did not offer.

Debian: voikko-fi (the dictionary) and libvoikko1; Python: libvoikko (a ctypes binding).
"""

from __future__ import annotations

import threading
from functools import cache, lru_cache

from intake.errors import EnvironmentProblem

INSTALL = "apt-get install voikko-fi libvoikko1, and pip install libvoikko"
LANGUAGE = "fi"


class LexiconMissing(EnvironmentProblem):
    """Voikko or its Finnish dictionary is not installed."""


class Lexicon:
    """Whether a word (any case) is Finnish as Voikko knows it; answers are cached."""

    def __init__(self, language: str = LANGUAGE) -> None:
        try:
            from libvoikko import Voikko, VoikkoException
        except (ImportError, OSError) as exc:
            raise LexiconMissing(f"the Finnish word list (Voikko) cannot be loaded: {INSTALL}") from exc
        try:
            self._voikko = Voikko(language)
        except (VoikkoException, OSError) as exc:
            raise LexiconMissing(f"the Finnish dictionary for Voikko is missing: {INSTALL}") from exc
        self._lock = threading.Lock()  # a Voikko handle is not safe to share between threads

    @lru_cache(maxsize=65536)  # noqa: B019 -- one Lexicon per process, kept for its life
    def known(self, word: str) -> bool:
        """True when ``word`` (block capitals are fine) is a Finnish word, name or place."""
        if len(word) < 2 or not word.replace("-", "").isalpha():
            return False
        with self._lock:
            return bool(self._voikko.spell(word) or self._voikko.spell(word.capitalize()))


@cache
def lexicon() -> Lexicon:
    """The process's lexicon (loading Voikko takes about 0.1 s)."""
    return Lexicon(LANGUAGE)
