"""Measure the ICR: per-box accuracy and accepted henkilötunnus on the dev corpus (held out), or
on synthetic codes written in fonts held out of training (--synthetic, to set the thresholds).

    .venv/bin/python -m tools.icr.evaluate                 # dev corpus, through intake's real path
    .venv-train/bin/python -m tools.icr.evaluate --synthetic 2000
"""

from __future__ import annotations

import argparse
import collections
import random
from pathlib import Path

import numpy as np

from intake.routing.icr import (
    CellReader,
    decode,
    read_hetu,
    split_comb,
)
from intake.routing.validators import HETU_CHECK, hetu

ROOT = Path(__file__).resolve().parents[2]  # the repository


def _summary(rows: list[dict], label: str) -> None:
    n = len(rows)
    cells = sum(r["cells_ok"] for r in rows)
    fit = sum(r["cells_fit"] for r in rows)
    total = sum(r["cells"] for r in rows)
    raw = sum(r["raw"] == r["truth"] for r in rows)
    accepted = [r for r in rows if r["value"] is not None]
    wrong = [r for r in accepted if r["value"] != r["truth"]]
    top = sum(bool(r["candidates"]) and r["candidates"][0][0] == r["truth"] for r in rows)
    print(f"{label}: {n} fields; boxes {cells}/{total} = {cells / max(total, 1):.3f} "
          f"({fit / max(total, 1):.3f} within each position's characters); raw exact {raw}/{n}; "
          f"best valid candidate right {top}/{n}; accepted {len(accepted)}/{n} = {len(accepted) / max(n, 1):.3f}; "
          f"wrong among accepted {len(wrong)}")  # fmt: skip


def _row(truth: str, readings, classes, extra: dict) -> dict:
    got = read_hetu(readings, classes)
    ok = sum(r.best == t for r, t in zip(readings, truth, strict=False))
    # What the decoder sees: each box's best character among those its position allows.
    allowed = [*decode.HETU_ALLOWED, "".join(dict.fromkeys("0123456789ABCDEFHJKLMNPRSTUVWXY"))]
    index = {c: i for i, c in enumerate(classes)}
    fit = sum(
        max(chars, key=lambda c: r.probabilities[index[c]]) == t
        for r, t, chars in zip(readings, truth, allowed, strict=False)
    )
    return {
        "truth": truth, "raw": got.raw, "value": got.value, "confidence": got.confidence,
        "candidates": got.candidates, "reason": got.reason, "cells_ok": ok, "cells_fit": fit,
        "cells": len(truth), **extra,
    }  # fmt: skip


def corpus(cache: Path, verbose: bool) -> None:
    if not cache.is_file():
        import tools.icr.corpus as icr_corpus

        icr_corpus.main_to(cache)
    samples = np.load(cache, allow_pickle=True)["samples"]
    reader = CellReader()
    rows = []
    for s in samples:
        comb = split_comb(s["crop"], s["cells"], tuple(s["box"]), 300)
        rows.append(_row(s["value"], reader.read(comb.cells), reader.classes, {"hand": s["hand"], "file": s["file"]}))
    _summary(rows, "dev corpus")
    for hand in sorted({r["hand"] for r in rows}):
        _summary([r for r in rows if r["hand"] == hand], f"  hand {hand}")
    for r in rows:
        if verbose or (r["value"] is not None and r["value"] != r["truth"]):
            print(f"  {r['file']:16} {r['hand']:6} truth {r['truth']} raw {r['raw']} -> {r['value']} "
                  f"({r['confidence']:.3f}; {r['reason']}) {r['candidates'][:3]}")  # fmt: skip


def _random_hetu(rng: random.Random) -> str:
    while True:
        d, m, y = rng.randint(1, 28), rng.randint(1, 12), rng.randint(0, 99)
        sign = rng.choice("-" * 6 + "+ABCDEFUVWXY")
        body = f"{d:02d}{m:02d}{y:02d}"
        z = f"{rng.randint(2, 999):03d}"
        value = body + sign + z + HETU_CHECK[int(body + z) % 31]
        if hetu(value)[1]:
            return value


def synthetic(count: int, seed: int) -> None:
    import train_icr

    rng, nrng = random.Random(seed), np.random.default_rng(seed)
    held = [p for p in train_icr.fonts() if p.stem in train_icr.HELD_OUT]
    glyphs = {p.stem: train_icr.render(p) for p in held}
    reader = CellReader()
    rows = []
    for _ in range(count):
        font = rng.choice(sorted(glyphs))
        truth = _random_hetu(rng)
        if any(c not in glyphs[font] for c in truth):
            continue
        cells = [train_icr.augment(glyphs[font][c], nrng) for c in truth]
        rows.append(_row(truth, reader.read(cells), reader.classes, {"hand": font, "file": "synthetic"}))
    _summary(
        rows, f"synthetic, held-out fonts (accept at posterior >= {decode.ACCEPT_POSTERIOR}, box >= {decode.MIN_CELL})"
    )
    for threshold in (0.9, 0.95, 0.98, 0.99, 0.995, 0.999):
        acc = [r for r in rows if r["candidates"] and r["confidence"] >= threshold]
        wrong = sum(r["candidates"][0][0] != r["truth"] for r in acc)
        print(f"  posterior >= {threshold}: accepted {len(acc)}/{len(rows)}, wrong {wrong}")
    counts = collections.Counter(r["hand"] for r in rows)
    print("  fonts:", dict(counts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=ROOT / "var" / "icr" / "hetu_crops.npz")
    parser.add_argument("--synthetic", type=int, default=0, help="this many synthetic codes instead of the corpus")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args()
    if args.synthetic:
        synthetic(args.synthetic, args.seed)
    else:
        corpus(args.cache, args.verbose)


if __name__ == "__main__":
    main()
