"""One plan request and its reply as plain data: what the ROS node does with numbers, done here, without ROS.

The node converts messages into a :class:`PlanRequest`, calls :func:`serve`, and converts the
:class:`PlanReply` back. Everything between (the depth check and 16UC1 conversion, the frames, the
TCP offset, the task constraints, the postures) happens once, here:

* the depth image is checked and converted to float32 metres once, by :meth:`DepthImage.from_array`;
* the initial pose is the robot's tool pose in some frame; with ``T_camera_initial`` (that frame in
  the camera's) and the TCP offset it becomes the hand pose in the camera frame;
* constraints (the node's flat parameter names) are built once with ``T_camera_output``;
* every reported pose is in the output frame: the hand pose and the tool pose (``T_hand_tool`` on top).

:func:`planner_config` is the one place node parameters meet ``PlannerConfig``: the planner YAML is
the base and a parameter overrides it only when it is set (not None).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Callable, Mapping


from grasp_planner.camera import PinholeCamera
from grasp_planner.hand.posture import HandPosture, apply_tcp_offset, grasp_posture, pre_grasp_posture
from grasp_planner.perception.depth_input import CheckedDepth, read_depth
from grasp_planner.pose import Pose
from grasp_planner.planning.config import PlannerConfig

#: node parameter -> (PlannerConfig section, field) it overrides when set
PLANNER_OVERRIDES = {"alpha": ("barrier", "alpha"), "eps": ("barrier", "eps_m"),
                     "starts": ("multistart", "n_starts"), "max_iter": ("optimizer", "max_iter"),
                     "time_budget_s": ("optimizer", "time_budget_s")}
#: what each FailureReason means, the first words of a failed reply's message
REASON_TEXT = {
    "NO_IMAGE": "no depth image to plan on",
    "STALE_IMAGE": "the depth image is too old to plan on",
    "INVALID_INPUT": "the request is invalid",
    "TF_UNAVAILABLE": "the frames of the request cannot be related",
    "OUT_OF_WORKSPACE": "the best grasp breaks a task constraint (approach cone, workspace or deviation)",
    "NO_FEASIBLE_GRASP": "no grasp was found that clears the scene",
    "LOW_SCORE": "no grasp was found that is likely enough to succeed",
    "TIMEOUT": "the time budget ran out before a grasp was found",
    "CANCELED": "the goal was canceled",
    "MODEL_ERROR": "the grasp model failed",
    "INTERNAL_ERROR": "the planner failed unexpectedly",
    "BUSY": "another plan is running",
}


#: reasons that mean the request itself was refused before planning (counted as rejected inputs)
REFUSED_REASONS = frozenset({"NO_IMAGE", "STALE_IMAGE", "INVALID_INPUT", "TF_UNAVAILABLE", "BUSY"})
#: the most candidates and the longest time budget (s) a goal may ask for
MAX_GOAL_CANDIDATES, MAX_GOAL_BUDGET_S = 100, 60.0


def planner_config(base: PlannerConfig, overrides: Mapping[str, object]) -> PlannerConfig:
    """``base`` (the planner YAML) with each node parameter of ``PLANNER_OVERRIDES`` that is set applied."""
    unknown = set(overrides) - set(PLANNER_OVERRIDES)
    if unknown:
        raise ValueError(f"not planner parameters: {sorted(unknown)}; known: {sorted(PLANNER_OVERRIDES)}")
    sections: dict[str, dict] = {}
    for name, value in overrides.items():
        if value is not None:
            section, key = PLANNER_OVERRIDES[name]
            sections.setdefault(section, {})[key] = value
    return base.replace(**sections) if sections else base


def failure_message(reason: str, detail: str) -> str:
    """The message of a failed request: what the reason means, then the specifics."""
    return f"{REASON_TEXT.get(reason, reason)}: {detail}"


class RequestError(ValueError):
    """A request that is refused before planning: ``reason`` is a FailureReason name."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class DepthImage(CheckedDepth):
    """A checked depth image: float32 metres (0 = no return) and its intrinsics, handed to the planner as it is."""

    @classmethod
    def from_array(cls, depth, camera: PinholeCamera | None) -> "DepthImage":
        """Check and convert once (16UC1 millimetres or 32FC1 metres); RequestError INVALID_INPUT if bad."""
        if camera is None:
            raise RequestError("INVALID_INPUT", "camera info has an all-zero K matrix")
        try:
            return cls(read_depth(depth, camera), camera)
        except ValueError as err:
            raise RequestError("INVALID_INPUT", str(err)) from None


