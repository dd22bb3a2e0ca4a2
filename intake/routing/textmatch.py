"""Fuzzy matching of OCR text against printed text: character-trigram TF-IDF cosine."""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping

_NOT_WORD = re.compile(r"[^0-9a-zåäöü]+")


def normalise(text: str) -> str:
    """Lower case, one space between words; keeps å, ä, ö (they tell fi from sv)."""
    text = unicodedata.normalize("NFC", text).lower()
    return " ".join(_NOT_WORD.sub(" ", text).split())


def trigrams(text: str) -> Counter[str]:
    """Character trigrams of each word, padded: robust to OCR splitting and misreads."""
    grams: Counter[str] = Counter()
    for word in normalise(text).split():
        padded = f" {word} "
        grams.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return grams


class TrigramIndex:
    """TF-IDF vectors of a fixed set of reference texts, for cosine similarity queries.

    Trigrams shared by every reference (the footer that all forms print) weigh nothing, so
    the score is driven by what tells the references apart.
    """

    def __init__(self, references: Mapping[str, str]) -> None:
        counts = {key: trigrams(text) for key, text in references.items()}
        df: Counter[str] = Counter()
        for grams in counts.values():
            df.update(grams.keys())
        n = len(counts)
        self._idf = {gram: math.log((1 + n) / (1 + k)) for gram, k in df.items()}
        self._vectors = {key: self._weigh(grams) for key, grams in counts.items()}

    def _weigh(self, grams: Counter[str]) -> dict[str, float]:
        vector = {g: (1 + math.log(c)) * self._idf[g] for g, c in grams.items() if self._idf.get(g)}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return {g: v / norm for g, v in vector.items()}

    def scores(self, text: str, keys: Iterable[str] | None = None) -> dict[str, float]:
        """Cosine similarity (0..1) of ``text`` with each reference."""
        query = self._weigh(trigrams(text))
        chosen = self._vectors if keys is None else {k: self._vectors[k] for k in keys}
        return {
            key: sum(weight * query.get(gram, 0.0) for gram, weight in vector.items()) for key, vector in chosen.items()
        }
