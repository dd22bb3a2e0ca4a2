"""Thin wrapper around the ``tesseract`` program: build arguments, call, parse, map errors."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from functools import cache

import pytesseract
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


def _config(psm: int, whitelist: str | None, extra: str) -> str:
    parts = [f"--psm {psm}"]
    if whitelist:
        parts.append(f"-c tessedit_char_whitelist={whitelist}")
    if extra:
        parts.append(extra)
    return " ".join(parts)


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
    pytesseract.pytesseract.tesseract_cmd = cmd
    try:
        data = pytesseract.image_to_data(
            image,
            lang=lang,
            config=_config(psm, whitelist, extra),
            output_type=pytesseract.Output.DICT,
            timeout=timeout,
        )
    except pytesseract.TesseractNotFoundError as exc:
        raise EnvironmentProblem(f"{cmd} not found: apt-get install tesseract-ocr") from exc
    except RuntimeError as exc:  # pytesseract raises RuntimeError on timeout
        raise OcrError(f"tesseract timed out after {timeout:.0f} s") from exc
    except pytesseract.TesseractError as exc:
        raise OcrError(f"tesseract failed: {exc.message.strip()[:200]}") from exc
    result = []
    for i, text in enumerate(data["text"]):
        text = text.strip()
        if not text:
            continue
        result.append(
            Word(
                text=text,
                conf=max(0.0, float(data["conf"][i])),
                left=data["left"][i],
                top=data["top"][i],
                width=data["width"][i],
                height=data["height"][i],
                line=(data["block_num"][i], data["par_num"][i], data["line_num"][i]),
            )
        )
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
