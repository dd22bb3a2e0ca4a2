"""Real hand-printed digits and capitals: UNIPEN train_r01_v07, categories 1a and 1b.

The fonts and the strokes drawn in ``strokes.py`` are shapes someone imagined; these are
shapes people wrote: 15,953 isolated digits (1a) and 28,069 isolated capitals (1b) from
hundreds of writers at 18 sites, recorded on tablets as pen trajectories (1992–1999).
Each character is drawn here along its own trajectory with a pen of the sample's width,
then augmented as a scanned glyph (``glyphs.augment``).

Source and licence: the International Unipen Foundation's train_r01_v07 (December 1999),
distributed on Zenodo under CC BY 4.0 (https://doi.org/10.5281/zenodo.1195803); the copy read
here is github.com/GreenCappuccino/train_r01_v07 (its "Parsability patches" commit 552a4d4).
Cite: I. Guyon, L. Schomaker, R. Plamondon, M. Liberman and S. Janet, "UNIPEN project of
on-line data exchange and recognizer benchmarks", ICPR 1994. The data is not in this
repository; put ``data/1a``, ``data/1b`` and the ``include`` folders they name under one
directory and pass it as ``--unipen``:

    git clone https://github.com/GreenCappuccino/train_r01_v07 /work/icr-cache/unipen

Format (UNIPEN 1.0): a data file ``.INCLUDE``s the trajectories (``.PEN_DOWN`` / ``.PEN_UP``,
each followed by one point per line, ``.WRITER_ID`` naming who wrote what follows) and
labels them: ``.SEGMENT CHARACTER 2-3 ? "8"`` is components 2 to 3; ``9:0-11:5`` starts at
point 0 of component 9 and ends at point 5 of component 11. Components are numbered in
the order they come, pen-up ones too where they have points; only pen-down ones are ink.

Tablets count y up or down, and the files do not say which: ``orient`` reads each site's
characters both ways up with a model; all 18 read far better with y upwards (``Y_UP``).
Writers are held out by a hash of their name (``held_out``): ``--measure`` reads their
characters with a model, real writing it never saw.

    python -m tools.icr.unipen DIR --orient MODEL.onnx    # which sites count y upwards
    python -m tools.icr.unipen DIR --measure MODEL.onnx   # accuracy on held-out writers
"""

from __future__ import annotations

import argparse
import contextlib
import re
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from intake.routing.icr.model import normalise
from tools.icr.glyphs import CANVAS, augment

CATEGORIES = ("1a", "1b")  # isolated digits, isolated upper case
LABELS = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
# Every site's tablet counts y upwards: ``orient`` with round nine's model read each site's
# characters at 0.19–0.33 as stored and 0.55–0.91 drawn with y upwards.
Y_UP = True
HELD_OUT_SHARE = 10  # one writer in this many is held out of training (``held_out``)
_SEGMENT = re.compile(r'^\.SEGMENT\s+CHARACTER\s+(\S+)\s+\S+\s+"(.*)"')


@dataclass(frozen=True)
class Sample:
    """One character as written: its label, pen-down strokes (points, tablet units), writer and site."""

    label: str
    strokes: tuple[np.ndarray, ...]
    writer: str
    site: str


@dataclass
class _Trajectory:
    components: list[np.ndarray]
    down: list[bool]
    writers: list[str]


