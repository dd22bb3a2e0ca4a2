"""File names from outside: shown escaped on one line, and kept out of third-party messages.

A scanner or a person names the file, so a name can carry a customer's name or
henkilötunnus, bytes that are not UTF-8 (Linux hands them to Python as lone surrogates),
or a newline that would forge an output line. Logs name files by their content hash;
the few places that show a name (the ``intake process`` result line, a quarantine reason
file) show it through :func:`shown`.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_PLACEHOLDER = "<file>"


def _escaped(char: str) -> str:
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    # Cc controls, Cf format characters (bidi overrides that reorder a line on screen),
    # Zl/Zp line and paragraph separators, Cs other surrogates, Co private use.
    if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co"):
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return char


def shown(name: str | os.PathLike[str]) -> str:
    """``name`` as valid UTF-8 on one line: controls, separators and stray bytes escaped.

    Backslashes are doubled, so the escaped form never collides with a real name.
    """
    return "".join(_escaped(char) for char in os.fspath(name))


def scrub(message: str, path: Path) -> str:
    """A third-party error text with every spelling of ``path`` (and its name) replaced.

    Pillow quotes the path it was given ("cannot identify image file '/scans/Matti
    Meikäläinen.png'") and poppler quotes it in its stderr; neither may reach a log or
    a reason file.
    """
    raw = os.fspath(path)
    forms = {raw, repr(raw)[1:-1], shown(raw), path.name, repr(path.name)[1:-1], shown(path.name)}
    forms |= {os.fsencode(form).decode("utf-8", "replace") for form in (raw, path.name)}
    forms |= {f"{quote}{form}{quote}" for form in forms for quote in "'\""}  # the quotes go too
    for form in sorted((f for f in forms if f), key=len, reverse=True):
        message = message.replace(form, _PLACEHOLDER)
    return message
