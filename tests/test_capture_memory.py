"""Peak memory of a worker stays flat over a long file: pages do not accumulate."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

# Runs in a fresh interpreter so the peak (ru_maxrss) belongs to this work alone.
_WORKER = """
import json, resource, sys
from pathlib import Path
from intake.capture import clean, inspect, load_page
from intake.config import CaptureConfig
config = CaptureConfig(max_pages=1000)
source = inspect(Path(sys.argv[1]), config)
peaks = {}
for number in range(1, source.page_count + 1):
    image, dpi = load_page(source, number, config)
    clean(image, dpi, number=number, config=config)
    peaks[number] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps(peaks))
"""


def _long_pdf(path: Path, scan: Path, pages: int) -> None:
    pdf = canvas.Canvas(str(path), pagesize=A4)
    for _ in range(pages):  # the image is stored once and drawn on every page
        pdf.drawImage(str(scan), 0, 0, *A4)
        pdf.showPage()
    pdf.save()


def _peaks(corpus: Path, tmp_path: Path, pages: int) -> dict[int, int]:
    path = tmp_path / "long.pdf"
    _long_pdf(path, corpus / "scan_0003.jpg", pages)  # colour, 300 dpi: the heaviest kind
    out = subprocess.run([sys.executable, "-c", _WORKER, str(path)], capture_output=True, check=True, text=True,
                         env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"}, timeout=900)  # fmt: skip
    return {int(k): v for k, v in json.loads(out.stdout).items()}


def test_peak_memory_is_flat_over_a_long_file(corpus: Path, tmp_path: Path) -> None:
    peaks = _peaks(corpus, tmp_path, 16)
    assert peaks[16] - peaks[4] < 40, peaks  # MiB; it grew by ~25 MiB a page when views were cached


@pytest.mark.slow
def test_peak_memory_is_flat_over_200_pages(corpus: Path, tmp_path: Path) -> None:
    peaks = _peaks(corpus, tmp_path, 200)
    assert peaks[200] - peaks[20] < 40, peaks
