"""One grasp optimization: SciPy BFGS on -x1 + barrier from an initial hand pose (the paper, Sec. IV-B).

The optimizer moves a 6-vector ``x = [dp / s_p, w / s_r]``: a translation ``dp`` (m, camera frame)
and a rotation vector ``w`` (rad, about the hand's own axes, ``R = R0 Exp(w)``), divided by
``s_p`` = 1 cm and ``s_r`` = 0.1 rad. The paper saw the gradient in metres dwarf the one in radians,
so plain gradient steps spent their effort on translation; in these units both move the hand's
fingertips by similar amounts. A rotation vector around the start pose also avoids roll-pitch-yaw's
wrap and gimbal lock inside the optimizer; the network still sees its own pose encoding.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from grasp_planner.camera import PinholeCamera, valid_depth_mask
from grasp_planner.pose import Pose
from grasp_planner.planning.barrier import HAND_REACH_M, barrier_cost, hand_distances
from grasp_planner.planning.distance_field import SceneBarrier
from grasp_planner.planning.config import PlannerConfig
from grasp_planner.planning.minimize import Evaluation, OptimizationStatus, minimize_with_budget
from grasp_planner.planning.scorer import (GraspScorer, ImageFeatures, central_difference,
                                           central_stencil, softmax_robust)


@dataclass(frozen=True)
class IterationInfo:
    """What ``callback`` gets after each iteration (e.g. for ROS action feedback)."""

    iteration: int            # iterations so far in this run (counted across starts by multistart)
    pose: Pose                # current iterate, camera frame of the image optimized on
    best_score: float         # best robust logit x1 so far
    elapsed_s: float


@dataclass(frozen=True)
class OptimizationResult:
    """The best pose one optimization run found, and how the run went.

    ``success`` is True when the run ended with a finite best pose (converged, iteration or time
    budget used up, or no further decrease possible) and that pose does not touch the object
    (distance > 0, or no barrier). ``status`` says which way it ended.
    """

    pose: Pose                     # camera frame of the image optimized on
    logit: float                   # the paper's score x1 (robust-class logit)
    probability: float             # softmax robust probability
    distance: float                # open hand to object, m (nan without a barrier)
    objective: float               # -x1 + barrier at pose
    success: bool
    status: OptimizationStatus
    message: str
    n_iter: int
    n_eval: int                    # objective evaluations (each one head call of 13 poses)
    wall_time_s: float
    initial_pose: Pose
    initial_logit: float
    trajectory: tuple = ()         # Pose after each iteration, starting with the initial pose
    timings: dict = field(default_factory=dict)   # seconds: features, barrier, optimization


@dataclass(frozen=True)
class PreparedImage:
    """What stays fixed while many starts are optimized on one image."""

    image: ImageFeatures
    geometry: object | None        # ObjectGeometry in the camera frame, or None (no barrier)
    timings: dict


def rotvec_to_matrix(rotvec: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(N, 3, 3)`` from rotation vectors ``(N, 3)`` (Rodrigues), rad.

    Same result as scipy's ``Rotation.from_rotvec(...).as_matrix()`` at a third of its cost; this
    runs 13 times per objective evaluation.
    """
    theta = np.linalg.norm(rotvec, axis=1)
    small = theta < 1e-8
    safe = np.where(small, 1.0, theta)
    a = np.where(small, 1.0 - theta ** 2 / 6.0, np.sin(theta) / safe)           # sin(t)/t
    b = np.where(small, 0.5 - theta ** 2 / 24.0, (1.0 - np.cos(theta)) / safe ** 2)  # (1-cos t)/t^2
    x, y, z = rotvec[:, 0], rotvec[:, 1], rotvec[:, 2]
    K = np.zeros((len(rotvec), 3, 3))
    K[:, 0, 1], K[:, 0, 2], K[:, 1, 2] = -z, y, -x
    K[:, 1, 0], K[:, 2, 0], K[:, 2, 1] = z, -y, x
    return np.eye(3) + a[:, None, None] * K + b[:, None, None] * (K @ K)


