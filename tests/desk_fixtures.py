"""Fixtures for the store and the desk: a configuration whose rule needs the customer's municipality,
and a spool in which the real pipeline has already stored two held corpus scans (copied per test)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from smtp_fixtures import AGENCY

from intake import config as configuration
from intake.cli import main
from intake.demo.pki import DemoPki

# scan_0001.jpg: a legal-aid form (OIKEUSAPU) whose hand-printed henkilötunnus has several
# rule-passing readings (the first is right, none clear) and whose municipality is unproven.
UNSURE_HETU = "scan_0001.jpg"
UNSURE_HETU_TRUTH = "230489-9910"
OTHER = "scan_0005.jpg"  # an enforcement form (ULOSOTTO): no rule takes it


def write_config(folder: Path, pki: DemoPki, *, smtp_port: int = 25, hot_folder: Path | None = None) -> Path:
    """Legal-aid forms from Oulu go to the agency; everything else is held."""
    hot = f'hot_folder = "{hot_folder}"\n' if hot_folder else ""
    path = folder / "intake.toml"
    path.write_text(f"""
[[routing.rules]]
id = "oikeusapu-oulu"
authority = "OIKEUSAPU"
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

    def make(*, smtp_port: int = 25, hot_folder: Path | None = None) -> configuration.Config:
        shutil.copytree(stored_spool, tmp_path / "spool", dirs_exist_ok=True)
        return configuration.load(write_config(tmp_path, pki, smtp_port=smtp_port, hot_folder=hot_folder))

    return make
