"""Accuracy of a shipped ONNX model on its database split, scored by onnxruntime (not torch).

The training run prints accuracies from torch; this re-measures the exported file the planner and the
node load, on the same split (rebuilt from the card's training settings and the database), or, given the run's
``split.json``, on every object of the database the run did not train on.

    python benchmarks/eval_model_accuracy.py --data datasets/std --model models/grasp_cnn.json \
        [--split runs/rot6d/split.json] [--images-per-object 20] [--quarter-turns 1] [--record] \
        [--out out/model_accuracy.json]

Poses are scored as the planner scores them: averaged over the card's ``quarter_turns`` turned views
(``--quarter-turns`` overrides, to compare). ``--record`` writes the figures into the card's metrics.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from grasp_planner.learning.dataset import evaluation_groups, load_database, make_batch, make_split
from grasp_planner.learning.model_card import ModelCard
from grasp_planner.learning.onnx_models import open_session

PARTS = ("train", "new_images", "new_poses", "unseen")


def accuracy(session, objects, groups, encoding, turns: int = 1, chunk: int = 64) -> tuple[float, np.ndarray]:
    """Balanced-sample accuracy and the 2x2 confusion matrix (rows: true failed/robust).

    Logits are the mean over ``turns`` quarter turns of each view (learning.quarter_turns).
    """
    confusion = np.zeros((2, 2), dtype=np.int64)
    for start in range(0, len(groups), chunk):
        logits = 0.0
        for k in range(turns):
            batch = make_batch(objects, groups[start:start + chunk], encoding, quarter_turn=k)
            depth = batch.depth[batch.image_index]
            logits = logits + session.run(None, {"depth": depth, "pose": batch.pose.astype(np.float32)})[0] / turns
        np.add.at(confusion, (batch.target, logits.argmax(axis=1)), 1)
    return float(np.trace(confusion) / confusion.sum()), confusion


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
    parser.add_argument("--model", type=Path, default=Path("models/grasp_cnn.json"))
    parser.add_argument("--split", type=Path,
                        help="the training run's split.json: evaluate on objects it did not train on")
    parser.add_argument("--images-per-object", type=int, default=20)
    parser.add_argument("--grasps-per-image", type=int, default=32)
    parser.add_argument("--quarter-turns", type=int, choices=[1, 4], dest="quarter_turns",
                        help="average over this many quarter turns of each view (default: the card's)")
    parser.add_argument("--parts", nargs="+", help="only these parts (e.g. unseen)")
    parser.add_argument("--record", action="store_true",
                        help="write the figures into the card's metrics as 'onnx_accuracy'")
    parser.add_argument("--out", type=Path, default=Path("out/model_accuracy.json"))
    args = parser.parse_args()

    card = ModelCard.load(args.model)
    settings = card.training["settings"]
    objects = load_database(args.data, card.depth_normalization)
    split = make_split(objects, settings["seed"], settings["min_robust"], settings["unseen_fraction"],
                       settings["new_image_fraction"], settings["new_pose_fraction"], settings["balance"])
    session = open_session(card.file_path("full"), "full", card)
    if args.split:
        parts = parts_from_written_split(objects, json.loads(args.split.read_text()), settings["seed"],
                                         args.images_per_object)
    else:
        parts = {part: evaluation_groups(split, objects, part, settings["seed"], args.images_per_object,
                                         args.grasps_per_image) for part in PARTS}
    turns = args.quarter_turns or card.quarter_turns
    results = {}
    for part, groups in parts.items():
        if args.parts and part not in args.parts:
            continue
        acc, confusion = accuracy(session, objects, groups, card.pose_encoding, turns)
        results[part] = {"accuracy": acc, "samples": int(confusion.sum()), "confusion": confusion.tolist()}
        print(f"{part:>10s}: {acc:.1%} of {confusion.sum()} samples ({turns} quarter turn(s)), "
              f"confusion {confusion.tolist()}")
    if args.record:
        card.metrics["onnx_accuracy"] = {
            "quarter_turns": turns, "split": str(args.split) if args.split else "rebuilt from the card's settings",
            "images_per_object": args.images_per_object, "measured_with": "benchmarks/eval_model_accuracy.py",
            **{part: round(r["accuracy"], 4) for part, r in results.items()},
            "samples": {part: r["samples"] for part, r in results.items()}}
        card.save(card.path)
        print(f"recorded in {card.path}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"model": str(args.model), "data": str(args.data), "results": results}, indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
