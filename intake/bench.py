"""``make bench``: pages per minute, per-stage times, peak memory and accuracy on a corpus.

Runs the real pipeline (no queueing, no sending) over a folder of scans with a
``truth.json`` (../shared/corpus/dev by default) and prints a Markdown report that can be
pasted into a closing note.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from intake import config as configuration
from intake.models import Document, Status
from intake.pipeline import FileResult, Pipeline, workers
from intake.routing.templates import load_templates
from intake.routing.validators import validate

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "dev"
EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "examples" / "intake.toml"


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def score(results: list[FileResult], truth: dict[str, dict]) -> dict[str, float | int]:
    """Compare documents with truth.json: classification, misroutes, review, split, blanks."""
    s: dict[str, float | int] = defaultdict(int)
    residuals: list[float] = []
    for result in results:
        expected = truth.get(result.path.name)
        if expected is None:
            continue
        docs = result.documents
        want = [(d["form_id"], d["pages"]) for d in expected["documents"]]
        got = [(d.form_id, d.page_numbers) for d in docs]
        s["files"] += 1
        s["files_split_exactly"] += got == want
        blanks = sorted(n for d in docs for n in d.blank_pages)
        s["blank_pages_expected"] += len(expected.get("blank_pages") or [])
        s["blank_pages_found"] += len(set(blanks) & set(expected.get("blank_pages") or []))
        s["content_pages_dropped"] += len(set(blanks) - set(expected.get("blank_pages") or []))
        for truth_doc in expected["documents"]:
            match = next((d for d in docs if d.page_numbers == truth_doc["pages"]), None)
            _score_document(s, match, truth_doc)
        _score_pages(s, residuals, result, expected)
    known = s["known_documents"] or 1
    s["classified_correctly_pct"] = round(100 * s["known_correct"] / known, 1)
    s["held_for_review_pct"] = round(100 * s["known_held"] / known, 1)
    s["residual_skew_median_deg"] = round(statistics.median(residuals), 3) if residuals else 0.0
    s["residual_skew_p95_deg"] = round(_percentile(residuals, 0.95), 3)
    return dict(s)


def _score_pages(s: dict, residuals: list[float], result: FileResult, expected: dict) -> None:
    """Upright and residual skew per content page: truth says what the scanner did to it."""
    for page in result.pages or []:
        scan = expected["scan"][page.number - 1]
        if page.blank or scan.get("blank"):
            continue
        s["content_pages"] += 1
        s["content_pages_upright"] += (scan["rotation"] + page.rotation) % 360 == 0
        residuals.append(abs(page.skew - scan["skew_deg"]))


def _score_document(s: dict, doc: Document | None, truth_doc: dict) -> None:
    form_id = truth_doc["form_id"]
    if form_id is None:
        s["unknown_documents"] += 1
        routed = doc is not None and doc.status is Status.QUEUED
        s["unknown_routed"] += routed
        return
    s["known_documents"] += 1
    if doc is None:
        s["known_missing"] += 1
        return
    s["known_correct"] += doc.form_id == form_id
    s["known_held"] += doc.status is Status.REVIEW
    s["misrouted"] += doc.status is Status.QUEUED and doc.form_id != form_id
    for name, ticked in truth_doc["checkboxes"].items():
        s["checkboxes"] += 1
        s["checkboxes_right"] += doc.checkboxes.get(name) == ticked
    _score_fields(s, doc, truth_doc)
    hetu = truth_doc["values"].get("hetu")
    if hetu:
        s["hetu_fields"] += 1
        got = doc.fields.get("hetu")
        s["hetu_exact"] += bool(got and got.value == hetu)
        s["hetu_marked_valid"] += bool(got and got.valid)
        s["hetu_valid_but_wrong"] += bool(got and got.valid and got.value != hetu)


def _normal(value: str | None, kind: str) -> str:
    """Case aside; spacing aside too where it carries no meaning (phone, IBAN, codes)."""
    words = (value or "").upper().split()
    return " ".join(words) if kind in ("text", "multiline") else "".join(words)


def _score_fields(s: dict, doc: Document, truth_doc: dict) -> None:
    """Exact field values (case and spacing aside), per kind: how well the writing is read."""
    kinds = {zone.name: zone.kind for t in load_templates() if t.id == doc.form_id for zone in t.zones}
    for name, wanted in truth_doc["values"].items():
        kind = kinds.get(name, "text")
        got = doc.fields.get(name)
        right = bool(got and _normal(got.value, kind) == _normal(validate(kind, wanted)[0], kind))
        s[f"values_{kind}"] += 1
        s[f"values_{kind}_exact"] += right
        s["values_marked_valid"] += bool(got and got.valid)
        s["values_marked_valid_but_wrong"] += bool(got and got.valid and not right)


def report(results: list[FileResult], elapsed: float, truth: dict[str, dict], *, n_workers: int) -> str:
    pages = [p for r in results for p in (r.pages or [])]
    stages: dict[str, list[float]] = defaultdict(list)
    for page in pages:
        for stage, seconds in page.seconds.items():
            stages[stage].append(seconds)
    peak_parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    lines = [
        f"intake bench: {len(results)} files, {len(pages)} pages, {n_workers} workers, {elapsed:.1f} s wall",
        "",
        f"- throughput: **{len(pages) / elapsed * 60:.1f} pages/min**",
        f"- peak memory (RSS): parent {peak_parent:.0f} MiB, largest worker {peak_worker:.0f} MiB",
        "",
        "| stage (per page, one core) | median s | p95 s | pages |",
        "|---|---|---|---|",
    ]
    for stage, values in stages.items():
        lines.append(f"| {stage} | {statistics.median(values):.3f} | {_percentile(values, 0.95):.3f} | {len(values)} |")
    if truth:
        lines += ["", "| accuracy vs truth.json | value |", "|---|---|"]
        lines += [f"| {k} | {v} |" for k, v in sorted(score(results, truth).items())]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="intake-bench", description=__doc__)
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--config", type=Path, default=EXAMPLE_CONFIG, help="default: examples/intake.toml")
    parser.add_argument("--limit", type=int, default=0, help="only the first N files")
    parser.add_argument("--json", type=Path, help="also write per-document results here")
    args = parser.parse_args(argv)
    config = configuration.load(args.config)
    truth_file = args.corpus / "truth.json"
    truth = {e["file"]: e for e in json.loads(truth_file.read_text())} if truth_file.is_file() else {}
    files = sorted(p for p in args.corpus.iterdir() if p.is_file() and p.name not in ("truth.json", "README.md"))
    files = files[: args.limit] if args.limit else files
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="intake-bench-") as tmp, Pipeline(config, work=Path(tmp)) as pipeline:
        results = list(pipeline.run(files))
    elapsed = time.monotonic() - started
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            for r in results:
                for doc in r.documents:
                    out.write(json.dumps(doc.to_json(), ensure_ascii=False) + "\n")
    print(report(results, elapsed, truth, n_workers=workers(config)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
