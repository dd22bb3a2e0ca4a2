"""Fixtures for the store and the desk: a configuration whose rule needs the customer's municipality,
and a spool in which the real pipeline has already stored two held corpus scans (copied per test)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.request import build_opener

import pytest
from smtp_fixtures import AGENCY

from intake import config as configuration
from intake.cli import main
from intake.demo.pki import DemoPki
from intake.store import open_store

# scan_0078.tif: a community-sanctions form (RISE, rise-yks4-fi) whose hand-printed
# henkilötunnus has several rule-passing readings (the first is right, none clear) and on
# which no municipality was written. A better reader can make such a scan clear: then pick
# another (scan_0050.png became clear in round six of #10, scan_0088.jpg in round nine,
# scan_0038.png, a Kela form, in round thirteen).
UNSURE_HETU = "scan_0078.tif"
UNSURE_HETU_TRUTH = "111050-908B"
OTHER = "scan_0005.jpg"  # an enforcement form (ULOSOTTO): no rule takes it
PASSWORD = "kala-kissa-2026"


def write_config(folder: Path, pki: DemoPki, *, smtp_port: int = 25, hot_folder: Path | None = None,
                 live_wait_s: float = 20.0) -> Path:  # fmt: skip
    """RISE forms from Oulu go to the agency; everything else is held."""
    hot = f'hot_folder = "{hot_folder}"\n' if hot_folder else ""
    path = folder / "intake.toml"
    path.write_text(f"""
[[routing.rules]]
id = "rise-oulu"
authority = "RISE"
municipality = ["Oulu"]
destination = "agency"

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
timeout_s = 5
[transport.smime]
certificate = "{pki.signer.cert}"
key = "{pki.signer.key}"
agency_trust = "{pki.ca.cert}"

[desk]
port = 8480
live_wait_s = {live_wait_s}
{hot}""", encoding="utf-8")  # fmt: skip
    return path


@pytest.fixture(scope="session")
def stored_spool(tmp_path_factory: pytest.TempPathFactory, corpus: Path, pki: DemoPki) -> Path:
    """A spool where 'intake process' (real pipeline) stored two held documents; read-only."""
    folder = tmp_path_factory.mktemp("stored")
    config = write_config(folder, pki)
    assert (
        main(["process", "--no-send", "--config", str(config), str(corpus / UNSURE_HETU), str(corpus / OTHER)]) == 10
    )  # fmt: skip  (both held)
    return folder / "spool"


Fresh = Callable[..., configuration.Config]


@pytest.fixture
def fresh(tmp_path: Path, stored_spool: Path, pki: DemoPki) -> Fresh:
    """A configuration with its own copy of the stored spool (so tests may change it)."""

    def make(*, smtp_port: int = 25, hot_folder: Path | None = None, live_wait_s: float = 20.0) -> configuration.Config:
        shutil.copytree(stored_spool, tmp_path / "spool", dirs_exist_ok=True)
        path = write_config(tmp_path, pki, smtp_port=smtp_port, hot_folder=hot_folder, live_wait_s=live_wait_s)
        return configuration.load(path)

    return make


@pytest.fixture
def desk(fresh: Fresh) -> Iterator[configuration.Config]:
    """A configuration with the stored spool, an advisor 'maija' (fi) and an administrator 'ville' (sv)."""
    config = fresh()
    open_store(config)
    from intake.desk.users import add_user

    add_user("maija", PASSWORD, role="advisor", language="fi")
    add_user("ville", PASSWORD, role="administrator", language="sv")
    yield config


def client(name: str | None = None, *, csrf: bool = False):  # type: ignore[no-untyped-def]
    """Django's test client, signed in as ``name`` (through the sign-in page, or with ``csrf`` enforced)."""
    from django.test import Client

    found = Client(enforce_csrf_checks=csrf, SERVER_NAME="localhost")
    if name is not None and csrf:
        assert found.post("/signin", {"username": name, "password": PASSWORD}).status_code == 403  # no token
        assert found.login(username=name, password=PASSWORD)
    elif name is not None:
        assert found.post("/signin", {"username": name, "password": PASSWORD}).status_code == 302
    return found


def documents(client) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The documents on the list, by form id."""
    html = client.get("/").content.decode()
    ids = re.findall(r'<tr class="\w+" data-id="([0-9a-f-]{36})">', html)
    from intake.store.models import StoredDocument

    return {StoredDocument.objects.get(id=i).form_id: i for i in ids}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(config: Path, log: Path, *, language: str | None = None) -> Iterator[str]:
    """'intake serve' as its own process on a free port, with the advisor maija (PASSWORD); yields
    its address once the sign-in page answers, and stops it afterwards. Its output goes to ``log``."""
    chosen = ["--language", language] if language else []
    subprocess.run([sys.executable, "-m", "intake.cli", "users", "add", "maija", "--role", "advisor", *chosen,
                    "--password-stdin", "--config", str(config)], input=PASSWORD + "\n", text=True, check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    port = free_port()
    with log.open("w") as output:
        server = subprocess.Popen([sys.executable, "-m", "intake.cli", "serve", "--port", str(port), "--config",
                                   str(config)], stdout=output, stderr=subprocess.STDOUT,
                                  env={**os.environ, "OMP_THREAD_LIMIT": "1"})  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    build_opener().open(f"http://127.0.0.1:{port}/signin", timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            server.wait(timeout=60)
