"""Time the hand-object queries that sampling and the planner's barrier call in their inner loops.

Run:  OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_distance.py [--seed 0] [--repeats 5]

Prints, for a triangle mesh and for a depth-image point cloud, the time per call of
* the open-hand collision check (per pose),
* the closing-on-nothing sweep test ``closed_hand_would_collide`` (per pose),
* the kinematic closing ``close_fingers`` (per pose),
* ``hand_distances`` for 13 random poses and for a 13-pose finite-difference stencil (5 mm, 0.02 rad;
  what the planner's barrier asks for once per BFGS iteration),
each beside a naive baseline measured in the same run (every link posed in the object's frame
and queried for every pose; no bounding-box rejection; fixed 0.01 rad closing steps) and the ratio baseline / ours.
Timings are the median over ``--repeats`` runs.
"""
from __future__ import annotations

import argparse
import subprocess
import time

import numpy as np
import trimesh

from grasp_planner.camera import PinholeCamera
from grasp_planner.geometry import ObjectGeometry, hand_distances, klampt_transform
from grasp_planner.hand import closing
from grasp_planner.hand import kinematics as kin
from grasp_planner.pose import xyzrpy_to_matrix


def _timed(fn, items, repeats: int) -> float:
    """Median seconds per item of ``fn`` over ``repeats`` passes."""
    runs = []
    for _ in range(repeats):
        start = time.perf_counter()
        for item in items:
            fn(item)
        runs.append((time.perf_counter() - start) / len(items))
    return float(np.median(runs))


class NaiveHand:
    """Baseline: every link box posed in the object's frame on every call."""

    def __init__(self):
        from klampt import GeometricPrimitive, Geometry3D
        self.boxes = []
        for half in kin.BOX_HALF_EXTENTS:
            prim = GeometricPrimitive()
            prim.setAABB((-half).tolist(), half.tolist())
            self.boxes.append(Geometry3D(prim))

    def _pose(self, T, q):
        for geom, M in zip(self.boxes, kin.box_matrices(T, q)):
            geom.setCurrentTransform(*klampt_transform(M))

    def collides(self, geometry, T, q):
        geometry.geometry.setCurrentTransform(*klampt_transform(np.eye(4)))
        self._pose(T, q)
        return any(b.collides(geometry.geometry) for b in self.boxes)

    def distance(self, geometry, T, q):
        geometry.geometry.setCurrentTransform(*klampt_transform(np.eye(4)))
        self._pose(T, q)
        return min(b.distance(geometry.geometry).d for b in self.boxes)

    def sweep_collides(self, geometry, T, mode="basic"):
        """Every sample of the closing-on-nothing sweep, no bounding-box rejection."""
        mats, links, _ = closing._sweep_boxes(mode, "encompassing")
        geometry.geometry.setCurrentTransform(*klampt_transform(np.eye(4)))
        for M, i in zip(mats, links):
            self.boxes[i].setCurrentTransform(*klampt_transform(T @ M))
            if self.boxes[i].collides(geometry.geometry):
                return True
        return False

    def close(self, geometry, T, step=0.01):
        """Fixed-step sequential closing: advance each stage's joint by ``step`` until a collision."""
        q = kin.open_configuration("basic")
        upper = kin.joint_limits()[1]
        for finger in "abc":
            for stage in (1, 2, 3):
                j = 2 + 3 * "abc".index(finger) + stage - 1
                moving = [kin.link_index(f"finger_{finger}_link_{k}") for k in range(stage, 4)]
                geometry.geometry.setCurrentTransform(*klampt_transform(np.eye(4)))
                while q[j] < upper[j]:
                    trial = q.copy()
                    trial[j] = min(q[j] + step, upper[j])
                    mats = kin.box_matrices(T, trial)
                    hit = False
                    for i in moving:
                        self.boxes[i].setCurrentTransform(*klampt_transform(mats[i]))
                        hit = hit or self.boxes[i].collides(geometry.geometry)
                    if hit:
                        break
                    q = trial
        return q


