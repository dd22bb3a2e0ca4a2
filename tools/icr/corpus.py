"""Field crops from the dev corpus through intake's real path (capture, registration), cached for the ICR tools.

.venv/bin/python -m tools.icr.corpus            # writes /work/icr-cache/fields.npz
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from intake import capture
from intake.config import CaptureConfig
from intake.routing import align as registration
from intake.routing.icr.comb import zone_crop
from intake.routing.recognise import FIELD_DPI
from intake.routing.templates import FieldKind, load_templates

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT.parent / "shared" / "corpus" / "dev"
CACHE = Path("/work/icr-cache")
_UNREAD = (FieldKind.CHECKBOX, FieldKind.SIGNATURE)


def warped_page(path: Path, page_number: int, form_id: str, template_page: int) -> np.ndarray | None:
    """Load, clean and register one corpus page to its (known) template; None if it will not register."""
    config = CaptureConfig()
    source = capture.inspect(path, config)
    image, dpi = capture.load_page(source, page_number, config)
    page = capture.clean(image, dpi, number=page_number, config=config)
    template = next(t for t in load_templates() if t.id == form_id)
    best = None
    for turn in (0, 180):  # recognition turns a page capture left upside down
        ocr = page.ocr_image.rotate(turn) if turn else page.ocr_image
        found = registration.align(registration.downscale(ocr, page.dpi), template.blank_path, template_page)
        if found and found.layout_confidence > 0 and (best is None or found.inliers > best[0].inliers):
            best = (found, ocr)
    if best is None:
        return None
    return registration.warp_to_template(best[1], page.dpi, best[0], FIELD_DPI)


def _one(job: tuple[str, dict]) -> list[dict]:
    """Every read zone of one document, written or not, with what truth.json says was written."""
    path, document = job
    template = next(t for t in load_templates() if t.id == document["form_id"])
    out = []
    for page in sorted({z.page for z in template.zones}):
        if page > len(document["pages"]):
            continue
        warped = warped_page(Path(path), document["pages"][page - 1], template.id, page)
        if warped is None:
            continue
        for zone in template.zones:
            if zone.page != page or zone.kind in _UNREAD:
                continue
            out.append({"file": Path(path).name, "form_id": template.id, "zone": zone.name, "kind": str(zone.kind),
                        "hand": document.get("hand"), "value": document.get("values", {}).get(zone.name, ""),
                        "crop": zone_crop(warped, zone, FIELD_DPI), "box": zone.box[2:],
                        "cells": zone.cells})  # fmt: skip
    return out


def jobs(corpus: Path) -> list[tuple[str, dict]]:
    truth = json.loads((corpus / "truth.json").read_text())
    return [(str(corpus / e["file"]), d) for e in truth for d in e["documents"] if d.get("form_id")]


def load(cache: Path = CACHE / "fields.npz") -> list[dict]:
    """The cached crops, building them first (a few minutes of both cores) when missing."""
    if not cache.is_file():
        main_to(cache)
    return list(np.load(cache, allow_pickle=True)["samples"])


def main_to(out: Path, corpus: Path = CORPUS) -> None:
    started = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        samples = [s for found in pool.map(_one, jobs(corpus)) for s in found]
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, samples=np.array(samples, dtype=object))
    print(f"{len(samples)} crops in {time.perf_counter() - started:.0f} s -> {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--out", type=Path, default=CACHE / "fields.npz")
    args = parser.parse_args()
    main_to(args.out, args.corpus)


if __name__ == "__main__":
    main()
