"""Comb-field crops from the dev corpus through intake's real path, cached for the ICR tools."""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from intake import capture
from intake.config import CaptureConfig
from intake.ocr import Tesseract
from intake.routing import align as registration
from intake.routing.icr.comb import zone_crop
from intake.routing.recognise import FIELD_DPI
from intake.routing.templates import load_templates

ROOT = Path(__file__).resolve().parents[2]  # the repository


def warped_page(path: Path, page_number: int, form_id: str, template_page: int) -> np.ndarray | None:
    """Load, clean and register one corpus page to its (known) template; None if it will not register."""
    config = CaptureConfig()
    source = capture.inspect(path, config)
    image, dpi = capture.load_page(source, page_number, config)
    page = capture.clean(image, dpi, number=page_number, config=config, engine=Tesseract())
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


def _one(job: tuple[str, int, dict, str]) -> list[dict]:
    path, _page_number, document, kind = job
    template = next(t for t in load_templates() if t.id == document["form_id"])
    zones = [z for z in template.zones if z.cells and z.kind == kind and z.name in document["values"]]
    out = []
    for zone in zones:
        warped = warped_page(Path(path), document["pages"][zone.page - 1], template.id, zone.page)
        if warped is None:
            continue
        out.append({"file": Path(path).name, "form_id": template.id, "zone": zone.name, "hand": document.get("hand"),
                    "value": document["values"][zone.name], "crop": zone_crop(warped, zone, FIELD_DPI),
                    "box": zone.box[2:], "cells": zone.cells})  # fmt: skip
    return out


def jobs(corpus: Path, kind: str = "hetu") -> list[tuple[str, int, dict, str]]:
    truth = json.loads((corpus / "truth.json").read_text())
    return [(str(corpus / e["file"]), 0, d, kind) for e in truth for d in e["documents"] if d.get("form_id")]


def collect(corpus: Path, workers: int = 2) -> list[dict]:
    with ProcessPoolExecutor(workers) as pool:
        return [s for found in pool.map(_one, jobs(corpus)) for s in found]


def main_to(out: Path, corpus: Path = ROOT.parent / "shared" / "corpus" / "dev") -> None:
    started = time.perf_counter()
    samples = collect(corpus)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, samples=np.array(samples, dtype=object))
    print(f"{len(samples)} crops in {time.perf_counter() - started:.0f} s -> {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "dev")
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "icr" / "hetu_crops.npz")
    args = parser.parse_args()
    main_to(args.out, args.corpus)


if __name__ == "__main__":
    main()
