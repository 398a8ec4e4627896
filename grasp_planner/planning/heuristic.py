"""A hand-written top-down grasp, no network: the baseline every table-world evaluation reports beside the planner.

The rule (issue 17): the palm 1-3.5 cm above the target's highest point, centred on the target
across the table within 1 cm, approaching straight down, at a random yaw. A learned planner that
does not beat it has learned nothing a robot needs. It reads only what perception gives at run
time (the target's points and the table plane), so it sees the same input as the planner.

Taken literally the rule would push the open fingertips (10.4 cm below the palm) into the table
under any object shorter than about 9 cm, where no real hand can start; so the palm is raised, when
needed, until the open fingertips clear the table by ``TABLE_CLEARANCE_M``.
"""
from __future__ import annotations

import numpy as np

#: palm height above the target's highest point (m), and the largest centring error across the table (m)
HEIGHT_RANGE_M = (0.01, 0.035)
CENTRE_RADIUS_M = 0.01
#: the open fingertips stay this far above the table (m)
TABLE_CLEARANCE_M = 0.005


def open_hand_reach() -> float:
    """How far (m) the open hand reaches along its approach axis beyond the palm frame's origin."""
    from grasp_planner.hand import kinematics as kin
    return float(kin.open_hand_corners("basic")[:, 2].max())


def top_down_grasp(target_points: np.ndarray, up: np.ndarray, rng: np.random.Generator,
                   table_height: float | None = None) -> np.ndarray:
    """A palm pose ``(4, 4)`` (frame of the points) above ``target_points (N, 3)``; ``up`` is the table's normal.

    The hand's +z (its approach axis) points down along ``-up``; its x axis is the random yaw.
    ``table_height`` (``up . p`` on the table top), when given, keeps the open fingertips above it.
    """
    points = np.asarray(target_points, dtype=float).reshape(-1, 3)
    points = points[np.all(np.isfinite(points), axis=1)]
    if len(points) == 0:
        raise ValueError("the heuristic needs at least one target point")
    up = np.asarray(up, dtype=float)
    up = up / np.linalg.norm(up)
    height = points @ up
    helper = np.array([1.0, 0.0, 0.0]) if abs(up[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(up, helper)
    u /= np.linalg.norm(u)
    w = np.cross(up, u)
    # the centre of the target's footprint across the table, off by at most CENTRE_RADIUS_M
    across = points - np.outer(height, up)
    centre = (across.min(axis=0) + across.max(axis=0)) / 2.0
    angle, radius = rng.uniform(0.0, 2.0 * np.pi), CENTRE_RADIUS_M * np.sqrt(rng.uniform())
    centre = centre + radius * (np.cos(angle) * u + np.sin(angle) * w)
    palm_height = height.max() + rng.uniform(*HEIGHT_RANGE_M)
    if table_height is not None:
        palm_height = max(palm_height, table_height + open_hand_reach() + TABLE_CLEARANCE_M)
    palm = centre + (palm_height - centre @ up) * up
    yaw = rng.uniform(0.0, 2.0 * np.pi)
    z = -up
    x = np.cos(yaw) * u + np.sin(yaw) * w
    T = np.eye(4)
    T[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
    T[:3, 3] = palm
    return T


def heuristic_for_view(view, rng: np.random.Generator) -> np.ndarray:
    """The heuristic on a perception.NormalizedView, as a pose ``(4, 4)`` in the real camera frame."""
    plane = view.plane_virtual
    T_virtual = top_down_grasp(view.target_points, plane.normal, rng, table_height=-plane.offset)
    return view.to_camera(T_virtual).matrix()
