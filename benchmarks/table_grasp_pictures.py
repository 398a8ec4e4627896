#!/usr/bin/env python3
"""Example grasps on the table in 3-D (issue 17's pictures): the box case and one evaluation scene.

    OMP_NUM_THREADS=1 python benchmarks/table_grasp_pictures.py [--model models/grasp_cnn.json] [--out docs]

Plans with the planner as the node does (camera image, real view) and draws planning/drawing.plot_plan's
camera and 3-D panels; the title carries the status, p and the table-world label of the best grasp.
Writes ``<out>/table_grasp_box.png`` and ``<out>/table_grasp_scene.png``.
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import numpy as np

    from grasp_planner.perception.evaluate import NOISE_LEVELS, _label_table, scene_for
    from grasp_planner.perception.scenes import box_scene
    from grasp_planner.planning import GraspPlanner
    from grasp_planner.planning.drawing import plot_plan

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(ROOT / "models" / "grasp_cnn.json"))
    parser.add_argument("--scene", type=int, default=2, help="evaluation scene index (seed 0)")
    parser.add_argument("--tilt", type=float, default=30.0)
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args()
    planner = GraspPlanner.from_config(args.model)
    cases = {"table_grasp_box": (box_scene(), "6x4x8 cm box, camera 0.5 m above, top-down start"),
             "table_grasp_scene": (scene_for(args.scene, 0, args.tilt, NOISE_LEVELS["sensor"]),
                                   f"evaluation scene {args.scene}, tilt {args.tilt:g} deg, sensor noise")}
    for name, (scene, what) in cases.items():
        result = planner.plan(scene.depth_mm(), scene.camera, scene.initial_pose, n_candidates=3)
        label = _label_table(result, scene, np.random.default_rng([args.scene, 2]), {})["label"]
        p = result.grasps[0].probability if result.grasps else float("nan")
        path = plot_plan(Path(args.out) / f"{name}.png", scene.depth, scene.camera, result.initial_pose,
                         result.grasps, f"{what}: {result.reason.name}, p={p:.2f}, table world: {label}",
                         result.trajectory)
        print(f"{path}: {result.reason.name} p={p:.2f} {label}")


if __name__ == "__main__":
    main()
