"""Join exported character models into one that reads with all of them (a geometric-mean ensemble).

Run with the training venv (see tools/icr/train.py), from the repository root:

    /work/icr-cache/venv-train/bin/python -m tools.icr.combine A.onnx B.onnx --out intake/routing/icr/icr.onnx
    .venv/bin/python -m tools.icr.calibrate --write

Two networks trained apart (other depth, other start) err on different boxes: one model's
doubt is often the other's certainty. The joined model's logits are the mean of each model's
logits divided by its own temperature, so its softmax is the normalised geometric mean of the
members' calibrated softmaxes; the joined temperature starts at 1 and is fitted again by
tools/icr/calibrate.py. Intake still loads one file and runs one forward pass.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tools.icr.train import CLASSES, export, network, start_from


def load(path: Path):
    """An exported model as a PyTorch network in evaluation mode, its temperature and its meta."""
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    if "members" in meta:
        members = ", ".join(m["model"] for m in meta["members"])
        raise SystemExit(f"{path} is already joined: join its members ({members})")
    if meta["classes"] != list(CLASSES):
        raise SystemExit(f"{path}: its classes are not this training's ({''.join(meta['classes'])})")
    model = network(meta.get("width", 1), meta.get("depth", 1))  # models from before --width were 1 wide
    start_from(model, path)
    return model.eval(), float(meta.get("temperature", 1.0)), meta


def joined(parts: list):
    import torch

    class Joined(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.members = torch.nn.ModuleList([model for model, _, _ in parts])
            self.temperatures = [t for _, t, _ in parts]

        def forward(self, x):
            logits = [model(x) / t for model, t in zip(self.members, self.temperatures, strict=True)]
            return torch.stack(logits).mean(dim=0)

    return Joined().eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", type=Path, nargs="+", help="exported models (.onnx with their .json)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    parts = [load(path) for path in args.models]
    first = parts[0][2]
    meta = {key: first[key] for key in ("classes", "size", "training_fonts", "held_out_fonts",
                                        "excluded_font_packages") if key in first}  # fmt: skip
    meta["members"] = [
        {"model": path.name, **{k: v for k, v in m.items() if k not in meta}}
        for path, (_, _, m) in zip(args.models, parts, strict=True)
    ]
    meta["temperature"] = 1.0
    export(joined(parts), args.out, meta)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes) from {', '.join(p.name for p in args.models)}")


if __name__ == "__main__":
    main()
