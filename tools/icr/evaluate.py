"""Measure the hand-print reader per field kind: exact, accepted (valid), accepted but wrong.

    .venv/bin/python -m tools.icr.evaluate                  # dev corpus (crops cached by tools/icr/corpus.py)
    .venv/bin/python -m tools.icr.evaluate --synthetic 300  # fields written in fonts held out of training

Both go through intake's own path from a zone's crop: cutting, the model, each kind's
rules and the proof (``intake.routing.fields.prove``). The dev corpus is written in fonts
kept out of training; the synthetic fields in the HELD_OUT fonts of tools/icr/glyphs.py.
"""

from __future__ import annotations

import argparse
import collections
import itertools
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from intake.bench import _normal
from intake.routing.fields import prove
from intake.routing.icr import CellReader, decode, read_crop
from intake.routing.icr.model import MODEL
from intake.routing.templates import Zone, load_templates
from intake.routing.validators import validate
from tools.icr import corpus

# Rows that count again fields of other rows: left out of the total.
USUAL_SIGNS = "hetu, century sign - A +"
NEW_SIGNS = "hetu, a new century sign (Y X W V U, B–F)"
_PARTS = frozenset({"postal+municipality", USUAL_SIGNS, NEW_SIGNS})


def _zones() -> dict[tuple[str, str], Zone]:
    return {(t.id, z.name): z for t in load_templates() for z in t.zones}


def read_documents(documents: Iterable[list[dict]], reader: CellReader) -> list[tuple[list[dict], dict]]:
    """Each document's samples with every zone read (``read_crop``), before the proof."""
    zones = _zones()
    out = []
    for samples in documents:
        readings = {}
        for s in samples:
            zone = zones[(s["form_id"], s["zone"])]
            readings[zone.name] = (zone, read_crop(s["crop"], zone, dpi=300, reader=reader))
        out.append((samples, readings))
    return out


def score(documents: Iterable[list[dict]], reader: CellReader) -> dict[str, collections.Counter]:
    """Per kind: filled fields, exact values, marked valid, marked valid but wrong."""
    return tally(read_documents(documents, reader))


def tally(read: list[tuple[list[dict], dict]], wrong: list | None = None) -> dict[str, collections.Counter]:
    """``score`` from documents already read; the values accepted but wrong are added to ``wrong``."""
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for samples, readings in read:
        values = prove(readings)
        for s in samples:
            if not s["value"]:
                continue
            kind = "municipality" if s["zone"].endswith("municipality") else s["kind"]
            got = values.get(s["zone"])
            wanted = _normal(validate(s["kind"], s["value"])[0], s["kind"])
            right = bool(got and _normal(got.value, s["kind"]) == wanted)
            # An unproven henkilötunnus has no value: what the advisor sees first is its best candidate.
            first = right or bool(got and got.candidates and _normal(got.candidates[0], s["kind"]) == wanted)
            row = table[kind]
            valid = bool(got and got.valid)
            counts = {"n": 1, "exact": int(right), "first": int(first), "valid": int(valid),
                      "wrong": int(valid and not right)}  # fmt: skip
            row.update(counts)
            if valid and not right and wrong is not None:
                wrong.append((kind, s["hand"], s["value"], got.value if got else None))
            if kind in ("postal", "municipality"):
                table["postal+municipality"].update(counts)
            if kind == "hetu":  # a new century sign is outside the check character, and rare (NEW_SIGN_PRIOR)
                table[USUAL_SIGNS if wanted[6:7] in "-A+" else NEW_SIGNS].update(counts)
    return table


def print_table(table: dict[str, collections.Counter], title: str) -> None:
    print(f"\n{title}\n")
    print("| kind | fields | exact | value or first candidate right | accepted (valid) | accepted but wrong |")
    print("|---|---|---|---|---|---|")
    total: collections.Counter = collections.Counter()
    for kind, row in sorted(table.items()):
        if kind not in _PARTS:
            total.update(row)
        print(_row(kind, row))
    print(_row("**all**", total))


def _row(kind: str, r: collections.Counter) -> str:
    n = max(r["n"], 1)
    return (f"| {kind} | {r['n']} | {r['exact']} ({100 * r['exact'] / n:.0f} %) | "
            f"{r['first']} ({100 * r['first'] / n:.0f} %) | "
            f"{r['valid']} ({100 * r['valid'] / n:.0f} %) | {r['wrong']} |")  # fmt: skip


def sweep(args: argparse.Namespace, reader: CellReader) -> None:
    """Accepted, and wrong among accepted, at several thresholds: where ACCEPT_POSTERIOR and PAIR_CODE_POSTERIOR
    come from.

    Every zone is read once with no posterior threshold; a reading is then clear at a
    threshold when it was clear without one and its posterior reaches it. PAIR_POSTERIOR
    (a municipality proven by its postal code) keeps its value; PAIR_CODE_POSTERIOR (the code
    of such a pair) too, unless ``--code`` gives others.
    """
    from tools.icr import synthetic

    forms = synthetic.documents(args.synthetic, args.seed) if args.synthetic else corpus_documents()
    saved, decode.ACCEPT_POSTERIOR = decode.ACCEPT_POSTERIOR, 0.0
    try:
        read = read_documents(forms, reader)
    finally:
        decode.ACCEPT_POSTERIOR = saved
    saved_code = decode.PAIR_CODE_POSTERIOR
    try:
        for code, threshold in itertools.product(args.code or [saved_code], args.accept):
            decode.PAIR_CODE_POSTERIOR = code
            at = [
                (
                    samples,
                    {k: (z, replace(r, clear=r.clear and r.confidence >= threshold)) for k, (z, r) in readings.items()},
                )
                for samples, readings in read
            ]
            wrong: list = []
            table = tally(at, wrong)
            accepted = sum(r["valid"] for k, r in table.items() if k not in _PARTS)
            places = table["postal+municipality"]["valid"]
            print(f"PAIR_CODE_POSTERIOR {code} ACCEPT_POSTERIOR {threshold}: accepted {accepted} "
                  f"(postal code or municipality {places}), wrong {len(wrong)} {wrong}")  # fmt: skip
    finally:
        decode.PAIR_CODE_POSTERIOR = saved_code


def corpus_documents() -> list[list[dict]]:
    """The cached samples grouped per document (a batch may hold two of the same form in a row)."""
    documents: list[list[dict]] = []
    for _, group in itertools.groupby(corpus.load(), key=lambda s: (s["file"], s["form_id"])):
        for sample in group:
            if (
                not documents
                or documents[-1][0]["file"] != sample["file"]
                or sample["zone"] in {s["zone"] for s in documents[-1]}
                or documents[-1][0]["form_id"] != sample["form_id"]
            ):
                documents.append([])
            documents[-1].append(sample)
    return documents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=MODEL)
    parser.add_argument("--synthetic", type=int, default=0, help="this many synthetic forms instead of the corpus")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--accept", type=float, nargs="*", help="measure at these ACCEPT_POSTERIOR values instead")
    parser.add_argument("--code", type=float, nargs="*", help="... and at these PAIR_CODE_POSTERIOR values")
    args = parser.parse_args()
    reader = CellReader(args.model)
    if args.accept:
        sweep(args, reader)
        return
    if args.synthetic:
        from tools.icr import synthetic

        print_table(score(synthetic.documents(args.synthetic, args.seed), reader), "synthetic, held-out fonts")
    else:
        print_table(score(corpus_documents(), reader), "dev corpus (hands held out of training)")


if __name__ == "__main__":
    main()