@dataclass(frozen=True)
class PlanRequest:
    """Everything one plan needs, in plain types (frames as poses already looked up)."""

    image: DepthImage
    T_output_camera: Pose = field(default_factory=Pose.identity)
    T_hand_tool: Pose = field(default_factory=Pose.identity)          # the tcp_offset
    initial_tool: Pose | None = None          # the tool's initial pose in its own frame ...
    T_camera_initial: Pose = field(default_factory=Pose.identity)     # ... which is here in the camera frame
    constraint_values: Mapping = field(default_factory=dict)          # flat names, constraints_from_params
    n_candidates: int = 1
    time_budget_s: float | None = None
    hand_mode: str = "basic"
    gripper_force: float = 0.5
    callback: Callable | None = None

    def initial_hand_camera(self) -> Pose | None:
        """The initial hand (TCP) pose in the camera frame."""
        if self.initial_tool is None:
            return None
        return apply_tcp_offset(self.T_camera_initial @ self.initial_tool, self.T_hand_tool.inverse())

    def constraints(self):
        """The task constraints (camera/output frames); RequestError INVALID_INPUT if they are bad."""
        from grasp_planner.planning.constraints import constraints_from_params

        try:
            return constraints_from_params(dict(self.constraint_values),
                                           T_camera_output=self.T_output_camera.inverse()) or None
        except ValueError as err:
            raise RequestError("INVALID_INPUT", f"task constraints: {err}") from None


@dataclass(frozen=True)
class ReplyGrasp:
    """One grasp in the output frame: where the hand goes and where the robot's tool frame must be."""

    T_output_hand: Pose
    T_output_tool: Pose
    score: float
    probability: float
    distance: float
    n_iter: int


@dataclass(frozen=True)
class PlanReply:
    """The one result type of a request; ``reason`` is a FailureReason name ("NONE" on success)."""

    success: bool
    reason: str
    message: str
    grasps: tuple = ()                  # ReplyGrasp, best first (may be non-empty on failure)
    initial_hand: Pose | None = None    # output frame
    trajectory: tuple = ()              # the best run's hand poses, output frame
    timings: dict = field(default_factory=dict)
    pre_grasp: HandPosture | None = None
    grasp: HandPosture | None = None


def refused(reason: str, detail: str) -> PlanReply:
    """A reply for a request refused before planning."""
    return PlanReply(False, reason, failure_message(reason, detail))


def serve(planner, request: PlanRequest) -> PlanReply:
    """Plan one request with a GraspPlanner; every failure comes back as a reply, never raised."""
    try:
        initial = request.initial_hand_camera()
        constraints = request.constraints()
    except RequestError as err:
        return refused(err.reason, str(err))
    except ValueError as err:     # a degenerate pose or offset
        return refused("INVALID_INPUT", str(err))
    image = request.image
    result = planner.plan(image, image.camera, initial, n_candidates=request.n_candidates,
                          time_budget_s=request.time_budget_s, callback=request.callback, constraints=constraints)
    T_out = request.T_output_camera
    grasps = tuple(ReplyGrasp(T_out @ g.pose, apply_tcp_offset(T_out @ g.pose, request.T_hand_tool), g.score,
                              g.probability, g.distance, g.n_iter) for g in result.grasps)
    reason = "NONE" if result.success else result.reason.name
    message = result.message if result.success else failure_message(reason, result.message)
    return PlanReply(result.success, reason, message, grasps,
                     None if result.initial_pose is None else T_out @ result.initial_pose,
                     tuple(T_out @ q for q in result.trajectory), dict(result.timings),
                     pre_grasp_posture(request.hand_mode), grasp_posture(request.hand_mode, request.gripper_force))


