"""Units and paper sizes, defined once: millimetres, inches, points and pixels."""

from __future__ import annotations

MM_PER_INCH = 25.4
PT_PER_INCH = 72.0
MM_PER_PT = MM_PER_INCH / PT_PER_INCH

A4_MM = (210.0, 297.0)  # (width, height) of the page every form template is drawn on
A4_IN = (A4_MM[0] / MM_PER_INCH, A4_MM[1] / MM_PER_INCH)

# Paper sizes in inches (short, long) that desk scanners produce.
PAPERS_IN = (A4_IN, (8.5, 11.0), (8.5, 14.0), (5.83, 8.27), (11.69, 16.54))  # A4, Letter, Legal, A5, A3


def px_per_mm(dpi: float) -> float:
    return dpi / MM_PER_INCH
