"""Where the comb reader loses characters: cutting the boxes, normalising the ink, or recognising.

    .venv/bin/python -m tools.icr.loss [--model intake/routing/icr/icr.onnx]

Each step is measured on its own, per hand of the dev corpus:

- recognition: the hand's own font rendered clean (no scan, no cutting) → normalise → model;
  the same with the training augmentation (a scanned, wobbly version of that hand);
- cutting: the corpus' boxes cut by comb.py vs cut at the template's geometry (even pitch
  from the registered zone), both through the same normalisation and model;
- normalisation: the corpus' cells (comb.py's cut) through the run-time normalisation vs a
  variant that keeps every ink pixel (no dust removal, darker ink threshold).
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import numpy as np

from intake.routing.icr.comb import MARGIN_MM, split_comb
from intake.routing.icr.model import MODEL, CellReader, normalise
from tools.icr import corpus, glyphs

HETU_CHARS = "0123456789-+ABCDEFHJKLMNPRSTUVWXY"


def _accuracy(reader: CellReader, images: list[np.ndarray], truth: str) -> tuple[int, int]:
    normalised = [normalise(i) for i in images]
    pairs = [(n, t) for n, t in zip(normalised, truth, strict=True) if n is not None]
    if not pairs:
        return 0, len(truth)
    probs = reader.probabilities([n for n, _ in pairs])
    return sum(reader.classes[int(p.argmax())] == t for p, (_, t) in zip(probs, pairs, strict=True)), len(truth)


def _geometry_cells(crop: np.ndarray, cells: int, box: tuple[float, float], dpi: int) -> list[np.ndarray]:
    """Boxes cut at the template's even pitch, no separator search, printed rules blanked."""
    scale = dpi / 25.4
    left, top = MARGIN_MM * scale, MARGIN_MM * scale
    pitch, height = box[0] * scale / cells, box[1] * scale
    out = []
    for k in range(cells):
        x0, x1 = round(left + k * pitch + 0.5 * scale), round(left + (k + 1) * pitch - 0.5 * scale)
        strip = crop[max(0, round(top - 1.5 * scale)) : round(top + height + 2.5 * scale), x0:x1].copy()
        strip[strip > 160] = 255
        # The box's top and bottom rules: blank rows that are dark across the whole strip.
        dark_rows = (strip < 160).mean(axis=1) > 0.8
        strip[dark_rows] = 255
        out.append(strip)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODEL)
    args = parser.parse_args()
    reader = CellReader(args.model)
    rng = np.random.default_rng(3)
    fonts = {p.stem: p for p in glyphs.fonts(corpus=True)}
    rows: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for hand, stem in glyphs.CORPUS_HANDS.items():
        rendered = glyphs.render(fonts[stem], HETU_CHARS)
        chars = "".join(rendered)
        ok, n = _accuracy(reader, [rendered[c] for c in chars], chars)
        rows[hand].update(clean_ok=ok, clean_n=n)
        for _ in range(10):
            ok, n = _accuracy(reader, [glyphs.augment(rendered[c], rng) for c in chars], chars)
            rows[hand].update(aug_ok=ok, aug_n=n)
    for s in corpus.load():
        if s["kind"] != "hetu" or not s["value"]:
            continue
        hand = s["hand"]
        comb = split_comb(s["crop"], s["cells"], tuple(s["box"]), 300)
        ok, n = _accuracy(reader, comb.cells, s["value"])
        rows[hand].update(cut_ok=ok, cut_n=n, found=comb.found, fields=1)
        ok, _ = _accuracy(reader, _geometry_cells(s["crop"], s["cells"], tuple(s["box"]), 300), s["value"])
        rows[hand].update(geo_ok=ok)
    print("| hand | clean font glyphs | augmented font glyphs | corpus, comb.py cut | corpus, template cut |"
          " separators found |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    total: collections.Counter = collections.Counter()
    for hand, r in sorted(rows.items()):
        total.update(r)
        print(_line(hand, r))
    print(_line("all", total))


def _line(hand: str, r: collections.Counter) -> str:
    def pct(a: str, b: str) -> str:
        return f"{100 * r[a] / max(r[b], 1):.1f} %"

    return (f"| {hand} | {pct('clean_ok', 'clean_n')} | {pct('aug_ok', 'aug_n')} | {pct('cut_ok', 'cut_n')} | "
            f"{pct('geo_ok', 'cut_n')} | {r['found']}/{r['fields']} |")  # fmt: skip


if __name__ == "__main__":
    main()
