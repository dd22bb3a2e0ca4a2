"""ICR of comb fields: real corpus scans through capture → registration → boxes → model → rules."""

from __future__ import annotations

import itertools
import json
from functools import cache
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import CORPUS

from intake.capture import clean, inspect, load_page
from intake.config import CaptureConfig
from intake.routing import align as registration
from intake.routing.icr import CellReader, IcrModelError, _dash, read_crop, read_zone, split_comb, zone_crop
from intake.routing.icr.comb import MARGIN_MM, _erase_rule
from intake.routing.icr.decode import slots
from intake.routing.icr.model import FIT, MODEL, aspect, normalise
from intake.routing.icr.rules import read_hetu
from intake.routing.recognise import FIELD_DPI
from intake.routing.templates import load_templates

CONFIG = CaptureConfig()
# Every test here reads the corpus: the fixture fails the test when it is missing (never skips).
needs_corpus = pytest.mark.usefixtures("corpus")
# One or two scans per simulated hand, grey, colour and bilevel, 200 and 300 dpi.
SCANS = ["scan_0000.tif", "scan_0001.jpg", "scan_0004.png", "scan_0007.pdf", "scan_0014.png", "scan_0015.jpg"]


@cache
def _truth() -> dict[str, dict]:
    return {entry["file"]: entry for entry in json.loads((CORPUS / "truth.json").read_text("utf-8"))}


@cache
def _hetu_zone(name: str) -> tuple[np.ndarray, object, str]:
    """The warped page holding the hetu zone of corpus file ``name``, the zone and its true value."""
    document = _truth()[name]["documents"][0]
    template = next(t for t in load_templates() if t.id == document["form_id"])
    zone = next(z for z in template.zones if z.name == "hetu")
    number = document["pages"][zone.page - 1]
    image, dpi = load_page(inspect(CORPUS / name, CONFIG), number, CONFIG)
    page = clean(image, dpi, number=number, config=CONFIG)
    small = registration.downscale(page.ocr_image, page.dpi)
    alignment = registration.align(small, template.blank_path, zone.page)
    assert alignment is not None and alignment.layout_confidence > 0
    warped = registration.warp_to_template(page.ocr_image, page.dpi, alignment, FIELD_DPI)
    return warped, zone, document["values"]["hetu"]


def _slot(char: str, p: float, runner_up: str = "") -> dict[str, float]:
    """One character's alternatives: ``char`` with ``p``, the rest on ``runner_up`` (or spread thin)."""
    if runner_up:
        return {char: p, runner_up: 1 - p}
    return {char: p, "?": 1 - p}


def _readings(text: str, p: float = 0.97) -> list[dict[str, float]]:
    return [_slot(c, p) for c in text]


def test_model_is_small_and_knows_every_class() -> None:
    assert MODEL.stat().st_size < 8_000_000  # three networks joined (tools/icr/combine.py); speed is make bench's
    assert set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZÅÄÖ-+") <= {c.upper() for c in CellReader().classes}


