"""Hand-printed character classifier: normalise a box's image, run the bundled ONNX model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import onnxruntime
from onnxruntime.capi.onnxruntime_pybind11_state import Fail, InvalidArgument, InvalidProtobuf, NoSuchFile

from intake.errors import EnvironmentProblem

HERE = Path(__file__).resolve().parent
MODEL = HERE / "icr.onnx"
SIZE = 28  # network input, pixels square
FIT = 22  # the character's longer side after normalisation; the rest is margin
_INK = 250  # cells come with the paper set to 255 (see comb.py); anything darker is ink
_SPECK = 0.0015  # components smaller than this share of the cell are dust, not strokes
BLANK_SHARE = 0.004  # a cell with less ink than this share of its image has nothing written
# What ``normalise`` makes of a glyph, as a model's .json records it: a model trained on other
# images (before round thirteen: the ink's box scaled as it is) reads these wrong, not badly.
NORMALISATION = "aspect-adaptive"


class IcrModelError(EnvironmentProblem):
    """The bundled character model is missing or cannot be loaded."""


@dataclass(frozen=True)
class CellReading:
    """One box: its alternatives, most probable first, or nothing written in it."""

    alternatives: tuple[tuple[str, float], ...]
    probabilities: np.ndarray  # over ``classes``, sums to 1; all zero when blank
    blank: bool = False

    @property
    def best(self) -> str:
        return self.alternatives[0][0] if self.alternatives else ""


def strokes(cell: np.ndarray) -> np.ndarray:
    """The cell's ink without dust: components smaller than _SPECK of the cell are left out."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((cell < _INK).astype(np.uint8), connectivity=8)
    keep = np.zeros(count, bool)
    keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= max(4, _SPECK * cell.size)
    return keep[labels]


def aspect(ratio: float) -> float:
    """The shorter side's share of the longer one after normalisation, for a glyph whose
    shorter side is ``ratio`` of its longer one: sqrt(sin(π/2 · ratio)).

    Aspect-ratio-adaptive normalisation (Liu, Nakashima, Sako and Fujisawa, "Handwritten digit
    recognition: investigation of normalization and feature extraction techniques", Pattern
    Recognition 37, 2004): a narrow character is widened, not scaled as it is, so that a
    narrow, slanted closed 4 keeps its triangle open over more than a few pixels instead of
    becoming a 1 or a 9; a 1 stays the narrowest (0.15 → 0.48), a square stays square.
    """
    return float(np.sqrt(np.sin(np.pi / 2 * min(1.0, max(0.0, ratio)))))


def normalise(cell: np.ndarray) -> np.ndarray | None:
    """The character scaled into a SIZE×SIZE float image (ink 1, paper 0); None when blank.

    Scaling by the ink's bounding box, not the box's, makes the classifier indifferent to how
    big and where in the box a person writes; the longer side becomes FIT pixels and the
    shorter one ``aspect`` of that. Training uses this same function.
    """
    mask = strokes(cell)
    if mask.sum() < max(12, BLANK_SHARE * cell.size):
        return None
    ys, xs = np.nonzero(mask)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    glyph = np.where(mask, 255 - cell.astype(np.int16), 0)[y0:y1, x0:x1].astype(np.float32)
    short = max(1, round(FIT * aspect(min(y1 - y0, x1 - x0) / max(y1 - y0, x1 - x0))))
    w, h = (FIT, short) if x1 - x0 >= y1 - y0 else (short, FIT)
    small = cv2.resize(glyph, (w, h), interpolation=cv2.INTER_AREA)
    out = np.zeros((SIZE, SIZE), np.float32)
    top, left = (SIZE - h) // 2, (SIZE - w) // 2
    out[top : top + h, left : left + w] = small
    peak = float(out.max())
    return out / peak if peak > 0 else None


@cache
def _load(path: Path) -> tuple[onnxruntime.InferenceSession, tuple[str, ...], float]:
    # One thread: intake reads pages in parallel processes, one per core (OMP_THREAD_LIMIT=1).
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    try:
        meta = json.loads((path.with_suffix(".json")).read_text(encoding="utf-8"))
        session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except (OSError, ValueError, Fail, InvalidArgument, InvalidProtobuf, NoSuchFile) as exc:
        raise IcrModelError(f"cannot load the character model {path}: {exc}; reinstall intake") from exc
    if meta.get("normalisation") != NORMALISATION:
        made = meta.get("normalisation", "the ink's box as it is")
        raise IcrModelError(f"the character model {path} was trained on other glyph images ({made}); reinstall intake")
    return session, tuple(meta["classes"]), float(meta.get("temperature", 1.0))


class CellReader:
    """Reads single characters (ONNX Runtime on the CPU, the bundled model)."""

    def __init__(self, model: Path | None = None, *, top_k: int = 4) -> None:
        self._session, self.classes, self._temperature = _load(model or MODEL)
        self._input = self._session.get_inputs()[0].name
        self._top_k = top_k

    def probabilities(self, images: list[np.ndarray]) -> np.ndarray:
        """Softmax over ``classes`` for a batch of normalised images (N×SIZE×SIZE)."""
        if not images:
            return np.zeros((0, len(self.classes)), np.float32)
        batch = np.stack(images)[:, None].astype(np.float32)
        logits = self._session.run(None, {self._input: batch})[0].reshape(len(images), -1) / self._temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return exp / exp.sum(axis=1, keepdims=True)

    def read(self, cells: list[np.ndarray]) -> list[CellReading]:
        """Each cell's top-k alternatives with probabilities; blank cells are marked as such."""
        normalised = [normalise(cell) for cell in cells]
        written = [image for image in normalised if image is not None]
        probs = iter(self.probabilities(written))
        readings = []
        for image in normalised:
            if image is None:
                readings.append(CellReading((), np.zeros(len(self.classes), np.float32), blank=True))
                continue
            p = next(probs)
            order = np.argsort(p)[::-1][: self._top_k]
            readings.append(CellReading(tuple((self.classes[i], float(p[i])) for i in order), p))
        return readings
