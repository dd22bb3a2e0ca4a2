"""How long a scan takes from landing in the desk's hot folder to being on the advisor's screen, classified.

    python -m tools.desk_latency [--scans N] [--corpus DIR]

Starts a real 'intake serve' (hot folder, store, waitress) in a child process, set up as a
service point is: one rule per authority to an agency, packages signed and encrypted (a
demo PKI made in a temp folder) and delivered over STARTTLS to a local receiving mail
server. It signs in as an advisor and waits on the desk's live list exactly as the page
does (GET rows?since=VERSION, answered as soon as the list changed). Single-page corpus
scans are dropped into the hot folder one at a time (written under a hidden name, then
renamed, as scanners do); each is timed until its row is in an answer: that is when the
advisor sees it (the browser only swaps the rows in). The time it was written to the store
is printed too. The first scan warms the workers up and is not counted.

On a shared machine the wall time includes waiting for the cores, so the load average
is printed with the CPU seconds the desk's processes (server, page workers and their
tesseract runs) spent per scan: on an idle machine a scan takes about that plus the
moments the desk waits (the hot folder's check that the file is complete).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import quote, urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

from intake.config_routing import BUILTIN_AUTHORITIES
from intake.demo.mailserver import start_receiver
from intake.demo.pki import DemoPki, make_demo_pki

ROOT = Path(__file__).resolve().parents[1]
AGENCY = "kirjaamo@agency.example"
ADVISOR, PASSWORD = "latency", "bench-" + uuid.uuid4().hex  # made per run, in a temp store
TIMEOUT_S = 120.0


def _config(folder: Path, pki: DemoPki, *, port: int, smtp_port: int) -> Path:
    rules = "".join(f'[[routing.rules]]\nid = "{a.lower()}"\nauthority = "{a}"\ndestination = "agency"\n'
                    for a in BUILTIN_AUTHORITIES)  # fmt: skip
    path = folder / "intake.toml"
    path.write_text(f"""{rules}
[destinations.agency]
address = "{AGENCY}"
certificate = "{pki.agencies[AGENCY].cert}"
[transport]
spool = "{folder / 'spool'}"
sender = "intake@asiointipiste.example"
[transport.smtp]
host = "127.0.0.1"
port = {smtp_port}
ca_file = "{pki.ca.cert}"
[transport.smime]
certificate = "{pki.signer.cert}"
key = "{pki.signer.key}"
agency_trust = "{pki.ca.cert}"
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


class Advisor:
    """A signed-in browser, without the browser: the page's requests, with its cookies."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def sign_in(self, name: str, password: str) -> None:
        page = self.opener.open(f"{self.base}/signin", timeout=30).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if token is None:
            sys.exit("the sign-in page has no CSRF token")
        form = urlencode({"username": name, "password": password, "csrfmiddlewaretoken": token[1]}).encode()
        with self.opener.open(Request(f"{self.base}/signin", data=form), timeout=30) as answer:
            if answer.url.endswith("/signin"):
                sys.exit("could not sign in to the desk")

    def rows(self, since: str | None = None) -> tuple[str, set[str]]:
        """The live list's version and the document ids shown; with ``since``, once it differs (or the wait ends)."""
        url = f"{self.base}/rows" + (f"?since={quote(since)}" if since else "")
        with self.opener.open(url, timeout=60) as answer:
            if answer.url.endswith("/signin") or (since is None and "X-Desk-Version" not in answer.headers):
                sys.exit("the desk's live list did not answer as the page expects")
            if answer.status == 204:  # nothing changed while it waited: ask again, as the page does
                return since or "", set()
            html = answer.read().decode()
            return answer.headers["X-Desk-Version"], set(re.findall(r'data-id="([0-9a-f-]{36})"', html))


@dataclass
class Timing:
    name: str
    on_desk: float
    in_store: float
    cpu: float


def _stored(database: Path, document_id: str) -> tuple[str, float]:
    """A stored document's source hash, and when it was written (seconds since the epoch)."""
    with sqlite3.connect(database, timeout=5) as db:
        sha256, created = db.execute("SELECT source_sha256, created FROM store_storeddocument WHERE id = ?",
                                     (uuid.UUID(document_id).hex,)).fetchone()  # fmt: skip
    return sha256, dt.datetime.fromisoformat(created).replace(tzinfo=dt.UTC).timestamp()


def _time_one(scan: Path, index: int, folder: Path, advisor: Advisor, server: int) -> Timing:
    sha256 = hashlib.sha256(scan.read_bytes()).hexdigest()
    version, shown = advisor.rows()
    hidden = folder / "hot" / f".{index}{scan.suffix}"
    shutil.copyfile(scan, hidden)
    used = _cpu_seconds(server)
    os.rename(hidden, folder / "hot" / f"scan-{index}{scan.suffix}")
    landed, landed_at = time.perf_counter(), time.time()
    while time.perf_counter() - landed < TIMEOUT_S:
        version, ids = advisor.rows(version)
        if new := ids - shown:
            seen = time.perf_counter()
            break
    else:
        sys.exit(f"{scan.name} was not on the desk after {TIMEOUT_S:.0f} s")
    found, created = _stored(folder / "spool" / "store" / "store.sqlite", new.pop())
    if found != sha256:
        sys.exit(f"the row that appeared is not {scan.name}'s document")
    time.sleep(0.3)  # its delivery follows at once: count its CPU here, not against the next scan
    return Timing(scan.name, seen - landed, created - landed_at, _cpu_seconds(server) - used)


def _run(folder: Path, scans: list[Path]) -> list[Timing]:
    pki = make_demo_pki(folder / "pki", agencies=[AGENCY], signer="intake@asiointipiste.example")
    receiver = start_receiver(folder / "received", cert_file=pki.server.cert, key_file=pki.server.key)
    port = _free_port()
    config = _config(folder, pki, port=port, smtp_port=receiver.port)
    (folder / "hot").mkdir()
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    intake = [sys.executable, "-m", "intake.cli"]
    subprocess.run([*intake, "users", "add", ADVISOR, "--role", "advisor", "--password-stdin", "--config", str(config)],
                   input=PASSWORD + "\n", text=True, env=env, check=True, capture_output=True)  # fmt: skip
    server = subprocess.Popen([*intake, "serve", "--config", str(config)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    timings = []
    try:
        advisor = Advisor(f"http://127.0.0.1:{port}")
        _wait_listening(port, server)
        advisor.sign_in(ADVISOR, PASSWORD)
        for index, scan in enumerate(scans):
            timing = _time_one(scan, index, folder, advisor, server.pid)
            if index:  # the first one warms the workers up
                timings.append(timing)
                print(f"{timing.name:<16} on the desk {timing.on_desk:5.2f} s  (in the store {timing.in_store:5.2f} s,"
                      f" cpu {timing.cpu:5.2f} s)", flush=True)  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=60)
        receiver.stop()
    return timings


def _wait_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("intake serve stopped at start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("intake serve did not start listening in 60 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scans", type=int, default=20)
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "dev")
    args = parser.parse_args()
    before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="intake-latency-") as tmp:
        timings = _run(Path(tmp), _single_pages(args.corpus, args.scans))
    print(f"scans {len(timings)} on {len(os.sched_getaffinity(0))} cores (load {before:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after): on the desk {_summary([t.on_desk for t in timings])}; "
          f"in the store {_summary([t.in_store for t in timings])}; "
          f"CPU per scan {_summary([t.cpu for t in timings])}")  # fmt: skip


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(values):.2f} s, p95 {p95:.2f} s, max {ordered[-1]:.2f} s"


if __name__ == "__main__":
    main()
