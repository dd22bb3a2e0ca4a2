"""Refresh the desk's translation catalogues: python -m tools.desk_messages [--compile].

Collects the texts of the desk's templates and code into intake/desk/locale/{fi,sv}
(Django's makemessages, needs gettext), or with --compile writes the .mo files that ship.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from intake.config import Config, TransportConfig
from intake.store import open_store

DESK = Path(__file__).resolve().parents[1] / "intake" / "desk"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--compile", action="store_true", help="compile the .po files to .mo")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as spool:
        open_store(Config(transport=TransportConfig(spool=Path(spool))))
        from django.core.management import call_command

        os.chdir(DESK)
        if args.compile:
            call_command("compilemessages", locale=["fi", "sv"])
        else:
            call_command("makemessages", locale=["fi", "sv"], no_obsolete=True, add_location="never")


if __name__ == "__main__":
    main()
