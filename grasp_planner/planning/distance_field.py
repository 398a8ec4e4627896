"""The barrier's scene, built once per image: an analytic table plane plus distance grids of the points above it.

The exact hand-to-cloud distance (Klamp't, geometry.py) costs about 1.35 ms per 13-pose stencil, more
than the network. Here the same distance is read from tables:

* the table is a plane, and a box's distance to a plane is exactly its lowest corner's height;
* every other point of the scene goes into a voxel grid per tile of the table (``TILE_M`` wide)
  holding, at each grid node, the distance (m) to the nearest point (scipy's Euclidean distance
  transform finds the nearest occupied voxel, whose stored point gives the exact node distance);
* the open hand is a fixed set of points on its link boxes' surfaces (``SAMPLE_SPACING_M``), grouped
  in cells of about ``CELL_M``; a cell whose centre is farther than its radius plus ``near`` from
  every point is not looked at, so only the few cells near the object are interpolated.

Distances below ``near`` (the barrier's cutoff) agree with the exact box-to-point distance within ``TOLERANCE_M``
(test/test_planning_barrier.py); farther ones are lower bounds, never below ``near``. Grids end
``margin`` beyond their points; outside, the distance to the grid plus the margin is a lower bound.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import distance_transform_edt, map_coordinates

from grasp_planner.hand import kinematics as kin

#: voxel of the distance grids, m
VOXEL_M = 0.004
#: spacing of the points on the hand's link boxes, m
SAMPLE_SPACING_M = 0.005
#: size of the cells the link samples are grouped in for pruning, m
CELL_M = 0.015
#: width of one table tile with its own grid, m
TILE_M = 0.12
#: stated agreement with Klamp't's exact box-to-cloud distance below the cutoff, m
TOLERANCE_M = 0.004


class PointGrid:
    """Distance (m) from any point to the nearest of ``points (N, 3)``, tabulated ``margin`` around them."""

    def __init__(self, points: np.ndarray, voxel: float = VOXEL_M, margin: float = 0.02):
        points = np.asarray(points, dtype=float)
        self.voxel, self.margin = float(voxel), float(margin)
        self.lo = points.min(axis=0) - margin
        shape = np.ceil((points.max(axis=0) + margin - self.lo) / voxel).astype(int) + 1
        self.hi = self.lo + (shape - 1) * voxel
        cells = np.clip(np.rint((points - self.lo) / voxel).astype(int), 0, shape - 1)
        stored = np.zeros((*shape, 3))
        stored[cells[:, 0], cells[:, 1], cells[:, 2]] = points
        empty = np.ones(shape, dtype=bool)
        empty[cells[:, 0], cells[:, 1], cells[:, 2]] = False
        nearest = distance_transform_edt(empty, return_distances=False, return_indices=True)
        nodes = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"), axis=-1) * voxel + self.lo
        # less half a voxel: interpolating across the surface and sampling the boxes read up to
        # ~3 mm long, which at contact would cost 20 instead of the barrier's 500
        self.values = np.linalg.norm(nodes - stored[nearest[0], nearest[1], nearest[2]], axis=-1) - 0.5 * voxel

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Distances ``(...)`` for points ``(..., 3)``; outside the grid, a lower bound >= ``margin``."""
        x = np.asarray(x, dtype=float)
        flat = x.reshape(-1, 3)
        outside = np.linalg.norm(np.maximum(np.maximum(self.lo - flat, flat - self.hi), 0.0), axis=1)
        u = np.clip((flat - self.lo) / self.voxel, 0.0, np.array(self.values.shape) - 1.0)
        inside = map_coordinates(self.values, u.T, order=1, mode="nearest", prefilter=False)
        return np.where(outside > 0.0, outside + self.margin, inside).reshape(x.shape[:-1])


@dataclass(frozen=True)
class HandSamples:
    """Points on the open hand's link boxes (hand frame), their pruning cells, and the boxes' corners."""

    points: np.ndarray         # (P, 3)
    cell: np.ndarray           # (P,) cell index of each point
    centres: np.ndarray        # (C, 3) cell centres
    radii: np.ndarray          # (C,) largest distance from a cell's centre to its points
    corners: np.ndarray        # (8 L, 3)
    reach: float               # largest distance of a point from the hand frame's origin

    @classmethod
    def open_hand(cls, mode: str = "basic", spacing: float = SAMPLE_SPACING_M, cell: float = CELL_M):
        boxes = kin.box_matrices(np.eye(4), kin.open_configuration(mode))
        points, cells, corners = [], [], []
        for T, half in zip(boxes, kin.BOX_HALF_EXTENTS):
            axes = [np.linspace(-h, h, int(np.ceil(2 * h / spacing)) + 1) for h in half]
            grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)
            surface = grid[np.any(np.isclose(np.abs(grid), half), axis=1)]
            key = np.floor((surface + half) / cell).astype(int)
            _, ids = np.unique(key, axis=0, return_inverse=True)
            offset = sum(len(np.unique(c)) for c in cells)
            points.append(surface @ T[:3, :3].T + T[:3, 3])
            cells.append(ids.reshape(-1) + offset)
            signs = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1], indexing="ij")).reshape(3, -1).T
            corners.append((signs * half) @ T[:3, :3].T + T[:3, 3])
        points, cell_of = np.vstack(points), np.concatenate(cells)
        n = cell_of.max() + 1
        centres = np.stack([points[cell_of == c].mean(axis=0) for c in range(n)])
        radii = np.array([np.linalg.norm(points[cell_of == c] - centres[c], axis=1).max() for c in range(n)])
        return cls(points, cell_of, centres, radii, np.vstack(corners), float(np.linalg.norm(points, axis=1).max()))


