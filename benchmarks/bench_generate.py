"""End-to-end generation speed: labelled qualified grasps per core-second, images/s, and where the time goes.

Runs ``generate_dataset`` on procedural objects with the given dataset config and reads the per-stage
timings the workers report (object build, qualified sampling, Klamp't labelling, rendering, shard write).
Baseline in the same run: the paper's implied 1.4 labelled grasps per core-second (23.3M grasps in
several days on 64 cores); the issue's goal is >= 10.
    OMP_NUM_THREADS=1 python benchmarks/bench_generate.py --objects 6 --workers 2 \\
        [--config config/dataset_standard.yaml]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import tempfile
import time

from grasp_planner.data.dataset_config import DatasetConfig
from grasp_planner.resources import resource_path
from grasp_planner.data.generate import STAGES, generate_dataset

PAPER_GRASPS_PER_CORE_S = 1.4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--config", default=str(resource_path("config", "dataset_standard.yaml")))
    parser.add_argument("--grasps", type=int, default=None, help="override grasps_per_object")
    parser.add_argument("--images", type=int, default=None, help="override images_per_object")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    config = DatasetConfig.load(args.config)
    overrides = {k: v for k, v in (("grasps_per_object", args.grasps), ("images_per_object", args.images)) if v}
    config = dataclasses.replace(config, **overrides)
    with tempfile.TemporaryDirectory() as out:
        cpu0 = os.times()
        t0 = time.perf_counter()
        summary = generate_dataset(f"procedural:{args.objects}", out, workers=args.workers, config=config,
                                   seed=args.seed, progress=False)
        wall = time.perf_counter() - t0
        cpu1 = os.times()
    cpu = (cpu1.user + cpu1.system + cpu1.children_user + cpu1.children_system
           - cpu0.user - cpu0.system - cpu0.children_user - cpu0.children_system)
    core_s = wall * args.workers
    busy = sum(summary.timings.values())
    print(f"{args.objects} objects, {config.grasps_per_object} grasps and {config.images_per_object} images "
          f"({config.resolution}px) requested per object, {args.workers} workers")
    print(f"  labelled grasps {summary.grasps} ({summary.counts}), images {summary.images}, "
          f"failures {len(summary.failures)}")
    print(f"  wall {wall:.1f} s, CPU {cpu:.1f} s (this and child processes)")
    rate = summary.grasps / core_s
    print(f"  labelled grasps per core-second: {rate:.2f} (wall x workers)   "
          f"{summary.grasps / max(busy, 1e-9):.2f} (worker busy time)   paper {PAPER_GRASPS_PER_CORE_S}   "
          f"ratio {rate / PAPER_GRASPS_PER_CORE_S:.1f}x")
    print(f"  images per second rendered: {summary.images / max(summary.timings['render'], 1e-9):.1f} "
          f"(render stage), {summary.images / wall:.1f} (end to end)")
    print("  profile (worker seconds, summed):")
    for stage in STAGES:
        share = 100 * summary.timings[stage] / max(busy, 1e-9)
        print(f"    {stage:8s} {summary.timings[stage]:8.2f} s  {share:5.1f} %")
    per_object = core_s / args.objects
    print(f"  at {per_object:.1f} core-s per object, 2 cores x 60 min generate "
          f"{int(7200 / per_object)} objects of this config")


if __name__ == "__main__":
    main()
