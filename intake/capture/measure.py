"""Measure capture on a labelled corpus (``truth.json``): orientation, skew, blanks, time."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from intake.capture import _raster, deskew
from intake.capture.clean import clean
from intake.capture.load import inspect, load_page
from intake.config import CaptureConfig
from intake.models import CleanPage

log = logging.getLogger(__name__)


def residual_skew(page: CleanPage) -> float:
    """Skew left in the OCR image, in degrees, by the same projection-profile estimator."""
    grey = np.asarray(page.ocr_image)
    small = _raster.downscale(grey, page.dpi)
    return deskew.estimate(_raster.ink_mask(small, strict=False)).angle


def measure(corpus: Path, config: CaptureConfig | None = None) -> dict[str, Any]:
    """Run capture over every page listed in ``corpus/truth.json`` and summarise the results.

    ``scan[i].rotation`` in the truth is the turn the scanner applied (counter-clockwise), so
    the page is upright when capture turned it by the rest of the circle. Blank pages carry
    no orientation and are counted upright when they are found blank.
    """
    config = config or CaptureConfig()
    truth = json.loads((corpus / "truth.json").read_text(encoding="utf-8"))
    rows: list[dict[str, Any]] = []
    for entry in truth:
        source = inspect(corpus / entry["file"], config)
        for number, scan in enumerate(entry["scan"], start=1):
            image, dpi = load_page(source, number, config)
            started = time.perf_counter()
            page = clean(image, dpi, number=number, config=config)
            seconds = time.perf_counter() - started
            rows.append(_row(entry["file"], number, scan, page, dpi, seconds))
    return _summary(rows)


def _row(file: str, number: int, scan: dict[str, Any], page: CleanPage, dpi: int, seconds: float) -> dict[str, Any]:
    truly_blank = bool(scan.get("blank", False))
    wanted = (360 - int(scan["rotation"])) % 360
    upright = page.blank if truly_blank else page.rotation == wanted
    return {
        "file": file, "page": number, "dpi": dpi, "seconds": seconds,
        "blank": truly_blank, "found_blank": page.blank, "upright": upright,
        "rotation": page.rotation, "wanted": wanted, "confident": page.orientation_confident,
        "separator": page.separator,
        "residual": None if page.blank or truly_blank else residual_skew(page),
    }  # fmt: skip


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    residual = np.abs([r["residual"] for r in rows if r["residual"] is not None])
    seconds = np.array([r["seconds"] for r in rows])
    per_300 = np.array([r["seconds"] * (300 / r["dpi"]) ** 2 for r in rows])
    return {
        "pages": len(rows),
        "upright": sum(r["upright"] for r in rows),
        "content_pages": sum(not r["blank"] for r in rows),
        "content_upright": sum(r["upright"] for r in rows if not r["blank"]),
        "orientation_uncertain": sum(not r["confident"] for r in rows),
        "uncertain_but_right": sum(not r["confident"] and r["upright"] for r in rows),
        "residual_skew_median": float(np.median(residual)),
        "residual_skew_p95": float(np.percentile(residual, 95)),
        "residual_skew_max": float(residual.max()),
        "blank": {
            "true_positives": sum(r["blank"] and r["found_blank"] for r in rows),
            "false_positives": sum(not r["blank"] and r["found_blank"] for r in rows),
            "false_negatives": sum(r["blank"] and not r["found_blank"] for r in rows),
            "true_negatives": sum(not r["blank"] and not r["found_blank"] for r in rows),
        },
        "separators_found": sum(r["separator"] for r in rows),  # the corpus has none
        "seconds_median": float(np.median(seconds)),
        "seconds_p95": float(np.percentile(seconds, 95)),
        "seconds_per_300dpi_page_median": float(np.median(per_300)),
        "failures": [r for r in rows if not r["upright"] or r["blank"] != r["found_blank"] or r["separator"]],
    }


if __name__ == "__main__":
    import sys

    print(json.dumps(measure(Path(sys.argv[1])), indent=1, default=str))
