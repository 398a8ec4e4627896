"""``grasp-planner generate``: the simulated grasp database as HDF5 shards (see docs/architecture.md)."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from grasp_planner.data.dataset_config import DatasetConfig


def add_arguments(parser) -> None:
    parser.add_argument("--objects", required=True,
                        help="'procedural:N' (the project's procedural set) "
                             "or a directory of .off/.obj/.stl/.ply/.glb/.gltf meshes")
    parser.add_argument("--mesh-scale", default=None, metavar="FACTOR|auto",
                        help="with --objects DIR: factor from the files' units to metres (default: the dataset "
                             "config's mesh_scale, 1.0); 'auto': a file whose largest extent exceeds 2 units is "
                             "read as millimetres (said on stderr), others as metres")
    parser.add_argument("--skip-bad-meshes", action="store_true",
                        help="with --objects DIR: skip mesh files that cannot be used instead of refusing the run")
    parser.add_argument("--out", required=True, help="dataset folder (shards/ and manifest.json)")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes (default 2)")
    parser.add_argument("--cluster", default=None,
                        help="run on Ray instead: 'ray://host:10001' or 'auto' (needs the 'cluster' extra)")
    parser.add_argument("--config", default=None,
                        help="dataset YAML (counts, camera; default: the shipped standard one)")
    parser.add_argument("--resume", action="store_true", help="keep finished shards and generate the rest")
    parser.add_argument("--seed", type=int, default=0, help="run seed; object i uses SeedSequence([seed, i])")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--world", choices=("floating", "table"), default="floating",
                        help="'floating': the paper's zero-g shards with images; 'table': grow the label store "
                             "(table, gravity, neighbours, lift, K trials; docs/table_world.md)")
    parser.add_argument("--append", action="store_true",
                        help="with --world table: add objects with new indices to an existing store "
                             "(same seed and configs, else refused)")
    parser.add_argument("--grasps", type=int, default=50, help="with --world table: qualified poses per object")
    parser.add_argument("--world-config", default=None, help="with --world table: table world YAML "
                                                             "(default config/table_world.yaml)")


def check_mesh_dir(args, config: DatasetConfig) -> bool:
    """Load every mesh file once before the run; print unit guesses and unusable files (one line each).

    Returns False when a file cannot be used and ``--skip-bad-meshes`` is not given, so a long run does
    not start only to skip objects the user meant to have.
    """
    from grasp_planner.data.mesh_loader import load_mesh_dir

    loaded = load_mesh_dir(args.objects, config.mesh_scale, config.max_faces, progress=not args.no_progress)
    for _, note in loaded.notes:
        print(f"generate: {note}", file=sys.stderr)
    for _, reason in loaded.skipped:
        if args.skip_bad_meshes:
            print(f"generate: skipping {reason}", file=sys.stderr)
        else:
            print(f"generate: {reason} (or pass --skip-bad-meshes to run without it)", file=sys.stderr)
    return args.skip_bad_meshes or not loaded.skipped


def run_table(args) -> int:
    """``--world table``: grow the label store at ``--out`` by ``procedural:N`` objects."""
    from grasp_planner.data.generate_table import grow_store
    from grasp_planner.data.label_store import StoreError

    if not args.objects.startswith("procedural:") or not args.objects.split(":", 1)[1].isdigit():
        print(f"generate: --world table needs --objects procedural:N, got {args.objects!r}", file=sys.stderr)
        return 2
    n = int(args.objects.split(":", 1)[1])
    try:
        summary = grow_store(args.out, n, seed=args.seed, workers=args.workers, append=args.append,
                             grasps=args.grasps, world_config_path=args.world_config, progress=not args.no_progress)
    except (StoreError, ValueError, FileNotFoundError) as exc:
        print(f"generate: {exc}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{k} {v}" for k, v in summary.counts.items())
    print(f"added {summary.objects} objects ({len(summary.skipped)} skipped) in {summary.wall_s:.1f} s: "
          f"{summary.grasps} qualified poses ({counts}), {summary.trials} trials, "
          f"{summary.grasps / max(summary.cpu_s, 1e-9):.2f} poses per core-second; batches {summary.batches}")
    return 0 if summary.objects or not n else 1


def run(args) -> int:
    if args.world == "table":
        return run_table(args)
    from grasp_planner.data.generate import generate_dataset
    from grasp_planner.data.mesh_loader import parse_scale

    try:
        config = DatasetConfig.load(args.config)
        if args.mesh_scale is not None:
            try:
                config = dataclasses.replace(config, mesh_scale=parse_scale(args.mesh_scale))
            except ValueError as exc:
                raise ValueError(f"--mesh-scale: {exc}") from None
        if not args.objects.startswith("procedural:") and Path(args.objects).is_dir():
            if not check_mesh_dir(args, config):
                return 2
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
    if summary.failures and not summary.written and not summary.resumed:
        print(f"generate: every object was skipped ({len(summary.failures)}); nothing was generated", file=sys.stderr)
        return 1
    return 0
