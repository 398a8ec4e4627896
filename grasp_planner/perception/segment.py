"""Object points above the table -> clusters, one per object (voxel grid + connected components).

Points are binned into cubic voxels; voxels touching by a face, edge or corner join one
component. Two objects therefore stay apart when their gap is wider than about two voxels
(1 cm with the default 5 mm voxels), while holes and sparse sides inside one object do not split it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

#: voxel edge (m) of the connectivity grid
DEFAULT_VOXEL = 0.005
#: clusters with fewer points are noise (flying pixels, specks) and are dropped
DEFAULT_MIN_CLUSTER_POINTS = 150
#: up to this many voxels in the points' bounding box, components are labelled on a dense grid
MAX_DENSE_VOXELS = 2_000_000


@dataclass(frozen=True)
class Cluster:
    """One object's visible points: indices into the object-point array, size, centroid (camera frame, m)."""

    indices: np.ndarray
    centroid: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    @property
    def size(self) -> int:
        """Number of points."""
        return int(len(self.indices))

    def __repr__(self) -> str:
        c = self.centroid
        return f"Cluster({self.size} points, centroid=[{c[0]:.3f}, {c[1]:.3f}, {c[2]:.3f}] m)"


def cluster_points(points: np.ndarray, voxel: float = DEFAULT_VOXEL,
                   min_points: int = DEFAULT_MIN_CLUSTER_POINTS) -> list[Cluster]:
    """Split object points into connected clusters, largest first.

    Parameters
    ----------
    points : (N, 3) object points (camera frame, m).
    voxel : edge (m) of the voxels whose 26-neighbourhood connects points.
    min_points : smaller clusters are dropped as noise.

    Returns
    -------
    Clusters sorted by size, largest first (possibly empty).
    """
    points = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(points) == 0:
        return []
    cells = np.floor(points / voxel).astype(np.int64)
    cells -= cells.min(axis=0)
    dims = cells.max(axis=0) + 1
    if np.prod(dims) <= MAX_DENSE_VOXELS:   # the usual table-top scene: label a dense occupancy grid
        occupied = np.zeros(tuple(dims), dtype=bool)
        occupied[cells[:, 0], cells[:, 1], cells[:, 2]] = True
        voxel_label, _ = ndimage.label(occupied, structure=np.ones((3, 3, 3), dtype=bool))
        label = voxel_label[cells[:, 0], cells[:, 1], cells[:, 2]] - 1
    else:   # points spread far apart (flying pixels): the same components on the occupied voxels only
        keys = (cells[:, 0] * dims[1] + cells[:, 1]) * dims[2] + cells[:, 2]  # one int per voxel: fast unique
        unique_keys, point_cell = np.unique(keys, return_inverse=True)
        unique_cells = np.stack(np.unravel_index(unique_keys, tuple(dims)), axis=1)
        pairs = cKDTree(unique_cells).query_pairs(np.sqrt(3.0) + 1e-6, output_type="ndarray")
        n = len(unique_cells)
        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
        _, cell_label = connected_components(graph, directed=False)
        label = cell_label[point_cell.reshape(-1)]
    counts = np.bincount(label)
    clusters = []
    for lab in np.argsort(-counts, kind="stable"):
        if counts[lab] < min_points:
            break
        idx = np.flatnonzero(label == lab)
        pts = points[idx]
        clusters.append(Cluster(idx, pts.mean(axis=0), pts.min(axis=0), pts.max(axis=0)))
    return clusters


def nearest_cluster(clusters: list[Cluster], position: np.ndarray, up: np.ndarray) -> int:
    """Index of the cluster whose centroid is nearest ``position`` across the table.

    Distances are measured in the table plane (the component along ``up`` is removed), so a
    pre-grasp held 10-20 cm above its object picks that object, whatever the approach height.
    """
    if not clusters:
        raise ValueError("no object clusters to choose from")
    up = np.asarray(up, dtype=float)
    offsets = np.array([c.centroid for c in clusters]) - np.asarray(position, dtype=float)
    offsets -= np.outer(offsets @ up, up)
    return int(np.argmin(np.linalg.norm(offsets, axis=1)))
