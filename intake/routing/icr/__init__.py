"""Hand-printed character recognition (ICR) for comb fields: boxes → characters → rule-checked value."""

from __future__ import annotations

from functools import cache

import numpy as np

from intake.routing.icr.comb import Comb, split_comb, zone_crop
from intake.routing.icr.decode import FieldReading, read_hetu
from intake.routing.icr.model import CellReader, CellReading, IcrModelError
from intake.routing.templates import FieldKind, Zone

__all__ = [
    "CellReader", "CellReading", "Comb", "FieldReading", "IcrModelError",
    "read_comb", "read_hetu", "split_comb", "zone_crop",
]  # fmt: skip


@cache
def _reader() -> CellReader:
    return CellReader()


def read_comb(warped: np.ndarray, zone: Zone, *, dpi: int, reader: CellReader | None = None) -> FieldReading:
    """Read a comb zone (``zone.cells`` set) of a page warped into template pixels at ``dpi``.

    Henkilötunnus zones are decoded under the hetu rules; for any other kind the boxes'
    best characters come back as ``raw`` with no value accepted.
    """
    if not zone.cells:
        raise ValueError(f"zone {zone.name!r} is not a comb field")
    reader = reader or _reader()
    comb = split_comb(zone_crop(warped, zone, dpi), zone.cells, (zone.box[2], zone.box[3]), dpi)
    cells = reader.read(comb.cells)
    if zone.kind == FieldKind.HETU and zone.cells == 11:
        return read_hetu(cells, reader.classes)
    raw = "".join(cell.best or "?" for cell in cells)
    return FieldReading(None, 0.0, (), raw, f"no rules for {zone.kind} comb fields")
