"""Depth renderer speed: images/s at 128x128 (object views) and 640x480 (a table scene), against a baseline.

Baseline: ``raycast_depth``, one Moller-Trumbore ray per pixel vectorised over triangles, timed on a
subset of rows and scaled to the full image (it is too slow to run whole). Both run in this process.
    OMP_NUM_THREADS=1 python benchmarks/bench_render.py [--objects 20] [--views 10]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from grasp_planner.camera import PinholeCamera
from grasp_planner.data.objects import procedural_objects
from grasp_planner.data.render import raycast_depth, render_depth, synthesize_views
from grasp_planner.pose import Pose


def table_scene(n_objects: int, seed: int):
    """A 1.2 x 0.8 m table top with ``n_objects`` procedural objects on it, world frame."""
    vertices = [np.array([[-0.6, -0.4, 0], [0.6, -0.4, 0], [0.6, 0.4, 0], [-0.6, 0.4, 0.0]])]
    faces = [np.array([[0, 1, 2], [0, 2, 3]])]
    offset = 4
    for i, mesh in enumerate(procedural_objects(n_objects, seed)):
        lift = -mesh.vertices[:, 2].min()
        vertices.append(mesh.vertices + [0.25 * (i % 4) - 0.375, 0.25 * (i // 4) - 0.25, lift])
        faces.append(mesh.faces + offset)
        offset += len(mesh.vertices)
    return np.vstack(vertices), np.vstack(faces)


def rows_baseline(vertices, faces, camera, T, rows: int) -> float:
    """Seconds per full image of the ray-cast baseline, measured on ``rows`` rows."""
    sub = PinholeCamera(camera.fx, camera.fy, camera.cx, camera.cy - (camera.height - rows) / 2, camera.width, rows)
    t0 = time.perf_counter()
    raycast_depth(vertices, faces, sub, T)
    return (time.perf_counter() - t0) * camera.height / rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=20)
    parser.add_argument("--views", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    meshes = procedural_objects(args.objects, args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    views = [synthesize_views(m, args.views, rng, resolution=128) for m in meshes]
    ours_128 = (time.perf_counter() - t0) / (args.objects * args.views)
    mean_faces = np.mean([len(m.faces) for m in meshes])
    base_128 = np.mean([rows_baseline(m.vertices, m.faces, PinholeCamera.from_array(v.cameras[0]),
                                      v.T_cam_obj[0], 8) for m, v in zip(meshes[:5], views[:5])])
    print(f"128x128 object views ({mean_faces:.0f} triangles on average, view fitting included):")
    print(f"  rasteriser {1 / ours_128:8.1f} images/s   ray-cast baseline {1 / base_128:6.2f} images/s   "
          f"ratio {base_128 / ours_128:6.0f}x")

    vertices, faces = table_scene(8, args.seed)
    camera = PinholeCamera.from_fov(640, 480, np.deg2rad(69.4))   # RealSense-like field of view
    T_cam_world = Pose.from_xyzrpy([0, -0.5, 0.7, np.deg2rad(-140), 0, 0]).inverse().matrix()
    render_depth(vertices, faces, camera, T_cam_world)
    t0 = time.perf_counter()
    for _ in range(5):
        depth = render_depth(vertices, faces, camera, T_cam_world)
    ours_vga = (time.perf_counter() - t0) / 5
    base_vga = rows_baseline(vertices, faces, camera, T_cam_world, 4)
    print(f"640x480 table scene ({len(faces)} triangles, {100 * (depth > 0).mean():.0f}% pixels hit):")
    print(f"  rasteriser {1 / ours_vga:8.1f} images/s   ray-cast baseline {1 / base_vga:6.3f} images/s   "
          f"ratio {base_vga / ours_vga:6.0f}x")


if __name__ == "__main__":
    main()
