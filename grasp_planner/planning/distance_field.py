"""The barrier's scene, built once per image: an analytic table plane plus one distance grid of the points above it.

The exact hand-to-cloud distance (Klamp't, geometry.py) costs about 1.35 ms per 13-pose stencil, several
times the network's head call. Here the same distance is read from tables, a few reads per stencil
(cost against the network: benchmarks/bench_barrier_stencil.py):

* the table is a plane, and a box's distance to a plane is exactly its lowest corner's height;
* every other point of the scene goes into one voxel grid holding, at each node, the distance (m)
  to the nearest point (scipy's Euclidean distance transform finds the nearest occupied voxel,
  whose stored point gives the exact node distance), stored as float32 and read by trilinear
  interpolation (scipy map_coordinates: one C loop per read);
* the open hand is a fixed set of points on its link boxes' surfaces (``SAMPLE_SPACING_M``; none
  inside another box, which can never be the nearest), grouped in cells of about ``CELL_M``. A
  stencil reads coarse to fine, each stage only where the last left a chance of coming below
  ``near`` at some pose: the cells' centres at their nearest node (a bound, one read), those left
  interpolated, then the left cells' points at the first pose, then at the other poses only the
  points close enough to the minimum to be it there (the field is 1-Lipschitz and the poses are
  close). Away from the object nothing past the first read is done.

Distances below ``near`` (the barrier's cutoff) agree with the exact box-to-point distance within ``TOLERANCE_M``
(test/test_planning_barrier.py); farther ones are lower bounds, never below ``near``. The grid ends
``margin`` beyond its points; outside, the distance to the grid plus the margin is a lower bound.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import distance_transform_edt, map_coordinates

from grasp_planner.hand import kinematics as kin

#: voxel of the distance grid, m (5 mm would halve the build, but a palm through a face then reads 0.3 mm,
#: a penalty of 140 instead of the paper's 500 at contact)
VOXEL_M = 0.004
#: spacing of the points on the hand's link boxes, m
SAMPLE_SPACING_M = 0.005
#: size of the cells the link samples are grouped in for pruning, m
CELL_M = 0.015
#: stated agreement with Klamp't's exact box-to-cloud distance below the cutoff, m
TOLERANCE_M = 0.004
#: how far beyond twice the motion a point's value may be and still be the minimum at another pose
#: (trilinear reading is not exactly 1-Lipschitz), m
KEEP_SLACK_M = 0.0005
#: most nodes one grid holds (about 60 MB while it is built); a larger scene gets coarser voxels
MAX_NODES = 4_000_000


class PointGrid:
    """Distance (m) from any point to the nearest of ``points (N, 3)``, tabulated ``margin`` around them."""

    def __init__(self, points: np.ndarray, voxel: float = VOXEL_M, margin: float = 0.02):
        points = np.asarray(points, dtype=float)
        self.margin = float(margin)
        self.lo = points.min(axis=0) - margin
        extent = points.max(axis=0) + margin - self.lo
        voxel = max(float(voxel), float(np.cbrt(np.prod(extent) / MAX_NODES)))
        shape = np.ceil(extent / voxel).astype(int) + 1
        self.voxel, self.shape = voxel, shape
        self.hi = self.lo + (shape - 1) * voxel
        cells = np.clip(np.rint((points - self.lo) / voxel).astype(int), 0, shape - 1)
        stored = np.zeros((*shape, 3), dtype=np.float32)
        stored[cells[:, 0], cells[:, 1], cells[:, 2]] = points
        empty = np.ones(shape, dtype=bool)
        empty[cells[:, 0], cells[:, 1], cells[:, 2]] = False
        nearest = distance_transform_edt(empty, return_distances=False, return_indices=True)
        flat = np.ravel_multi_index(tuple(nearest), tuple(shape)).ravel()   # each node's nearest stored voxel
        squared = np.zeros(shape, dtype=np.float32)
        for k in range(3):   # node k-coordinate minus its nearest point's, without a full node array
            node = (np.arange(shape[k]) * voxel + self.lo[k]).astype(np.float32)
            squared += (node.reshape([-1 if j == k else 1 for j in range(3)])
                        - stored[..., k].ravel()[flat].reshape(tuple(shape))) ** 2
        # less half a voxel: interpolating across the surface and sampling the boxes read up to
        # ~3 mm long, which at contact would cost 20 instead of the barrier's 500
        self.volume = np.sqrt(squared) - np.float32(0.5 * voxel)      # float32: half the memory, same reads
        self.values = self.volume.ravel()
        self._strides = np.array([shape[1] * shape[2], shape[2], 1], dtype=float)   # float: a BLAS product
        self._inv_voxel, self._lo_units = 1.0 / voxel, self.lo / voxel
        self._top = (shape - 1) - 1e-6           # so that a node and its +1 neighbours are in the grid
        self._slack = np.sqrt(3.0) * 0.5 * voxel   # farthest a point is from its nearest node

    def __call__(self, x: np.ndarray, exact_outside: bool = True) -> np.ndarray:
        """Distances ``(M,)`` for points ``(M, 3)``, trilinear. Outside the grid, a lower bound: the
        distance to the grid plus ``margin`` with ``exact_outside``, else (cheaper) the value at the
        nearest grid point, which is >= about ``margin`` (the scene lies inside)."""
        u = (x * self._inv_voxel - self._lo_units).T
        # one C loop over the points (about half the time of the same interpolation in numpy)
        inside = map_coordinates(self.volume, u, output=np.empty(len(x)), order=1, mode="nearest", prefilter=False)
        if not exact_outside:
            return inside
        beyond = np.maximum(np.maximum(-u, u - self._top[:, None]), 0.0)
        outside = np.sqrt(np.einsum("ij,ij->j", beyond, beyond)) * self.voxel
        return np.where(outside > 0.0, outside + self.margin, inside)

    def nearest_lower_bound(self, x: np.ndarray) -> np.ndarray:
        """A lower bound ``(M,)`` of the distances of points ``(M, 3)`` read at their nearest grid node
        (one read, no interpolation): the field is 1-Lipschitz, so less half a voxel diagonal."""
        u = np.minimum(np.maximum(x * self._inv_voxel - (self._lo_units - 0.5), 0.0), self._top)
        return self.values[(np.floor(u) @ self._strides).astype(np.intp)] - self._slack


#: sums a (3, 4) pose difference's squared entries into its translation and rotation parts
_MOTION_PARTS = np.zeros((12, 2))
_MOTION_PARTS[[3, 7, 11], 0] = 1.0
_MOTION_PARTS[[0, 1, 2, 4, 5, 6, 8, 9, 10], 1] = 1.0


@dataclass(frozen=True)
class HandSamples:
    """Points on the open hand's link boxes (hand frame) with their pruning cells, and the boxes' corners."""

    points: np.ndarray         # (P, 3)
    cell: np.ndarray           # (P,) pruning cell index of each point
    centres: np.ndarray        # (C, 3) cell centres
    radii: np.ndarray          # (C,) largest distance from a cell's centre to its points
    corners: np.ndarray        # (8 L, 3)
    corners_h: np.ndarray      # (8 L, 4): the corners with a 1 appended
    reach: float               # largest distance of a point from the hand frame's origin

    @property
    def motion_weights(self) -> np.ndarray:
        """Weights of a pose change's (translation, |rotation difference|_F) in the farthest any point moves."""
        return np.array([1.0, self.reach / np.sqrt(2.0)])

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
        inside = np.zeros(len(points), dtype=bool)     # in another box: never the hand's nearest point
        for T, half in zip(boxes, kin.BOX_HALF_EXTENTS):
            inside |= np.all(np.abs((points - T[:3, 3]) @ T[:3, :3]) < np.asarray(half) - 1e-6, axis=1)
        points, cell_of = points[~inside], np.unique(cell_of[~inside], return_inverse=True)[1].reshape(-1)
        order = np.argsort(cell_of, kind="stable")
        points, cell_of = points[order], cell_of[order]
        n = cell_of.max() + 1
        start = np.searchsorted(cell_of, np.arange(n + 1))
        centres = np.stack([points[start[c]:start[c + 1]].mean(axis=0) for c in range(n)])
        radii = np.array([np.linalg.norm(points[start[c]:start[c + 1]] - centres[c], axis=1).max() for c in range(n)])
        corners = np.vstack(corners)
        return cls(points, cell_of, centres, radii, corners,
                   np.hstack([corners, np.ones((len(corners), 1))]), float(np.linalg.norm(points, axis=1).max()))


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
    """What the open hand must keep clear of, in the planning frame: a plane (or none) and a point grid (or none).

    ``plane`` is ``(normal (3,), offset)`` with ``normal . p + offset`` the height above the table.
    """

    grid: PointGrid | None
    plane: tuple | None = None

    @classmethod
    def from_points(cls, points: np.ndarray, plane: tuple | None = None, margin: float = 0.02,
                    voxel: float = VOXEL_M) -> "SceneBarrier":
        """One grid around all finite ``points``; ``plane`` as in the class."""
        points = np.asarray(points, dtype=float).reshape(-1, 3)
        points = points[np.all(np.isfinite(points), axis=1)]
        if plane is not None:
            normal = np.asarray(plane[0], float) / np.linalg.norm(plane[0])
            plane = (normal, float(plane[1]))
        if not len(points) and plane is None:
            raise ValueError("the barrier needs a table plane or at least one scene point")
        return cls(PointGrid(points, voxel, margin) if len(points) else None, plane)

    @classmethod
    def from_view(cls, view, radius: float = 0.25) -> "SceneBarrier":
        """The scene of a perception.NormalizedView, virtual frame: its table plane, and every point
        off the table within ``radius`` (across the table) of the target."""
        from grasp_planner.perception.plane import DEFAULT_INLIER_TOLERANCE

        # in the camera frame (distances and heights are the same there), so that only the kept points move;
        # only the pixels above the table are deprojected: most of a camera's points are the table
        points, plane = view.analysis.points_above(DEFAULT_INLIER_TOLERANCE), view.plane
        heights = plane.height(points)
        centre = view.T_camera_virtual.transform_points(view.target_points.mean(axis=0)[None])[0]
        offset = points - centre                        # across the table: less the part along the normal
        along = heights - plane.height(centre[None])[0]
        near = np.einsum("ij,ij->i", offset, offset) - along * along < radius * radius
        points = view.T_camera_virtual.inverse().transform_points(points[near])
        plane = view.plane_virtual
        return cls.from_points(points, (plane.normal, plane.offset))

    def hand_distances(self, T_frame_hand: np.ndarray, near: float = np.inf) -> np.ndarray:
        """Distances (m, >= 0) from the open hand at poses ``(N, 4, 4)`` to the scene, ``(N,)``.

        Within ``TOLERANCE_M`` of the exact box-to-point distance where below ``near``; elsewhere a
        lower bound that is >= ``near``. The poses should be close together (a finite-difference
        stencil): cells and points are chosen at the first pose, widened by how far the others move.
        """
        T = np.asarray(T_frame_hand, dtype=float).reshape(-1, 4, 4)
        s = hand_samples()
        # farthest any hand point moves from its place at the first pose (a rotation's difference
        # R - R0 has spectral norm |.|_F / sqrt 2, the most it moves a unit vector)
        d = (T[:, :3, :] - T[0, :3, :]).reshape(-1, 12)
        moved = (np.sqrt((d * d) @ _MOTION_PARTS) @ s.motion_weights).max()
        R, t = T[0, :3, :3], T[0, :3, 3]
        out = np.full(len(T), np.inf)
        if self.plane is not None:   # corner heights: [c, 1] . (R^T normal, normal . t + offset)
            normal, offset = self.plane
            low0 = (s.corners @ (normal @ R)).min() + normal @ t + offset - moved     # every pose, a bound
            if low0 < near:
                M = np.einsum("njk,j->nk", T[:, :3, :], normal)
                M[:, 3] += offset
                out = np.maximum((s.corners_h @ M.T).min(axis=0), 0.0)
            else:
                out = np.full(len(T), low0)
        grid = self.grid
        if grid is None:
            return out
        threshold = min(near, out.max())
        centres = s.centres @ R.T + t
        # coarse to fine, each stage only where the last left a chance of coming below the threshold:
        # cells at their nearest node, then interpolated, then their points at the first pose
        lower = grid.nearest_lower_bound(centres) - s.radii - moved    # each cell, at every pose
        cells = np.flatnonzero(lower < threshold)
        if len(cells):
            lower[cells] = grid(centres[cells], False) - s.radii[cells] - moved
            cells = cells[lower[cells] < threshold]
        if not len(cells):          # the usual case away from the object
            return np.maximum(np.minimum(out, lower.min()), 0.0)
        lower[cells] = np.inf
        rest = lower.min()
        chosen = np.zeros(len(lower), dtype=bool)
        chosen[cells] = True
        points = s.points[chosen[s.cell]]   # the chosen cells' points, through each point's cell
        exact = threshold > grid.margin
        v0 = grid(points @ R.T + t, exact)
        low = v0.min()
        if len(T) == 1:
            return np.maximum(np.minimum(out, min(low, rest)), 0.0)
        if low - moved >= threshold:     # no pose comes below it: a bound will do
            return np.maximum(np.minimum(out, min(low - moved, rest)), 0.0)
        # the field is 1-Lipschitz: only points this close to the minimum can be it at another pose
        keep = points[v0 <= low + 2.0 * moved + KEEP_SLACK_M]
        others = grid(_apply(T[1:], keep).reshape(-1, 3), exact).reshape(len(T) - 1, -1).min(axis=1)
        return np.maximum(np.minimum(out, np.minimum(np.concatenate([[low], others]), rest)), 0.0)
