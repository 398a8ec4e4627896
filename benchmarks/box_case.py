#!/usr/bin/env python3
"""Issue 17's box case: a camera 0.5 m above a table looking straight down at a 6 x 4 x 8 cm box.

    OMP_NUM_THREADS=1 python benchmarks/box_case.py [--model models/grasp_cnn.json ...] [--out out/box_case.json]

For each model, image size (128x128 at a 45 deg field of view, and the 640x480 RealSense-like camera;
32FC1, metres) and start (top-down 12 cm above the box top at several yaws, and no initial pose), the
planner's status and probability, and the best grasp's table-world outcome: ``trials`` trials
(the pose, then noisy copies) in sim/table_world.py's TableGraspSimulator.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import numpy as np

    from grasp_planner.camera import PinholeCamera
    from grasp_planner.perception.scenes import REALSENSE_640, box_scene
    from grasp_planner.planning import GraspPlanner
    from grasp_planner.sim.labels import GraspLabel
    from grasp_planner.sim.table_world import Body, TableGraspSimulator, TableScene

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", default=[str(ROOT / "models" / "grasp_cnn.json")])
    parser.add_argument("--yaws", type=int, default=4, help="top-down starts at this many yaws in [0, pi)")
    parser.add_argument("--trials", type=int, default=5, help="table-world trials of each best grasp")
    parser.add_argument("--out", default=str(ROOT / "out" / "box_case.json"))
    args = parser.parse_args()
    cameras = {"128x128": PinholeCamera.from_fov(128, 128, np.deg2rad(45.0)), "640x480": REALSENSE_640}
    rows = []
    simulator = None
    for model in args.model:
        planner = GraspPlanner.from_config(model)
        for size, camera in cameras.items():
            if simulator is None:
                box = box_scene(camera)
                simulator = TableGraspSimulator(TableScene(Body(box.objects[0].vertices, box.objects[0].faces,
                                                                box.T_world_objects[0].matrix())))
            starts = [("top-down", float(y)) for y in np.linspace(0, np.pi, args.yaws, endpoint=False)]
            starts.append(("none", float("nan")))
            for kind, yaw in starts:
                scene = box_scene(camera, yaw=0.0 if kind == "none" else yaw)
                initial = scene.initial_pose if kind == "top-down" else None
                depth, T_camera_world = scene.depth, scene.T_camera_world
                result = planner.plan(depth.astype(np.float32), camera, initial)
                row = {"model": model, "image": size, "start": kind, "yaw_rad": yaw, "status": result.reason.name,
                       "message": result.message, "probability": float("nan"), "robust_trials": 0,
                       "trials": 0, "labels": []}
                if result.grasps:
                    best = result.grasps[0]
                    T_table_hand = (T_camera_world.inverse() @ best.pose).matrix()
                    rng = np.random.default_rng([len(rows), 7])
                    repeated = simulator.label_repeated(T_table_hand, rng, args.trials)
                    labels = [o.label.name for o in repeated.trials]
                    row.update(probability=float(best.probability), labels=labels, trials=len(labels),
                               robust_trials=sum(o.label == GraspLabel.ROBUST for o in repeated.trials),
                               palm_above_table_m=float(T_table_hand[2, 3]),
                               approach_down=float(-T_table_hand[2, 2]))
                rows.append(row)
                print(f"{Path(model).parent.name:14s} {size:8s} start={kind:8s} yaw={yaw:5.2f} {row['status']:17s} "
                      f"p={row['probability']:.2f} robust {row['robust_trials']}/{row['trials']} {row['labels']}",
                      flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(rows, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
