"""The README's main job: the demo delivers and verifies every routed sample (slow-ish)."""

from __future__ import annotations

import pytest

from intake.demo import main

pytestmark = pytest.mark.slow


def test_demo_delivers_and_verifies_everything(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out
    assert "6 packages delivered and checked, 3 held for review" in out  # TE forms wait for the municipality
