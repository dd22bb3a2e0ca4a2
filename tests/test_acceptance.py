"""The whole dev corpus through the real pipeline, scored against truth.json (slow: minutes)."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import pytest

from intake.cli import main

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "intake.toml"


@pytest.fixture(scope="module")
def results(corpus: Path) -> list[dict]:
    """``intake process --json --dry-run`` over every corpus file, as the issue states it."""
    files = sorted(str(p) for p in corpus.iterdir() if p.name not in ("truth.json", "README.md"))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        main(["process", "--json", "--dry-run", "--config", str(EXAMPLE), *files])
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def test_known_forms_classified_and_unknown_never_routed(results: list[dict], truth: dict) -> None:
    known = unknown = correct = routed_unknown = misrouted = 0
    by_file: dict[str, list[dict]] = {}
    for doc in results:
        by_file.setdefault(Path(doc["source"]["file"]).name, []).append(doc)
    for name, entry in truth.items():
        got = {tuple(d["source"]["pages"]): d for d in by_file.get(name, [])}
        for want in entry["documents"]:
            doc = got.get(tuple(want["pages"]))
            if want["form_id"] is None:
                unknown += 1
                routed_unknown += doc is None or doc["status"] == "queued"
                continue
            known += 1
            correct += doc is not None and doc["form"]["id"] == want["form_id"]
            misrouted += doc is not None and doc["status"] == "queued" and doc["form"]["id"] != want["form_id"]
    assert known == 127 and unknown == 6
    assert correct / known >= 0.99
    assert misrouted == 0 and routed_unknown == 0
    assert not [d for d in results if d["status"] == "rejected"]
