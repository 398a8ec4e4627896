"""Balanced accuracy of exported ONNX models on the unseen table-top objects of a training run's split.

Scored by onnxruntime on the exported files (encoder once per image, as the planner does), on the
training views of the label store (data.training_views, cached), every robust and failed grasp of
each unseen object on every view. Balanced accuracy = mean of the robust and failed recalls; its 95%
interval resamples the objects (a grasp repeats over an object's views, so samples are not independent).
Two labels: ``hard`` (trial 0, the store's label) and ``majority`` (robust in >= half of the K trials:
a hard robust label repeats only ~47% of the time, so this is the less noisy one). ROC AUC of the robust
probability, threshold-free, beside each: a model trained on soft labels predicts the success rate,
which is below 0.5 for most hard-robust grasps, so argmax accuracy alone undersells it.

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


def score_groups(sessions, objects, groups, encoding, chunk: int = 32):
    """(robust probability, hard target, majority target, object position) of every sample."""
    parts = []
    for start in range(0, len(groups), chunk):
        batch = make_batch(objects, groups[start:start + chunk], encoding)
        features = sessions["encoder"].run(None, {"depth": batch.depth})[0]
        feeds = {"features": features[batch.image_index], "pose": batch.pose.astype(np.float32)}
        logits = sessions["head"].run(None, feeds)[0]
        p = 1.0 / (1.0 + np.exp(logits[:, 0] - logits[:, 1]))
        parts.append((p, batch.target, (batch.soft_target >= 0.5).astype(np.int64), batch.object_position))
    return [np.concatenate(x) for x in zip(*parts)]


def per_object_confusion(p, target, position) -> dict:
    """{object position: 2x2 confusion (rows true failed/robust, cols predicted at p >= 0.5)}."""
    out: dict[int, np.ndarray] = {}
    pred = (p >= 0.5).astype(np.int64)
    for i in np.unique(position):
        sel = position == i
        c = out.setdefault(int(i), np.zeros((2, 2), np.int64))
        np.add.at(c, (target[sel], pred[sel]), 1)
    return out


def roc_auc(p, target) -> float:
    """Probability that a robust sample outscores a failed one (Mann-Whitney, ties count half)."""
    from scipy.stats import rankdata
    ranks = rankdata(p)
    n_pos = int(np.sum(target == 1))
    n_neg = len(target) - n_pos
    if not n_pos or not n_neg:
        return float("nan")
    return float((ranks[target == 1].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def balanced(confusion: np.ndarray) -> float:
    totals = confusion.sum(axis=1)
    return float(np.mean([confusion[k, k] / totals[k] for k in range(2) if totals[k]]))


def bootstrap(per_object: dict, seed: int = 0, n: int = 2000) -> tuple[float, float]:
    """95% interval of the balanced accuracy with the objects resampled."""
    stack = np.stack(list(per_object.values()))
    rng = np.random.default_rng(seed)
    values = [balanced(stack[rng.integers(0, len(stack), len(stack))].sum(axis=0)) for _ in range(n)]
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def plot(report: dict, labels: list[str], png) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = list(report["models"].values())
    x = np.arange(len(results))
    fig, ax = plt.subplots(figsize=(max(6, 1.4 * len(results)), 4))
    for k, (name, colour) in enumerate((("hard", "tab:blue"), ("majority", "tab:orange"))):
        values = [r[name]["balanced_accuracy"] for r in results]
        lo = [v - r[name]["interval_95_over_objects"][0] for v, r in zip(values, results)]
        hi = [r[name]["interval_95_over_objects"][1] - v for v, r in zip(values, results)]
        ax.bar(x + (k - 0.5) * 0.38, values, 0.36, yerr=[lo, hi], capsize=3, color=colour,
               label=f"balanced accuracy, {name} label (95% over objects)")
        ax.plot(x + (k - 0.5) * 0.38, [r[name]["auc"] for r in results], "k^", ms=6,
                label="ROC AUC" if k == 0 else None)
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xticks(x, labels, rotation=15)
    ax.set_ylim(0.3, 1.0)
    ax.set_title(f"Unseen table-top objects: {results[0]['objects']} objects "
                 f"({results[0]['objects_with_robust']} with a robust grasp)", fontsize=10)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(png, dpi=120)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", default="datasets/labels")
    parser.add_argument("--cache", default="datasets/cache/views")
    parser.add_argument("--split", help="a run's split.json: score its unseen objects")
    parser.add_argument("--model", nargs="+", default=["models/grasp_cnn.json"])
    parser.add_argument("--views-per-object", type=int, default=8)
    parser.add_argument("--labels", nargs="+", help="a short name per model for the plot (default: file names)")
    parser.add_argument("--out")
    parser.add_argument("--png", help="bar chart of the balanced accuracies and AUCs with their intervals")
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
        p, hard, majority, position = score_groups(sessions, objects, groups, card.pose_encoding)
        result = {"view_background": card.view_background, "samples": int(len(p)),
                  "objects": int(len(np.unique(position))),
                  "objects_with_robust": int(len(np.unique(position[hard == 1]))),
                  "store_manifest_sha256": record["store_manifest_sha256"]}
        for name, target in (("hard", hard), ("majority", majority)):
            per_object = per_object_confusion(p, target, position)
            total = np.sum(list(per_object.values()), axis=0)
            result[name] = {"balanced_accuracy": balanced(total), "interval_95_over_objects": bootstrap(per_object),
                            "auc": roc_auc(p, target), "accuracy": float(np.trace(total) / total.sum()),
                            "confusion": total.tolist()}
            lo, hi = result[name]["interval_95_over_objects"]
            print(f"{path} [{name} label]: balanced accuracy {result[name]['balanced_accuracy']:.3f} "
                  f"[{lo:.3f}, {hi:.3f}], AUC {result[name]['auc']:.3f}, on {result['objects']} objects "
                  f"({result['objects_with_robust']} with a robust grasp), {result['samples']} samples; "
                  f"confusion {result[name]['confusion']}")
        report["models"][path] = result
    if args.png:
        plot(report, args.labels or [Path(m).stem for m in args.model], args.png)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
