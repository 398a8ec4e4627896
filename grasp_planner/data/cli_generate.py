"""``grasp-planner generate``: the simulated grasp database as HDF5 shards (see docs/architecture.md)."""
from __future__ import annotations

import sys

from grasp_planner.data.dataset_config import DatasetConfig


def add_arguments(parser) -> None:
    parser.add_argument("--objects", required=True,
                        help="'procedural:N' (the project's procedural set) "
                             "or a directory of .off/.obj/.stl/.ply meshes")
    parser.add_argument("--out", required=True, help="dataset folder (shards/ and manifest.json)")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    parser.add_argument("--cluster", default=None,
                        help="run on Ray instead: 'ray://host:10001' or 'auto' (needs the 'cluster' extra)")
    parser.add_argument("--config", default=None,
                        help="dataset YAML (counts, camera; default: the shipped standard one)")
    parser.add_argument("--resume", action="store_true", help="keep finished shards and generate the rest")
    parser.add_argument("--seed", type=int, default=0, help="run seed; object i uses SeedSequence([seed, i])")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> int:
    from grasp_planner.data.generate import generate_dataset

    try:
        config = DatasetConfig.load(args.config)
        summary = generate_dataset(args.objects, args.out, workers=args.workers, config=config, seed=args.seed,
                                   resume=args.resume, cluster=args.cluster, progress=not args.no_progress)
    except (ValueError, FileNotFoundError) as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{k} {v}" for k, v in summary.counts.items())
    print(f"wrote {len(summary.written)} shards ({summary.resumed} already finished, "
          f"{len(summary.failures)} skipped) in {summary.wall_s:.1f} s: {summary.grasps} grasps ({counts}), "
          f"{summary.images} images; manifest {summary.manifest}")
    for failure in summary.failures:
        print(f"  skipped object {failure['object_index']}: {failure['error']}")
    return 0
