"""``grasp-planner demo --out DIR [--html]``: the shipped model on the bundled scenes, one PNG per scene (< 1 min).

The PNG (planning/drawing.py) shows the camera view and a 3-D view of the grasps; ``--html`` adds an
interactive 3-D view per scene (planning/scene_html.py, plotly).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from grasp_planner.planning.cli_plan import DEFAULT_MODEL, format_result
from grasp_planner.planning.config import PlannerConfig


def add_arguments(parser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="folder for PNGs and summary.json")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model card JSON (default: %(default)s)")
    parser.add_argument("--config", type=Path, default=None, help="planner YAML (default: config/planner.yaml)")
    parser.add_argument("--candidates", type=int, default=3, help="grasps per scene")
    parser.add_argument("--html", action="store_true",
                        help="also write an interactive 3-D view per scene (<scene>.html, self-contained; needs "
                             "plotly: pip install 'grasp_planner[viz]')")


def demo_scenes():
    """The bundled scenes (camera images: ``planner.view`` real), or, if none are installed, two generated
    top-down network views (fixed seed; planned with ``planner.view: direct``). Returns (scenes, view)."""
    from grasp_planner.planning.scene_io import generated_scene, load_depth_scene
    try:
        from grasp_planner.perception.scenes import bundled_scene_paths
        paths = bundled_scene_paths()
    except ImportError:
        paths = []
    if paths:
        return [load_depth_scene(p) for p in paths], "real"
    return [generated_scene(i) for i in range(2)], "direct"


def run(args) -> int:
    from grasp_planner.planning.drawing import plot_plan
    from grasp_planner.planning.planner import GraspPlanner

    if not Path(args.model).is_file():
        print(f"error: model card {args.model} not found. The demo needs the shipped model "
              f"(models/grasp_cnn.json with its ONNX files); pass --model to use another.", file=sys.stderr)
        return 2
    if args.html:
        try:
            import plotly  # noqa: F401
        except ImportError:
            from grasp_planner.planning.scene_html import MISSING
            print(f"error: {MISSING}", file=sys.stderr)
            return 2
    scenes, view = demo_scenes()
    try:
        planner = GraspPlanner.from_config(args.model, PlannerConfig.load(args.config).replace(planner={"view": view}))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    summary = []
    for scene in scenes:
        start = time.perf_counter()
        result = planner.plan(scene.depth, scene.camera, scene.initial_pose, n_candidates=args.candidates)
        wall = time.perf_counter() - start
        print(format_result(scene.name, result) + f"\n  wall {wall * 1000:.0f} ms")
        png = plot_plan(args.out / f"{scene.name}.png", scene.depth, scene.camera, result.initial_pose,
                        result.grasps, f"{scene.name}: {result.reason.name}, {wall * 1000:.0f} ms",
                        result.trajectory)
        entry = {"png": str(png)}
        if args.html:
            from grasp_planner.planning.scene_html import write_plan_html
            entry["html"] = str(write_plan_html(args.out / f"{scene.name}.html", scene.depth, scene.camera,
                                                result.grasps, result.initial_pose,
                                                f"{scene.name}: {result.reason.name}"))
        summary.append({"scene": scene.name, "reason": result.reason.name, "message": result.message,
                        "wall_s": wall, "timings": result.timings, **entry,
                        "grasps": [{"score": g.score, "probability": g.probability, "distance_m": g.distance,
                                    "n_iter": g.n_iter, "T_camera_hand": g.pose.matrix().tolist()}
                                   for g in result.grasps]})
    (args.out / "summary.json").write_text(json.dumps({"model": str(args.model), "scenes": summary}, indent=1))
    print(f"wrote {len(summary)} PNGs{' and HTML views' if args.html else ''} and summary.json to {args.out}")
    return 0
