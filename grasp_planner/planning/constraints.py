"""Task constraints on the hand pose: approach cone, workspace box, maximum deviation from the start.

A task planner restricts where the grasp may be ("top-down within 30 degrees", "inside this box",
"no further than 5 cm from my initial guess"). Each constraint gives

* a smooth penalty the optimizer adds to ``-logit + barrier`` (``ConstraintSet.penalty``), and
* a hard check of the result (``ConstraintSet.check``): a result that fails it is never reported
  as a success; the planner returns success = false with reason OUT_OF_WORKSPACE.

Penalty shape (one scalar ``excess`` per constraint: radians outside the cone, metres outside the
box, ...). With ``gain`` the slope far outside and ``knee`` the width of the soft band::

    s = excess + knee                     # the penalty starts `knee` *inside* the hard limit
    penalty = 0                           s <= 0
            = gain * s**2 / (4 * knee)    0 < s <= 2 knee   (C1 quadratic blend)
            = gain * (s - knee)           s > 2 knee        (linear: bounded gradient)

At the hard limit (s = knee) the slope is already gain / 2, and it reaches ``gain`` at ``knee``
outside. So the optimizer's balance point, where the network's pull on the pose equals the
penalty's push, lies inside the hard limit for any pull below gain / 2. The shipped gains
(``ANGLE_GAIN`` = 100 per rad, ``POSITION_GAIN`` = 1000 per m: 10 per 0.1 rad or per cm, the
optimizer's scaled units) outweigh the network's logits of 2 to 4 after a few degrees or
millimetres, while a violation of 60 degrees or 10 cm costs about 100, a fifth of the barrier's
500 at contact, so a constraint never drives the hand into the object. All three are linear far
outside, so BFGS sees a bounded gradient from any start.

Frames: the optimizer works in the camera frame (``T_camera_hand``). Each constraint is given in
``"camera"`` or ``"output"`` frame; ``ConstraintSet(..., T_camera_output=...)`` relates the two.
Only ``grasp_planner.pose`` is imported here (no ROS).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np

from grasp_planner.pose import Pose, invert_transform, rotation_angle_between

#: penalty slope far outside an angular limit, per rad (10 per 0.1 rad, the optimizer's rotation unit)
ANGLE_GAIN = 100.0
#: penalty slope far outside a position limit, per m (10 per cm, the optimizer's position unit)
POSITION_GAIN = 1000.0
#: width of the soft band of an angular limit, rad (about 1.1 degrees)
ANGLE_KNEE = 0.02
#: width of the soft band of a position limit, m
POSITION_KNEE = 0.002
#: a hard check passes up to this excess (rad), for round-off in transforms and messages
CHECK_TOLERANCE_RAD = 1e-4
#: a hard check passes up to this excess (m)
CHECK_TOLERANCE_M = 1e-4

FRAMES = ("camera", "output")


def soft_excess_penalty(excess, gain: float, knee: float) -> np.ndarray:
    """The penalty of the module docstring for excesses ``(N,)`` beyond a hard limit (negative = inside).

    Parameters
    ----------
    excess : array
        Amount beyond the hard limit, in the constraint's unit (rad or m); <= -knee costs 0.
    gain : float
        Slope far outside, penalty per unit.
    knee : float
        Width of the soft band (same unit), > 0.
    """
    s = np.asarray(excess, dtype=float) + knee
    quad = gain * s * s / (4.0 * knee)
    lin = gain * (s - knee)
    return np.where(s <= 0.0, 0.0, np.where(s <= 2.0 * knee, quad, lin))


def _check_frame(frame: str) -> str:
    if frame not in FRAMES:
        raise ValueError(f"constraint frame must be one of {FRAMES}, got {frame!r}")
    return frame


def _as_poses(T) -> np.ndarray:
    T = np.asarray(T, dtype=float)
    if T.shape[-2:] != (4, 4):
        raise ValueError(f"hand poses must be 4x4 matrices, got shape {T.shape}")
    return T.reshape(-1, 4, 4)


@dataclass(frozen=True)
class ApproachCone:
    """The approach axis (hand +z) must lie within ``max_angle_rad`` of ``direction``.

    Parameters
    ----------
    direction : (3,) array
        Preferred approach direction (normalised here) in ``frame``. Top-down for a camera looking
        down at a table is ``(0, 0, 1)`` in the camera frame (the optical axis points down).
    max_angle_rad : float
        Half-angle of the cone, rad, in [0, pi].
    frame : str
        "camera" or "output".
    """

    direction: np.ndarray
    max_angle_rad: float
    frame: str = "camera"

    def __post_init__(self):
        d = np.asarray(self.direction, dtype=float).reshape(3)
        norm = np.linalg.norm(d)
        if not np.all(np.isfinite(d)) or norm < 1e-9:
            raise ValueError(f"approach cone direction must be a finite non-zero vector, got {d.tolist()}")
        if not 0.0 <= float(self.max_angle_rad) <= np.pi:
            raise ValueError(f"approach cone angle must be in [0, pi] rad, got {self.max_angle_rad}")
        _check_frame(self.frame)
        object.__setattr__(self, "direction", d / norm)
        object.__setattr__(self, "max_angle_rad", float(self.max_angle_rad))

    def angles(self, T_frame_hand) -> np.ndarray:
        """Angle (rad) between each pose's approach axis and the cone's direction, ``(N,)``."""
        z = _as_poses(T_frame_hand)[:, :3, 2]
        # atan2 of |cross| and dot: accurate near 0 and pi, unlike arccos of the dot product
        return np.arctan2(np.linalg.norm(np.cross(z, self.direction), axis=-1), z @ self.direction)

    def excess(self, T_frame_hand) -> np.ndarray:
        """Radians outside the cone (negative inside), ``(N,)``."""
        return self.angles(T_frame_hand) - self.max_angle_rad

    def describe(self, excess: float) -> str:
        return (f"approach axis is {np.degrees(self.max_angle_rad + excess):.1f} deg from "
                f"{np.round(self.direction, 3).tolist()} ({self.frame} frame), limit "
                f"{np.degrees(self.max_angle_rad):.1f} deg")


@dataclass(frozen=True)
class WorkspaceBox:
    """The TCP (hand frame origin) must lie in the axis-aligned box ``lo <= p <= hi`` of ``frame``, m."""

    lo: np.ndarray
    hi: np.ndarray
    frame: str = "output"

    def __post_init__(self):
        lo = np.asarray(self.lo, dtype=float).reshape(3)
        hi = np.asarray(self.hi, dtype=float).reshape(3)
        if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))) or np.any(lo > hi):
            raise ValueError(f"workspace box needs finite lo <= hi, got lo={lo.tolist()} hi={hi.tolist()}")
        _check_frame(self.frame)
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def excess(self, T_frame_hand) -> np.ndarray:
        """Distance (m) from the TCP to the box, or minus the depth inside it, ``(N,)``."""
        p = _as_poses(T_frame_hand)[:, :3, 3]
        outside = np.maximum(np.maximum(self.lo - p, p - self.hi), 0.0)
        dist_out = np.linalg.norm(outside, axis=-1)
        depth_in = np.min(np.minimum(p - self.lo, self.hi - p), axis=-1)
        return np.where(dist_out > 0.0, dist_out, -np.maximum(depth_in, 0.0))

    def describe(self, excess: float) -> str:
        return (f"TCP is {excess * 100:.1f} cm outside the workspace box lo={np.round(self.lo, 3).tolist()} "
                f"hi={np.round(self.hi, 3).tolist()} m ({self.frame} frame)")


@dataclass(frozen=True)
class MaxDeviation:
    """The pose may move at most ``max_translation_m`` and turn at most ``max_angle_rad`` from a reference.

    ``reference_pose`` None means "the plan's initial pose": ``ConstraintSet.with_reference`` fills
    it in (in the camera frame) when the plan starts. Either limit may be ``inf``.
    """

    max_translation_m: float = np.inf
    max_angle_rad: float = np.inf
    reference_pose: Pose | None = None
    frame: str = "camera"

    def __post_init__(self):
        if not (self.max_translation_m >= 0 and self.max_angle_rad >= 0):
            raise ValueError(f"max deviation limits must be >= 0, got {self.max_translation_m} m, "
                             f"{self.max_angle_rad} rad")
        _check_frame(self.frame)

    def _reference(self) -> Pose:
        if self.reference_pose is None:
            raise ValueError("MaxDeviation has no reference pose; call ConstraintSet.with_reference first")
        return self.reference_pose

    def translation_excess(self, T_frame_hand) -> np.ndarray:
        ref = self._reference()
        p = _as_poses(T_frame_hand)[:, :3, 3]
        return np.linalg.norm(p - ref.translation, axis=-1) - self.max_translation_m

    def angle_excess(self, T_frame_hand) -> np.ndarray:
        ref = self._reference()
        return rotation_angle_between(ref.rotation, _as_poses(T_frame_hand)[:, :3, :3]) - self.max_angle_rad


def _finite_penalty(excess, gain, knee) -> np.ndarray:
    # an infinite limit gives excess -inf: no penalty, no NaN
    return soft_excess_penalty(np.where(np.isfinite(excess), excess, -np.inf), gain, knee)


@dataclass(frozen=True)
class ConstraintSet:
    """The task constraints of one plan, evaluated on camera-frame hand poses.

    Parameters
    ----------
    constraints : sequence of ApproachCone, WorkspaceBox, MaxDeviation
    T_camera_output : Pose or None
        Output frame in the camera frame; required when a constraint is in the "output" frame.
        (Look it up at the depth image's time stamp.)
    """

    constraints: tuple = ()
    T_camera_output: Pose | None = None
    _T_frame_camera: dict = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "constraints", tuple(self.constraints))
        for c in self.constraints:
            if not isinstance(c, (ApproachCone, WorkspaceBox, MaxDeviation)):
                raise TypeError(f"not a constraint: {c!r}")
            if c.frame == "output" and self.T_camera_output is None:
                raise ValueError(f"{type(c).__name__} is in the output frame but T_camera_output is not given")
        T_out_cam = None if self.T_camera_output is None else invert_transform(self.T_camera_output.matrix())
        object.__setattr__(self, "_T_frame_camera", {"camera": np.eye(4), "output": T_out_cam})

    def __bool__(self) -> bool:
        return bool(self.constraints)

    def with_reference(self, T_camera_initial: Pose) -> "ConstraintSet":
        """A copy whose MaxDeviation constraints without a reference use ``T_camera_initial``."""
        T_out = self._T_frame_camera["output"]
        out = []
        for c in self.constraints:
            if isinstance(c, MaxDeviation) and c.reference_pose is None:
                ref = T_camera_initial if c.frame == "camera" else Pose.from_matrix(T_out @ T_camera_initial.matrix())
                c = replace(c, reference_pose=ref)
            out.append(c)
        return ConstraintSet(tuple(out), self.T_camera_output)

    def without_unreferenced_deviation(self) -> "ConstraintSet":
        """A copy without the MaxDeviation limits that have no reference: with no initial pose there is
        nothing to deviate from (measuring from a random seed would constrain the plan arbitrarily)."""
        kept = tuple(c for c in self.constraints if not (isinstance(c, MaxDeviation) and c.reference_pose is None))
        return ConstraintSet(kept, self.T_camera_output)

    def _in_frame(self, c, T_camera_hand: np.ndarray) -> np.ndarray:
        return self._T_frame_camera[c.frame] @ T_camera_hand

    def excesses(self, T_camera_hand) -> list[tuple[str, object, np.ndarray]]:
        """``(kind, constraint, excess (N,))`` for every limit; kind is cone, box, translation or angle."""
        T = _as_poses(T_camera_hand)
        out = []
        for c in self.constraints:
            Tf = self._in_frame(c, T)
            if isinstance(c, ApproachCone):
                out.append(("cone", c, c.excess(Tf)))
            elif isinstance(c, WorkspaceBox):
                out.append(("box", c, c.excess(Tf)))
            else:
                out.append(("translation", c, c.translation_excess(Tf)))
                out.append(("angle", c, c.angle_excess(Tf)))
        return out

    def penalty(self, T_camera_hand) -> np.ndarray:
        """Smooth penalty ``(N,)`` for hand poses ``(N, 4, 4)`` in the camera frame (0 well inside)."""
        T = _as_poses(T_camera_hand)
        total = np.zeros(len(T))
        for kind, _, excess in self.excesses(T):
            gain, knee = (ANGLE_GAIN, ANGLE_KNEE) if kind in ("cone", "angle") else (POSITION_GAIN, POSITION_KNEE)
            total += _finite_penalty(excess, gain, knee)
        return total

    def check(self, T_camera_hand) -> list[str]:
        """Hard check of one pose ``(4, 4)``: a sentence per violated limit, empty if it satisfies all.

        A limit is violated when the excess is above ``CHECK_TOLERANCE_RAD`` (angles) or
        ``CHECK_TOLERANCE_M`` (positions).
        """
        T = _as_poses(T_camera_hand)
        if len(T) != 1:
            raise ValueError(f"check takes one pose, got {len(T)}")
        problems = []
        for kind, c, excess in self.excesses(T):
            e = float(excess[0])
            if kind == "cone" and e > CHECK_TOLERANCE_RAD:
                problems.append(c.describe(e))
            elif kind == "box" and e > CHECK_TOLERANCE_M:
                problems.append(c.describe(e))
            elif kind == "translation" and e > CHECK_TOLERANCE_M:
                problems.append(f"TCP moved {(e + c.max_translation_m) * 100:.1f} cm from the initial pose, "
                                f"limit {c.max_translation_m * 100:.1f} cm")
            elif kind == "angle" and e > CHECK_TOLERANCE_RAD:
                problems.append(f"hand turned {np.degrees(e + c.max_angle_rad):.1f} deg from the initial pose, "
                                f"limit {np.degrees(c.max_angle_rad):.1f} deg")
        return problems

    def conflicts(self) -> list[str]:
        """Pairs of constraints that no pose can satisfy together, found before optimizing.

        Detects disjoint workspace boxes (in one frame), disjoint approach cones (in one frame), a
        deviation ball around the reference that misses a box, and a deviation angle that cannot
        reach a cone. Empty does not prove feasibility; ``check`` on the result is the final word.
        """
        found = []
        cones = [c for c in self.constraints if isinstance(c, ApproachCone)]
        boxes = [c for c in self.constraints if isinstance(c, WorkspaceBox)]
        devs = [c for c in self.constraints if isinstance(c, MaxDeviation) and c.reference_pose is not None]
        R = {f: (None if T is None else T[:3, :3]) for f, T in self._T_frame_camera.items()}
        for i, a in enumerate(cones):
            for b in cones[i + 1:]:
                da = R[a.frame].T @ a.direction     # both in the camera frame
                db = R[b.frame].T @ b.direction
                gap = np.arctan2(np.linalg.norm(np.cross(da, db)), da @ db)
                if gap > a.max_angle_rad + b.max_angle_rad + CHECK_TOLERANCE_RAD:
                    found.append(f"approach cones are {np.degrees(gap):.1f} deg apart, more than their "
                                 f"half-angles {np.degrees(a.max_angle_rad):.1f} + "
                                 f"{np.degrees(b.max_angle_rad):.1f} deg")
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                if a.frame == b.frame and np.any((np.maximum(a.lo, b.lo) - np.minimum(a.hi, b.hi)) > CHECK_TOLERANCE_M):
                    found.append(f"workspace boxes do not overlap ({a.frame} frame)")
        for d in devs:
            T_cam_ref = invert_transform(self._T_frame_camera[d.frame]) @ d.reference_pose.matrix()
            for b in boxes:
                gap = float(b.excess(self._T_frame_camera[b.frame] @ T_cam_ref)[0])
                if gap > d.max_translation_m + CHECK_TOLERANCE_M:
                    found.append(f"the workspace box is {gap * 100:.1f} cm from the initial pose but the TCP may move "
                                 f"only {d.max_translation_m * 100:.1f} cm")
            for c in cones:
                gap = float(c.excess(self._T_frame_camera[c.frame] @ T_cam_ref)[0])
                if gap > d.max_angle_rad + CHECK_TOLERANCE_RAD:
                    found.append(f"the initial approach axis is {np.degrees(gap):.1f} deg outside the approach cone "
                                 f"but the hand may turn only {np.degrees(d.max_angle_rad):.1f} deg")
        return found


def constraints_from_params(params: Mapping, T_camera_output: Pose | None = None) -> ConstraintSet:
    """A ConstraintSet from flat parameters (node parameters or an action goal), unset ones left out.

    Keys (all optional; units in the names)::

        approach_cone.enabled (bool), approach_cone.direction [x, y, z],
        approach_cone.max_angle_deg, approach_cone.frame ("camera" | "output")
        workspace.enabled (bool), workspace.lo [x, y, z] m, workspace.hi [x, y, z] m, workspace.frame
        max_deviation.translation_m (<= 0 or inf: unlimited), max_deviation.angle_deg (likewise)

    Unknown keys raise ValueError naming them, so a typo in a params file is not silently ignored.
    """
    known = {"approach_cone.enabled", "approach_cone.direction", "approach_cone.max_angle_deg",
             "approach_cone.frame", "workspace.enabled", "workspace.lo", "workspace.hi", "workspace.frame",
             "max_deviation.translation_m", "max_deviation.angle_deg"}
    unknown = set(params) - known
    if unknown:
        raise ValueError(f"unknown constraint parameter(s) {sorted(unknown)}; known: {sorted(known)}")
    out: list = []
    if params.get("approach_cone.enabled", False):
        out.append(ApproachCone(params.get("approach_cone.direction", (0.0, 0.0, 1.0)),
                                np.radians(float(params.get("approach_cone.max_angle_deg", 30.0))),
                                params.get("approach_cone.frame", "camera")))
    if params.get("workspace.enabled", False):
        out.append(WorkspaceBox(params["workspace.lo"], params["workspace.hi"],
                                params.get("workspace.frame", "output")))

    def limit(value, scale=1.0):
        value = float(value)
        return np.inf if value <= 0 or not np.isfinite(value) else value * scale

    trans = limit(params.get("max_deviation.translation_m", 0.0))
    angle = limit(params.get("max_deviation.angle_deg", 0.0), np.pi / 180.0)
    if np.isfinite(trans) or np.isfinite(angle):
        out.append(MaxDeviation(trans, angle))
    return ConstraintSet(tuple(out), T_camera_output)
