"""The facade the ROS node and the demo call: a depth image in, ranked grasps in the camera frame out.

``plan`` plans where the config says: a camera image (``planner.view: real``, the default) is
turned into the virtual top-down view by perception.normalize_view, planned there, and the grasps
are mapped back with ``T_camera_virtual``; ``planner.view: direct`` plans on a network view as it is
(evaluation only). The barrier's scene (distance_field.SceneBarrier) is built once per image.
Failures come back as a :class:`PlanResult` with a :class:`PlanStatus` (numbered like the ROS
``FailureReason`` message) rather than as exceptions, except that a model that cannot be loaded
fails in ``from_config``.
"""
from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from grasp_planner.camera import PinholeCamera
from grasp_planner.perception.depth_input import CheckedDepth, depth_to_metres
from grasp_planner.pose import Pose
from grasp_planner.planning.config import PlannerConfig
from grasp_planner.planning.distance_field import SceneBarrier
from grasp_planner.planning.minimize import OptimizationStatus
from grasp_planner.planning.multistart import (good_enough, optimize_starts, perturbed_starts, rank_distinct,
                                               surface_starts)
from grasp_planner.planning.optimize import (IterationInfo, OptimizationResult, check_depth, check_pose,
                                             prepare_image)
from grasp_planner.planning.scorer import GraspScorer


class PlanStatus(enum.IntEnum):
    """Why a plan did or did not give a usable grasp; values equal FailureReason.msg's codes."""

    OK = 0
    INVALID_INPUT = 3
    OUT_OF_WORKSPACE = 5
    NO_FEASIBLE_GRASP = 6
    LOW_SCORE = 7
    TIMEOUT = 8
    CANCELED = 9
    INTERNAL_ERROR = 11


@dataclass(frozen=True)
class PlannedGrasp:
    """One grasp: the hand (palm) pose in the input camera's frame and how good the network finds it."""

    pose: Pose
    score: float          # robust-class logit x1 (higher is better)
    probability: float    # softmax probability of "robust", 0..1
    distance: float       # open hand to the scene, m (nan without a barrier)
    n_iter: int


@dataclass(frozen=True)
class PlanResult:
    """Everything one ``plan`` call produced. ``success`` is ``reason == PlanStatus.OK``."""

    grasps: tuple         # PlannedGrasp, best first (may be non-empty on failure: best effort)
    success: bool
    reason: PlanStatus
    message: str
    initial_pose: Pose | None        # camera frame (the given one or the first seed)
    trajectory: tuple = ()           # the best run's iterates, camera frame
    timings: dict = field(default_factory=dict)   # seconds: view, features, barrier, optimization, total
    starts: tuple = (0, 0)           # (optimizations run, starts prepared): fewer run after an early stop or the budget


