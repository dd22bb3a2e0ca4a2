"""Small numpy/OpenCV helpers shared by the capture steps: grey, downscale, ink masks."""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

# Resolution the page is analysed at: enough for text lines and rules, cheap to scan.
ANALYSIS_DPI = 100


def to_grey(image: Image.Image) -> np.ndarray:
    """The image as an 8-bit grey array (a view of Pillow's buffer is not kept)."""
    if image.mode == "L":
        return np.asarray(image)
    if image.mode == "1":
        return np.asarray(image.convert("L"))
    return cv2.cvtColor(np.asarray(image.convert("RGB")), cv2.COLOR_RGB2GRAY)


def downscale(grey: np.ndarray, dpi: int, target_dpi: int = ANALYSIS_DPI) -> np.ndarray:
    """Resample ``grey`` to ``target_dpi`` with area averaging (never upsamples)."""
    if dpi <= target_dpi:
        return grey
    scale = target_dpi / dpi
    size = (max(1, round(grey.shape[1] * scale)), max(1, round(grey.shape[0] * scale)))
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA)


def paper_level(grey: np.ndarray) -> float:
    """The grey level of the paper: bright, and most of the page is paper."""
    return float(np.percentile(grey, 90))


def ink_mask(grey: np.ndarray, *, strict: bool = True) -> np.ndarray:
    """Pixels clearly darker than the paper: print and handwriting, not show-through.

    Show-through from the other side stays within ~40 levels of the paper on grey and
    colour scans; printed ink is at least ~100 levels darker, but fine print on a bilevel
    scan averages out lighter once downscaled, so layout analysis uses a looser cut.
    """
    level = paper_level(grey)
    if strict:
        return grey < min(level - 90.0, 0.6 * level)
    return grey < min(level - 60.0, 0.75 * level)


def rotate_bound(array: np.ndarray, quarter_turns: int) -> np.ndarray:
    """Rotate by ``quarter_turns`` × 90° counter-clockwise without resampling."""
    return np.ascontiguousarray(np.rot90(array, quarter_turns % 4))
