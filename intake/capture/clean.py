"""One page from scan to clean: edges, orientation, skew, noise, blank; transformed once."""

from __future__ import annotations

import logging

import cv2
import numpy as np
from PIL import Image

from intake.capture import _raster, blank, border, deskew, orient, photo, separator
from intake.capture.keep import Keep, save_stage
from intake.config import CaptureConfig
from intake.models import CleanPage
from intake.ocr import DEFAULT_ENGINE, OcrEngine

log = logging.getLogger(__name__)

_VIEW_DPI = 200  # orientation analysis: letters big enough for ascenders and Tesseract
_MIN_SKEW = 0.05  # degrees; below this a rotation would only blur


def clean(
    image: Image.Image, dpi: int, *, number: int, config: CaptureConfig, engine: OcrEngine = DEFAULT_ENGINE,
    keep: Keep | None = None,
) -> CleanPage:  # fmt: skip
    """Make page ``number`` upright, straight and clean; see ``CleanPage`` for what comes back.

    With ``keep``, every stage's image is saved too (``--keep-work``).
    """
    save_stage(keep, "1-scan", image)
    flags: list[str] = []
    grey = _raster.to_grey(image)
    sheet = photo.rectify(image, grey, dpi)
    if sheet is not None:
        # A phone photo: from here on it is a scan of the flattened sheet, except that the
        # OCR copy comes from the grey with the lighting divided out.
        image, grey, dpi = sheet.image, sheet.grey, sheet.dpi
        flags.append("photo")
        save_stage(keep, "1-sheet", image)
    small = _raster.downscale(grey, dpi)
    small_dpi = min(dpi, _raster.ANALYSIS_DPI)
    edges = border.edge_mask(small, small_dpi, _raster.paper_level(small))
    small = np.where(edges, np.uint8(255), small)
    ink = _raster.ink_mask(small, strict=False)
    save_stage(keep, "2-edges", edges)
    save_stage(keep, "3-ink", ink)
    empty = blank.is_blank(ink, config.blank_ink_ratio)
    if empty or separator.is_separator(small, ink, small_dpi):
        log.debug("page %d: %s", number, "blank" if empty else "separator sheet")
        return _unturned(image, grey, dpi, edges, number, config, keep, flags, blank=empty, photo=sheet is not None)
    skew = deskew.estimate(ink)
    view = _Views(grey, dpi, edges, skew.angle)
    upright = orient.decide(view, skew, min(dpi, _VIEW_DPI), engine=engine)
    log.debug("page %d: turn %d° (%s), skew %.2f°", number, upright.rotation, upright.evidence, skew.angle)
    save_stage(keep, "4-view", view(upright.rotation // 90))
    if blank.shows_through(view(upright.rotation // 90), min(dpi, _VIEW_DPI), engine=engine):
        log.debug("page %d: blank back, only mirrored show-through of the front", number)
        flags.append("show-through")
        return _unturned(image, grey, dpi, edges, number, config, keep, flags, blank=True, photo=sheet is not None)
    archive, ocr = _transform(
        image, grey, dpi, edges, upright.rotation, skew.angle, config.work_dpi, photo=sheet is not None
    )
    save_stage(keep, "5-ocr", ocr)
    save_stage(keep, "6-archive", archive)
    if not upright.confident:
        flags.append("orientation-uncertain")
    return CleanPage(
        number, archive, ocr, config.work_dpi, dpi, upright.rotation, round(skew.angle, 2),
        orientation_confident=upright.confident, flags=flags,
    )  # fmt: skip


class _Views:
    """Grey page at the view resolution, edges whitened, turned by quarters and deskewed."""

    def __init__(self, grey: np.ndarray, dpi: int, edges: np.ndarray, angle: float) -> None:
        base = _raster.downscale(grey, dpi, _VIEW_DPI)
        mask = cv2.resize(edges.astype(np.uint8), base.shape[::-1], interpolation=cv2.INTER_NEAREST)
        self._base = np.where(mask.astype(bool), np.uint8(255), base)
        self._angle = angle
        # Per instance, not functools.cache: a cache on the method is held by the class and
        # kept every page's views alive for the life of the worker (~25 MB per page).
        self._turned: dict[int, np.ndarray] = {}

    def __call__(self, quarter: int) -> np.ndarray:
        if quarter not in self._turned:
            self._turned[quarter] = _rotate(_raster.rotate_bound(self._base, quarter), self._angle, cv2.INTER_LINEAR)
        return self._turned[quarter]


def _rotate(array: np.ndarray, angle: float, interpolation: int) -> np.ndarray:
    """Turn by ``-angle`` degrees (levelling a skew of ``angle``) on the same canvas, white fill."""
    if abs(angle) < _MIN_SKEW:
        return array
    height, width = array.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), -angle, 1.0)
    fill = (255,) * (array.shape[2] if array.ndim == 3 else 1)
    return cv2.warpAffine(array, matrix, (width, height), flags=interpolation, borderValue=fill)


def _unturned(
    image: Image.Image, grey: np.ndarray, dpi: int, edges: np.ndarray, number: int, config: CaptureConfig,
    keep: Keep | None, flags: list[str], *, blank: bool, photo: bool,
) -> CleanPage:  # fmt: skip
    """A blank page or separator sheet: edges whitened, not turned (it has no upright)."""
    archive, ocr = _transform(image, grey, dpi, edges, 0, 0.0, config.work_dpi, photo=photo)
    save_stage(keep, "6-archive", archive)
    return CleanPage(number, archive, ocr, config.work_dpi, dpi, 0, 0.0, blank=blank, separator=not blank, flags=flags)


def _transform(
    image: Image.Image, grey: np.ndarray, dpi: int, edges: np.ndarray,
    rotation: int, angle: float, work_dpi: int, *, photo: bool = False,
) -> tuple[Image.Image, Image.Image]:  # fmt: skip
    """Apply edges, turn and skew once at full resolution: (archival copy, OCR copy).

    For a photo the OCR copy is made from ``grey`` (lighting divided out), not the archive.
    """
    bilevel = image.mode == "1"
    scanned = image.mode in ("1", "L") and not photo
    pixels = _place(grey if scanned else np.asarray(image), edges, rotation, angle)
    archive = Image.fromarray(pixels)
    if bilevel:
        archive = archive.point(lambda v: 255 if v >= 128 else 0).convert("1", dither=Image.Dither.NONE)
    if photo:
        ocr_grey = _place(grey, edges, rotation, angle)
    else:
        ocr_grey = pixels if pixels.ndim == 2 else cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
    return archive, Image.fromarray(_for_ocr(ocr_grey, dpi, work_dpi))


def _place(pixels: np.ndarray, edges: np.ndarray, rotation: int, angle: float) -> np.ndarray:
    """Whiten the scanner edges, then turn by quarters and level the skew."""
    mask = cv2.resize(edges.astype(np.uint8), (pixels.shape[1], pixels.shape[0]), interpolation=cv2.INTER_NEAREST)
    pixels = np.where(mask.astype(bool)[..., None] if pixels.ndim == 3 else mask.astype(bool), np.uint8(255), pixels)
    return _rotate(_raster.rotate_bound(pixels, rotation // 90), angle, cv2.INTER_LINEAR)


def _for_ocr(grey: np.ndarray, dpi: int, work_dpi: int) -> np.ndarray:
    """Resample to the work resolution, remove specks and lift the paper to white."""
    if dpi != work_dpi:
        scale = work_dpi / dpi
        size = (round(grey.shape[1] * scale), round(grey.shape[0] * scale))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    grey = cv2.medianBlur(grey, 3)
    # Stretch so the paper (and faint show-through) is white and ink keeps its contrast.
    paper = max(1.0, _raster.paper_level(grey[::4, ::4]) - 10.0)
    lut = np.clip(np.arange(256, dtype=np.float64) * 255.0 / paper, 0, 255).astype(np.uint8)
    return cv2.LUT(grey, lut)
