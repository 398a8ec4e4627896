"""The support surface: a robust table-plane fit on the camera's point cloud.

RANSAC over random point triples (seeded) finds the plane with the most points within
``inlier_tolerance``; a least-squares fit on its inliers (of a 30k-point subsample) refines it. The normal is turned
towards the camera, so it is the scene's "up" and heights above the table are positive.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: points within this distance (m) of a candidate plane count as its inliers
DEFAULT_INLIER_TOLERANCE = 0.004
#: points higher than this (m) above the table are object points
DEFAULT_OBJECT_HEIGHT = 0.005
#: a plane must hold at least this fraction of the valid points to be called the table
DEFAULT_MIN_INLIER_FRACTION = 0.15
#: the least-squares refinement uses a uniform sample of at most this many points
DEFAULT_MAX_REFINE = 10000


@dataclass(frozen=True)
class Plane:
    """The plane ``normal . p + offset = 0`` (unit normal); ``height(p)`` > 0 on the normal's side."""

    normal: np.ndarray
    offset: float
    n_inliers: int = 0

    def height(self, points: np.ndarray) -> np.ndarray:
        """Signed distance (m) of ``(N, 3)`` points above the plane."""
        return np.asarray(points, dtype=float) @ self.normal + self.offset

    def project(self, points: np.ndarray) -> np.ndarray:
        """Feet of ``(N, 3)`` points on the plane."""
        points = np.asarray(points, dtype=float)
        return points - self.height(points)[:, None] * self.normal

    def transformed(self, T_new_old) -> "Plane":
        """The same plane written in another frame, given ``T_new_old`` (a Pose) mapping old -> new."""
        normal = T_new_old.rotation @ self.normal
        offset = self.offset - float(normal @ T_new_old.translation)
        return Plane(normal, offset, self.n_inliers)


def _least_squares_plane(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Total least squares: the normal is the covariance's least eigenvector (a 3x3 problem, fast)."""
    centroid = points.mean(axis=0)
    # the scatter matrix from second moments: one pass over the points, no centred copy
    _, vectors = np.linalg.eigh(points.T @ points - len(points) * np.outer(centroid, centroid))
    normal = vectors[:, 0]
    return normal, -float(normal @ centroid)


def fit_table_plane(points: np.ndarray, rng: np.random.Generator, iterations: int = 200,
                    inlier_tolerance: float = DEFAULT_INLIER_TOLERANCE, max_sample: int = 4000,
                    max_refine: int = DEFAULT_MAX_REFINE,
                    min_inlier_fraction: float = DEFAULT_MIN_INLIER_FRACTION,
                    viewpoint=(0.0, 0.0, 0.0)) -> Plane:
    """The dominant plane of a cloud (the table), normal pointing towards ``viewpoint``.

    Parameters
    ----------
    points : (N, 3) cloud in the camera frame, m.
    rng : draws the RANSAC triples and the subsample the hypotheses are scored on.
    iterations : number of RANSAC hypotheses.
    inlier_tolerance : distance (m) within which a point supports a plane.
    max_sample : hypotheses are scored on at most this many points (a uniform subsample).
    max_refine : the least-squares refinement uses at most this many points (a uniform subsample).
    min_inlier_fraction : the best plane must hold this fraction of the points, else no table.
    viewpoint : the camera position in the cloud's frame; the normal faces it.

    Returns
    -------
    Plane in the cloud's frame, refined by least squares on its inliers; ``n_inliers`` counts them in the full cloud.

    Raises
    ------
    ValueError when no plane holds ``min_inlier_fraction`` of the points.
    """
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(points) < 3:
        raise ValueError(f"no support plane: the cloud has only {len(points)} points")
    # Hypotheses are scored on max_sample points and refined on max_refine: a 1 mm-noise table
    # needs no more to pin its normal to a few hundredths of a degree; only the final count uses all.
    refine_set = points if len(points) <= max_refine else points[rng.integers(0, len(points), max_refine)]
    sample = refine_set[:max_sample]
    triples = sample[rng.integers(0, len(sample), size=(iterations, 3))]
    normals = np.cross(triples[:, 1] - triples[:, 0], triples[:, 2] - triples[:, 0])
    norms = np.linalg.norm(normals, axis=1)
    keep = norms > 1e-12
    normals = normals[keep] / norms[keep, None]
    offsets = -np.einsum("ij,ij->i", normals, triples[keep, 0])
    if len(normals) == 0:
        raise ValueError("no support plane: every RANSAC sample was degenerate (collinear points)")
    # float32: scoring is an (n_sample, iterations) table, memory-bound; a tenth of a micrometre of
    # rounding does not move a point across a millimetre tolerance
    residual = sample.astype(np.float32) @ normals.T.astype(np.float32) + offsets.astype(np.float32)
    support = np.count_nonzero(np.abs(residual) < inlier_tolerance, axis=0)
    best = int(np.argmax(support))
    normal, offset = normals[best], offsets[best]
    # Two refinement rounds: inliers of the current plane -> least squares -> inliers again.
    for _ in range(2):
        inliers = np.abs(refine_set @ normal + offset) < inlier_tolerance
        if inliers.sum() < 3:
            break
        normal, offset = _least_squares_plane(refine_set[inliers])
    inliers = np.abs(points @ normal + offset) < inlier_tolerance
    n_inliers = int(inliers.sum())
    if n_inliers < min_inlier_fraction * len(points):
        raise ValueError(f"no support plane: the best plane holds {n_inliers} of {len(points)} points "
                         f"(need {min_inlier_fraction:.0%})")
    if float(normal @ np.asarray(viewpoint, dtype=float) + offset) < 0:
        normal, offset = -normal, -offset
    return Plane(normal, float(offset), n_inliers)
