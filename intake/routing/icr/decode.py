"""Decode a field from per-character alternatives under the field's rules; a clear winner is marked so.

The recogniser gives each written character a few alternatives with probabilities (a
``Slot``). A beam keeps the most probable strings; the field's rules (``rules.py``) then
select among them. Rules never add a character the recogniser did not offer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from intake.routing.icr.model import CellReading

# Set on characters from fonts held out of training (tools/icr/evaluate.py --synthetic), then
# checked on the dev corpus, never tuned on it: see README.md next to the model. With the
# round-four model (T=0.8), 0.995 let one Y-tunnus (two digits misread, 0.998) and one
# henkilötunnus (three misread, 0.996) through on 600 synthetic forms; 0.999 let none. The
# round-five model (T=0.75), the joined round-six model (T=0.95) and the three joined of round
# seven (T=0.9) let none through at 0.998 either; 0.999 is kept.
ACCEPT_POSTERIOR = 0.999  # the winner's share of the probability of all rule-passing readings
# Two fields that agree (a postal code in the written municipality) are two readings, not one:
# on synthetic forms in held-out fonts no municipality so proven was wrong down to 0.98, nor on
# the dev corpus.
PAIR_POSTERIOR = 0.98
# The pair's code is still chosen among its municipality's own codes by its reading alone: on
# 300 synthetic forms a Kristi 21540 went through as 21510 (both Paimio) at 0.987; at 0.99 none
# of 600 forms was wrong (tools/icr/evaluate.py --accept 0.999 --code ...), nor on the dev corpus.
PAIR_CODE_POSTERIOR = 0.99
MIN_CELL = 0.2  # no character of the winner may be a long shot among what its box allows, however the rest add up
PLAUSIBLE = 0.02  # a rule-passing reading this unlikely against the unconstrained best is no reading
_BEAM = 400
_CANDIDATES = 12  # kept for cross-field decoding; a person is shown the first few
_PER_SLOT = 4
_FLOOR = 1e-6
DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZÅÄÖ"

Slot = Mapping[str, float]  # a character's alternatives: character → probability


@dataclass(frozen=True)
class FieldReading:
    """A field read character by character: the value, whether it clearly won, candidates for a person."""

    value: str | None  # the best reading that passes the rules (or, for free text, the best reading)
    confidence: float  # the value's posterior among the readings that pass the rules
    candidates: tuple[tuple[str, float], ...]  # rule-passing readings, best first, with posteriors
    raw: str  # each character's most probable reading, rules ignored ("?" for a blank box)
    reason: str
    clear: bool = False  # the value clearly wins and passes the kind's rules: half of a proof
    sound: frozenset[str] = frozenset()  # candidates none of whose characters is a long shot (MIN_CELL)
    # The likeliest reading with each character what its place allows (FI and digits in an
    # IBAN), the rule aside: what a person is shown when no reading passes the rule.
    formed: str = ""
    # Candidates not far less probable (PLAUSIBLE) than the model's own best reading of every
    # character, allowed or not: what a second field may confirm.
    plain: frozenset[str] = frozenset()


def slots(cells: Sequence[CellReading], classes: Sequence[str], *, capitals: bool = True) -> list[dict[str, float]]:
    """Each character's alternatives with letter case folded (people mix cases in block capitals).

    In a field written in capitals a lone upright stroke is an I, not a lower-case l; in an
    e-mail address (``capitals`` False) it is an l.
    """
    out = []
    for cell in cells:
        probs: dict[str, float] = {}
        for cls, p in zip(classes, np.asarray(cell.probabilities, float), strict=True):
            key = "I" if capitals and cls == "l" else cls.upper()
            probs[key] = probs.get(key, 0.0) + float(p)
        out.append(probs)
    return out


# Hand-printed, these pairs are the same drawing: where only one of the two may stand, the
# other's share is its own.
_SAME_DRAWING = (("O", "0"), ("I", "1"))


def fold(slot: Slot, allowed: str, pairs: Sequence[tuple[str, str]] = _SAME_DRAWING) -> Slot:
    """``slot`` with O counted as 0 and I as 1 where ``allowed`` has the digit but not the letter,
    and the other way round where it has the letter but not the digit (a name)."""
    folded = dict(slot)
    for letter, digit in pairs:
        for keep, drop in ((digit, letter), (letter, digit)):
            if keep in allowed and drop not in allowed and drop in folded:
                folded[keep] = folded.get(keep, 0.0) + folded.pop(drop)
    return folded


def within(slot: Slot, allowed: str, char: str) -> float:
    """``char``'s share of the probability the slot gives the characters ``allowed`` there: a
    6 drawn open reads as a U, which a digit box cannot hold; among digits it is still a 6."""
    total = sum(p for c, p in slot.items() if c in allowed)
    return slot.get(char, 0.0) / total if total > 0 else 0.0


def _log(p: float) -> float:
    return math.log(max(p, _FLOOR))


def beam(slots_: Sequence[Slot], allowed: Sequence[str], *, width: int = _BEAM) -> list[tuple[float, str]]:
    """The most probable strings over the slots, each slot limited to its allowed characters."""
    scored: list[tuple[float, str]] = [(0.0, "")]
    for slot, chars in zip(slots_, allowed, strict=True):
        options = sorted(((slot.get(c, 0.0), c) for c in chars), reverse=True)[:_PER_SLOT]
        logs = [(_log(p), c) for p, c in ([(p, c) for p, c in options if p > 0] or options[:1])]
        scored = sorted([(s + lp, text + c) for s, text in scored for lp, c in logs], reverse=True)[:width]
    return scored


def posteriors(scored: Sequence[tuple[float, str]]) -> list[tuple[str, float]]:
    """Normalised probabilities of scored readings (the same text scored twice adds up)."""
    if not scored:
        return []
    top = max(s for s, _ in scored)
    weights: dict[str, float] = {}
    for s, text in scored:
        weights[text] = weights.get(text, 0.0) + math.exp(s - top)
    total = sum(weights.values())
    return sorted(((text, w / total) for text, w in weights.items()), key=lambda item: -item[1])


def raw_text(slots_: Sequence[Slot]) -> str:
    return "".join(max(slot, key=lambda c: slot[c]) if slot else "?" for slot in slots_)


def decide(
    scored: Sequence[tuple[float, str]],
    weakest: Callable[[str], float],
    *,
    raw: str,
    best_score: float,
    show: Callable[[str], str] = str,
) -> FieldReading:
    """The best rule-passing reading, clear when it holds ACCEPT_POSTERIOR and no character is a guess.

    ``best_score`` is the log-probability of the unconstrained best reading: a rule-passing
    reading far less probable than that is not what was written, only what the rules allow.
    """
    ranked = posteriors(scored)
    if not ranked:
        return FieldReading(None, 0.0, (), raw, "no reading passes the field's rules")
    best, posterior = ranked[0]
    candidates = tuple((show(text), round(p, 4)) for text, p in ranked[:_CANDIDATES])
    if max(s for s, _ in scored) < best_score + math.log(PLAUSIBLE):
        return FieldReading(None, 0.0, candidates, raw, "the readings that pass the rules are unlikely")
    sound = frozenset(show(text) for text, _ in ranked[:_CANDIDATES] if weakest(text) >= MIN_CELL)
    low = weakest(best)
    if posterior < ACCEPT_POSTERIOR:
        return FieldReading(
            show(best), posterior, candidates, raw, f"best reading only {posterior:.3f} of the valid ones", sound=sound
        )
    if low < MIN_CELL:
        return FieldReading(
            show(best), posterior, candidates, raw, f"a character of the best reading has p={low:.2f}", sound=sound
        )
    return FieldReading(
        show(best), posterior, candidates, raw, "clear winner among valid readings", clear=True, sound=sound
    )


def weigh(
    passing: Sequence[tuple[float, str]], prior: Callable[[str], float], best_score: float
) -> tuple[list[tuple[float, str]], float]:
    """``passing`` readings weighed by ``prior`` (at most 1), and ``best_score`` moved with them:
    whether any passing reading is plausible (``decide``) is the recogniser's question, not the prior's."""
    if not passing:
        return list(passing), best_score
    weighed = [(s + math.log(prior(text)), text) for s, text in passing]
    return weighed, best_score + max(s for s, _ in weighed) - max(s for s, _ in passing)


def decode(
    slots_: Sequence[Slot],
    allowed: Sequence[str],
    rule: Callable[[str], bool],
    *,
    show: Callable[[str], str] = str,
    prior: Callable[[str], float] | None = None,
) -> FieldReading:
    """Beam over ``slots_`` (each limited to ``allowed``), keep what ``rule`` passes, decide.

    ``prior`` weighs a passing reading by how common such a value is (at most 1): a rule
    that only says what exists treats the rare and the usual alike otherwise.
    """
    raw = raw_text(slots_)
    if len(slots_) != len(allowed):
        return FieldReading(None, 0.0, (), raw, f"{len(slots_)} characters written, {len(allowed)} expected")
    slots_ = [fold(slot, chars) for slot, chars in zip(slots_, allowed, strict=True)]
    scored = beam(slots_, allowed)
    passing = [(s, text) for s, text in scored if rule(text)]
    best_score = scored[0][0] if scored else 0.0
    # Against what was written, whatever the field allows: a 0 drawn narrow that the model
    # reads as V (0.63), and as 0 at 0.01, leads among the digits but was hardly written.
    written = sum(_log(max(slot.values(), default=0.0)) for slot in slots_) + math.log(PLAUSIBLE)
    plain = frozenset(show(text) for s, text in passing if s >= written)
    if prior:
        passing, best_score = weigh(passing, prior, best_score)

    def weakest(text: str) -> float:
        return min((within(slot, chars, c) for slot, chars, c in zip(slots_, allowed, text, strict=True)), default=0.0)

    reading = decide(passing, weakest, raw=raw, best_score=best_score, show=show)
    reading = replace(reading, formed=show(scored[0][1]) if scored else "", plain=plain)
    if reading.clear and reading.value not in plain:  # the rule left one reading, not the writing
        return replace(reading, clear=False, reason="a character of it reads as another, outside what the field allows")
    return reading
