"""The desk's translations: every string of the templates and the code is in fi and sv, and the .mo is current."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

DESK = Path(__file__).resolve().parents[1] / "intake" / "desk"
LANGUAGES = ["fi", "sv"]
_TEMPLATE = re.compile(r"""{% translate (?:"([^"]+)"|'([^']+)')|"""
                       r"""{% blocktranslate(?: with [^%]*)? %}(.*?){% endblocktranslate %}""", re.S)  # fmt: skip
_CODE = re.compile(r"""\b_\(\s*"((?:[^"\\]|\\.)*)"\s*\)""")


def _used() -> set[str]:
    found = set()
    for template in (DESK / "templates").rglob("*.html"):
        for double, single, block in _TEMPLATE.findall(template.read_text(encoding="utf-8")):
            found.add(double or single or re.sub(r"{{ (\w+) }}", r"%(\1)s", block))
    for module in DESK.glob("*.py"):
        found.update(_CODE.findall(module.read_text(encoding="utf-8")))
    return found


def _catalogue(language: str) -> dict[str, str]:
    text = (DESK / "locale" / language / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    pairs = re.findall(r'^msgid ((?:".*"\n)+)msgstr ((?:".*"\n?)+)', text, re.M)

    def join(lines: str) -> str:
        return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', lines)).replace('\\"', '"')

    return {join(msgid): join(msgstr) for msgid, msgstr in pairs if join(msgid)}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_is_translated(language: str) -> None:
    text = (DESK / "locale" / language / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in text, f"{language}: a guessed (fuzzy) translation is left: check and translate it"
    catalogue = _catalogue(language)
    missing = sorted(s for s in _used() if not catalogue.get(s))
    assert not missing, f"{language}: untranslated {missing} (run makemessages, translate, msgfmt)"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_is_current(language: str, tmp_path: Path) -> None:
    folder = DESK / "locale" / language / "LC_MESSAGES"
    compiled = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(folder / "django.po")], check=True)
    assert compiled.read_bytes() == (folder / "django.mo").read_bytes(), f"recompile {folder / 'django.mo'}"
