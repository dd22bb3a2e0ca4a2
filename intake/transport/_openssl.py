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


def cms_verify(
    entity: bytes,
    /,
    *,
    ca_file: Path | None,
    signer_out: Path | None = None,
    partial_chain: bool = False,
    timeout_s: float = 30.0,
) -> Verification:
    """Verify a ``multipart/signed`` S/MIME entity against the CAs in ``ca_file``.

    ``ca_file=None`` checks only that the signature matches the content, not who made
    it (``-noverify``). ``signer_out`` receives the signer's certificate (PEM).
    ``partial_chain`` lets a certificate in ``ca_file`` be trusted by itself, so an
    agency can list a service point's own certificate instead of its CA.
    """
    args = [OPENSSL, "cms", "-verify", "-inform", "SMIME"]
    # Only ca_file is trusted: without -no-CApath/-no-CAstore openssl would also trust
    # every CA of the system store, i.e. any signer a public CA ever certified.
    args += ["-noverify"] if ca_file is None else ["-CAfile", str(ca_file), "-no-CApath", "-no-CAstore"]
    if partial_chain:
        args.append("-partial_chain")
    if signer_out is not None:
        args += ["-signer", str(signer_out)]
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
