"""Thin wrapper around the ``tesseract`` program: build arguments, call, parse, map errors.

The image goes in on standard input, so a process can be started (and load its models)
before the image is ready: :func:`start`, then :func:`read`.
"""

from __future__ import annotations

import io
import os
import shlex
import subprocess
from dataclasses import dataclass
from functools import cache

from PIL import Image

from intake.errors import EnvironmentProblem, OcrError

# One thread per tesseract process: with OpenMP threads on two cores a page took 9.2 s
# instead of 2.8 s (docs/notes.md). Parallelism comes from running processes side by side.
os.environ["OMP_THREAD_LIMIT"] = "1"


@dataclass(frozen=True)
class Word:
    """One word Tesseract found, in pixel coordinates of the image it was given."""

    text: str
    conf: float  # 0..100
    left: int
    top: int
    width: int
    height: int
    line: tuple[int, int, int]  # (block, paragraph, line): words on one line share it


def _config(psm: int, whitelist: str | None, extra: str) -> list[str]:
    parts = ["--psm", str(psm)]
    if whitelist:
        parts += ["-c", f"tessedit_char_whitelist={whitelist}"]
    return parts + shlex.split(extra)


def start(*, lang: str, psm: int = 3, whitelist: str | None = None, extra: str = "",
          cmd: str = "tesseract") -> subprocess.Popen[bytes]:  # fmt: skip
    """Start tesseract for one image that comes later on its standard input; it loads its models meanwhile."""
    args = [cmd, "stdin", "stdout", "-l", lang, *_config(psm, whitelist, extra), "tsv"]
    try:
        return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError as exc:
        raise EnvironmentProblem(f"{cmd} not found: apt-get install tesseract-ocr") from exc


def read(process: subprocess.Popen[bytes], image: Image.Image, /, *, timeout: float = 60) -> list[Word]:
    """Give a started tesseract its image; the words it read, with confidences."""
    sheet = io.BytesIO()
    image.save(sheet, format="PNG", compress_level=1)
    try:
        out, err = process.communicate(sheet.getvalue(), timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        process.kill()
        process.communicate()
        raise OcrError(f"tesseract timed out after {timeout:.0f} s") from exc
    if process.returncode != 0:
        raise OcrError(f"tesseract failed: {err.decode(errors='replace').strip()[:200]}")
    return _words(out.decode("utf-8", errors="replace"))


def words(
    image: Image.Image,
    *,
    lang: str,
    psm: int = 3,
    whitelist: str | None = None,
    extra: str = "",
    timeout: float = 60,
    cmd: str = "tesseract",
) -> list[Word]:
    """Run Tesseract on ``image`` and return the words it read, with confidences."""
    return read(start(lang=lang, psm=psm, whitelist=whitelist, extra=extra, cmd=cmd), image, timeout=timeout)


def _words(tsv: str) -> list[Word]:
    """Tesseract's TSV (level, page, block, paragraph, line, word, left, top, width, height, conf, text)."""
    result = []
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or not (text := cells[11].strip()):
            continue
        block, paragraph, line, left, top, width, height = (int(cell) for cell in (*cells[2:5], *cells[6:10]))
        conf = max(0, int(float(cells[10])))  # whole numbers (-1: no word), as the thresholds were set on
        result.append(Word(text=text, conf=float(conf), left=left, top=top, width=width, height=height,
                           line=(block, paragraph, line)))  # fmt: skip
    return result


@cache
def installed_languages(cmd: str = "tesseract") -> frozenset[str]:
    """The language packs this tesseract has (``tesseract --list-langs``)."""
    try:
        out = subprocess.run([cmd, "--list-langs"], capture_output=True, text=True, timeout=30, check=True).stdout
    except FileNotFoundError as exc:
        raise EnvironmentProblem(f"{cmd} not found: apt-get install tesseract-ocr") from exc
    except (subprocess.SubprocessError, OSError) as exc:
        raise EnvironmentProblem(f"{cmd} --list-langs failed: {exc}") from exc
    return frozenset(line.strip() for line in out.splitlines()[1:] if line.strip())
