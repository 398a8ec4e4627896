"""Balanced accuracy of exported ONNX models on the unseen table-top objects of a training run's split.

Scored by onnxruntime on the exported files (encoder once per image, as the planner does), on the
training views of the label store (data.training_views, cached), every robust and failed grasp of
each unseen object on every view. Balanced accuracy = mean of the robust and failed recalls; its 95%
interval resamples the objects (a grasp repeats over an object's views, so samples are not independent).

    python benchmarks/eval_table_accuracy.py --store datasets/labels --split runs/table/split.json \
        --model models/grasp_cnn.json runs/table/grasp_cnn.json [--background none] [--out out/table_acc.json]

Each model is scored on views with its card's ``view_background``. Without ``--split``, every object
with a robust and a failed grasp is scored (a store no model trained on).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from grasp_planner.contract.model_card import ModelCard
from grasp_planner.contract.onnx_models import open_card_sessions
from grasp_planner.data.training_views import ViewParams, build_cache
from grasp_planner.learning.dataset import make_batch
from grasp_planner.learning.table_dataset import load_table_objects


def per_object_confusion(sessions, objects, groups, encoding, chunk: int = 32) -> dict:
    """{object position: 2x2 confusion (rows true failed/robust, cols predicted)}."""
    out: dict[int, np.ndarray] = {}
    for start in range(0, len(groups), chunk):
        batch = make_batch(objects, groups[start:start + chunk], encoding)
        features = sessions["encoder"].run(None, {"depth": batch.depth})[0]
        feeds = {"features": features[batch.image_index], "pose": batch.pose.astype(np.float32)}
        logits = sessions["head"].run(None, feeds)[0]
        pred = logits.argmax(axis=1)
        for i in np.unique(batch.object_position):
            sel = batch.object_position == i
            c = out.setdefault(int(i), np.zeros((2, 2), np.int64))
            np.add.at(c, (batch.target[sel], pred[sel]), 1)
    return out


def balanced(confusion: np.ndarray) -> float:
    totals = confusion.sum(axis=1)
    return float(np.mean([confusion[k, k] / totals[k] for k in range(2) if totals[k]]))


def bootstrap(per_object: dict, seed: int = 0, n: int = 2000) -> tuple[float, float]:
    """95% interval of the balanced accuracy with the objects resampled."""
    stack = np.stack(list(per_object.values()))
    rng = np.random.default_rng(seed)
    values = [balanced(stack[rng.integers(0, len(stack), len(stack))].sum(axis=0)) for _ in range(n)]
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="datasets/labels")
    parser.add_argument("--cache", default="datasets/cache/views")
    parser.add_argument("--split", help="a run's split.json: score its unseen objects")
    parser.add_argument("--model", nargs="+", default=["models/grasp_cnn.json"])
    parser.add_argument("--views-per-object", type=int, default=8)
    parser.add_argument("--out")
    args = parser.parse_args()
    unseen = set(json.loads(Path(args.split).read_text())["unseen"]) if args.split else None
    report = {"store": args.store, "split": args.split, "models": {}}
    for path in args.model:
        card = ModelCard.load(path)
        params = ViewParams(views_per_object=args.views_per_object, background=card.view_background)
        build_cache(args.store, args.cache, params)
        objects, record = load_table_objects(args.store, args.cache, params, card.depth_normalization)
        groups = []
        for i, obj in enumerate(objects):
            if (unseen is not None and obj.name not in unseen) or (unseen is None and not len(obj.robust)):
                continue
            grasps = np.sort(np.concatenate([obj.robust, obj.failed]))
            groups += [(i, m, grasps) for m in range(len(obj.depth)) if len(grasps)]
        sessions = open_card_sessions(card)
        per_object = per_object_confusion(sessions, objects, groups, card.pose_encoding)
        total = np.sum(list(per_object.values()), axis=0)
        result = {"balanced_accuracy": balanced(total), "interval_95_over_objects": bootstrap(per_object),
                  "accuracy": float(np.trace(total) / total.sum()), "confusion": total.tolist(),
                  "objects": len(per_object),
                  "objects_with_robust": int(sum(c[1].sum() > 0 for c in per_object.values())),
                  "samples": int(total.sum()), "view_background": card.view_background,
                  "store_manifest_sha256": record["store_manifest_sha256"]}
        report["models"][path] = result
        lo, hi = result["interval_95_over_objects"]
        print(f"{path}: balanced accuracy {result['balanced_accuracy']:.3f} [{lo:.3f}, {hi:.3f}] on "
              f"{result['objects']} objects ({result['objects_with_robust']} with a robust grasp), "
              f"{result['samples']} samples; confusion {result['confusion']}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
