"""``grasp-planner plan scene.npz``: plan grasps on one depth scene, print them, write a PNG."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from grasp_planner.planning.config import PlannerConfig
from grasp_planner.resources import default_path

DEFAULT_MODEL = default_path("models", "grasp_cnn.json")


def add_arguments(parser) -> None:
    parser.add_argument("scene", type=Path, help="scene .npz (depth or depth_mm, camera, optional initial_pose)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model card JSON (default: %(default)s)")
    parser.add_argument("--config", type=Path, default=None, help="planner YAML (default: config/planner.yaml)")
    parser.add_argument("--candidates", type=int, default=3, help="grasps to return")
    parser.add_argument("--time-budget", type=float, default=None, help="seconds (default: the config's)")
    parser.add_argument("--view", choices=("real", "direct"), default=None,
                        help="real: a camera image with its table (through perception); direct: the scene is "
                             "already a 128x128 network view (default: the config's planner.view)")
    parser.add_argument("--no-initial-pose", action="store_true", help="ignore the scene's initial pose")
    parser.add_argument("--out", type=Path, default=None, help="PNG to write (default: <scene>_plan.png)")


def format_result(name: str, result) -> str:
    """One line per grasp: score, probability, distance, iterations, position; then timings."""
    lines = [f"{name}: {result.reason.name} - {result.message}"]
    for k, g in enumerate(result.grasps):
        x = g.pose.xyzrpy()
        lines.append(f"  grasp {k + 1}: score {g.score:6.2f}  p {g.probability:.2f}  "
                     f"distance {g.distance * 1000:5.1f} mm  iterations {g.n_iter:3d}  "
                     f"xyz [{x[0]:+.3f} {x[1]:+.3f} {x[2]:+.3f}] m  rpy [{x[3]:+.2f} {x[4]:+.2f} {x[5]:+.2f}]")
    lines.append("  time: " + "  ".join(f"{k} {v * 1000:.1f} ms" for k, v in result.timings.items()))
    return "\n".join(lines)


def run(args) -> int:
    from grasp_planner.planning.drawing import plot_plan
    from grasp_planner.planning.planner import GraspPlanner
    from grasp_planner.planning.scene_io import load_depth_scene

    try:
        config = PlannerConfig.load(args.config)
        planner = GraspPlanner.from_config(args.model, config if args.view is None else
                                           config.replace(planner={"view": args.view}))
        scene = load_depth_scene(args.scene)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    initial = None if args.no_initial_pose else scene.initial_pose
    result = planner.plan(scene.depth, scene.camera, initial, n_candidates=args.candidates,
                          time_budget_s=args.time_budget)
    print(format_result(scene.name, result))
    out = args.out or args.scene.with_name(args.scene.stem + "_plan.png")
    plot_plan(out, scene.depth, scene.camera, result.initial_pose, result.grasps,
              f"{scene.name}: {result.reason.name}", result.trajectory)
    print(json.dumps({"png": str(out)}))
    return 0 if result.success else 1