def _read_trajectory(path: Path, root: Path, into: _Trajectory, seen: set[Path]) -> None:
    """Components of ``path`` and of what it includes, in order (``into``)."""
    if path in seen or not path.is_file():
        return
    seen.add(path)
    points: list[list[float]] | None = None
    down = False
    writer = into.writers[-1] if into.writers else path.stem

    def close() -> None:
        if points:
            into.components.append(np.array(points, np.float64))
            into.down.append(down)
            into.writers.append(writer)

    for line in path.read_text(encoding="latin-1").splitlines():
        if line.startswith("."):
            word, _, rest = line.partition(" ")
            if word in (".PEN_DOWN", ".PEN_UP"):
                close()
                points, down = [], word == ".PEN_DOWN"
            elif word == ".INCLUDE":
                close()
                points = None
                _read_trajectory(root / "include" / rest.strip(), root, into, seen)
            elif word == ".WRITER_ID":
                writer = rest.strip() or writer
            elif points is not None and word not in (".DT", ".COMMENT"):
                close()
                points = None
            continue
        if points is not None:
            values = line.split()
            if len(values) >= 2:
                with contextlib.suppress(ValueError):
                    points.append([float(values[0]), float(values[1])])
    close()


def _span(delineation: str, trajectory: _Trajectory) -> tuple[list[np.ndarray], str] | None:
    """The pen-down strokes a delineation names (``2-3``, ``9:0-11:5``, ``4,6-7``) and their writer."""
    strokes: list[np.ndarray] = []
    writer = ""
    count = len(trajectory.components)
    for part in delineation.split(","):
        first, _, last = part.partition("-")
        last = last or first
        try:
            a, _, p = first.partition(":")
            b, _, q = last.partition(":")
            start, end = int(a), int(b)
            from_point = int(p) if p else 0
            to_point = int(q) + 1 if q else None
        except ValueError:
            return None
        if not 0 <= start <= end < count:
            return None
        for k in range(start, end + 1):
            points = trajectory.components[k]
            lo = from_point if k == start else 0
            hi = to_point if k == end and to_point is not None else len(points)
            if trajectory.down[k] and hi > lo:
                strokes.append(points[lo:hi])
                writer = writer or trajectory.writers[k]
    return (strokes, writer) if strokes else None


def read(root: Path, categories: tuple[str, ...] = CATEGORIES) -> list[Sample]:
    """Every labelled digit and capital under ``root/data/<category>``."""
    samples = []
    for category in categories:
        for path in sorted((root / "data" / category).rglob("*")):
            if not path.is_file():
                continue
            site = path.relative_to(root / "data" / category).parts[0]
            trajectory = _Trajectory([], [], [])
            segments = []
            seen: set[Path] = set()
            for line in path.read_text(encoding="latin-1").splitlines():
                if line.startswith(".INCLUDE"):
                    _read_trajectory(root / "include" / line.split(None, 1)[1].strip(), root, trajectory, seen)
                elif match := _SEGMENT.match(line):
                    segments.append((match.group(1), match.group(2).strip()))
            for delineation, label in segments:
                if label not in LABELS:
                    continue
                found = _span(delineation, trajectory)
                if found:
                    strokes, writer = found
                    samples.append(Sample(label, tuple(strokes), f"{site}/{writer or path.stem}", site))
    return samples


def held_out(sample: Sample) -> bool:
    """Whether the sample's writer is kept out of training (one in HELD_OUT_SHARE, by name)."""
    return zlib.crc32(sample.writer.encode()) % HELD_OUT_SHARE == 0


def draw(sample: Sample, rng: np.random.Generator, *, flip: bool | None = None, pen: int | None = None) -> np.ndarray:
    """The character along its trajectory on the glyph canvas (paper 255, ink 0)."""
    flip = Y_UP if flip is None else flip
    points = np.concatenate(sample.strokes)
    low, high = points.min(axis=0), points.max(axis=0)
    extent = np.maximum(high - low, 1e-6)
    scale = CANVAS * rng.uniform(0.34, 0.4) / max(extent[1], extent[0] * 0.7)
    middle = (low + high) / 2
    pen = pen or int(rng.integers(2, 7))
    image = np.full((CANVAS, CANVAS), 255, np.uint8)
    for stroke in sample.strokes:
        xy = (stroke - middle) * scale
        if flip:
            xy[:, 1] = -xy[:, 1]
        line = np.round((xy + CANVAS / 2) * 4).astype(np.int32)  # 2 fractional bits
        if len(line) == 1:
            cv2.circle(image, tuple(int(v) for v in line[0]), pen * 2, 0, -1, cv2.LINE_AA, shift=2)
        else:
            cv2.polylines(image, [line], False, 0, pen, cv2.LINE_AA, shift=2)
    return image


