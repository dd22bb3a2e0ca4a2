"""How long a scan takes from landing in the desk's hot folder to being on the desk, classified.

    python -m tools.desk_latency [--scans N] [--corpus DIR]

Starts a real 'intake serve' (hot folder, store, waitress) in a child process, drops
single-page corpus scans into its hot folder one at a time (written under a hidden name,
then renamed, as scanners do), and times each until its document is in the store. The
desk's page asks for new rows every REFRESH_S, so what the advisor sees can lag by up to
that much more: both figures are printed. The first scan warms the workers up and is
not counted.

On a shared machine the wall time includes waiting for the cores; the CPU seconds the
desk's processes (server, page workers and their tesseract runs) spent per scan are
printed too: on an idle machine a scan takes about that plus the hot folder's poll.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from intake.config_routing import BUILTIN_AUTHORITIES as AUTHORITIES

REFRESH_S = 1.0  # intake/desk/static/desk/desk.js REFRESH_MS
ROOT = Path(__file__).resolve().parents[1]


def _config(folder: Path, port: int) -> Path:
    rules = "".join(f'[[routing.rules]]\nid = "{a.lower()}"\nauthority = "{a}"\ndestination = "agency"\n'
                    for a in AUTHORITIES)  # fmt: skip
    path = folder / "intake.toml"
    path.write_text(f"""{rules}
[destinations.agency]
address = "kirjaamo@agency.example"
[transport]
spool = "{folder / 'spool'}"
[transport.smime]
require_encryption = false
[desk]
port = {port}
hot_folder = "{folder / 'hot'}"
""", encoding="utf-8")  # fmt: skip
    return path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _single_pages(corpus: Path, count: int) -> list[Path]:
    truth = json.loads((corpus / "truth.json").read_text())
    singles = [corpus / e["file"] for e in truth if e["file"].startswith("scan_") and len(e["documents"]) == 1
               and e["documents"][0]["pages"] == [1]]  # fmt: skip
    return singles[: count + 1]


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and its live children, with what their finished children used."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for process in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(value) for value in fields[11:15]) / ticks  # utime stime cutime cstime
    return total


def _children(pid: int) -> list[int]:
    try:
        found = [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []
    return [grandchild for child in found for grandchild in (child, *_children(child))]


def _wait_stored(database: Path, sha256: str, timeout: float) -> float | None:
    import sqlite3

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            with sqlite3.connect(database, timeout=5) as db:
                if db.execute("SELECT 1 FROM store_storeddocument WHERE source_sha256 = ?", (sha256,)).fetchone():
                    return time.perf_counter()
        except sqlite3.OperationalError:
            pass  # not created yet
        time.sleep(0.02)
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "dev")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="intake-latency-") as tmp:
        folder = Path(tmp)
        config = _config(folder, _free_port())
        (folder / "hot").mkdir()
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        server = subprocess.Popen([sys.executable, "-m", "intake.cli", "serve", "--config", str(config)], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        seconds, cpu = [], []
        try:
            for index, scan in enumerate(_single_pages(args.corpus, args.scans)):
                sha256 = hashlib.sha256(scan.read_bytes()).hexdigest()
                hidden = folder / "hot" / f".{index}{scan.suffix}"
                shutil.copyfile(scan, hidden)
                os.rename(hidden, folder / "hot" / f"scan-{index}{scan.suffix}")
                landed, used = time.perf_counter(), _cpu_seconds(server.pid)
                stored = _wait_stored(folder / "spool" / "store" / "store.sqlite", sha256, timeout=120)
                if stored is None:
                    sys.exit(f"{scan.name} did not reach the store in 120 s")
                if index:  # the first one warms the workers up
                    seconds.append(stored - landed)
                    cpu.append(_cpu_seconds(server.pid) - used)
                    print(f"{scan.name:<16} {stored - landed:5.2f} s  (cpu {cpu[-1]:5.2f} s)", flush=True)
        finally:
            server.terminate()
            server.wait(timeout=60)
    load = os.getloadavg()[0]
    print(f"scans {len(seconds)} on {len(os.sched_getaffinity(0))} cores (load {load:.1f}): in the store "
          f"{_summary(seconds)}; on screen at most {REFRESH_S:.1f} s later (the page's refresh); "
          f"CPU per scan {_summary(cpu)}")  # fmt: skip


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(values):.2f} s, p95 {p95:.2f} s, max {ordered[-1]:.2f} s"


if __name__ == "__main__":
    main()
