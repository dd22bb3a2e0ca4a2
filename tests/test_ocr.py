"""The tesseract wrapper and the engine: words in the image's pixels with whole-number confidences,
errors mapped to intake's, and a spare process per kind of call, ready before the next page needs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageDraw, ImageFont

from intake.errors import EnvironmentProblem, OcrError
from intake.ocr import Tesseract
from intake.ocr import tesseract as wrapper

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _line(text: str) -> Image.Image:
    image = Image.new("L", (900, 120), 255)
    ImageDraw.Draw(image).text((30, 30), text, fill=0, font=ImageFont.truetype(str(FONT), 48))
    return image


def _tesseract_children() -> set[int]:
    """Live tesseract processes started by this process (spares wait, sleeping)."""
    pid = os.getpid()
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    found = set()
    for child in children:
        try:
            status = Path(f"/proc/{child}/stat").read_text()
        except OSError:
            continue
        if "(tesseract)" in status and status.rsplit(")", 1)[1].split()[0] != "Z":
            found.add(int(child))
    return found


def test_words_come_with_their_boxes_and_whole_confidences() -> None:
    found = wrapper.words(_line("Intake 2026 kirjaamo"), lang="eng", psm=7)
    assert [w.text for w in found] == ["Intake", "2026", "kirjaamo"]
    assert all(w.conf == int(w.conf) and 50 <= w.conf <= 100 for w in found)
    assert all(20 <= w.left < 900 and 10 <= w.top < 110 and w.line == found[0].line for w in found)
    digits = wrapper.words(_line("Intake 2026"), lang="eng", psm=7, whitelist="0123456789")
    assert "2026" in [w.text for w in digits]


def test_tesseract_failures_are_intakes_errors() -> None:
    with pytest.raises(OcrError, match="tesseract failed"):
        wrapper.words(_line("x"), lang="no-such-language")
    with pytest.raises(EnvironmentProblem, match="apt-get install tesseract-ocr"):
        wrapper.words(_line("x"), lang="eng", cmd="/nonexistent/tesseract")


def test_a_spare_per_kind_of_call_waits_for_the_next_page() -> None:
    engine, before = Tesseract(languages=("eng",)), _tesseract_children()
    assert [w.text for w in engine.words(_line("first page"), psm=7)] == ["first", "page"]
    [spare] = _tesseract_children() - before  # started once the call was done: loads its model meanwhile
    time.sleep(0.3)
    assert [w.text for w in engine.words(_line("second page"), psm=7)] == ["second", "page"]
    assert spare not in _tesseract_children()  # it read the second page and ended
    assert len(_tesseract_children() - before) == 1  # the next one waits
    engine.words(_line("orientation"), psm=6)
    engine.words(_line("fields"), psm=8)
    assert len(_tesseract_children() - before) == 2  # two kinds at most: the oldest gave its spare up


def test_spares_end_with_their_process_and_a_forked_child_starts_its_own() -> None:
    script = """
import os, sys
from PIL import Image
from intake.ocr import Tesseract
engine = Tesseract(languages=("eng",))
engine.words(Image.new("L", (200, 60), 255), psm=7)
children = open(f"/proc/{os.getpid()}/task/{os.getpid()}/children").read().split()
if os.fork() == 0:  # a page worker forked after a call: never takes its parent's spare
    engine.words(Image.new("L", (200, 60), 255), psm=7)
    os._exit(0)
os.wait()
print(" ".join(children), flush=True)
os._exit(0)  # as a killed worker ends: no clean-up at exit
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    spares = [int(pid) for pid in done.stdout.split()]
    assert len(spares) == 1
    deadline = time.monotonic() + 10
    while Path(f"/proc/{spares[0]}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # its standard input closed with its parent: it reads end-of-file and exits
    assert not Path(f"/proc/{spares[0]}").exists() or " Z " in Path(f"/proc/{spares[0]}/stat").read_text()