def samples(
    found: list[Sample], copies: int, seed: int, classes: str, *, training: bool = True
) -> tuple[list[np.ndarray], list[int]]:
    """Normalised, augmented images and class indices: the writers for training, or the held-out ones."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for sample in found:
        if held_out(sample) == training:  # training takes the writers not held out, and the other way round
            continue
        for _ in range(copies):
            x = normalise(augment(draw(sample, rng), rng))
            if x is not None:
                xs.append(x)
                ys.append(classes.index(sample.label))
    return xs, ys


def _reads(model: Path, images: list[np.ndarray]) -> list[str]:
    from intake.routing.icr.model import CellReader

    reader = CellReader(model)
    out = []
    for k in range(0, len(images), 256):
        probs = reader.probabilities(images[k : k + 256])
        out += [reader.classes[int(i)].upper() for i in probs.argmax(axis=1)]
    return out


def orient(found: list[Sample], model: Path, per_site: int = 300) -> dict[str, tuple[float, float]]:
    """Per site: the model's accuracy on its characters drawn as stored and drawn flipped."""
    by_site: dict[str, list[Sample]] = defaultdict(list)
    for sample in found:
        by_site[sample.site].append(sample)
    out = {}
    for site, group in sorted(by_site.items()):
        rng = np.random.default_rng(0)
        chosen = [group[int(i)] for i in rng.choice(len(group), min(per_site, len(group)), replace=False)]
        scores = []
        for flip in (False, True):
            images = [normalise(draw(s, np.random.default_rng(1), flip=flip, pen=4)) for s in chosen]
            kept = [(img, s.label) for img, s in zip(images, chosen, strict=True) if img is not None]
            read_ = _reads(model, [img for img, _ in kept])
            scores.append(sum(r == label for r, (_, label) in zip(read_, kept, strict=True)) / max(1, len(kept)))
        out[site] = (scores[0], scores[1])
    return out


def measure(found: list[Sample], model: Path, seed: int = 5) -> dict[str, tuple[int, int]]:
    """Per category (digits, capitals): held-out writers' characters read right, of all."""
    rng = np.random.default_rng(seed)
    chosen = [s for s in found if held_out(s)]
    images = [normalise(augment(draw(s, rng), rng)) for s in chosen]
    kept = [(img, s.label) for img, s in zip(images, chosen, strict=True) if img is not None]
    read_ = _reads(model, [img for img, _ in kept])
    tally: dict[str, Counter] = defaultdict(Counter)
    for r, (_, label) in zip(read_, kept, strict=True):
        kind = "digits" if label.isdigit() else "capitals"
        tally[kind].update(n=1, right=int(r == label))
    return {kind: (c["right"], c["n"]) for kind, c in tally.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path, help="the folder holding data/1a, data/1b and include/")
    parser.add_argument("--orient", type=Path, help="a model: read each site both ways up")
    parser.add_argument("--measure", type=Path, help="a model: accuracy on the held-out writers")
    args = parser.parse_args()
    found = read(args.root)
    writers = {s.writer for s in found}
    print(f"{len(found)} characters, {len(writers)} writers, {sum(map(held_out, found))} by held-out writers")
    if args.orient:
        for site, (stored, flipped) in orient(found, args.orient).items():
            print(f"{site}: as stored {stored:.3f}, flipped {flipped:.3f}")
    if args.measure:
        for kind, (right, n) in measure(found, args.measure).items():
            print(f"{kind}: {right} of {n} ({100 * right / max(1, n):.1f} %)")


if __name__ == "__main__":
    main()
