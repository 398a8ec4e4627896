"""Several starts per image, and the top-K distinct grasps among their results.

Starts are the initial pose plus random perturbations of it or, with no initial pose, hand poses
facing surface points of the depth image along their normals (on a camera image: the target's points
only, approaching from above the table). Each start is a local BFGS run
(optimize.py); the image features and the barrier geometry are computed once and shared.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
from scipy.spatial.transform import Rotation

from grasp_planner.camera import PinholeCamera, valid_depth_mask
from grasp_planner.pose import Pose
from grasp_planner.planning.config import MultiStartConfig, PlannerConfig
from grasp_planner.planning.optimize import (IterationInfo, OptimizationResult, PreparedImage,
                                             optimize_prepared)


def perturbed_starts(initial_pose: Pose, n: int, config: MultiStartConfig, rng: np.random.Generator) -> list[Pose]:
    """``initial_pose`` and ``n - 1`` Gaussian perturbations of it (position in m, rotation about its axes)."""
    starts = [initial_pose]
    for _ in range(n - 1):
        dp = rng.normal(scale=config.position_sigma_m, size=3)
        dw = rng.normal(scale=config.rotation_sigma_rad, size=3)
        rot = initial_pose.rotation @ Rotation.from_rotvec(dw).as_matrix()
        starts.append(Pose(rot, initial_pose.translation + dp))
    return starts


def surface_normals(depth: np.ndarray, camera: PinholeCamera) -> tuple[np.ndarray, np.ndarray]:
    """Points ``(H, W, 3)`` and unit normals facing the camera ``(H, W, 3)``, camera frame.

    Normals come from the cross product of the point grid's row and column differences; where a
    pixel or one of its neighbours has no depth the normal is NaN.
    """
    depth = np.asarray(depth, dtype=float)
    valid = valid_depth_mask(depth)
    points = camera.pixel_rays() * np.where(valid, depth, np.nan)[..., None]
    du = np.full_like(points, np.nan)
    dv = np.full_like(points, np.nan)
    du[:, 1:-1] = points[:, 2:] - points[:, :-2]
    dv[1:-1, :] = points[2:, :] - points[:-2, :]
    normals = np.cross(du, dv)
    with np.errstate(invalid="ignore", divide="ignore"):
        normals /= np.linalg.norm(normals, axis=-1, keepdims=True)
        facing = np.sum(normals * points, axis=-1) > 0    # make them point back towards the camera
    normals[facing] *= -1.0
    return points, normals


#: with a table, seeds approach at most this far (rad) from straight down onto it
MAX_SEED_TILT_RAD = np.deg2rad(60.0)


#: with a table, a seed's open fingertips start at least this far above it (m)
SEED_TABLE_CLEARANCE_M = 0.005


def surface_starts(depth: np.ndarray, camera: PinholeCamera, n: int, config: MultiStartConfig,
                   rng: np.random.Generator, mask: np.ndarray | None = None,
                   up: np.ndarray | None = None, table_offset: float | None = None) -> list[Pose]:
    """Hand poses above ``n`` random surface pixels: approach (+z) against the normal, palm
    ``seed_standoff_m`` out along it, random roll about the approach axis.

    ``mask`` (H, W) keeps the seeds on the target's pixels (never the table or a neighbour in a view
    with a background); ``up`` (the table's normal) keeps only normals within ``MAX_SEED_TILT_RAD`` of
    it, so every approach comes from above the table. Without such a normal on the target the seeds
    approach straight down (``-up``) onto its pixels. ``table_offset`` (the plane ``up . p + offset = 0``)
    backs each seed out along its approach line until its open fingertips clear the table by
    ``SEED_TABLE_CLEARANCE_M``: 4 cm from a short object's top, the open fingers (10.4 cm long) would
    start in the table, where the barrier leaves every start infeasible.
    """
    points, normals = surface_normals(depth, camera)
    on_surface = np.all(np.isfinite(normals), axis=-1)
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        on_surface &= mask
    if up is not None:
        up = np.asarray(up, dtype=float) / np.linalg.norm(up)
        with np.errstate(invalid="ignore"):
            upward = on_surface & (normals @ up >= np.cos(MAX_SEED_TILT_RAD))
        if upward.any():
            on_surface = upward
        else:  # no upward normal (a thin or noisy target): straight down onto its points
            on_surface = (mask if mask is not None else valid_depth_mask(depth)) & np.all(np.isfinite(points), -1)
            normals = np.broadcast_to(up, normals.shape)
    rows, cols = np.nonzero(on_surface)
    if len(rows) == 0:
        raise ValueError("depth has no pixel with a surface normal (too few neighbouring returns) to seed from")
    pick = rng.choice(len(rows), size=n, replace=len(rows) < n)
    starts = []
    for i in pick:
        p, nrm = points[rows[i], cols[i]], normals[rows[i], cols[i]]
        z = -nrm
        helper = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        x = np.cross(helper, z)
        x /= np.linalg.norm(x)
        y = np.cross(z, x)
        base = np.stack([x, y, z], axis=1)
        roll = Rotation.from_rotvec([0.0, 0.0, rng.uniform(-np.pi, np.pi)]).as_matrix()
        palm = p + config.seed_standoff_m * nrm
        if up is not None and table_offset is not None:
            palm = _clear_of_table(base @ roll, palm, up, float(table_offset))
        starts.append(Pose(base @ roll, palm))
    return starts


def _clear_of_table(R: np.ndarray, palm: np.ndarray, up: np.ndarray, offset: float) -> np.ndarray:
    """``palm`` moved back along the approach axis ``R[:, 2]`` until the open hand is above the table."""
    from grasp_planner.hand.kinematics import open_hand_corners
    lowest = float(np.min((open_hand_corners("basic") @ R.T + palm) @ up)) + offset
    deficit = SEED_TABLE_CLEARANCE_M - lowest
    rise = -float(R[:, 2] @ up)          # height gained per metre backed out (> 0: seeds come from above)
    if deficit <= 0 or rise <= 1e-6:
        return palm
    return palm - (deficit / rise) * R[:, 2]


def optimize_starts(prepared: PreparedImage, starts: list[Pose], scorer, config: PlannerConfig,
                    callback: Callable[[IterationInfo], None] | None = None,
                    deadline: float | None = None,
                    extra_cost: Callable[[np.ndarray], np.ndarray] | None = None,
                    enough: Callable[[list[OptimizationResult]], bool] | None = None) -> list[OptimizationResult]:
    """Run one optimization per start until all ran, ``enough(results)`` holds, the deadline passed,
    or the callback canceled.

    Iteration numbers given to ``callback`` count across starts. A start that the deadline leaves
    no time for is skipped; the first start always runs.
    """
    results: list[OptimizationResult] = []
    iterations = 0
    for start in starts:
        if results and deadline is not None and time.perf_counter() > deadline:
            break
        if results and enough is not None and enough(results):
            break
        result = optimize_prepared(prepared, start, scorer, config, callback, deadline, iterations, extra_cost)
        results.append(result)
        iterations += result.n_iter
        if result.status.name == "CANCELED":
            break
    return results


def good_enough(k: int, config: MultiStartConfig, accept: Callable[[OptimizationResult], bool] | None = None
                ) -> Callable[[list[OptimizationResult]], bool] | None:
    """Whether results already hold ``k`` distinct clear grasps of at least ``config.stop_probability``
    (that ``accept`` also passes: the task constraints' hard check).

    Further starts would only look for a better grasp than one the network already rates this
    highly; in the median case that saves all but the first start (issue 18's latency), and a hard
    scene still gets every start. None when ``stop_probability`` is None (every start runs).
    """
    if config.stop_probability is None:
        return None

    def enough(results: list[OptimizationResult]) -> bool:
        good = [r for r in results if r.success and r.probability >= config.stop_probability
                and (accept is None or accept(r))]
        return len(rank_distinct(good, k, config.min_separation_m, config.min_separation_rad)) >= k
    return enough


def rank_distinct(results: list[OptimizationResult], k: int, min_separation_m: float,
                  min_separation_rad: float) -> list[OptimizationResult]:
    """The ``k`` best results (collision-free first, then highest network score), no two closer than
    ``min_separation_m`` in position AND ``min_separation_rad`` in rotation.

    Ranked by the score, not the objective: the barrier and constraint penalties steer the optimizer
    but say nothing of how likely a clear grasp is to hold, and the published list is read best first
    by its score and probability (issue 18: the objective order made that list non-monotone).
    """
    def key(r):
        return (not r.success, -r.logit if np.isfinite(r.logit) else np.inf)

    chosen: list[OptimizationResult] = []
    for r in sorted(results, key=key):
        if not np.isfinite(r.logit):
            continue
        if any(_same_grasp(r.pose, c.pose, min_separation_m, min_separation_rad) for c in chosen):
            continue
        chosen.append(r)
        if len(chosen) == k:
            break
    return chosen


def _same_grasp(a: Pose, b: Pose, min_m: float, min_rad: float) -> bool:
    dist, angle = a.distance_to(b)
    return dist < min_m and angle < min_rad
