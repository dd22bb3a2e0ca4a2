"""Thin wrapper around the ``openssl`` program: verify a signed S/MIME entity."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from intake.errors import EnvironmentProblem

OPENSSL = "openssl"


@dataclass(frozen=True)
class Verification:
    """What ``openssl cms -verify`` said about one signed entity."""

    ok: bool
    content: bytes  # the signed content as openssl extracted it (empty when not ok)
    message: str  # openssl's last diagnostic line


def cms_verify(entity: bytes, /, *, ca_file: Path, timeout_s: float = 30.0) -> Verification:
    """Verify a ``multipart/signed`` S/MIME entity against the CAs in ``ca_file``."""
    args = [OPENSSL, "cms", "-verify", "-inform", "SMIME", "-CAfile", str(ca_file)]
    try:
        done = subprocess.run(args, input=entity, capture_output=True, timeout=timeout_s, check=False)
    except FileNotFoundError as exc:
        raise EnvironmentProblem("openssl is not installed: install the 'openssl' package") from exc
    except subprocess.TimeoutExpired:
        return Verification(ok=False, content=b"", message=f"openssl took over {timeout_s} s")
    lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
    if done.returncode != 0:
        # The first line is "Verification failure"; the next one says why (bad signature,
        # unknown CA, wrong key usage): keep both for the log.
        return Verification(ok=False, content=b"", message=" / ".join(lines[:2]))
    return Verification(ok=True, content=done.stdout, message=lines[-1] if lines else "")
