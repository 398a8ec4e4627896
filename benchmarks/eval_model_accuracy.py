"""Accuracy of a shipped ONNX model on its database split, scored by onnxruntime (not torch).

The training run prints accuracies from torch; this re-measures the exported file the planner and the
node load, on the same split (rebuilt from the card's training settings and the database), or, given the run's
``split.json``, on every object of the database the run did not train on.

    python benchmarks/eval_model_accuracy.py --data datasets/std --model models/grasp_cnn.json [OTHER.json ...] \
        [--split runs/rot6d/split.json] [--images-per-object 20] [--quarter-turns 1 [4 8]] [--record] \
        [--out out/model_accuracy.json]

Poses are scored as the planner scores them: averaged over the card's ``quarter_turns`` views
(``--quarter-turns`` overrides, to compare). ``--record`` writes the figures into the card's metrics.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from grasp_planner.learning.dataset import (evaluation_groups, load_database, make_batch, make_split,
                                            tally_per_object)
from grasp_planner.contract.model_card import ModelCard
from grasp_planner.contract.onnx_models import open_card_sessions

PARTS = ("train", "new_images", "new_poses", "unseen")


def accuracy(sessions, objects, groups, encoding, turns: int = 1, chunk: int = 64):
    """Balanced-sample accuracy, the 2x2 confusion matrix (rows: true failed/robust) and, per object
    position, ``[correct, samples]``. Logits are the mean over views 0 .. turns-1 of each image.
    ``sessions``: the card's encoder and head (the encoder runs once per image, as in the planner)."""
    confusion = np.zeros((2, 2), dtype=np.int64)
    per_object: dict[int, list[int]] = {}
    for start in range(0, len(groups), chunk):
        logits, part = 0.0, groups[start:start + chunk]
        for k in range(turns):
            batch = make_batch(objects, part, encoding, views=np.full(len(part), k))
            features = sessions["encoder"].run(None, {"depth": batch.depth})[0]  # once per image
            logits = logits + sessions["head"].run(None, {"features": features[batch.image_index],
                                                          "pose": batch.pose.astype(np.float32)})[0] / turns
        pred = logits.argmax(axis=1)
        np.add.at(confusion, (batch.target, pred), 1)
        tally_per_object(per_object, batch.object_position, pred == batch.target)
    return float(np.trace(confusion) / confusion.sum()), confusion, per_object


def object_bootstrap(per_object: dict, seed: int = 0, n: int = 2000) -> tuple[float, float]:
    """95% interval of the accuracy when the objects themselves are resampled (samples of one object are
    not independent: its few grasps repeat over its images)."""
    counts = np.array(list(per_object.values()), dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(counts), (n, len(counts)))
    acc = counts[picks, 0].sum(axis=1) / counts[picks, 1].sum(axis=1)
    return float(np.percentile(acc, 2.5)), float(np.percentile(acc, 97.5))


