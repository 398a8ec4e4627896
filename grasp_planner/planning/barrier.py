"""The paper's inverse collision barrier, alpha / (eps + d), on the open hand's distance to the object.

High-scoring poses often intersect the object because colliding examples were left out of
training, so the optimizer pays alpha / (eps + d) with d the signed distance (m) from all links
of the open hand to the object geometry. We subtract the value at ``cutoff`` and clip to 0 beyond
it, so far-away poses are scored by the network alone; with the shipped settings the penalty at
contact is about 500, against typical logits of 2 to 4 (the paper).
"""
from __future__ import annotations

import numpy as np

from grasp_planner.planning.config import BarrierConfig

#: largest distance (m) from the hand frame's origin to any point of the open hand, to bound how
#: far a rotation of the hand moves its links (the Robotiq 3F is about 0.25 m long open)
HAND_REACH_M = 0.25


def barrier_cost(distance, config: BarrierConfig) -> np.ndarray:
    """Penalty for signed hand-object distances (m); distances <= -eps cost as much as -eps/2."""
    d = np.asarray(distance, dtype=float)
    # At or behind -eps the formula flips sign; hold it at its value for d = -eps/2 (2x contact).
    d = np.maximum(d, -0.5 * config.eps_m)
    cost = config.alpha / (config.eps_m + d) - config.alpha / (config.eps_m + config.cutoff_m)
    return np.where(d < config.cutoff_m, cost, 0.0)


def hand_distances(geometry, T_frame_hand: np.ndarray, near: float = np.inf) -> np.ndarray:
    """Distances (m) from the open hand at poses ``(N, 4, 4)`` to the geometry.

    ``geometry`` is a distance_field.SceneBarrier (built once per image; exact below ``near``, a lower
    bound >= ``near`` beyond) or a Klamp't ObjectGeometry (a known mesh; always exact).
    """
    T = np.asarray(T_frame_hand, dtype=float).reshape(-1, 4, 4)
    if hasattr(geometry, "hand_distances"):
        return geometry.hand_distances(T, near)
    from grasp_planner.geometry import hand_distances as _distances  # Klamp't loads only when needed
    return np.asarray(_distances(geometry, T), float)


def may_reach(center_distance: float, max_motion_m: float, config: BarrierConfig) -> bool:
    """Whether any hand within ``max_motion_m`` of a pose at ``center_distance`` can feel the barrier."""
    return center_distance - max_motion_m < config.cutoff_m
