"""Capture: read scans safely and turn each page into a clean, upright, deskewed image."""

from intake.capture.clean import clean
from intake.capture.keep import Keep
from intake.capture.load import inspect, load_page

__all__ = ["Keep", "clean", "inspect", "load_page"]
