"""Write intake/transport/manifest.schema.json from the Manifest model (``--check``: only compare)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intake.transport.manifest import SCHEMA_PATH, json_schema  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when the shipped schema is out of date")
    args = parser.parse_args()
    wanted = json_schema()
    current = SCHEMA_PATH.read_text(encoding="utf-8") if SCHEMA_PATH.exists() else None
    if args.check:
        print("up to date" if current == wanted else f"{SCHEMA_PATH} is out of date: run tools/manifest_schema.py")
        return 0 if current == wanted else 1
    if current != wanted:
        SCHEMA_PATH.write_text(wanted, encoding="utf-8")
        print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