def check_inputs(image_present: bool, info_present: bool, image_age_s: float, max_image_age_s: float,
                 source: str = "latest", depth_topic: str = "depth/image",
                 info_topic: str = "depth/camera_info") -> None:
    """RequestError NO_IMAGE / STALE_IMAGE unless there is an image (``source``: "latest" from
    ``depth_topic`` or "goal" from the action goal), its camera info, and the image is at most
    ``max_image_age_s`` old (0: any age)."""
    if not image_present:
        raise RequestError("NO_IMAGE", "the goal has no depth image (fill depth or set use_latest_image)"
                           if source == "goal" else f"no depth image received yet on {depth_topic}")
    if not info_present:
        raise RequestError("NO_IMAGE", f"no camera info received yet on {info_topic}")
    if max_image_age_s > 0 and image_age_s > max_image_age_s:
        raise RequestError("STALE_IMAGE", f"the {source} depth image is {image_age_s:.2f} s old "
                                          f"(max_image_age_s = {max_image_age_s})")


def goal_error(n_candidates: int, time_budget_s: float) -> str | None:
    """Why an action goal is rejected outright, or None."""
    if n_candidates > MAX_GOAL_CANDIDATES or not 0.0 <= time_budget_s <= MAX_GOAL_BUDGET_S:
        return (f"n_candidates must be <= {MAX_GOAL_CANDIDATES} and time_budget in [0, {MAX_GOAL_BUDGET_S:g}] s, "
                f"got {n_candidates} and {time_budget_s}")
    return None


def canceled(reply: PlanReply) -> PlanReply:
    """``reply`` as the reply of a goal canceled while it planned (its grasps kept)."""
    return PlanReply(False, "CANCELED", failure_message("CANCELED", "cancel requested by the client"),
                     reply.grasps, reply.initial_hand, reply.trajectory, reply.timings, reply.pre_grasp, reply.grasp)


def log_line(reply: PlanReply) -> str:
    """What the node logs for a reply (as an error unless it succeeded)."""
    if reply.success:
        return f"plan succeeded: {reply.message}"
    return f"plan {'refused' if reply.reason in REFUSED_REASONS else 'failed'} ({reply.reason}): {reply.message}"


class OnePlanAtATime:
    """Serves requests one at a time: a request arriving while a plan runs is refused BUSY, not queued
    (a camera at 30 Hz and requests at 5 Hz must never build a backlog). A request with no reply to say
    BUSY on (the node's ``initial_pose`` topic) may ``wait_turn`` first: the newest waiting one is served
    next, on the newest image, and older waiting ones are dropped, so at most one ever waits."""

    def __init__(self):
        self._busy, self._waiters, self._newest = threading.Lock(), threading.Lock(), 0

    def wait_turn(self, timeout_s: float) -> bool:
        """Wait at most ``timeout_s`` until no plan runs; False if a newer request began waiting meanwhile."""
        with self._waiters:
            self._newest += 1
            ticket = self._newest
        if self._busy.acquire(timeout=max(float(timeout_s), 0.0)):
            self._busy.release()
        return ticket == self._newest

    def __call__(self, planner, build: Callable[[], PlanRequest]) -> PlanReply:
        """``serve(planner, build())``; a RequestError from ``build`` or any unexpected error is a reply."""
        if not self._busy.acquire(blocking=False):
            return refused("BUSY", "requests are not queued; retry when the running plan ends")
        try:
            return serve(planner, build())
        except RequestError as err:
            return refused(err.reason, str(err))
        except Exception as err:  # the planner failed unexpectedly: report it, keep serving
            return refused("INTERNAL_ERROR", f"{type(err).__name__}: {err}")
        finally:
            self._busy.release()
