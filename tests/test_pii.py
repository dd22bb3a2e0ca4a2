"""No personal data in logs: files named after a person and a henkilötunnus, searched for everywhere.

``intake process`` and ``intake watch --once`` run as real subprocesses (plain, and with
``-vv --log-json``) on real scans and bad files whose names carry a customer's name and
henkilötunnus (artificial: individual number 903). Then stdout, stderr, every file under
the spool and the hot folder (the SQLite journal and outbox byte for byte) are searched
for the name and the code in every spelling: UTF-8, Latin-1, JSON and intake's escapes.

Where a name may appear, by design: ``intake process`` shows each file's name (escaped) as
the first field of its result line, since the advisor gave it on the command line; and
the 0600 reason file beside a copy ``intake process`` quarantined keeps the name (escaped),
while the file itself, holding the same person's data, is still where it was given. The
hot folder keeps no name anywhere.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_watch import watch_config

from intake.demo.pki import DemoPki
from intake.names import shown

GIVEN, FAMILY, HETU = "Matti", "Meikäläinen", "010594Y9032"
GOOD = {  # corpus scan -> the name the scanner gave it
    "scan_0007.pdf": f"{GIVEN} {FAMILY} {HETU}.pdf".encode(),
    "scan_0004.png": f"{FAMILY} {GIVEN} {HETU} hakemus.png".encode(),
}
BAD = {  # a bad file's name -> its bytes
    # A PNG whose header checksum is wrong: Pillow says "cannot identify image file '<path>'".
    f"{GIVEN} {FAMILY} {HETU} liite.png".encode(): b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR" + bytes(17),
    f"{GIVEN} {FAMILY}".encode("latin-1") + f" {HETU}.jpg".encode(): b"\xff\xd8\xff\xe0 truncated",
    f"{GIVEN}\n{FAMILY} {HETU}.pdf".encode(): b"%PDF-1.4\nno trailer",  # a newline: one output line still
}


def _needles() -> list[bytes]:
    """The name and the code in every spelling a leak could take."""
    words = [HETU, f"{GIVEN} Meik", f"{GIVEN}\nMeik", f"{GIVEN}\\nMeik", FAMILY]
    found = set()
    for word in words:
        found |= {word.encode(), word.encode("latin-1", "ignore"), json.dumps(word)[1:-1].encode()}
        found |= {shown(os.fsdecode(word.encode("latin-1", "ignore"))).encode(), shown(word).encode()}
    return sorted(word for word in found if len(word) >= 6)


def _leaks(data: bytes) -> list[bytes]:
    return [needle for needle in _needles() if needle in data]


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    return subprocess.run([sys.executable, "-m", "intake.cli", *args], cwd=cwd, env=env,
                          capture_output=True, timeout=600, check=False)  # fmt: skip


def _drop(folder: Path, corpus: Path) -> list[bytes]:
    folder.mkdir(parents=True)
    raw = os.fsencode(folder)
    for source, name in GOOD.items():
        shutil.copyfile(corpus / source, raw + b"/" + name)
    for name, data in BAD.items():
        with open(raw + b"/" + name, "wb") as stream:
            stream.write(data)
    return [raw + b"/" + name for name in [*GOOD.values(), *BAD]]


def _stored(root: Path) -> dict[Path, bytes]:
    return {path: path.read_bytes() for path in root.rglob("*") if path.is_file() and not path.is_symlink()}


@pytest.mark.parametrize("flags", [pytest.param([], id="plain"), pytest.param(["-vv", "--log-json"], id="vv-json")])
def test_process_keeps_names_out_of_logs_and_spool(corpus: Path, pki: DemoPki, tmp_path: Path,
                                                   flags: list[str]) -> None:  # fmt: skip
    config = watch_config(tmp_path, pki)
    files = _drop(tmp_path / "scans", corpus)
    result = _run(["process", "--no-send", "--config", str(config), *flags, *map(os.fsdecode, files)], tmp_path)
    assert result.returncode == 11, result.stderr[-2000:]
    assert result.stderr and not _leaks(result.stderr), _leaks(result.stderr)
    lines = result.stdout.decode().splitlines()
    assert len(lines) == len(files)  # the newline in a name forged no line
    names = {shown(os.fsdecode(os.path.basename(path))) for path in files}
    # Each line starts with the name as given (escaped); nothing after it names anyone.
    assert {line.split("  ")[0] for line in lines} == names
    assert not [line for line in lines if _leaks(line.split("  ", 1)[1].encode())]
    stored = _stored(tmp_path / "spool")
    reasons = {path for path in stored if path.parent.name == "quarantine" and path.name.endswith(".reason.json")}
    assert len(reasons) == len(BAD)
    assert {json.loads(stored[path])["original_name"] for path in reasons} == {
        shown(os.fsdecode(name)) for name in BAD
    }  # fmt: skip
    assert any("cannot identify image file <file>" in json.loads(stored[path])["reason"] for path in reasons)
    leaks = {str(path): _leaks(data) for path, data in stored.items() if path not in reasons and _leaks(data)}
    assert not leaks
    assert len([path for path in stored if path.suffix == ".eml"]) == 1  # the KELA form was queued


@pytest.mark.parametrize("flags", [pytest.param([], id="plain"), pytest.param(["-vv", "--log-json"], id="vv-json")])
def test_hot_folder_keeps_no_name_anywhere(corpus: Path, pki: DemoPki, tmp_path: Path, flags: list[str]) -> None:
    config = watch_config(tmp_path, pki)
    inbox = tmp_path / "inbox"
    _drop(inbox, corpus)
    args = ["watch", str(inbox), "--once", "--interval", "0.2", "--no-send", "--config", str(config), *flags]
    result = _run(args, tmp_path)
    assert result.returncode == 11, result.stderr[-2000:]
    assert result.stdout.decode().strip() == "done 1, quarantine 3, review 1"
    assert not _leaks(result.stdout) and not _leaks(result.stderr), _leaks(result.stderr)
    if flags:
        assert len(result.stderr.splitlines()) > 10  # debug lines were written, and none names anyone
    stored = _stored(inbox) | _stored(tmp_path / "spool")
    assert any(path.name == "journal.sqlite" for path in stored)
    assert len([path for path in stored if path.name.endswith(".reason.json")]) == 2 * len(BAD)
    assert not {str(path): _leaks(data) for path, data in stored.items() if _leaks(data)}
    assert not [name for name in os.listdir(os.fsencode(inbox)) if _leaks(name)]
