"""The image of each field's box, cut from the registered page, for the advisor to read beside the value."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from intake.routing.templates import FieldKind, Zone

CROP_DPI = 150  # enough to read handwriting on screen, a few kilobytes per field
_MARGIN_MM = 2.0  # a little of the printed box around the writing, so the advisor sees where it was
_NOT_SHOWN = (FieldKind.CHECKBOX, FieldKind.SIGNATURE)


def field_crops(warped: np.ndarray, zones: Sequence[Zone], *, dpi: int) -> dict[str, np.ndarray]:
    """Each text field's box (with a margin) from a page registered to its template at ``dpi``."""
    scale = dpi / 25.4
    shrink = CROP_DPI / dpi
    height, width = warped.shape[:2]
    crops = {}
    for zone in zones:
        if zone.kind in _NOT_SHOWN:
            continue
        x, y, w, h = zone.box
        x0, y0 = max(0, round((x - _MARGIN_MM) * scale)), max(0, round((y - _MARGIN_MM) * scale))
        x1, y1 = min(width, round((x + w + _MARGIN_MM) * scale)), min(height, round((y + h + _MARGIN_MM) * scale))
        if x1 <= x0 or y1 <= y0:
            continue
        box = warped[y0:y1, x0:x1]
        size = (max(1, round(box.shape[1] * shrink)), max(1, round(box.shape[0] * shrink)))
        crops[zone.name] = cv2.resize(box, size, interpolation=cv2.INTER_AREA)
    return crops