class GraspPlanner:
    """Plans grasps with one loaded model and one configuration (not thread-safe: one plan at a time).

    Parameters
    ----------
    scorer : the loaded CNN.
    config : planner settings.
    """

    def __init__(self, scorer: GraspScorer, config: PlannerConfig | None = None):
        self.scorer = scorer
        self.config = config or PlannerConfig()

    @classmethod
    def from_config(cls, model_card_path: str | Path, config: PlannerConfig | str | Path | None = None
                    ) -> "GraspPlanner":
        """Load the model (ValueError naming the file if missing or broken) and the settings
        (a PlannerConfig, a YAML path, or None for config/planner.yaml)."""
        if not isinstance(config, PlannerConfig):
            config = PlannerConfig.load(config)
        return cls(GraspScorer(model_card_path), config)

    def replaced(self, **sections) -> "GraspPlanner":
        """The same loaded model with config sections replaced (``planner={"view": "direct"}``)."""
        return GraspPlanner(self.scorer, self.config.replace(**sections))

    @property
    def input_shape(self) -> tuple[int, int]:
        return self.scorer.input_shape

    def plan(self, depth: np.ndarray, camera: PinholeCamera, initial_pose: Pose | None = None,
             n_candidates: int = 1, time_budget_s: float | None = None,
             callback: Callable[[IterationInfo], None] | None = None, geometry=None,
             constraints=None) -> PlanResult:
        """Plan up to ``n_candidates`` distinct grasps.

        Parameters
        ----------
        depth : (H, W) float metres along the camera's +z or uint16 millimetres (converted once
            here); 0/NaN/inf = no return. A perception.depth_input.CheckedDepth (the request
            layer's, read once at the boundary) is used as it is.
        camera : intrinsics of ``depth``.
        initial_pose : hand pose to start from, camera frame; None seeds from surface normals.
        n_candidates : how many grasps to return at most (>= 1).
        time_budget_s : wall-clock limit for the whole plan, s (default: the config's).
        callback : called after every optimizer iteration with an IterationInfo (its pose in the
            planning frame); raise StopIteration to cancel.
        geometry : an ObjectGeometry in the camera frame for the barrier (a known mesh); only
            used with ``planner.view: direct``.
        constraints : a planning.constraints.ConstraintSet (camera/output frames): its penalty
            joins the objective and the best grasp must pass its hard check, else the plan
            fails with OUT_OF_WORKSPACE. MaxDeviation without a reference uses ``initial_pose``; with
            no initial pose it is left out (there is nothing to deviate from).

        Returns
        -------
        PlanResult with grasps in the camera frame of ``depth``.
        """
        started = time.perf_counter()
        budget = time_budget_s if time_budget_s is not None else self.config.optimizer.time_budget_s
        deadline = None if budget is None else started + budget
        try:
            if int(n_candidates) < 1:
                raise ValueError(f"n_candidates must be >= 1, got {n_candidates}")
            if budget is not None and not budget > 0:
                raise ValueError(f"time_budget_s must be > 0, got {budget}")
            initial = None if initial_pose is None else check_pose(initial_pose)
            if constraints is not None:   # the deviation's reference exists before anything checks it
                constraints = (constraints.with_reference(initial) if initial is not None
                               else constraints.without_unreferenced_deviation())
            if constraints is not None and constraints.conflicts():
                raise ValueError("constraints contradict each other: " + "; ".join(constraints.conflicts()))
            frame = self._planning_frame(depth, camera, initial, geometry)
        except ValueError as exc:
            return PlanResult((), False, PlanStatus.INVALID_INPUT, str(exc), initial_pose)
        view_s = time.perf_counter() - started
        try:
            return self._plan_in_frame(frame, initial, int(n_candidates), deadline, callback, started, view_s,
                                       constraints or None)
        except ValueError as exc:
            return PlanResult((), False, PlanStatus.INVALID_INPUT, str(exc), initial)
        except Exception as exc:  # reported to the node as INTERNAL_ERROR, not a crashed action
            return PlanResult((), False, PlanStatus.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}", initial)

    # --- steps -------------------------------------------------------------------------------
    def _planning_frame(self, depth, camera, initial, geometry) -> "_Frame":
        """Where to plan, as the config says (never guessed from the image): a camera image goes
        through perception to the virtual top-down view of its target; ``planner.view: direct``
        (evaluation on network views only) plans on the image itself."""
        if not isinstance(depth, CheckedDepth):   # a CheckedDepth (the node's) was converted and checked once
            depth = depth_to_metres(depth)          # the one conversion: uint16 millimetres or float metres
        if self.config.planner.view == "direct":
            depth_m = depth.depth if isinstance(depth, CheckedDepth) else depth
            return _Frame(check_depth(depth_m, camera), camera, None, geometry)
        from grasp_planner.perception.view import normalize_view  # only real images need perception
        view = normalize_view(depth, camera, initial, resolution=int(self.input_shape[0]),
                              background=self.scorer.card.view_background)
        scene = SceneBarrier.from_view(view) if self.config.barrier.enabled else None
        # seeds (no initial pose) on the target's pixels only, approaching from above the table
        return _Frame(view.depth, view.camera, view.T_camera_virtual, scene, view.target_mask(),
                      view.plane_virtual.normal, view.plane_virtual.offset)

    def _plan_in_frame(self, frame: "_Frame", initial: Pose | None, n_candidates: int,
                       deadline: float | None, callback, started: float, view_s: float,
                       constraints=None) -> PlanResult:
        config = self.config
        prepared = prepare_image(frame.depth, frame.camera, self.scorer, frame.geometry, config)
        rng = np.random.default_rng(config.multistart.seed)
        n_starts = max(config.multistart.n_starts, n_candidates)
        if initial is None:
            starts = surface_starts(frame.depth, frame.camera, n_starts, config.multistart, rng,
                                    frame.seed_mask, frame.up, frame.table_offset)
        else:
            starts = perturbed_starts(frame.to_plan(initial), n_starts, config.multistart, rng)

        def constraint_penalty(T_plan_hand):
            return constraints.penalty(frame.to_camera_matrices(T_plan_hand))
        penalty = constraint_penalty if constraints is not None else None
        accept = None if constraints is None else (lambda r: not constraints.check(frame.to_camera(r.pose).matrix()))
        enough = good_enough(n_candidates, config.multistart, accept)
        runs = optimize_starts(prepared, starts, self.scorer, config, callback, deadline, penalty, enough)
        ranked = rank_distinct(runs, n_candidates, config.multistart.min_separation_m,
                               config.multistart.min_separation_rad)
        violations = []
        if constraints is not None and ranked:
            checks = [constraints.check(frame.to_camera(r.pose).matrix()) for r in ranked]
            kept = [r for r, problems in zip(ranked, checks) if not problems]
            violations = checks[0] if not kept else []
            ranked = kept or ranked
        grasps = tuple(PlannedGrasp(frame.to_camera(r.pose), r.logit, r.probability, r.distance, r.n_iter)
                       for r in ranked)
        best = ranked[0] if ranked else None
        timings = {"view": view_s, "features": prepared.timings["features"],
                   "barrier": prepared.timings["barrier_build"] + sum(r.timings.get("barrier", 0.0) for r in runs),
                   "optimization": sum(r.timings.get("optimization", 0.0) for r in runs),
                   "total": time.perf_counter() - started}
        reason, message = _judge(runs, best, config.planner.min_probability)
        early = len(runs) < len(starts) and enough is not None and enough(runs)
        if early:
            message += (f"; {len(runs)} of {len(starts)} start(s): p >= {config.multistart.stop_probability} "
                        f"reached")
        elif reason != PlanStatus.CANCELED and (len(runs) < len(starts)
                                                or any(r.status == OptimizationStatus.TIMEOUT for r in runs)):
            message += f"; stopped by the time budget after {len(runs)} of {len(starts)} start(s)"
        if violations and reason in (PlanStatus.OK, PlanStatus.LOW_SCORE):
            reason, message = PlanStatus.OUT_OF_WORKSPACE, "; ".join(violations)
        elif reason in (PlanStatus.OK, PlanStatus.LOW_SCORE) and _too_far(best, config.planner):
            reason, message = _far_from_object(best, config.planner, constraints, frame.to_camera(starts[0]))
        trajectory = tuple(frame.to_camera(p) for p in best.trajectory) if best is not None else ()
        return PlanResult(grasps, reason == PlanStatus.OK, reason, message,
                          frame.to_camera(starts[0]) if initial is None else initial, trajectory, timings,
                          (len(runs), len(starts)))