def test_a_model_trained_on_other_glyph_images_is_refused(tmp_path: Path) -> None:
    meta = json.loads(MODEL.with_suffix(".json").read_text(encoding="utf-8"))
    del meta["normalisation"]  # as every model before round thirteen: the ink's box scaled as it is
    (tmp_path / "old.onnx").write_bytes(MODEL.read_bytes())
    (tmp_path / "old.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(IcrModelError, match="trained on other glyph images"):
        CellReader(tmp_path / "old.onnx")


def _extent(image: np.ndarray) -> tuple[int, int]:
    """Width and height of the ink in a normalised image."""
    return int((image > 0.05).any(axis=0).sum()), int((image > 0.05).any(axis=1).sum())


@pytest.mark.parametrize(("width", "height"), [(12, 60), (30, 60), (60, 60), (60, 14)], ids=["1", "4", "0", "-"])
def test_a_narrow_glyph_is_widened_but_stays_narrower(width: int, height: int) -> None:
    cell = np.full((90, 90), 255, np.uint8)
    cell[15 : 15 + height, 15 : 15 + width] = 0
    w, h = _extent(normalise(cell))
    ratio = min(width, height) / max(width, height)
    assert max(w, h) == FIT
    assert min(w, h) == pytest.approx(FIT * aspect(ratio), abs=1)
    assert min(w, h) / FIT >= ratio  # widened (a 1 of 0.2 to 0.56, a closed 4 of 0.5 to 0.84)
    assert (w >= h) == (width >= height)  # never turned the other way


def test_aspect_keeps_the_order_of_narrow_and_wide() -> None:
    ratios = np.linspace(0, 1, 21)
    widened = [aspect(r) for r in ratios]
    assert widened == sorted(widened) and aspect(1.0) == pytest.approx(1.0) and aspect(0.0) == 0.0


@pytest.mark.parametrize("value", ["010594Y9032", "131052-928T", "290200A947V"], ids=["Y-sign", "dash", "2000s"])
def test_clear_valid_hetu_is_accepted(value: str) -> None:
    got = read_hetu(_readings(value))
    assert got.value == value and got.confidence > 0.99 and got.clear


@pytest.mark.parametrize(
    "value", ["010594Y903A", "131052-9281", "010190Y999K"], ids=["letter", "digit", "notes-example"]
)
def test_wrong_check_character_is_never_accepted(value: str) -> None:
    got = read_hetu(_readings(value))
    assert not got.clear and got.value != value
    assert value not in [text for text, _ in got.candidates]


def test_two_plausible_valid_readings_go_to_a_person() -> None:
    """A box torn between 1 and 7, where both complete a valid code (check box also unsure)."""
    cells = _readings("131052-928T")
    cells[9] = _slot("8", 0.55, runner_up="2")
    cells[10] = _slot("T", 0.55, runner_up="L")  # 131052-922L is valid too
    got = read_hetu(cells)
    assert not got.clear
    assert {"131052-928T", "131052-922L"} <= {text for text, _ in got.candidates}


def test_a_digit_drawn_like_a_letter_is_judged_among_digits() -> None:
    """An open 6 reads mostly as U; a digit box cannot hold a U, and among digits it is clearly a 6."""
    cells = _readings("131052-928T")
    cells[9] = {"U": 0.8, "8": 0.17, "3": 0.002, "?": 0.028}
    got = read_hetu(cells)
    assert got.value == "131052-928T" and got.clear


def test_a_long_shot_among_the_allowed_is_not_clear() -> None:
    """Where the allowed characters are themselves torn, the check character alone proves nothing."""
    cells = _readings("131052-928T")
    cells[9] = {"U": 0.8, "8": 0.1, "2": 0.09, "?": 0.01}  # 131052-922L is valid too
    cells[10] = {"T": 0.5, "L": 0.5}
    assert not read_hetu(cells).clear


def test_a_century_box_torn_between_the_hyphen_and_a_new_sign_leans_to_the_hyphen() -> None:
    """131052-928T and 131052V928T are both valid (the sign is outside the check): the new signs are rare."""
    cells = _readings("131052-928T")
    cells[6] = {"-": 0.83, "V": 0.17}
    got = read_hetu(cells)
    assert got.value == "131052-928T" and got.confidence > 0.98
    assert "131052V928T" in {text for text, _ in got.candidates}


def test_a_clearly_written_new_century_sign_is_read() -> None:
    got = read_hetu(_readings("131052V928T", p=0.9999))
    assert got.value == "131052V928T" and got.clear


def test_impossible_date_is_not_a_candidate() -> None:
    got = read_hetu(_readings("310294-9137"))  # 31 February
    assert not got.clear and all(not text.startswith("310294") for text, _ in got.candidates)


@needs_corpus
@pytest.mark.parametrize("name", SCANS)
def test_comb_splits_into_eleven_printed_boxes(name: str) -> None:
    warped, zone, _ = _hetu_zone(name)
    comb = split_comb(zone_crop(warped, zone, FIELD_DPI), 11, zone.box[2:], FIELD_DPI)
    assert comb.found and len(comb.cells) == 11
    pitch = np.diff(comb.separators) / (FIELD_DPI / 25.4)
    assert np.allclose(pitch, zone.box[2] / 11, atol=0.4)  # millimetres


@needs_corpus
def test_hyphen_written_on_the_bottom_rule_is_not_lost() -> None:
    """Erasing the printed rules must not erase a hyphen drawn along one: the box would read as empty."""
    warped, zone, _ = _hetu_zone(SCANS[0])
    crop = zone_crop(warped, zone, FIELD_DPI).copy()
    comb = split_comb(crop, 11, zone.box[2:], FIELD_DPI)
    scale = FIELD_DPI / 25.4
    left, right = comb.separators[6], comb.separators[7]
    # Blank the box, then draw a pen stroke (0.5 mm) over the middle of its bottom rule.
    ink = (crop < 128).astype(np.uint8)
    rows = np.flatnonzero(ink[:, left + 5 : right - 5].mean(axis=1) > 0.9)
    bottom = int(rows[rows > crop.shape[0] / 2][0]) if (rows > crop.shape[0] / 2).any() else int(rows[-1])
    crop[rows.min() + 4 : bottom - 2, left + 4 : right - 4] = 255
    crop[bottom - 3 : bottom + 4, left + round(1.5 * scale) : right - round(1.5 * scale)] = 20
    cells = split_comb(crop, 11, zone.box[2:], FIELD_DPI).cells
    ys, xs = np.nonzero(cells[6] < 255)
    assert ys.size, "the hyphen was erased with the rule"
    assert np.ptp(xs) > 1.5 * np.ptp(ys)  # flat: the reader's dash test (_dash) calls it a hyphen


def test_a_slanting_dash_or_one_across_a_separator_is_a_hyphen() -> None:
    """The box's shape test, not the model, reads a hyphen: drawn slanting it is taller than
    its stroke, and drawn across a separator it keeps a stub of the rule at the box's side.
    A small digit in the same box is still the model's."""
    box = 89  # px: a 7.5 mm comb box at 300 dpi
    model_says = {"M": 0.6, "-": 0.4}

    def cell(draw) -> np.ndarray:
        image = np.full((160, 72), 255, np.uint8)
        draw(image)
        return image

    slanting = cell(lambda im: cv2.line(im, (20, 88), (52, 74), 0, 9))
    stub = cell(lambda im: (cv2.line(im, (2, 80), (55, 80), 0, 9), cv2.line(im, (2, 62), (2, 90), 0, 4)))
    small_two = cell(lambda im: cv2.putText(im, "2", (22, 95), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 4))
    # A small 1 with a long flag (Delphine's): wider than tall, but its stem stands upright.
    small_one = cell(lambda im: cv2.polylines(im, [np.array([(10, 80), (50, 64), (50, 92)])], False, 0, 6))
    assert _dash(slanting, model_says, box) == {"-": 1.0}
    assert _dash(stub, model_says, box) == {"-": 1.0}
    assert _dash(small_two, model_says, box) == model_says
    assert _dash(small_one, model_says, box) == model_says


def _empty_century_box() -> tuple[np.ndarray, object, str, tuple[int, int, int, int]]:
    """A real scan's henkilötunnus crop with the century box wiped: crop, zone, true value, and the
    box's left, right, top and bottom in the crop (rules within a few pixels after registration)."""
    warped, zone, truth = _hetu_zone(SCANS[0])
    crop = zone_crop(warped, zone, FIELD_DPI).copy()
    comb = split_comb(crop, 11, zone.box[2:], FIELD_DPI)
    scale = FIELD_DPI / 25.4
    left, right = comb.separators[6], comb.separators[7]
    top = round(MARGIN_MM * scale)
    bottom = top + round(zone.box[3] * scale)
    crop[top + 6 : bottom - 6, left + 6 : right - 6] = 255
    return crop, zone, truth, (left, right, top, bottom)


@needs_corpus
def test_hyphen_written_under_the_box_is_read() -> None:
    """Some people put the hyphen low, under the box's bottom rule: it is the box's, not the next field's print."""
    crop, zone, truth, (left, _right, _top, bottom) = _empty_century_box()
    scale = FIELD_DPI / 25.4
    under = bottom + round(0.8 * scale)  # 0.8 mm under the rule, 0.6 mm thick, 2.5 mm long
    crop[under : under + round(0.6 * scale), left + round(1.2 * scale) : left + round(3.7 * scale)] = 20
    reading = read_crop(crop, zone, dpi=FIELD_DPI)
    assert reading.raw[6] == "-"
    assert reading.value == truth


@needs_corpus
def test_a_short_light_hyphen_is_not_taken_for_a_blank_century_box() -> None:
    """A hyphen 0.9 mm long, thin and light, has less ink than a box needs not to be blank; in
    the century box, which is never left blank, its shape still reads. A speck of dust does not."""
    crop, zone, truth, (left, right, top, bottom) = _empty_century_box()
    scale = FIELD_DPI / 25.4
    middle, centre = (top + bottom) // 2, (left + right) // 2
    dashed = crop.copy()
    dashed[middle : middle + round(0.25 * scale), centre - round(0.45 * scale) : centre + round(0.45 * scale)] = 150
    cells = split_comb(dashed, 11, zone.box[2:], FIELD_DPI).cells
    assert CellReader().read([cells[6]])[0].blank  # too little ink for the model's blank test
    reading = read_crop(dashed, zone, dpi=FIELD_DPI)
    assert reading.raw[6] == "-"
    assert reading.value == truth
    specked = crop.copy()
    specked[middle : middle + 2, centre : centre + 3] = 20
    assert read_crop(specked, zone, dpi=FIELD_DPI).value is None


@needs_corpus
def test_hollow_hyphen_reads_as_a_hyphen() -> None:
    """A hyphen drawn as a small outline (some people outline every stroke) is only 1.3–1.7 times
    as wide as tall; the model sees a box (M), the dash test still sees a short flat mark."""
    crop, zone, truth, (left, right, top, bottom) = _empty_century_box()
    scale = FIELD_DPI / 25.4
    middle, half_w, half_h = (top + bottom) // 2, round(0.95 * scale), round(0.65 * scale)
    centre = (left + right) // 2
    crop[middle - half_h : middle + half_h, centre - half_w : centre + half_w] = 20  # 1.9 × 1.3 mm
    crop[middle - half_h + 3 : middle + half_h - 3, centre - half_w + 3 : centre + half_w - 3] = 255  # hollow
    reading = read_crop(crop, zone, dpi=FIELD_DPI)
    assert reading.raw[6] == "-"
    assert reading.value == truth


def test_a_slanting_stroke_across_a_rule_is_kept_through_it() -> None:
    """A loop crossing the bottom rule at a slant comes out of it to the side of where it went
    in: it is still one stroke, while ink that only sits on the rule keeps none of the rule."""
    ink = np.zeros((40, 60), bool)
    ink[20:25, :] = True  # the printed rule, 5 px
    for y in range(8, 38):  # a slanting stroke crossing it
        ink[y, 10 + y // 2 : 13 + y // 2] = True
    ink[12:20, 45:48] = True  # an upright stroke ending on the rule
    _erase_rule(ink, 20, 25)
    assert cv2.connectedComponents(ink[:, :40].astype(np.uint8))[0] - 1 == 1
    assert not ink[21:24, 40:].any()


def test_an_upright_stroke_across_a_rule_keeps_only_its_own_width() -> None:
    """A 1 written down through the bottom rule keeps the rule under itself and no more: the
    rule's width either side of it made a cross (a 1 read as +, I or t)."""
    ink = np.zeros((40, 60), bool)
    ink[20:25, :] = True  # the printed rule, 5 px
    ink[5:38, 28:32] = True  # the 1, straight down through it
    _erase_rule(ink, 20, 25)
    assert cv2.connectedComponents(ink.astype(np.uint8))[0] - 1 == 1
    assert np.flatnonzero(ink[20:25].any(axis=0)).tolist() == [28, 29, 30, 31]


def _empty_comb(cells: int, box_w: float, box_h: float) -> tuple[np.ndarray, int, int, float]:
    """A printed comb of ``cells`` boxes (box_w × box_h mm) as ``zone_crop`` cuts it at FIELD_DPI:
    the crop, the margin and box height in pixels, and the pitch."""
    scale = FIELD_DPI / 25.4
    m = round(MARGIN_MM * scale)
    w, h = round(box_w * scale), round(box_h * scale)
    crop = np.full((h + m + round(5 * scale), w + 2 * m), 255, np.uint8)
    pitch = w / cells
    cv2.rectangle(crop, (m, m), (m + w, m + h), 0, 3)
    for k in range(1, cells):
        cv2.line(crop, (m + round(k * pitch), m), (m + round(k * pitch), m + h), 0, 3)
    return crop, m, h, pitch


def test_touching_neighbours_are_cut_at_the_separator() -> None:
    """A 7 whose bar runs into the next box's 0 is one stroke with it: each box keeps its own half."""
    scale = FIELD_DPI / 25.4
    cells, box_w, box_h = 4, 24.0, 7.0
    crop, m, h, pitch = _empty_comb(cells, box_w, box_h)
    x1, x2 = m + round(pitch), m + round(2 * pitch)  # box 1 and box 2's left edges
    top, bottom = m + round(1.5 * scale), m + h - round(1.5 * scale)
    cv2.line(crop, (x1 + 15, top), (x2 + 25, top), 0, 6)  # the 7's bar, on into box 2 ...
    cv2.line(crop, (x2 - 15, top), (x1 + 30, bottom), 0, 6)  # ... and its stem
    cv2.ellipse(crop, (x2 + round(pitch / 2), (top + bottom) // 2), (18, (bottom - top) // 2), 0, 0, 360, 0, 6)
    comb = split_comb(crop, cells, (box_w, box_h), FIELD_DPI)
    for k in (1, 2):
        cols = np.flatnonzero((comb.cells[k] < 255).any(axis=0))
        assert cols[-1] - cols[0] < pitch, f"box {k} holds ink of its neighbour"


def test_a_pair_written_touching_gives_each_box_its_half() -> None:
    """A big 0 that runs over the separator into the 1 written beside it: one stroke whose
    middle lies in the 0's box. That box cuts it at the separator; the 1's box takes the
    rest (it was left empty, and the whole code unread). The tail of a 7's bar reaching into
    an empty box is no character: that box stays empty."""
    scale = FIELD_DPI / 25.4
    cells, box_w, box_h = 4, 24.0, 7.0
    crop, m, h, pitch = _empty_comb(cells, box_w, box_h)
    x1, x2 = m + round(pitch), m + round(2 * pitch)  # box 1 and box 2's left edges
    middle, top, bottom = m + h // 2, m + round(1.2 * scale), m + h - round(1.2 * scale)
    cv2.ellipse(crop, (x1 - 12, middle), (round(pitch / 2) + 2, (bottom - top) // 2), 0, 0, 360, 0, 6)
    cv2.line(crop, (x1 + 16, top), (x1 + 16, bottom), 0, 6)  # the 1, touching the 0's side
    cv2.line(crop, (x2 + 20, top), (x2 + round(pitch) + 22, top), 0, 6)  # box 2's 7: its bar into box 3 ...
    cv2.line(crop, (x2 + round(pitch) - 4, top), (x2 + 30, bottom), 0, 6)  # ... and its stem
    comb = split_comb(crop, cells, (box_w, box_h), FIELD_DPI)
    zero = np.flatnonzero((comb.cells[0] < 128).any(axis=0))
    assert zero[-1] - zero[0] < pitch, "the 0's box holds the 1 too"
    one = (comb.cells[1] < 128).astype(np.uint8)
    rows, cols = np.flatnonzero(one.any(axis=1)), np.flatnonzero(one.any(axis=0))
    assert rows.size and rows[-1] - rows[0] >= 0.7 * (bottom - top), "the 1's box is empty"
    assert cols[-1] - cols[0] < pitch / 2
    assert not (comb.cells[3] < 128).any(), "a piece of the 7's bar became a character"


def test_a_big_character_reaching_over_a_separator_stays_whole() -> None:
    """A big hand's 6 whose bowl crosses into the next box, where a 0 of its own stands apart:
    cut at the separator it read as U. It keeps its bowl; the 0 stays in its box."""
    scale = FIELD_DPI / 25.4
    cells, box_w, box_h = 4, 24.0, 7.0
    crop, m, h, pitch = _empty_comb(cells, box_w, box_h)
    x2 = m + round(2 * pitch)  # box 2's left edge
    middle, half = m + h // 2, round(2.2 * scale)
    cv2.ellipse(crop, (x2 - 8, middle), (half, half), 0, 0, 360, 0, 6)  # reaching 1.5 mm over
    cv2.ellipse(crop, (x2 + round(pitch / 2) + 4, middle), (10, half), 0, 0, 360, 0, 6)  # box 2's own 0, apart
    comb = split_comb(crop, cells, (box_w, box_h), FIELD_DPI)
    one = np.flatnonzero((comb.cells[1] < 255).any(axis=0))
    assert one[-1] - one[0] >= 2 * half  # the whole ring
    two = np.flatnonzero((comb.cells[2] < 255).any(axis=0))
    assert two[-1] - two[0] < pitch / 2  # only the 0


def test_a_stroke_drawn_down_a_separator_is_kept() -> None:
    """A 0 whose right side runs down the separator (as a hand writing small and to the right
    does): erasing the separator's band took that side with it and left a C. The side stays;
    a 1 written near the next separator without touching it gets no piece of that separator."""
    cells, box_w, box_h = 3, 18.0, 7.0
    crop, m, h, pitch = _empty_comb(cells, box_w, box_h)
    x1, x2 = m + round(pitch), m + round(2 * pitch)
    crop[m + 2 : m + h - 1, x1 - 3 : x1 + 4] = 255  # a thin separator, as printed rules often are
    cv2.line(crop, (x1, m), (x1, m + h), 0, 1)
    radius = round(h / 3)
    cv2.ellipse(crop, (x1 - radius, m + h // 2), (radius, radius), 0, 0, 360, 0, 6)  # its side down the line
    cv2.line(crop, (x2 - 9, m + h // 4), (x2 - 9, m + 3 * h // 4), 0, 4)  # a 1, 7 px left of the next one
    comb = split_comb(crop, cells, (box_w, box_h), FIELD_DPI)
    ring = (comb.cells[0] < 128).astype(np.uint8)
    _, hierarchy = cv2.findContours(ring, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    assert hierarchy is not None and (hierarchy[0][:, 3] >= 0).any(), "the 0 lost its side: no hole left"
    one = np.flatnonzero((comb.cells[1] < 128).any(axis=0))
    assert one[-1] - one[0] <= 6, "a piece of the separator stayed beside the 1"


def test_a_faint_digit_in_a_comb_is_read_whole() -> None:
    """A digit pressed lightly (grey 185) in a box beside black ones keeps all its ink: the
    field's threshold, set by the black digits, would leave the box nearly blank."""
    cells, box_w, box_h = 3, 18.0, 7.0
    crop, m, h, pitch = _empty_comb(cells, box_w, box_h)
    for k, grey in enumerate((0, 185, 0)):
        centre = (m + round((k + 0.5) * pitch), m + h // 2)
        cv2.ellipse(crop, centre, (round(pitch / 4), round(h / 3)), 0, 0, 360, grey, 6)
    comb = split_comb(crop, cells, (box_w, box_h), FIELD_DPI)
    inked = [int((cell < 250).sum()) for cell in comb.cells]
    assert inked[1] > 0.8 * min(inked[0], inked[2])


@needs_corpus
def test_comb_survives_misregistration() -> None:
    """The separators are found on the print, not assumed: shift the page by ±1 mm."""
    warped, zone, _ = _hetu_zone(SCANS[0])
    reference = split_comb(zone_crop(warped, zone, FIELD_DPI), 11, zone.box[2:], FIELD_DPI)
    shift = round(FIELD_DPI / 25.4)
    for dx, dy in ((shift, 0), (-shift, shift), (0, -shift)):
        moved = np.roll(warped, (dy, dx), axis=(0, 1))
        comb = split_comb(zone_crop(moved, zone, FIELD_DPI), 11, zone.box[2:], FIELD_DPI)
        assert comb.found
        assert np.abs(np.array(comb.separators) - dx - np.array(reference.separators)).max() <= 2


@needs_corpus
def test_every_accepted_hetu_on_real_scans_is_right() -> None:
    accepted = 0
    for name in SCANS:
        warped, zone, truth = _hetu_zone(name)
        got = read_zone(warped, zone, dpi=FIELD_DPI)
        assert not got.clear or got.value == truth, f"{name}: accepted {got.value}, written {truth}"
        accepted += got.clear
    assert accepted >= 1, "the reader should settle some of these on its own"


@needs_corpus
def test_real_scan_with_a_wrong_check_box_is_not_accepted() -> None:
    """Put another box's real handwriting into the check box: the code is then invalid as written."""
    reader = CellReader()
    warped, zone, truth = _hetu_zone(SCANS[0])
    comb = split_comb(zone_crop(warped, zone, FIELD_DPI), 11, zone.box[2:], FIELD_DPI)
    for donor in range(10):
        if truth[donor] == truth[10] or donor == 6:
            continue
        cells = list(comb.cells)
        cells[10] = cells[donor]
        read = reader.read(cells)
        boxes = [s if not r.blank else {} for r, s in zip(read, slots(read, reader.classes), strict=True)]
        got = read_hetu(boxes)
        assert not got.clear, f"accepted {got.value} with {truth[donor]!r} in the check box"


def test_training_script_excludes_the_corpus_fonts() -> None:
    source = (Path(__file__).parents[1] / "tools" / "icr" / "glyphs.py").read_text("utf-8")
    for package in ("humor-sans", "fifthhorseman", "femkeklaver", "bwht"):
        assert f'"{package}"' in source


@pytest.mark.parametrize("which", ["digits", "capitals"])
def test_drawn_characters_come_in_several_shapes_and_stay_on_the_canvas(which: str) -> None:
    """The training's stroke-drawn digits and capitals (tools/icr/strokes.py): all of them,
    whole, and not one drawing each."""
    from tools.icr.glyphs import CANVAS
    from tools.icr.strokes import drawn, drawn_capitals

    draw, chars = (drawn, "0123456789") if which == "digits" else (drawn_capitals, "ABCDEFGHIJKLMNOPQRSTUVWXYZÅÄÖ")
    rng = np.random.default_rng(3)
    samples = [draw(rng) for _ in range(40)]
    assert all(sorted(sample) == sorted(chars) for sample in samples)
    for sample in samples:
        for char, image in sample.items():
            ys, xs = np.nonzero(image < 128)
            assert len(xs) > 40, f"{char} has hardly any ink"
            assert xs.min() > 2 and ys.min() > 2 and xs.max() < CANVAS - 3 and ys.max() < CANVAS - 3, char
    for char in chars:
        masks = [(sample[char] < 128).astype(np.float32) for sample in samples]
        overlap = [float((a * b).sum() / max(a.sum(), b.sum())) for a, b in itertools.pairwise(masks)]
        assert min(overlap) < 0.6, f"every {char} is drawn alike"


def test_unipen_characters_are_read_by_their_components_and_drawn_upright(tmp_path: Path) -> None:
    """tools/icr/unipen.py on a small file in UNIPEN's format: a segment names components
    (pen-up ones with points count, but are not ink) or points within them; a label outside
    the digits and capitals, or components that are not there, give nothing. Tablets count y
    upwards: a stroke written upwards ends at the top of the drawing."""
    from tools.icr import unipen
    from tools.icr.glyphs import CANVAS

    (tmp_path / "include" / "xyz" / "data").mkdir(parents=True)
    (tmp_path / "data" / "1a" / "xyz").mkdir(parents=True)
    stroke = "\n".join(f"\t{100 + k}\t{200 + 40 * k}" for k in range(6))  # written upwards
    (tmp_path / "include" / "xyz" / "data" / "w1.dat").write_text(
        ".VERSION 1.0\n.WRITER_ID writer_a\n"
        f".PEN_DOWN\n{stroke}\n.PEN_UP\n\t105\t400\n\t150\t400\n"  # 0 ink, 1 the pen in the air
        ".PEN_DOWN\n\t150\t400\n\t150\t200\n.PEN_UP\n"  # 2
        ".WRITER_ID writer_b\n.PEN_DOWN\n\t10\t10\n\t20\t20\n\t30\t30\n\t40\t40\n.PEN_UP\n",  # 3
        encoding="latin-1",
    )
    (tmp_path / "data" / "1a" / "xyz" / "w1.dat").write_text(
        ".VERSION 1.0\n.INCLUDE xyz/data/w1.dat\n"
        '.SEGMENT CHARACTER 0-2 ? "4"\n'
        '.SEGMENT CHARACTER 3:1-3:2 OK "7"\n'
        '.SEGMENT CHARACTER 3 ? "%"\n'
        '.SEGMENT CHARACTER 4-5 ? "1"\n',
        encoding="latin-1",
    )
    four, seven = unipen.read(tmp_path, ("1a",))
    assert (four.label, four.writer, four.site) == ("4", "xyz/writer_a", "xyz")
    assert [len(s) for s in four.strokes] == [6, 2]  # the pen-up component is no stroke
    assert seven.writer == "xyz/writer_b" and seven.strokes[0].tolist() == [[20, 20], [30, 30]]
    image = unipen.draw(four, np.random.default_rng(0), pen=3)
    ys, xs = np.nonzero(image < 128)
    assert ys.min() > 0 and ys.max() < CANVAS - 1 and xs.min() > 0 and xs.max() < CANVAS - 1
    first = unipen.draw(unipen.Sample("1", (four.strokes[0],), "w", "xyz"), np.random.default_rng(0), pen=3)
    ys, xs = np.nonzero(first < 128)
    assert ys[np.argmin(xs)] > ys[np.argmax(xs)], "drawn upside down: the stroke goes up and to the right"
    assert unipen.held_out(four) == unipen.held_out(unipen.Sample("0", (), "xyz/writer_a", "xyz"))
