"""Hostile input made by the test itself: each file gets a clear error and a quarantine entry.

The set: a zero-byte file, a truncated JPEG, a text file named .pdf, a decompression bomb
(a small PNG that claims 100,000 × 100,000 pixels), a PDF of 1,000 pages, a PDF whose one
page is 35,000 × 35,000 pixels at the work resolution, and a 1 KB PDF that keeps poppler
busy for minutes (a tiling pattern with a 0.02 pt cell). A good scan after them is still
processed.
"""

from __future__ import annotations

import json
import struct
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from reportlab.pdfgen import canvas

from intake.capture import inspect, load_page
from intake.cli import ExitCode, main
from intake.config import CaptureConfig
from intake.errors import BadInputError, CorruptFile, LimitExceeded, UnsupportedFormat

LIMITS = CaptureConfig(page_timeout_s=2.0, file_timeout_s=30.0)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bomb_png(path: Path) -> None:
    """A valid PNG header claiming 100,000 × 100,000 grey pixels, in well under 1 KB."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    data = zlib.compress(b"\x00" * 100_001 * 4, 9)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data)
                     + _png_chunk(b"IEND", b""))  # fmt: skip


def truncated_jpeg(path: Path) -> None:
    Image.new("L", (1654, 2339), 200).save(path, format="JPEG", quality=90)
    path.write_bytes(path.read_bytes()[:3000])


def thousand_pages(path: Path) -> None:
    pdf = canvas.Canvas(str(path))
    for _ in range(1000):
        pdf.showPage()
    pdf.save()


def huge_page(path: Path) -> None:
    side = 35_000 / 300 * 72  # points: 35,000 px at 300 dpi
    pdf = canvas.Canvas(str(path), pagesize=(side, side))
    pdf.drawString(72, 72, "huge")
    pdf.save()


def _raw_pdf(content: bytes, pattern: bytes) -> bytes:
    stream = zlib.compress(content)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Pattern << /P1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream),
        pattern,
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def slow_pdf(path: Path) -> None:
    """A page filled with a tiling pattern whose cell is 0.02 pt: ~10⁹ tiles for poppler to paint.

    Measured: pdftoppm at 300 dpi was still busy after 60 s (and past 1 GB) on this file.
    """
    tile = b"0 0 0.01 0.01 re f"
    head = (
        b"<< /Type /Pattern /PatternType 1 /PaintType 1 /TilingType 1 /BBox [0 0 0.02 0.02]"
        b" /XStep 0.02 /YStep 0.02 /Resources << >> /Length %d >>"
    ) % len(tile)
    pattern = head + b"\nstream\n" + tile + b"\nendstream"
    path.write_bytes(_raw_pdf(b"/Pattern cs /P1 scn 0 0 595 842 re f\n", pattern))


HOSTILE: dict[str, tuple[Callable[[Path], None], type[BadInputError], str]] = {
    "empty.pdf": (lambda p: p.write_bytes(b""), CorruptFile, "empty"),
    "truncated.jpg": (truncated_jpeg, CorruptFile, "truncated"),
    "text.pdf": (lambda p: p.write_text("Hei, tämä ei ole PDF.\n"), UnsupportedFormat, "not a PDF"),
    "bomb.png": (bomb_png, LimitExceeded, "too large"),
    "thousand.pdf": (thousand_pages, LimitExceeded, "1000 pages"),
    "huge.pdf": (huge_page, LimitExceeded, "megapixels"),
    "slow.pdf": (slow_pdf, LimitExceeded, "longer than 2 s"),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("hostile")
    made = {}
    for name, (make, _, _) in HOSTILE.items():
        make(folder / name)
        made[name] = folder / name
    return made


def _capture(path: Path) -> None:
    source = inspect(path, LIMITS)
    for number in range(1, source.page_count + 1):
        load_page(source, number, LIMITS)


@pytest.mark.parametrize("name", list(HOSTILE))
def test_each_hostile_file_gives_a_clear_error_quickly(hostile: dict[str, Path], name: str) -> None:
    _, error, words = HOSTILE[name]
    started = time.monotonic()
    with pytest.raises(error, match=words):
        _capture(hostile[name])
    assert time.monotonic() - started < 10  # the limits stop it; nothing is rendered in full


def test_hostile_batch_is_quarantined_and_the_good_file_goes_through(
    hostile: dict[str, Path], corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "intake.toml"
    config.write_text(f'[capture]\npage_timeout_s = 2\nfile_timeout_s = 30\n[transport]\nspool = "{tmp_path}"\n')
    files = [str(hostile[name]) for name in HOSTILE] + [str(corpus / "scan_0004.png")]
    started = time.monotonic()
    code = main(["process", "--json", "--no-send", "--config", str(config), *files])
    seconds = time.monotonic() - started
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == ExitCode.REJECTED
    assert [d["status"] for d in docs] == ["rejected"] * len(HOSTILE) + ["review"]  # no routing rules here
    assert docs[-1]["form"]["id"] and "no routing rule" in docs[-1]["reason"]  # read and classified
    for doc, (name, (_, error, words)) in zip(docs, HOSTILE.items(), strict=False):
        assert doc["reason"].startswith(error.code) and words in doc["reason"], (name, doc["reason"])
    reasons = [json.loads(p.read_text()) for p in (tmp_path / "quarantine").glob("*.reason.json")]
    assert sorted(r["original_name"] for r in reasons) == sorted(HOSTILE)
    assert all(hostile[name].exists() for name in HOSTILE)  # originals untouched
    assert seconds < 60
