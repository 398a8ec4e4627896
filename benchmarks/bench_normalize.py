#!/usr/bin/env python3
"""Time that view normalisation adds to one planning request (1 core, 640x480 depth).

    OMP_NUM_THREADS=1 python benchmarks/bench_normalize.py [--repeats 20]

Prints, for every bundled scene, the median time of ``normalize_view`` (16UC1 in, virtual
128x128 view out) with a breakdown by stage, and two baselines measured in the same run:
the naive resize of the camera image to 128x128 (what the planner would do without
normalisation, wrong but the floor) and the bare deprojection to a point cloud.
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from scipy.ndimage import zoom  # noqa: E402

from grasp_planner.perception.depth_input import read_depth  # noqa: E402
from grasp_planner.perception.plane import fit_table_plane  # noqa: E402
from grasp_planner.perception.scenes import bundled_scene_paths, load_scene  # noqa: E402
from grasp_planner.perception.segment import cluster_points  # noqa: E402
from grasp_planner.perception.view import analyse_scene, normalize_view, view_of_cluster  # noqa: E402


def median_ms(fn, repeats: int) -> float:
    """Median CPU time of one call, ms: on a shared machine, what one core spends on it."""
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return 1000.0 * float(np.median(times))


def naive_resize(depth_m: np.ndarray) -> np.ndarray:
    return zoom(depth_m, (128 / depth_m.shape[0], 128 / depth_m.shape[1]), order=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, median CPU time of {args.repeats} runs, ms")
    header = ("scene", "normalize", "read", "deproject", "plane", "cluster", "view", "naive", "ratio")
    print("{:<30}".format(header[0]) + "".join(f"{h:>10}" for h in header[1:]))
    for path in bundled_scene_paths():
        scene = load_scene(path)
        raw, camera, initial = scene.depth_mm(), scene.camera, scene.initial_pose
        depth = read_depth(raw, camera)
        points = camera.deproject(depth)
        plane = fit_table_plane(points, np.random.default_rng(0))
        above = points[plane.height(points) > 0.005]
        analysis = analyse_scene(raw, camera)
        total = median_ms(lambda: normalize_view(raw, camera, initial), args.repeats)
        stages = [
            median_ms(lambda: read_depth(raw, camera), args.repeats),
            median_ms(lambda: camera.deproject(depth), args.repeats),
            median_ms(lambda: fit_table_plane(points, np.random.default_rng(0)), args.repeats),
            median_ms(lambda: cluster_points(above), args.repeats),
            median_ms(lambda: view_of_cluster(analysis, 0), args.repeats),
        ]
        naive = median_ms(lambda: naive_resize(depth), args.repeats)
        print(f"{path.stem:<30}{total:10.1f}" + "".join(f"{s:10.1f}" for s in stages)
              + f"{naive:10.2f}{total / naive:9.0f}x")
    print("view = fit + render + hole filling + scene points in the virtual frame; "
          "naive = nearest-neighbour resize of the camera image to 128x128 (the floor, not a valid input)")


if __name__ == "__main__":
    main()
