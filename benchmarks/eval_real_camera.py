#!/usr/bin/env python3
"""Issue 8's real-camera evaluation: success of planned grasps vs camera tilt and depth noise.

    OMP_NUM_THREADS=1 python benchmarks/eval_real_camera.py [--scenes 50] [--seed 0]

Every scene (a procedural object of the evaluation seed 9001, unseen in training, on a table with
one or two neighbours, 640x480 camera at 0.4-0.7 m) is rendered at each tilt (0/15/30/45 deg) and
noise level (none / sensor noise / sensor noise + 20% holes); the planner runs on the 16UC1 image
from the scene's perturbed pre-grasp, and the best grasp is labelled by the database simulator in
the target's frame (1 and 10 shakes). The clean top-down single-object view of the paper, for the
same target objects, is the reference. See grasp_planner/perception/evaluate.py.

Prints the table (markdown), writes ``<out>/summary.json`` and ``<out>/outcomes.json``
(default out/real_camera/) and the plot (default docs/real_camera_success.png).
About 0.5 s CPU per case on one core: 50 scenes x 13 cases = 650 cases, roughly 6 minutes.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    from grasp_planner.perception.evaluate import (NOISE_LEVELS, TILTS_DEG, format_table,
                                                   run_evaluation, summarize)
    from grasp_planner.perception.evaluation_plots import plot_success
    from grasp_planner.perception.scenes import EVALUATION_OBJECT_SEED
    from grasp_planner.planning.planner import GraspPlanner

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=50, help="scenes per tilt x noise cell (paired)")
    parser.add_argument("--seed", type=int, default=0, help="scene / simulator seed")
    parser.add_argument("--model", default=str(ROOT / "models" / "grasp_cnn.json"))
    parser.add_argument("--config", default=None, help="planner YAML (default config/planner.yaml)")
    parser.add_argument("--tilts", type=float, nargs="+", default=list(TILTS_DEG))
    parser.add_argument("--time-budget", type=float, default=None, help="planner budget, s (default: config's)")
    parser.add_argument("--no-clean", action="store_true", help="skip the clean top-down reference")
    parser.add_argument("--no-pose", action="store_true",
                        help="also plan every scene image with no initial pose (the planner seeds itself)")
    parser.add_argument("--world", choices=("table", "floating"), default="table",
                        help="simulator that labels the scene grasps (default: the table-top world)")
    parser.add_argument("--out", default=str(ROOT / "out" / "real_camera"))
    parser.add_argument("--png", default=str(ROOT / "docs" / "real_camera_success.png"))
    args = parser.parse_args()

    planner = GraspPlanner.from_config(args.model, args.config)
    started_wall, started_cpu = time.perf_counter(), time.process_time()
    outcomes = run_evaluation(planner, args.scenes, args.seed, tuple(args.tilts), NOISE_LEVELS,
                              clean=not args.no_clean, time_budget_s=args.time_budget, world=args.world,
                              no_pose=args.no_pose)
    wall, cpu = time.perf_counter() - started_wall, time.process_time() - started_cpu
    summary = summarize(outcomes)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=False).stdout.strip()
    except OSError:
        commit = ""
    summary["run"] = {"scenes_per_cell": args.scenes, "seed": args.seed, "object_seed": EVALUATION_OBJECT_SEED,
                      "tilts_deg": args.tilts, "noise_levels": {k: (dataclasses.asdict(v) if v else None)
                                                                for k, v in NOISE_LEVELS.items()},
                      "model": args.model, "config": args.config or "config/planner.yaml",
                      "time_budget_s": args.time_budget, "world": args.world, "no_pose": args.no_pose,
                      "cases": len(outcomes), "wall_s": wall, "cpu_s": cpu,
                      "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "commit": commit,
                      "python": platform.python_version()}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "outcomes.json").write_text(json.dumps([dataclasses.asdict(o) for o in outcomes], indent=1))
    png = plot_success(summary, args.png)
    print()
    print(format_table(summary))
    print()
    print(f"{len(outcomes)} cases in {wall:.0f} s wall, {cpu:.0f} s CPU "
          f"({1000 * cpu / max(len(outcomes), 1):.0f} ms CPU per case); "
          f"wrote {out / 'summary.json'}, {out / 'outcomes.json'}, {png}")


if __name__ == "__main__":
    main()
