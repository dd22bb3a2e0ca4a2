"""Scanner-bed edges: dark bands along the sides of a scan that are not part of the page."""

from __future__ import annotations

import cv2
import numpy as np

from intake.units import MM_PER_INCH

_THICK_MM = 1.5  # thicker than any pen or print stroke, thinner than a scanner-bed band
# Printers leave ~4 mm unprinted at the paper's edge; anything dark in the outer 1.5 % of
# a scan (≈3 mm on A4) is the scanner lid, the bed or the paper's own edge.
_FRAME = 0.015


def edge_mask(grey: np.ndarray, dpi: int, paper: float) -> np.ndarray:
    """True where ``grey`` shows the scanner bed: thick dark regions touching the image border."""
    dark = (grey < 0.5 * paper).astype(np.uint8)
    size = max(3, round(_THICK_MM / MM_PER_INCH * dpi))
    kernel = np.ones((size, size), np.uint8)
    # Opening keeps only regions at least ``size`` wide: strokes, rules and text vanish.
    thick = cv2.morphologyEx(dark, cv2.MORPH_OPEN, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(thick, connectivity=8)
    height, width = grey.shape
    keep = np.zeros(count, bool)
    for label in range(1, count):
        x, y, w, h = stats[label, :4]
        keep[label] = x == 0 or y == 0 or x + w == width or y + h == height
    mask = keep[labels].astype(np.uint8)
    # Grow back over the grey fringe the opening trimmed, and a little more.
    mask = cv2.dilate(mask, kernel, iterations=2)
    frame = max(1, round(_FRAME * min(height, width)))
    mask[:frame, :] = mask[-frame:, :] = 1
    mask[:, :frame] = mask[:, -frame:] = 1
    return mask.astype(bool)