def scenes(rng: np.random.Generator) -> dict[str, ObjectGeometry]:
    """A 2k-triangle sphere mesh and a 128x128 depth image of a box on a table (object frame)."""
    sphere = trimesh.creation.icosphere(subdivisions=3, radius=0.04)  # 1,280 triangles
    box = trimesh.creation.box(extents=[0.06, 0.05, 0.1])
    mesh = trimesh.util.concatenate([sphere, box.apply_translation([0.0, 0.0, -0.05])])
    camera = PinholeCamera.from_fov(128, 128, np.deg2rad(60.0))
    T_obj_cam = xyzrpy_to_matrix([0.0, 0.0, 0.6, np.pi, 0.0, 0.0])  # 0.6 m above, looking down
    rays = camera.pixel_rays()
    # depth of the table plane z = -0.1 and of the box top z = 0 (|x| < 5 cm, |y| < 5 cm)
    depth = np.full(camera.shape, 0.7)
    hit_top = (np.abs(rays[..., 0] * 0.6) < 0.05) & (np.abs(rays[..., 1] * 0.6) < 0.05)
    depth[hit_top] = 0.6
    depth += rng.normal(0.0, 0.001, depth.shape)
    return {"mesh (%d tris)" % len(mesh.faces): ObjectGeometry.from_mesh(mesh.vertices, mesh.faces),
            "depth 128x128 (%d pts)" % depth.size: ObjectGeometry.from_depth(depth.astype(np.float32),
                                                                             camera, T_obj_cam)}


def random_poses(rng: np.random.Generator, n: int) -> np.ndarray:
    """Hand poses whose approach axis points at the origin from 8-15 cm away, random roll."""
    direction = rng.normal(size=(n, 3))
    direction[:, 2] = np.abs(direction[:, 2]) + 0.5
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    T = np.tile(np.eye(4), (n, 1, 1))
    for k in range(n):
        z = -direction[k]
        x = np.cross(z, rng.normal(size=3))
        x /= np.linalg.norm(x)
        T[k, :3, :3] = np.c_[x, np.cross(z, x), z]
        T[k, :3, 3] = direction[k] * rng.uniform(0.08, 0.15)
    return T


def fd_stencil(T: np.ndarray, step_m: float = 0.005, step_rad: float = 0.02) -> np.ndarray:
    """The 13 poses of one central-difference gradient: T, then +-step on x, y, z, roll, pitch, yaw."""
    from grasp_planner.pose import matrix_to_xyzrpy
    centre = matrix_to_xyzrpy(T)
    steps = np.diag([step_m] * 3 + [step_rad] * 3)
    return xyzrpy_to_matrix(np.vstack([centre, centre + steps, centre - steps]))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--poses", type=int, default=200)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"bench_distance seed={args.seed} repeats={args.repeats} poses={args.poses} commit={commit or '?'}")
    naive = NaiveHand()
    q_open = kin.open_configuration("basic")
    poses = random_poses(rng, args.poses)
    stencils = [random_poses(rng, 13) for _ in range(20)]
    fd_stencils = [fd_stencil(T) for T in random_poses(rng, 20)]
    rows = []
    for name, geometry in scenes(rng).items():
        hand_distances(geometry, stencils[0])  # build the Klamp't trees outside the timings
        rows.append((name, "open_hand_collides / pose",
                     _timed(lambda T: closing.open_hand_collides(T, geometry), poses, args.repeats),
                     _timed(lambda T: naive.collides(geometry, T, q_open), poses, args.repeats)))
        rows.append((name, "closed_hand_would_collide / pose",
                     _timed(lambda T: closing.closed_hand_would_collide(T, geometry), poses, args.repeats),
                     _timed(lambda T: naive.sweep_collides(geometry, T), poses, args.repeats)))
        few = poses[:20]
        rows.append((name, "close_fingers / pose",
                     _timed(lambda T: closing.close_fingers(T, geometry), few, max(1, args.repeats // 2)),
                     _timed(lambda T: naive.close(geometry, T), few, max(1, args.repeats // 2))))
        rows.append((name, "hand_distances, 13 random poses",
                     _timed(lambda Ts: hand_distances(geometry, Ts), stencils, args.repeats),
                     _timed(lambda Ts: [naive.distance(geometry, T, q_open) for T in Ts], stencils, args.repeats)))
        rows.append((name, "hand_distances, 13-pose FD stencil",
                     _timed(lambda Ts: hand_distances(geometry, Ts), fd_stencils, args.repeats),
                     _timed(lambda Ts: [naive.distance(geometry, T, q_open) for T in Ts], fd_stencils,
                            args.repeats)))
    print(f"{'geometry':24s} {'query':34s} {'ours ms':>9s} {'naive ms':>9s} {'naive/ours':>10s}")
    for name, query, ours, base in rows:
        print(f"{name:24s} {query:34s} {ours * 1e3:9.3f} {base * 1e3:9.3f} {base / ours:10.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
