"""Shared fixtures: where ../shared is, its corpus and truth, and corpus page loading."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("INTAKE_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus" / "dev"


EXAMPLES = ROOT / "examples"


def copy_example_config(folder: Path, *, templates: Path | None = None) -> Path:
    """The shipped example configuration and routing table in ``folder``, spool and PKI moved there too."""
    text = (EXAMPLES / "intake.toml").read_text(encoding="utf-8")
    text = text.replace('spool = "../var/spool"', f'spool = "{folder / "spool"}"')
    text = text.replace('"../var/pki/', f'"{folder / "pki"}/')
    if templates is not None:
        text = text.replace('# templates = "my-forms"', f'templates = "{templates}"')
    rules = (EXAMPLES / "routing.toml").read_text(encoding="utf-8").replace('"../var/pki/', f'"{folder / "pki"}/')
    (folder / "routing.toml").write_text(rules, encoding="utf-8")
    path = folder / "intake.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "truth.json").is_file():
        pytest.fail(f"the dev corpus is missing: expected {CORPUS} (set INTAKE_SHARED)")
    return CORPUS


@pytest.fixture(scope="session")
def truth(corpus: Path) -> dict[str, dict]:
    return {entry["file"]: entry for entry in json.loads((corpus / "truth.json").read_text())}


from desk_fixtures import desk, fresh, stored_spool  # noqa: E402, F401  (the store and the desk)
from smtp_fixtures import pki, rogue_pki, smtp_server  # noqa: E402, F401  (TLS SMTP fixtures)


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """A test that runs ``main()`` points the root handler at its captured stderr, which is
    closed after the test: later log lines would print '--- Logging error ---'. Put it back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level
