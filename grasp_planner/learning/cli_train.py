"""``grasp-planner train --data DIR --out RUN``: train the mix-in CNN on a grasp database.

``--store datasets/labels`` trains on the table-top label store instead: its training views are
rendered the way the node sees a scene (data.training_views; cached under ``--cache``, rendering
only batches not cached yet) and its soft labels are used with ``soft_labels: true``.

With one ``--arch`` the run folder is ``RUN``; with several (``--arch paper rot6d``) each is
trained on the same split into ``RUN/<arch>/`` and ``RUN/comparison.{json,md,png}`` holds the
results table (seen objects: new images, new poses; unseen objects).
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="database folder (generate's --out, holding shards/)")
    source.add_argument("--store", help="table-top label store (datasets/labels): views rendered as the node sees")
    parser.add_argument("--cache", default="datasets/cache/views", help="with --store: folder of rendered views")
    parser.add_argument("--planned-store", nargs="+", default=[], metavar="STORE",
                        help="with --store: stores of the planner's labelled answers on its objects "
                             "(grasp-planner mine-labels); training poses of seen objects only")
    parser.add_argument("--workers", type=int, default=1, help="with --store: processes rendering views")
    parser.add_argument("--max-objects", type=int, dest="max_objects",
                        help="with --store: only the batches holding the first N objects (smoke tests)")
    parser.add_argument("--background", choices=["none", "table"],
                        help="with --store: what the views show off the target (overrides the config's views)")
    parser.add_argument("--soft-labels", dest="soft_labels", action="store_const", const=True,
                        help="train on the share of K trials that held (label store)")
    parser.add_argument("--hard-labels", dest="soft_labels", action="store_const", const=False)
    parser.add_argument("--epoch-images", type=int, dest="epoch_images",
                        help="training images drawn per epoch (0: all)")
    parser.add_argument("--out", required=True, help="run folder to write")
    parser.add_argument("--config", help="YAML of training settings (config/train_*.yaml); flags override it")
    parser.add_argument("--arch", nargs="+", choices=["paper", "rot6d", "quat"],
                        help="architecture(s): paper = rpy pose (D=6), rot6d / quat = continuous rotation")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--device", help="auto (default), cpu or cuda[:k]")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--images-per-batch", type=int, dest="images_per_batch")
    parser.add_argument("--grasps-per-image", type=int, dest="grasps_per_image")
    parser.add_argument("--lr", type=float, dest="learning_rate")
    parser.add_argument("--min-robust", type=int, dest="min_robust",
                        help="skip objects with fewer robust grasps (paper: 10)")
    parser.add_argument("--balance", choices=["per_object", "global"],
                        help="undersample failed grasps per object (paper) or over the whole database")
    parser.add_argument("--init-weights", dest="init_weights", metavar="MODEL_PT",
                        help="start from an earlier run's model.pt or an exported full model (models/grasp_cnn.onnx) "
                             "of the same architecture (fine-tuning; same split seed)")
    parser.add_argument("--augment-views", type=int, choices=[1, 4, 8], dest="augment_views",
                        help="random views per training image: 4 adds quarter turns, 8 also mirror images")
    parser.add_argument("--resample-failed", dest="resample_failed", action="store_const", const=True,
                        help="draw each image's failed poses afresh from the object's unused failed grasps")
    parser.add_argument("--lr-schedule", dest="lr_schedule", choices=["constant", "cosine"])
    parser.add_argument("--distill-weight", type=float, default=None,
                        help="with --init-weights: keep the initial network's outputs on poses turned about the "
                             "object (learning without forgetting; 0 off)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")


def comparison_table(results: list[dict]) -> str:
    """The results table as Markdown (accuracy in %)."""
    lines = ["| architecture | seen objects, new images | seen objects, new poses | unseen objects |",
             "|---|---|---|---|"]

    def pct(value):
        return "n/a" if value is None or value != value else f"{100 * value:.1f}"
    for r in results:
        lines.append(f"| {r['architecture']} | {pct(r['seen_new_images'])} | {pct(r['seen_new_poses'])} | "
                     f"{pct(r['unseen'])} |")
    return "\n".join(lines)


def check_inputs(data_dir, objects, configs) -> None:
    """Refuse before the run folder exists what ``train`` would refuse only inside it.

    One image size over all shards (the mixed sizes are named with a shard of each), a network that
    takes that size, and ``init_weights`` that fit that network; ValueError otherwise.
    """
    from grasp_planner.data.shards import finished_shards
    from grasp_planner.learning.model import GraspCNN
    from grasp_planner.learning.train import load_initial_weights

    by_size: dict[tuple, list[str]] = {}
    for path, obj in zip(finished_shards(data_dir), objects):
        by_size.setdefault(tuple(obj.depth.shape[1:]), []).append(path.name)
    if len(by_size) > 1:
        sizes = sorted(by_size.items(), key=lambda item: -len(item[1]))
        described = ", ".join(f"{h}x{w} in {len(names)} (e.g. {names[0]})" for (h, w), names in sizes)
        raise ValueError(f"--data {data_dir}: shards of mixed image sizes, {described}; a network takes one size")
    size = next(iter(by_size))
    for config in configs:
        model = GraspCNN(config.architecture, size)  # ValueError for images too small for the encoder
        if config.init_weights:
            load_initial_weights(model, config.init_weights)


def run(args) -> int:
    """Train; every user error (data, config, weights) is one line on stderr, exit 2, and no half-made run folder."""
    out = Path(args.out)
    existed = out.exists()
    try:
        return _run(args)
    except (ValueError, FileNotFoundError, KeyError, OSError) as exc:
        print(f"train: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}", file=sys.stderr)
        if not existed and out.exists():
            shutil.rmtree(out)
        return 2


def _run(args) -> int:
    import torch

    from grasp_planner.learning.dataset import load_database
    from grasp_planner.contract.features import DepthNormalization
    from grasp_planner.learning.plots import plot_comparison
    from grasp_planner.learning.train import TrainConfig, json_safe, train

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    archs = args.arch or [None]
    configs = [TrainConfig.from_yaml(args.config, architecture=a, epochs=args.epochs, device=args.device,
                                     seed=args.seed, images_per_batch=args.images_per_batch,
                                     grasps_per_image=args.grasps_per_image, learning_rate=args.learning_rate,
                                     min_robust=args.min_robust, balance=args.balance,
                                     init_weights=args.init_weights,
                                     resample_failed=args.resample_failed, lr_schedule=args.lr_schedule,
                                     augment_views=args.augment_views, soft_labels=args.soft_labels,
                                     epoch_images=args.epoch_images, distill_weight=args.distill_weight)
               for a in archs]
    if configs[0].init_weights and not Path(configs[0].init_weights).is_file():
        raise FileNotFoundError(f"--init-weights {configs[0].init_weights}: file not found")
    data_source = None
    if args.store:
        configs, objects, data_source = _store_objects(args, configs)
    else:
        if not Path(args.data).is_dir():
            raise FileNotFoundError(f"--data {args.data}: no such dataset folder")
        # no progress bar into a log: a corrupt shard's one-line error would land on the bar's line
        objects = load_database(args.data, DepthNormalization(**configs[0].depth_normalization),
                                progress=sys.stderr.isatty())
        check_inputs(args.data, objects, configs)
    out = Path(args.out)
    results = []
    for config in configs:
        run_dir = out if len(configs) == 1 else out / config.architecture
        metrics = train(objects, config, run_dir, data_source=data_source)
        results.append(metrics["results"])
        print(f"{config.architecture}: " + ", ".join(f"{k} {v:.3f}" for k, v in metrics["results"].items()
                                                     if isinstance(v, float)))
    table = comparison_table(results)
    print(table)
    if len(configs) > 1:
        (out / "comparison.json").write_text(json.dumps(json_safe({"results": results}), indent=2) + "\n")
        (out / "comparison.md").write_text(table + "\n")
        plot_comparison(results, out / "comparison.png")
    return 0


def _store_objects(args, configs):
    """Render the store's missing views, read them with the labels; (configs with the views used, objects, record)."""
    from dataclasses import replace

    from grasp_planner.contract.features import DepthNormalization
    from grasp_planner.data.training_views import ViewParams, build_cache
    from grasp_planner.learning.model import GraspCNN
    from grasp_planner.learning.table_dataset import load_table_objects
    from grasp_planner.learning.train import load_initial_weights

    if not Path(args.store).is_dir():
        raise FileNotFoundError(f"--store {args.store}: no such label store folder")
    views = dict(configs[0].views)
    if args.background:
        views["background"] = args.background
    params = ViewParams.from_dict(views)
    build_cache(args.store, args.cache, params, workers=args.workers, progress=sys.stderr.isatty(),
                max_objects=args.max_objects)
    for path in args.planned_store:
        if not Path(path).is_dir():
            raise FileNotFoundError(f"--planned-store {path}: no such label store folder")
    objects, record = load_table_objects(args.store, args.cache, params,
                                         DepthNormalization(**configs[0].depth_normalization), args.max_objects,
                                         planned_stores=args.planned_store)
    configs = [replace(c, views=params.to_dict()) for c in configs]
    for config in configs:
        model = GraspCNN(config.architecture, tuple(objects[0].depth.shape[1:]))
        if config.init_weights:
            load_initial_weights(model, config.init_weights)
    return configs, objects, record
