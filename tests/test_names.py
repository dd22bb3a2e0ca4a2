"""File names from outside: shown on one line as valid UTF-8, and scrubbed from third-party texts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from intake.names import scrub, shown


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("scan_0001.pdf", "scan_0001.pdf", id="plain"),
        pytest.param("Matti Meikäläinen.pdf", "Matti Meikäläinen.pdf", id="finnish-letters-kept"),
        pytest.param("a\nb.pdf", "a\\nb.pdf", id="newline"),
        pytest.param("a\r\x1b[2Jb.pdf", "a\\r\\x1b[2Jb.pdf", id="carriage-return-and-terminal-escape"),
        pytest.param("a\\nb.pdf", "a\\\\nb.pdf", id="backslash-doubled-never-collides"),
        pytest.param(os.fsdecode(b"caf\xe9.pdf"), "caf\\xe9.pdf", id="latin-1-byte"),
        pytest.param("fdp.\u202eexe", "fdp.\\u202eexe", id="bidi-override"),
        pytest.param("a\u2028b", "a\\u2028b", id="line-separator"),
        pytest.param("tab\there", "tab\\there", id="tab"),
    ],
)
def test_shown(name: str, expected: str) -> None:
    result = shown(name)
    assert result == expected
    assert "\n" not in result and "\r" not in result
    result.encode("utf-8")  # never a lone surrogate


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param(
            Path("/scans/Matti Meikäläinen 010594Y9032.png"),
            "cannot identify image file '/scans/Matti Meikäläinen 010594Y9032.png'",
            id="pillow-quotes-the-path",
        ),
        pytest.param(
            Path("/scans/Matti Meikäläinen 010594Y9032.pdf"),
            "I/O Error: Couldn't open file 'Matti Meikäläinen 010594Y9032.pdf': No such file",
            id="poppler-quotes-the-name",
        ),
        pytest.param(
            Path(os.fsdecode(b"/s/Meik\xe4l\xe4inen 010594Y9032.png")),
            "cannot identify image file '/s/Meik\\udce4l\\udce4inen 010594Y9032.png'",
            id="repr-of-a-latin-1-path",
        ),
        pytest.param(
            Path("/s/Matti\n010594Y9032.pdf"),
            "cannot identify image file '/s/Matti\\n010594Y9032.pdf'",
            id="repr-of-a-newline",
        ),
    ],
)
def test_scrub_removes_every_spelling_of_the_path(path: Path, message: str) -> None:
    cleaned = scrub(message, path)
    assert "010594Y9032" not in cleaned and "Meik" not in cleaned
    assert "<file>" in cleaned