def parts_from_written_split(objects, written: dict, seed: int, images_per_object: int) -> dict:
    """Evaluation groups when the database differs from the run's (e.g. regenerated elsewhere).

    ``unseen``: every object here with a robust and a failed grasp that the run did not train on
    (not in its ``seen`` list); ``seen_objects``: those it trained on (their training images included,
    so an optimistic figure). Each object: all robust grasps and as many failed ones, on
    ``images_per_object`` random images.
    """
    rng = np.random.default_rng(seed)
    trained = set(written["seen"])
    parts = {"unseen": [], "seen_objects": []}
    for i, obj in enumerate(objects):
        if len(obj.robust) == 0 or len(obj.failed) == 0:
            continue
        n = min(len(obj.robust), len(obj.failed))
        grasps = np.concatenate([rng.choice(obj.robust, n, replace=False), rng.choice(obj.failed, n, replace=False)])
        images = rng.choice(len(obj.depth), min(images_per_object, len(obj.depth)), replace=False)
        part = "seen_objects" if obj.name in trained else "unseen"
        parts[part] += [(i, int(m), grasps) for m in images]
    return parts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", type=Path, nargs="+", default=[Path("models/grasp_cnn.json")],
                        help="model card(s); several are scored on the same samples (one database read)")
    parser.add_argument("--split", type=Path,
                        help="the training run's split.json: evaluate on objects it did not train on")
    parser.add_argument("--all-unseen", action="store_true", dest="all_unseen",
                        help="every object of --data is unseen (a database generated with another seed, e.g. "
                             "config/dataset_unseen_test.yaml): score them all as 'unseen'")
    parser.add_argument("--images-per-object", type=int, default=20)
    parser.add_argument("--grasps-per-image", type=int, default=32)
    parser.add_argument("--quarter-turns", type=int, nargs="+", choices=[1, 4, 8], dest="quarter_turns",
                        help="average over this many views of each image: 4 quarter turns, 8 with their mirror "
                             "images (default: the card's; several: each in turn)")
    parser.add_argument("--parts", nargs="+", help="only these parts (e.g. unseen)")
    parser.add_argument("--record", action="store_true",
                        help="write the figures into the card's metrics as 'onnx_accuracy' (one model, one setting)")
    parser.add_argument("--out", type=Path, default=Path("out/model_accuracy.json"))
    args = parser.parse_args()

    cards = [ModelCard.load(path) for path in args.model]
    if args.record and (len(cards) > 1 or len(args.quarter_turns or [None]) > 1):
        parser.error("--record takes one --model and at most one --quarter-turns")
    settings = cards[0].training["settings"]
    split_keys = ("seed", "min_robust", "unseen_fraction", "new_image_fraction", "new_pose_fraction", "balance")
    for card in cards[1:]:
        other = card.training["settings"]
        if any(other.get(k) != settings.get(k) for k in split_keys) or card.depth_normalization != \
                cards[0].depth_normalization:
            parser.error(f"{card.path} was trained on another split or input normalisation than {cards[0].path}; "
                         f"score it in a run of its own")
    objects = load_database(args.data, cards[0].depth_normalization)
    if args.split or args.all_unseen:
        written = {"seen": []} if args.all_unseen else json.loads(args.split.read_text())
        parts = parts_from_written_split(objects, written, settings["seed"], args.images_per_object)
        parts = {part: groups for part, groups in parts.items() if groups}
    else:
        split = make_split(objects, settings["seed"], settings["min_robust"], settings["unseen_fraction"],
                           settings["new_image_fraction"], settings["new_pose_fraction"], settings["balance"])
        parts = {part: evaluation_groups(split, objects, part, settings["seed"], args.images_per_object,
                                         args.grasps_per_image) for part in PARTS}
    runs = {}
    for card in cards:
        sessions = open_card_sessions(card, threads=2)
        for turns in args.quarter_turns or [card.quarter_turns]:
            print(f"{card.path} ({turns} view(s))")
            results = runs.setdefault(str(card.path), {})[turns] = {}
            for part, groups in parts.items():
                if args.parts and part not in args.parts:
                    continue
                acc, confusion, per_object = accuracy(sessions, objects, groups, card.pose_encoding, turns)
                low, high = object_bootstrap(per_object)
                results[part] = {"accuracy": acc, "interval_95_over_objects": [low, high],
                                 "objects": len(per_object), "samples": int(confusion.sum()),
                                 "confusion": confusion.tolist()}
                print(f"{part:>12s}: {acc:.1%} (95% interval over objects {low:.1%}-{high:.1%}) of "
                      f"{confusion.sum()} samples on {len(per_object)} objects, confusion {confusion.tolist()}")
    if args.record:
        card, (turns, results) = cards[0], next(iter(runs[str(cards[0].path)].items()))
        card.metrics.setdefault("onnx_accuracy", {})[args.data.name] = {
            "quarter_turns": turns, "data": str(args.data),
            "split": ("all objects unseen" if args.all_unseen else str(args.split) if args.split
                      else "rebuilt from the card's settings"),
            "images_per_object": args.images_per_object, "measured_with": "benchmarks/eval_model_accuracy.py",
            **{part: {k: r[k] for k in ("accuracy", "interval_95_over_objects", "objects", "samples")}
               for part, r in results.items()}}
        card.save(card.path)
        print(f"recorded in {card.path}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"data": str(args.data), "results": runs}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