_SAMPLES: HandSamples | None = None


def hand_samples() -> HandSamples:
    """The process-wide samples of the open hand (basic mode), built on first use."""
    global _SAMPLES
    if _SAMPLES is None:
        _SAMPLES = HandSamples.open_hand()
    return _SAMPLES


def _apply(T: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Points ``(P, 3)`` of the hand frame at poses ``(N, 4, 4)``: ``(N, P, 3)``."""
    return points @ T[:, :3, :3].transpose(0, 2, 1) + T[:, None, :3, 3]


@dataclass(frozen=True)
class SceneBarrier:
    """What the open hand must keep clear of, in the planning frame: a plane (or none) and point grids.

    ``plane`` is ``(normal (3,), offset)`` with ``normal . p + offset`` the height above the table.
    """

    grids: tuple
    plane: tuple | None = None

    @classmethod
    def from_points(cls, points: np.ndarray, plane: tuple | None = None, margin: float = 0.02,
                    voxel: float = VOXEL_M, tile: float = TILE_M) -> "SceneBarrier":
        """One grid per ``tile``-wide column of the points (tiles are cut across the plane, else x-y)."""
        points = np.asarray(points, dtype=float).reshape(-1, 3)
        points = points[np.all(np.isfinite(points), axis=1)]
        if plane is not None:
            normal = np.asarray(plane[0], float) / np.linalg.norm(plane[0])
            plane = (normal, float(plane[1]))
            helper = np.array([1.0, 0.0, 0.0]) if abs(normal[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
            u = np.cross(normal, helper)
            u /= np.linalg.norm(u)
            across = points @ np.stack([u, np.cross(normal, u)], axis=1)
        else:
            across = points[:, :2]
        grids = []
        if len(points):
            keys = np.floor((across - across.min(axis=0)) / tile).astype(int)
            _, ids = np.unique(keys, axis=0, return_inverse=True)
            ids = ids.reshape(-1)
            grids = [PointGrid(points[ids == i], voxel, margin) for i in range(ids.max() + 1)]
        if not grids and plane is None:
            raise ValueError("the barrier needs a table plane or at least one scene point")
        return cls(tuple(grids), plane)

    @classmethod
    def from_view(cls, view, radius: float = 0.25) -> "SceneBarrier":
        """The scene of a perception.NormalizedView, virtual frame: its table plane, and every point
        off the table within ``radius`` (across the table) of the target."""
        from grasp_planner.perception.plane import DEFAULT_INLIER_TOLERANCE

        points, plane = view.scene_points, view.plane_virtual
        centre = view.target_points.mean(axis=0)
        across = points - np.outer(plane.height(points), plane.normal)
        near = np.linalg.norm(across - (centre - plane.height(centre[None])[0] * plane.normal), axis=1) < radius
        return cls.from_points(points[near & (plane.height(points) > DEFAULT_INLIER_TOLERANCE)],
                               (plane.normal, plane.offset))

    def hand_distances(self, T_frame_hand: np.ndarray, near: float = np.inf) -> np.ndarray:
        """Distances (m, >= 0) from the open hand at poses ``(N, 4, 4)`` to the scene, ``(N,)``.

        Within ``TOLERANCE_M`` of the exact box-to-point distance where below ``near``; elsewhere a
        lower bound that is >= ``near``. The poses should be close together (a finite-difference
        stencil): cells and points are chosen at the first pose, widened by how far the others move.
        """
        T = np.asarray(T_frame_hand, dtype=float).reshape(-1, 4, 4)
        s = hand_samples()
        out = np.full(len(T), np.inf)
        if self.plane is not None:
            normal, offset = self.plane
            out = np.maximum(np.min(_apply(T, s.corners) @ normal, axis=1) + offset, 0.0)
        # farthest any hand point moves from its place at the first pose
        moved = (np.linalg.norm(T[:, :3, 3] - T[:1, :3, 3], axis=1).max()
                 + np.linalg.norm(T[:, :3, :3] - T[:1, :3, :3], axis=(1, 2)).max() * s.reach)
        centres0 = _apply(T[:1], s.centres)[0]
        origin = T[0, :3, 3]
        for grid in self.grids:
            threshold = min(near, out.max())
            # every point of the grid lies in its box: a hand that far from the box is farther from them
            gap = np.linalg.norm(np.maximum(np.maximum(grid.lo - origin, origin - grid.hi), 0.0)) - s.reach - moved
            if gap >= threshold:
                out = np.minimum(out, gap)
                continue
            lower = grid(centres0) - s.radii - moved          # each cell, at every pose
            active = lower < threshold
            rest = max(lower[~active].min(), 0.0) if (~active).any() else np.inf
            if active.any():
                points = s.points[np.isin(s.cell, np.flatnonzero(active))]
                v0 = grid(_apply(T[:1], points)[0])
                # the field is 1-Lipschitz: only points this close to the minimum can be it elsewhere
                keep = points[v0 <= v0.min() + 3.0 * moved + 1e-9]
                d = v0.min(keepdims=True)
                if len(T) > 1:
                    d = np.concatenate([d, grid(_apply(T[1:], keep)).min(axis=1)])
                rest = np.minimum(d, rest)
            out = np.minimum(out, rest)
        return np.maximum(out, 0.0)
