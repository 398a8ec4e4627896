"""The paper's comparison points: uniform random hand poses, and random poses ranked by the CNN."""
from __future__ import annotations

import numpy as np

from grasp_planner.pose import Pose, quaternion_to_matrix

#: how far (m) beyond the object's bounding box uniform poses may put the palm: about the open
#: hand's finger length, so every pose that could touch the object is covered
UNIFORM_MARGIN_M = 0.1


def uniform_poses(bounds: np.ndarray, n: int, rng: np.random.Generator,
                  margin_m: float = UNIFORM_MARGIN_M) -> np.ndarray:
    """``n`` hand poses ``(n, 4, 4)``: palm uniform in the box ``bounds`` (2, 3) grown by ``margin_m``,
    orientation uniform over SO(3), in the frame of ``bounds``."""
    bounds = np.asarray(bounds, dtype=float)
    if bounds.shape != (2, 3) or not np.all(np.isfinite(bounds)):
        raise ValueError(f"bounds must be a finite (2, 3) [min, max] box, got {bounds.tolist()}")
    lo, hi = bounds[0] - margin_m, bounds[1] + margin_m
    T = np.tile(np.eye(4), (n, 1, 1))
    T[:, :3, 3] = rng.uniform(lo, hi, size=(n, 3))
    q = rng.normal(size=(n, 4))
    T[:, :3, :3] = quaternion_to_matrix(q / np.linalg.norm(q, axis=1, keepdims=True))
    return T


def rank_by_score(scorer, image, T_cam_hand: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` highest-scoring of many poses ``(N, 4, 4)`` (camera frame) and their scores, best first:
    the sampling-and-ranking baseline (no optimization)."""
    scores = scorer.score(image, T_cam_hand)
    order = np.argsort(-scores)[:k]
    return T_cam_hand[order], scores[order]


def sample_and_rank(scorer, image, camera_bounds: np.ndarray, n: int, k: int, rng: np.random.Generator,
                    geometry=None) -> list[tuple[Pose, float]]:
    """Draw ``n`` uniform poses around ``camera_bounds`` (camera frame), drop those whose open hand
    touches ``geometry`` (if given), and return the ``k`` best by the CNN as (Pose, score)."""
    T = uniform_poses(camera_bounds, n, rng)
    if geometry is not None:
        from grasp_planner.geometry import hand_distances
        T = T[hand_distances(geometry, T) > 0.0]
    best, scores = rank_by_score(scorer, image, T, k)
    return [(Pose.from_matrix(t), float(s)) for t, s in zip(best, scores)]
