"""Per-stencil cost of the barrier's scene (distance_field.SceneBarrier) against one network call.

Plans the bundled 640x480 tilt-30 camera scene once with the shipped model, records every 13-pose
stencil the optimizer asked the barrier about, then times, on those same stencils, the barrier query
(``hand_distances(..., near=cutoff)``) and the network's head call (``scorer.logits``):

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_barrier_stencil.py [--repeat 3] [--out f.json]

The barrier should cost less than the network per stencil (issue 18).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "models" / "grasp_cnn.json"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default="")
    args = ap.parse_args()

    from grasp_planner.perception.scenes import bundled_scene_paths, load_scene
    from grasp_planner.perception.view import normalize_view
    from grasp_planner.planning import distance_field
    from grasp_planner.planning.config import PlannerConfig
    from grasp_planner.planning.planner import GraspPlanner
    from grasp_planner.planning.request import DepthImage

    config = PlannerConfig.load(None)
    planner = GraspPlanner.from_config(args.model, config)
    scene = load_scene([p for p in bundled_scene_paths() if "tilt30" in p.name][0])
    image = DepthImage.from_array(scene.depth_mm(), scene.camera)
    stencils = []
    original = distance_field.SceneBarrier.hand_distances

    def recording(self, T, near=np.inf):
        if np.asarray(T).reshape(-1, 4, 4).shape[0] > 1:
            stencils.append(np.array(T, dtype=float))
        return original(self, T, near)

    distance_field.SceneBarrier.hand_distances = recording
    try:
        planner.plan(image, image.camera, scene.initial_pose, n_candidates=5, time_budget_s=30.0)
    finally:
        distance_field.SceneBarrier.hand_distances = original
    view = normalize_view(image.depth, image.camera, scene.initial_pose,
                          resolution=int(planner.input_shape[0]))
    t = time.perf_counter()
    barrier = distance_field.SceneBarrier.from_view(view)
    build_s = time.perf_counter() - t
    features = planner.scorer.image_features(view.depth, view.camera)
    cutoff = config.barrier.cutoff_m
    barrier_s, network_s = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        distances = [barrier.hand_distances(T, near=cutoff) for T in stencils]
        barrier_s.append((time.perf_counter() - t) / len(stencils))
        t = time.perf_counter()
        for T in stencils:
            planner.scorer.logits(features, T)
        network_s.append((time.perf_counter() - t) / len(stencils))
    near = float(np.mean([np.min(d) < cutoff for d in distances]))
    report = {"stencils": len(stencils), "poses_per_stencil": int(stencils[0].shape[0]),
              "share_with_a_pose_below_cutoff": near, "barrier_build_ms": build_s * 1e3,
              "barrier_ms_per_stencil": min(barrier_s) * 1e3, "network_ms_per_stencil": min(network_s) * 1e3,
              "ratio_barrier_to_network": min(barrier_s) / min(network_s)}
    print(json.dumps(report, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
