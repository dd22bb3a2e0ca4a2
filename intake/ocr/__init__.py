"""OCR: the engine interface, the Tesseract engine, and stacked reading of many crops in one call."""

from intake.ocr.engine import DEFAULT_ENGINE, OcrEngine, Tesseract, read_stacked
from intake.ocr.tesseract import Word

__all__ = ["DEFAULT_ENGINE", "OcrEngine", "Tesseract", "Word", "read_stacked"]
