"""Fit the character model's softmax temperature on boxes written in fonts held out of training.

    .venv/bin/python -m tools.icr.calibrate            # print the fit
    .venv/bin/python -m tools.icr.calibrate --write    # and store it in the model's .json

The decoder's posteriors (``decode.ACCEPT_POSTERIOR``) are only as good as the model's
probabilities. Training uses label smoothing and heavy augmentation, so the raw softmax is
too modest about the characters it reads well. The temperature that minimises the negative
log-likelihood of the true characters is fitted here on comb boxes of synthetic forms
(tools/icr/synthetic.py: held-out fonts, intake's own cutting), with letter case folded as
the decoder folds it. The dev corpus is never used: its figure is printed only as a check.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from intake.routing.icr import CellReader, split_comb
from intake.routing.icr.model import MODEL, normalise
from tools.icr import synthetic
from tools.icr.evaluate import _zones

GRID = np.round(np.arange(0.3, 2.01, 0.05), 2)


def comb_boxes(documents: list[list[dict]]) -> tuple[list[np.ndarray], list[str]]:
    """Normalised images of written comb boxes and the character each holds."""
    zones = _zones()
    images, truth = [], []
    for samples in documents:
        for s in samples:
            zone = zones[(s["form_id"], s["zone"])]
            value = (s["value"] or "").replace(" ", "")
            if not zone.cells or len(value) != zone.cells:
                continue
            comb = split_comb(s["crop"], zone.cells, (zone.box[2], zone.box[3]), synthetic.DPI)
            for cell, char in zip(comb.cells, value, strict=True):
                image = normalise(cell)
                if image is not None:
                    images.append(image)
                    truth.append(char)
    return images, truth


def _folded(classes: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    keys = sorted({"I" if c == "l" else c.upper() for c in classes})
    fold = np.zeros((len(classes), len(keys)))
    for i, c in enumerate(classes):
        fold[i, keys.index("I" if c == "l" else c.upper())] = 1
    return keys, fold


def nll(logits: np.ndarray, truth: list[str], classes: tuple[str, ...], temperature: float) -> float:
    """Mean negative log-likelihood of the true characters, case folded, at ``temperature``."""
    keys, fold = _folded(classes)
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    p = (p / p.sum(axis=1, keepdims=True)) @ fold
    picked = p[np.arange(len(truth)), [keys.index(c) for c in truth]]
    return float(-np.log(np.maximum(picked, 1e-9)).mean())


def logits_of(reader: CellReader, images: list[np.ndarray]) -> np.ndarray:
    saved, reader._temperature = reader._temperature, 1.0
    try:
        return np.log(np.maximum(reader.probabilities(images), 1e-12))  # log-softmax: logits up to a constant
    finally:
        reader._temperature = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--forms", type=int, default=150)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--write", action="store_true", help="store the fitted temperature in the model's .json")
    args = parser.parse_args()
    reader = CellReader(args.model)
    images, truth = comb_boxes(synthetic.documents(args.forms, args.seed))
    logits = logits_of(reader, images)
    scores = {float(t): nll(logits, truth, reader.classes, float(t)) for t in GRID}
    best = min(scores, key=scores.__getitem__)
    print(f"{len(truth)} boxes in held-out fonts; NLL at T=1: {scores[1.0]:.4f}, at T={best}: {scores[best]:.4f}")
    if args.write:
        meta_path = args.model.with_suffix(".json")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        meta["temperature"] = best
        meta["temperature_fit"] = {"boxes": len(truth), "forms": args.forms, "seed": args.seed}
        meta_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote temperature {best} to {meta_path}")


if __name__ == "__main__":
    main()
