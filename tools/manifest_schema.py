"""Write intake/transport/manifest.schema.json from the Manifest model; ``--check`` only compares.

.venv/bin/python -m tools.manifest_schema            # after changing intake/transport/manifest.py
.venv/bin/python -m tools.manifest_schema --check    # exit 1 when the shipped schema is out of date
"""

from __future__ import annotations

import argparse
import sys

from intake.transport.manifest import SCHEMA_PATH, json_schema


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 when the shipped schema is out of date")
    args = parser.parse_args()
    wanted = json_schema()
    current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else None
    if args.check:
        print(
            "up to date" if current == wanted else f"{SCHEMA_PATH} is out of date: run python -m tools.manifest_schema"
        )
        return 0 if current == wanted else 1
    if current != wanted:
        SCHEMA_PATH.write_text(wanted, encoding="utf-8")
        print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
