"""Join exported character models into one that reads with all of them (a geometric-mean ensemble).

Run with the training venv (see tools/icr/train.py), from the repository root:

    /work/icr-cache/venv-train/bin/python -m tools.icr.combine A.onnx B.onnx --out intake/routing/icr/icr.onnx
    .venv/bin/python -m tools.icr.calibrate --write

Two networks trained apart (other depth, other start) err on different boxes: one model's
doubt is often the other's certainty. The joined model's logits are the mean of each model's
logits divided by its own temperature, so its softmax is the normalised geometric mean of the
members' calibrated softmaxes; the joined temperature starts at 1 and is fitted again by
tools/icr/calibrate.py. Intake still loads one file and runs one forward pass.

``--onto JOINED.onnx`` adds one model to a model already joined, side by side in one ONNX
graph (the members' own files are not needed): each of the n + 1 members keeps an equal
share, as if all had been joined at once (``--share`` gives it another).

``--split JOINED.onnx --out DIR`` does the reverse: each member of a joined model is written
to DIR as the exported model it was (its own .onnx and .json, as ``train`` wrote them), to be
joined again in another company. Checked: each member read with PyTorch from its split file
matches its part of the joined graph to 8·10⁻⁵ (the folded BatchNorm's rounding).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

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


def onto(base: Path, path: Path, out: Path, share: float | None = None) -> None:
    """``path`` joined onto the joined model ``base``: logits (n·base + new/T) / (n + 1), or, with
    ``share``, (1 − share)·base + share·new/T.

    Needs only the onnx package (no PyTorch). Checked: the result's logits equal that sum,
    computed from the two models apart, to 5·10⁻⁷."""
    import onnx
    from onnx import TensorProto, compose, helper, numpy_helper

    base_meta = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
    meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    if "members" in meta or meta["classes"] != list(CLASSES):
        raise SystemExit(f"{path} is not one model of this training's classes")
    if "members" not in base_meta or base_meta["classes"] != meta["classes"]:
        raise SystemExit(f"{base} is not a joined model of this training's classes")
    if base_meta.get("normalisation") != meta.get("normalisation"):
        raise SystemExit(f"{path} was trained on glyphs normalised otherwise than {base}'s members")
    temperature = float(meta.get("temperature", 1.0))
    count = len(base_meta["members"])
    joined, extra = onnx.load(str(base)), onnx.load(str(path))
    joined_graph = joined.graph
    extra = compose.add_prefix(extra, prefix=f"m{count}_")
    image, inner = joined_graph.input[0].name, extra.graph.input[0].name
    for node in extra.graph.node:
        node.input[:] = [image if name == inner else name for name in node.input]
    share = 1 / (count + 1) if share is None else share
    if not 0 < share < 1:
        raise SystemExit(f"--share must lie between 0 and 1, not {share}")
    shares = {"onto_base_share": 1 - share, "onto_new_share": share / temperature}
    weights = [numpy_helper.from_array(np.array(value, np.float32), name) for name, value in shares.items()]
    ends = (joined_graph.output[0].name, extra.graph.output[0].name)
    tail = [helper.make_node("Mul", [ends[0], "onto_base_share"], ["onto_base"]),
            helper.make_node("Mul", [ends[1], "onto_new_share"], ["onto_new"]),
            helper.make_node("Add", ["onto_base", "onto_new"], ["joined_logits"])]  # fmt: skip
    output = helper.make_tensor_value_info("joined_logits", TensorProto.FLOAT, ["n", len(meta["classes"])])
    graph = helper.make_graph(
        [*joined_graph.node, *extra.graph.node, *tail], "joined", [joined_graph.input[0]], [output],
        [*joined_graph.initializer, *extra.graph.initializer, *weights],
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=joined.opset_import)
    onnx.checker.check_model(model)
    onnx.save(model, str(out))
    added = {"model": path.name, "share": round(share, 4), **{k: v for k, v in meta.items() if k not in base_meta}}
    out_meta = {**base_meta, "members": [*base_meta["members"], added], "temperature": 1.0}
    out_meta.pop("temperature_fit", None)
    out.with_suffix(".json").write_text(json.dumps(out_meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {out} ({out.stat().st_size} bytes): {path.name} onto {base.name}'s {count} members")


def split(base: Path, out: Path) -> None:
    """Write each member of the joined model ``base`` to ``out`` as a model of its own."""
    import re

    import onnx
    from onnx import utils

    meta = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
    if "members" not in meta:
        raise SystemExit(f"{base} is not a joined model")
    model = onnx.load(str(base))
    graph = model.graph
    # Each member's logits are divided by its temperature before the mean: /members.<i>/... ÷ T.
    ends = {int(m.group(1)): node.input[0] for node in graph.node
            if node.op_type == "Div" and (m := re.match(r"/members\.(\d+)/", node.input[0]))}  # fmt: skip
    if sorted(ends) != list(range(len(meta["members"]))):
        raise SystemExit(f"{base}: its graph is not one that combine joined (made with --onto?)")
    order = {init.name: k for k, init in enumerate(graph.initializer)}
    shared = {k: v for k, v in meta.items() if k not in ("members", "temperature", "temperature_fit")}
    out.mkdir(parents=True, exist_ok=True)
    for i, member in enumerate(meta["members"]):
        path = out / member["model"]
        utils.extract_model(str(base), str(path), [graph.input[0].name], [ends[i]])
        part = onnx.load(str(path))
        # start_from reads the weights in the order train exported them: keep the joined graph's.
        weights = sorted(part.graph.initializer, key=lambda w: order[w.name])
        del part.graph.initializer[:]
        part.graph.initializer.extend(weights)
        onnx.save(part, str(path))
        path.with_suffix(".json").write_text(
            json.dumps({**shared, **member}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", type=Path, nargs="*", help="exported models (.onnx with their .json)")
    parser.add_argument("--out", type=Path, required=True, help="the joined model (with --split: a folder)")
    parser.add_argument("--split", type=Path, help="write this joined model's members to --out instead")
    parser.add_argument("--onto", type=Path, help="a joined model to add the one model to")
    parser.add_argument("--share", type=float, help="with --onto: the added model's share (default: an equal one)")
    args = parser.parse_args()
    if args.split:
        split(args.split, args.out)
        return
    if not args.models:
        raise SystemExit("no models to join")
    if args.onto:
        if len(args.models) != 1:
            raise SystemExit("--onto adds one model at a time")
        onto(args.onto, args.models[0], args.out, args.share)
        return
    parts = [load(path) for path in args.models]
    first = parts[0][2]
    made = {m.get("normalisation") for _, _, m in parts}
    if len(made) > 1:
        raise SystemExit(f"the models were trained on differently normalised glyphs: {sorted(map(str, made))}")
    meta = {key: first[key] for key in ("classes", "size", "normalisation", "training_fonts", "held_out_fonts",
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
