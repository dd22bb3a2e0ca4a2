"""Decode a field from per-box alternatives under the field's rules; accept only a clear winner."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from intake.routing.icr.model import CellReading
from intake.routing.validators import HETU_CENTURY, HETU_CHECK

DIGITS = "0123456789"
HETU_SIGNS = "".join(HETU_CENTURY)
# Where a box's probability mass could sensibly go; the rules decide among the survivors.
HETU_ALLOWED = (*[DIGITS] * 6, HETU_SIGNS, *[DIGITS] * 3)
# Set on characters from fonts held out of training (tools/icr/evaluate.py --synthetic), then
# checked on the dev corpus, never tuned on it: see README.md next to the model.
ACCEPT_POSTERIOR = 0.995  # the winner's share of the probability of all rule-passing readings
MIN_CELL = 0.2  # no box of the winner may be a long shot, however the rest add up
_BEAM = 400
_PER_BOX = 4
_FLOOR = 1e-6


@dataclass(frozen=True)
class FieldReading:
    """A field read box by box: the accepted value, or None and the candidates for a person."""

    value: str | None
    confidence: float  # the best candidate's posterior among rule-passing readings
    candidates: tuple[tuple[str, float], ...]  # rule-passing readings, best first, with posteriors
    raw: str  # each box's most probable character, rules ignored ("?" for a blank box)
    reason: str


def _log(p: float) -> float:
    return math.log(max(p, _FLOOR))


def _beam(cells: Sequence[CellReading], allowed: Sequence[str], classes: Sequence[str]) -> list[tuple[float, str]]:
    """The most probable strings over the boxes, each box limited to its allowed characters."""
    index = {c: i for i, c in enumerate(classes)}
    beam: list[tuple[float, str]] = [(0.0, "")]
    for cell, chars in zip(cells, allowed, strict=True):
        options = sorted(((float(cell.probabilities[index[c]]), c) for c in chars if c in index), reverse=True)
        options = options[:_PER_BOX]
        beam = sorted(((s + _log(p), text + c) for s, text in beam for p, c in options), reverse=True)[:_BEAM]
    return beam


def _hetu_date_ok(text: str) -> bool:
    try:
        dt.date(HETU_CENTURY[text[6]] + int(text[4:6]), int(text[2:4]), int(text[0:2]))
    except ValueError:
        return False
    return True


def _posteriors(scored: list[tuple[float, str]]) -> list[tuple[str, float]]:
    if not scored:
        return []
    top = max(s for s, _ in scored)
    weights = [(text, math.exp(s - top)) for s, text in scored]
    total = sum(w for _, w in weights)
    return sorted(((text, w / total) for text, w in weights), key=lambda item: -item[1])


def _raw(cells: Sequence[CellReading]) -> str:
    return "".join(cell.best or "?" for cell in cells)


def _decide(scored: list[tuple[float, str]], cells: Sequence[CellReading], classes: Sequence[str]) -> FieldReading:
    """Accept the best rule-passing reading only if it clearly wins and no box of it is a guess."""
    ranked = _posteriors(scored)
    raw = _raw(cells)
    if not ranked:
        return FieldReading(None, 0.0, (), raw, "no reading passes the field's rules")
    best, posterior = ranked[0]
    candidates = tuple((text, round(p, 4)) for text, p in ranked[:5])
    index = {c: i for i, c in enumerate(classes)}
    weakest = min(float(cell.probabilities[index[c]]) for cell, c in zip(cells, best, strict=True))
    if posterior < ACCEPT_POSTERIOR:
        return FieldReading(None, posterior, candidates, raw, f"best reading only {posterior:.3f} of the valid ones")
    if weakest < MIN_CELL:
        return FieldReading(None, posterior, candidates, raw, f"a box of the best reading has p={weakest:.2f}")
    return FieldReading(best, posterior, candidates, raw, "clear winner among valid readings")


def read_hetu(cells: Sequence[CellReading], classes: Sequence[str]) -> FieldReading:
    """Henkilötunnus from its 11 boxes: date, century sign and check character must all hold."""
    if len(cells) != 11:
        raise ValueError(f"a henkilötunnus has 11 boxes, got {len(cells)}")
    if any(cell.blank for cell in cells):
        return FieldReading(None, 0.0, (), _raw(cells), "a box is empty")
    index = {c: i for i, c in enumerate(classes)}
    scored = []
    for score, head in _beam(cells[:10], HETU_ALLOWED, classes):
        if not _hetu_date_ok(head):
            continue
        check = HETU_CHECK[int(head[:6] + head[7:10]) % 31]
        scored.append((score + _log(float(cells[10].probabilities[index[check]])), head + check))
    return _decide(scored, cells, classes)