class PoseCoordinates:
    """Maps scaled optimizer coordinates ``x (M, 6)`` to hand poses ``(M, 4, 4)`` around ``T0``."""

    def __init__(self, T0: np.ndarray, position_scale_m: float, rotation_scale_rad: float):
        self.T0 = np.asarray(T0, dtype=float)
        self.scale = np.array([position_scale_m] * 3 + [rotation_scale_rad] * 3)

    def poses(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(np.asarray(x, dtype=float)) * self.scale
        T = np.empty((len(x), 4, 4))
        T[:] = self.T0
        T[:, :3, 3] += x[:, :3]
        T[:, :3, :3] = self.T0[:3, :3] @ rotvec_to_matrix(x[:, 3:])
        return T

    def max_motion_m(self, step: float) -> float:
        """Farthest any hand point moves for a change of ``step`` in one coordinate."""
        return step * max(self.scale[0], self.scale[3] * HAND_REACH_M)


def check_depth(depth, camera: PinholeCamera, name: str = "depth") -> np.ndarray:
    """A depth image as float32, or ValueError naming ``name``: wrong size, non-numeric, or no valid pixel.

    Single NaN/inf/0 pixels are holes (docs/architecture.md); an image without any valid pixel
    cannot be planned on.
    """
    arr = np.asarray(depth)
    if arr.size == 0:
        raise ValueError(f"{name} is empty (shape {arr.shape})")
    arr = camera.check_image(arr, name)
    if not np.any(valid_depth_mask(arr)):
        kind = "NaN" if np.all(np.isnan(arr)) else "inf" if np.all(np.isinf(arr)) else "0/NaN/inf"
        raise ValueError(f"{name} has no valid pixel (all {kind}); need metres > 0 somewhere")
    return np.where(valid_depth_mask(arr), arr, 0.0).astype(np.float32)


def check_pose(pose, name: str = "initial_pose") -> Pose:
    """A Pose from a Pose or a 4x4 matrix, or ValueError naming ``name``."""
    if isinstance(pose, Pose):
        return pose
    arr = np.asarray(pose, dtype=float) if pose is not None else None
    if arr is None or arr.shape != (4, 4):
        raise ValueError(f"{name} must be a Pose or a 4x4 matrix, got {None if arr is None else arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got NaN/inf in {arr.tolist()}")
    try:
        return Pose.from_matrix(arr)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from exc


def prepare_image(depth, camera: PinholeCamera, scorer: GraspScorer, geometry=None,
                  config: PlannerConfig | None = None) -> PreparedImage:
    """Encoder features and (if the barrier is on) the object geometry for one image.

    Parameters
    ----------
    depth : (H, W) metres along the camera's +z, network view size; 0/NaN/inf = no return.
    camera : intrinsics of ``depth``.
    geometry : ObjectGeometry (a known mesh) or SceneBarrier in the camera frame; None builds a
        SceneBarrier of ``depth``'s points when the barrier is enabled. ``depth`` is checked by the caller.
    """
    config = config or PlannerConfig()
    t0 = time.perf_counter()
    image = scorer.image_features(depth, camera)
    t1 = time.perf_counter()
    if config.barrier.enabled and geometry is None:
        geometry = SceneBarrier.from_points(camera.deproject(depth))
    if not config.barrier.enabled:
        geometry = None
    t2 = time.perf_counter()
    return PreparedImage(image, geometry, {"features": t1 - t0, "barrier_build": t2 - t1})


def optimize(depth, camera: PinholeCamera, initial_pose, scorer: GraspScorer, geometry=None,
             config: PlannerConfig | None = None, callback: Callable[[IterationInfo], None] | None = None,
             time_budget_s: float | None = None,
             extra_cost: Callable[[np.ndarray], np.ndarray] | None = None) -> OptimizationResult:
    """Optimize one grasp from ``initial_pose`` on a network-view depth image.

    Parameters
    ----------
    depth : (H, W) float, metres; the model card's input size (a 128x128 top-down view).
    camera : intrinsics of ``depth``.
    initial_pose : Pose or 4x4, the hand (palm) pose in the camera frame.
    scorer : the CNN.
    geometry : ObjectGeometry in the camera frame for the barrier; None: built from ``depth``.
    config : settings (default: ``PlannerConfig()``, the shipped config/planner.yaml).
    callback : called after each iteration with an :class:`IterationInfo`; raise StopIteration
        in it to cancel (the result then has status CANCELED and the best pose so far).
    time_budget_s : wall-clock limit, s (default: the config's).
    extra_cost : optional penalty ``(N, 4, 4) camera-frame poses -> (N,)`` added to the objective
        (task constraints); differentiated with the same stencil as the score.

    Returns
    -------
    OptimizationResult; failures are reported in it, bad input raises ValueError.
    """
    config = config or PlannerConfig()
    initial = check_pose(initial_pose)
    start = time.perf_counter()
    prepared = prepare_image(check_depth(depth, camera), camera, scorer, geometry, config)
    budget = time_budget_s if time_budget_s is not None else config.optimizer.time_budget_s
    deadline = None if budget is None else start + budget
    return optimize_prepared(prepared, initial, scorer, config, callback, deadline, extra_cost=extra_cost)


def optimize_prepared(prepared: PreparedImage, initial_pose: Pose, scorer: GraspScorer,
                      config: PlannerConfig, callback: Callable[[IterationInfo], None] | None = None,
                      deadline: float | None = None, iteration_offset: int = 0,
                      extra_cost: Callable[[np.ndarray], np.ndarray] | None = None) -> OptimizationResult:
    """:func:`optimize` on an image already prepared (multi-start shares one :class:`PreparedImage`)."""
    opt, bar = config.optimizer, config.barrier
    coords = PoseCoordinates(initial_pose.matrix(), opt.position_scale_m, opt.rotation_scale_rad)
    spent = {"barrier": 0.0}
    start = time.perf_counter()

    def barrier(stencil_poses: np.ndarray) -> tuple[float, np.ndarray, float]:
        if prepared.geometry is None:
            return 0.0, np.zeros(6), float("nan")
        t = time.perf_counter()
        d = hand_distances(prepared.geometry, stencil_poses, near=bar.cutoff_m)
        if np.any(d < bar.cutoff_m):   # only near the object can any stencil point feel it
            value, grad = central_difference(barrier_cost(d, bar), opt.fd_step)
        else:
            value, grad = 0.0, np.zeros(6)
        spent["barrier"] += time.perf_counter() - t
        return value, grad, float(d[0])

    def objective(x: np.ndarray) -> Evaluation:
        stencil = central_stencil(x, opt.fd_step)
        poses = coords.poses(stencil)
        logits = scorer.logits(prepared.image, poses)
        score, score_grad = central_difference(logits[:, 1], opt.fd_step)
        b_value, b_grad, distance = barrier(poses)
        value, grad = -score + b_value, -score_grad + b_grad
        if extra_cost is not None:
            e_value, e_grad = central_difference(extra_cost(poses), opt.fd_step)
            value, grad = value + e_value, grad + e_grad
        return Evaluation(value, grad, (logits[0].copy(), distance))

    def on_iteration(iteration, x, best):
        if callback is not None:
            pose = Pose.from_matrix(coords.poses(x)[0])
            callback(IterationInfo(iteration + iteration_offset, pose, float(best.extra[0][1]),
                                   time.perf_counter() - start))

    outcome = minimize_with_budget(objective, np.zeros(6), method=opt.method, max_iter=opt.max_iter,
                                   gtol=opt.gtol, first_step=opt.first_step, stall_evals=opt.stall_evals,
                                   stall_tol=opt.stall_tol, restarts=opt.restarts,
                                   deadline=deadline, on_iteration=on_iteration)
    trajectory = tuple(Pose.from_matrix(T) for T in coords.poses(np.array(outcome.iterates)))
    if outcome.best is None:   # failed or canceled before the first evaluation finished
        nan = float("nan")
        return OptimizationResult(initial_pose, nan, nan, nan, nan, False, outcome.status, outcome.message,
                                  outcome.n_iter, outcome.n_eval, outcome.wall_time_s, initial_pose, nan,
                                  trajectory, {**prepared.timings, "barrier": spent["barrier"]})
    logits, distance = outcome.best.extra
    best_pose = Pose.from_matrix(coords.poses(outcome.x)[0])
    if prepared.geometry is not None:   # the stencil's distance is a lower bound beyond the cutoff
        distance = float(hand_distances(prepared.geometry, best_pose.matrix()[None])[0])
    initial_logit = float(scorer.score(prepared.image, initial_pose.matrix()[None])[0])
    usable = outcome.status not in (OptimizationStatus.CANCELED, OptimizationStatus.FAILED)
    clear = prepared.geometry is None or distance > 0.0
    message = outcome.message if clear else outcome.message + "; the best pose touches the object"
    timings = {**prepared.timings, "barrier": spent["barrier"],
               "optimization": outcome.wall_time_s - spent["barrier"]}
    return OptimizationResult(
        pose=best_pose, logit=float(logits[1]),
        probability=float(softmax_robust(logits)), distance=float(distance),
        objective=float(outcome.best.value), success=bool(usable and clear), status=outcome.status,
        message=message, n_iter=outcome.n_iter, n_eval=outcome.n_eval, wall_time_s=outcome.wall_time_s,
        initial_pose=initial_pose, initial_logit=initial_logit, trajectory=trajectory, timings=timings)