@dataclass(frozen=True)
class _Frame:
    """The image the planner works on, and the map from its frame back to the input camera's."""

    depth: np.ndarray
    camera: PinholeCamera
    T_camera_plan: Pose | None      # None: planning in the input camera's frame
    geometry: object | None
    seed_mask: np.ndarray | None = None   # pixels seeds may start from (the target's); None: any
    up: np.ndarray | None = None          # the table's normal, planning frame (None: no table known)
    table_offset: float | None = None     # the table plane's offset (up . p + offset = 0), planning frame

    def to_plan(self, pose_camera: Pose) -> Pose:
        return pose_camera if self.T_camera_plan is None else self.T_camera_plan.inverse() @ pose_camera

    def to_camera(self, pose_plan: Pose) -> Pose:
        return pose_plan if self.T_camera_plan is None else self.T_camera_plan @ pose_plan

    def to_camera_matrices(self, T_plan_hand: np.ndarray) -> np.ndarray:
        """Batched ``(N, 4, 4)`` planning-frame poses in the input camera's frame."""
        return T_plan_hand if self.T_camera_plan is None else self.T_camera_plan.matrix() @ T_plan_hand


def _too_far(best: OptimizationResult, facade) -> bool:
    return bool(np.isfinite(best.distance) and best.distance > facade.max_object_distance_m)


def _far_from_object(best: OptimizationResult, facade, constraints, start: Pose) -> tuple[PlanStatus, str]:
    """A best pose away from the object grasps nothing; with task constraints, they are why."""
    detail = (f"the best pose is {best.distance * 100:.1f} cm from the object (a grasp needs at most "
              f"{facade.max_object_distance_m * 100:.1f} cm)")
    if constraints is None:
        return PlanStatus.NO_FEASIBLE_GRASP, detail
    near = constraints.check(start.matrix())
    return PlanStatus.OUT_OF_WORKSPACE, ("no grasp near the object satisfies the task constraints: " + detail
                                         + ("; at the start pose: " + "; ".join(near) if near else ""))


def _judge(runs: list[OptimizationResult], best: OptimizationResult | None,
           min_probability: float) -> tuple[PlanStatus, str]:
    """The plan's status from its runs: canceled, timed out with nothing, colliding, weak, or OK."""
    statuses = {r.status for r in runs}
    if OptimizationStatus.CANCELED in statuses:
        return PlanStatus.CANCELED, "canceled by the callback"
    if best is None:
        if OptimizationStatus.TIMEOUT in statuses:
            return PlanStatus.TIMEOUT, "the time budget ran out before any candidate finished"
        return PlanStatus.INTERNAL_ERROR, "; ".join(r.message for r in runs) or "no optimization ran"
    summary = (f"best of {len(runs)} start(s): score {best.logit:.2f}, p={best.probability:.2f}, "
               f"distance {best.distance * 1000:.1f} mm, {best.n_iter} iterations ({best.status.name})")
    if best.status == OptimizationStatus.FAILED:
        return PlanStatus.INTERNAL_ERROR, best.message
    if not best.success:
        return PlanStatus.NO_FEASIBLE_GRASP, "every candidate touches the scene; " + summary
    if best.probability < min_probability:
        return PlanStatus.LOW_SCORE, f"probability below {min_probability}; " + summary
    return PlanStatus.OK, summary
