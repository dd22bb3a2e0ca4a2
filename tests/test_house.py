"""What a new user meets first: a product install without test extras, a lone clone's demo,
errors that tell the truth, and the command line's edges (missing paths, folders, pipes)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import copy_example_config
from smtp_fixtures import destination, make_document, transport_config

from intake.cli import main
from intake.config import load as load_config
from intake.demo.pki import DemoPki
from intake.errors import ExitCode
from intake.progress import ProgressLine
from intake.routing.icr import model as icr_model
from intake.transport import Outbox, build_package

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "intake.toml"

# Runs ``intake`` with the test extras made unimportable, as after ``pip install .``.
_WITHOUT_EXTRAS = """
import importlib.abc, sys
class NoExtras(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("aiosmtpd", "reportlab", "pytest"):
            raise ImportError(f"{name} is a test extra, not installed")
        return None
sys.meta_path.insert(0, NoExtras())
from intake.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _config(tmp_path: Path) -> Path:
    """The example configuration with its spool and certificates moved into the test's folder."""
    return copy_example_config(tmp_path)


def test_product_runs_without_the_test_extras(corpus: Path, tmp_path: Path) -> None:
    args = ["process", "--json", "--dry-run", "--config", str(_config(tmp_path)), str(corpus / "scan_0004.png")]
    done = subprocess.run([sys.executable, "-c", _WITHOUT_EXTRAS, *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)  # fmt: skip
    assert done.returncode == ExitCode.OK, done.stderr
    assert json.loads(done.stdout)["form"]["id"] == "oikeusapu-oa1-fi"


@pytest.mark.slow
def test_lone_clone_demo_works_and_takes_a_free_port(tmp_path: Path) -> None:
    clone = tmp_path / "lone" / "intake"  # no ../shared beside it
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True, timeout=120)
    assert not (clone.parent / "shared").exists()
    with socket.socket() as busy:
        with contextlib.suppress(OSError):  # taken already is what this test wants too
            busy.bind(("127.0.0.1", 8587))  # the demo's default port, taken
        busy.listen()
        done = subprocess.run([sys.executable, "-m", "intake.demo"], cwd=clone, capture_output=True, text=True,
                              timeout=600, env={**os.environ, "PYTHONPATH": str(clone)})  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "port 8587 is taken; using" in done.stdout
    assert "FAIL" not in done.stdout
    # One TE form is held for its municipality (unproven), another page is no known form.
    assert "7 packages delivered and checked, 2 held for review" in done.stdout
    assert str(clone) in done.stdout  # it ran the clone's code and samples


def test_missing_character_model_stops_the_run_without_touching_the_scan(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(icr_model, "MODEL", tmp_path / "gone.onnx")
    icr_model._load.cache_clear()
    try:
        code = main(["process", "--no-send", "--config", str(_config(tmp_path)), str(corpus / "scan_0000.tif")])
    finally:
        icr_model._load.cache_clear()
    assert code == ExitCode.ENVIRONMENT
    assert "character model" in capsys.readouterr().err
    assert not (tmp_path / "spool" / "quarantine").exists()


def test_missing_tesseract_language_says_what_to_install(corpus: Path, tmp_path: Path, capsys) -> None:
    config = _config(tmp_path)
    text = re.sub(r"(?m)^languages = .*$", 'languages = ["fin", "smn"]', config.read_text(encoding="utf-8"))
    config.write_text(text, encoding="utf-8")
    code = main(["process", "--dry-run", "--config", str(config), str(corpus / "scan_0000.tif")])
    assert code == ExitCode.ENVIRONMENT
    assert "apt-get install tesseract-ocr-smn" in capsys.readouterr().err


def test_same_scan_twice_in_one_call(corpus: Path, tmp_path: Path, capsys) -> None:
    scan = str(corpus / "scan_0004.png")
    code = main(["process", "--json", "--dry-run", "--config", str(_config(tmp_path)), scan, scan, scan, scan])
    docs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == ExitCode.OK
    assert [d["status"] for d in docs] == ["queued"] * 4  # with --dry-run: would be queued
    assert len({d["form"]["id"] for d in docs}) == 1


def test_missing_path_is_a_usage_error_and_quarantines_nothing(tmp_path: Path, capsys) -> None:
    config = _config(tmp_path)
    assert main(["process", "--dry-run", "--config", str(config), str(tmp_path / "Matti Virtanen.pdf")]) == 2
    err = capsys.readouterr().err
    assert "FILE argument 1" in err and "Virtanen" not in err
    assert not (tmp_path / "spool").exists()


def test_folder_means_its_files_and_dry_run_quarantines_nothing(corpus: Path, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "scans"
    folder.mkdir()
    (folder / "a.png").write_bytes((corpus / "scan_0004.png").read_bytes())
    (folder / "b.pdf").write_bytes(b"not a pdf at all")
    (folder / ".hidden.pdf").write_bytes(b"a scanner's temporary file")
    code = main(["process", "--json", "--dry-run", "--config", str(_config(tmp_path)), str(folder)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == ExitCode.REJECTED
    assert [Path(line["source"]["file"]).name for line in lines] == ["a.png", "b.pdf"]
    assert lines[1]["status"] == "rejected"
    assert not (tmp_path / "spool").exists()  # --dry-run writes no quarantine copy


@pytest.mark.parametrize("command", [["process", "x.pdf"], ["config", "check"], ["send"], ["outbox"],
                                     ["rules", "check"], ["rules", "test", "cases.toml"]],
                         ids=lambda c: "-".join(c[:2]))  # fmt: skip
def test_no_configuration_is_said(command: list[str], monkeypatch, capsys) -> None:
    monkeypatch.delenv("INTAKE_CONFIG", raising=False)
    if command[0] == "process":
        command = ["process", str(EXAMPLE)]  # an existing path: the configuration is what is missing
    assert main(command) == ExitCode.CONFIG
    assert "no configuration given" in capsys.readouterr().err


def test_broken_pipe_exits_quietly() -> None:
    reader, writer = os.pipe()
    os.close(reader)  # the reader (| head) is gone before anything is written
    done = subprocess.run([sys.executable, "-m", "intake.cli", "templates", "check"], stdout=writer,
                          stderr=subprocess.PIPE, text=True, cwd=ROOT, timeout=120)  # fmt: skip
    os.close(writer)
    assert done.returncode == ExitCode.BROKEN_PIPE
    assert "Traceback" not in done.stderr


def test_outbox_times_carry_their_offset(pki: DemoPki, tmp_path: Path, capsys) -> None:
    config = _config(tmp_path)
    (tmp_path / "pages").mkdir()
    transport = transport_config(pki, load_config(config).transport.spool)
    package = build_package(make_document(tmp_path / "pages"), destination=destination(pki), config=transport)
    outbox = Outbox.for_config(transport)
    outbox.enqueue(package, package.recipient)
    assert main(["outbox", "--config", str(config)]) == ExitCode.OK
    assert re.search(r" \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d ", capsys.readouterr().out)


def test_progress_line_never_glues_onto_results(capsys: pytest.CaptureFixture[str]) -> None:
    with ProgressLine(enabled=True) as bar:
        bar.update(3, 10)
        bar.clear()
        print("result line")
        bar.redraw()
    err = capsys.readouterr().err
    assert err.count("\r\033[K") == 2  # cleared before the result and at the end
    assert re.search(r"1 files, 3/10 pages", err)


def test_exit_code_precedence() -> None:
    assert ExitCode.for_outcome(rejected=1, undelivered=1, held=1) is ExitCode.REJECTED
    assert ExitCode.for_outcome(undelivered=1, held=3) is ExitCode.DELIVERY  # 10 no longer masks 12
    assert ExitCode.for_outcome(held=1) is ExitCode.REVIEW
    assert ExitCode.for_outcome() is ExitCode.OK
