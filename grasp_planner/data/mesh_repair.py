"""Make a loaded triangle mesh closed and small enough for the simulator: MeshFix, quadric decimation, manifold3d.

Klamp't contact cost grows with the triangle count, so meshes over the face budget are decimated by
quadric edge collapse (``fast-simplification``), or, where that pinches the surface open, by
manifold3d's manifold-preserving simplification. Small holes and non-manifold edges are repaired by
MeshFix (``pymeshfix``). A surface whose openings are large (a bowl, a plane, half a scan) is not
"repaired": closing it would invent a different object, so it is refused. Every result passes the
project's own closed test (``objects.is_watertight``) after decimation, not only before it.
"""
from __future__ import annotations

import numpy as np

from grasp_planner.data.objects import is_watertight, mesh_volume_centroid

#: an open mesh is repaired only if its holes' areas add up to at most this fraction of its surface area
MAX_HOLE_AREA_FRACTION = 0.10
#: decimation targets tried: the budget, then this factor smaller each time the result is not closed
TARGET_SHRINK = 0.85
#: surface deviation, as a fraction of the mesh size, within which a vertex counts as carrying no shape
REDUNDANT_TOLERANCE = 1e-6
#: quadric decimation (and repair) attempts per round
QUADRIC_ATTEMPTS = 3
#: tolerances (log-spaced, 1e-6 to 0.1 of the mesh size) scanned by manifold3d's simplification, and
#: bisections narrowing the first that meets the budget
MANIFOLD_TOLERANCES = 11
MANIFOLD_BISECTIONS = 6


class MeshRepairError(ValueError):
    """The mesh cannot be made closed within the face budget; the message says why and what to do."""


def open_edge_count(faces: np.ndarray) -> int:
    """Undirected edges not shared by exactly two faces (boundary or non-manifold); 0 for a closed mesh."""
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return int(np.count_nonzero(counts != 2))


def hole_area_fraction(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Area the holes of a consistently wound mesh span, as a fraction of its surface area.

    Each loop of boundary edges (edges with one face) is one hole; its area is the magnitude of the
    loop's vector area, 0.5 * |sum a x b| over its directed edges, which a closing patch would cover
    at least. 0 for a mesh without boundary edges (closed, or only non-manifold).
    """
    import trimesh

    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    single = trimesh.grouping.group_rows(np.sort(directed, axis=1), require_count=1)
    if len(single) == 0:
        return 0.0
    boundary = directed[single]
    labels = trimesh.graph.connected_component_labels(boundary, node_count=len(vertices))
    loop = labels[boundary[:, 0]]
    sums = np.zeros((int(loop.max()) + 1, 3))
    np.add.at(sums, loop, np.cross(vertices[boundary[:, 0]], vertices[boundary[:, 1]]))
    holes = 0.5 * np.linalg.norm(sums, axis=1).sum()
    tri = vertices[faces]
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1).sum()
    return float(holes / area) if area > 0 else 1.0


def meshfix(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MeshFix's repair (fill holes, remove self-intersections and non-manifold parts), keeping every part."""
    import pymeshfix

    fixer = pymeshfix.MeshFix(np.ascontiguousarray(vertices, dtype=np.float64),
                              np.ascontiguousarray(faces, dtype=np.int32))
    fixer.repair(remove_smallest_components=False)
    return np.asarray(fixer.points, dtype=np.float64), np.asarray(fixer.faces, dtype=np.int64).reshape(-1, 3)


def _without_collapsed_faces(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop faces that decimation collapsed onto a repeated vertex, and vertices no face uses."""
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 2] != faces[:, 0])]
    used, inverse = np.unique(faces, return_inverse=True)
    return vertices[used], inverse.reshape(-1, 3)


def _usable(vertices: np.ndarray, faces: np.ndarray, max_faces: int) -> bool:
    """Closed, within the budget and enclosing some volume: what the simulator and ``closed_mesh`` need."""
    return (4 <= len(faces) <= max_faces and is_watertight(faces)
            and abs(mesh_volume_centroid(vertices, faces)[0]) > 0)


def _arrays(solid) -> tuple[np.ndarray, np.ndarray]:
    mesh = solid.to_mesh64()
    return (np.array(np.asarray(mesh.vert_properties)[:, :3], dtype=np.float64, order="C"),
            np.array(mesh.tri_verts, dtype=np.int64, order="C").reshape(-1, 3))


def _manifold(vertices: np.ndarray, faces: np.ndarray):
    """A manifold3d solid of a closed mesh, or None where manifold3d does not take it as one."""
    import manifold3d

    solid = manifold3d.Manifold(manifold3d.Mesh64(np.ascontiguousarray(vertices, dtype=np.float64),
                                                  np.ascontiguousarray(faces, dtype=np.uint64)))
    return None if solid.status() != manifold3d.Error.NoError or solid.is_empty() else solid


def without_redundant_vertices(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The closed mesh with the vertices that carry no shape (inside flat regions) collapsed by manifold3d.

    A mesh split into many flat triangles gives quadric decimation equal-cost ties that stall it far
    above the budget; without them it decimates normally. "Flat" allows ``REDUNDANT_TOLERANCE`` of the
    mesh's size, well above float32 rounding in a file. None where manifold3d rejects the mesh.
    """
    solid = _manifold(vertices, faces)
    if solid is None:
        return None
    size = float(np.linalg.norm(vertices.max(axis=0) - vertices.min(axis=0)))
    return _arrays(solid.simplify(size * REDUNDANT_TOLERANCE))


def manifold_simplify(vertices: np.ndarray, faces: np.ndarray, max_faces: int) -> tuple[np.ndarray, np.ndarray] | None:
    """manifold3d's simplification of a closed mesh to at most ``max_faces`` triangles, or None.

    Manifold collapses only edges that keep it an oriented 2-manifold, moving the surface by less than a
    tolerance. The face count is not monotone in the tolerance, so tolerances from 1e-6 to 0.1 of the
    mesh's size are scanned and the first that meets the budget is narrowed by bisection towards the
    previous one. None when manifold3d does not accept the mesh or no tolerance meets the budget.
    """
    solid = _manifold(vertices, faces)
    if solid is None:
        return None
    size = float(np.linalg.norm(vertices.max(axis=0) - vertices.min(axis=0)))

    def fits(log_tolerance):
        trial = solid.simplify(float(size * np.exp(log_tolerance)))
        return trial if 4 <= trial.num_tri() <= max_faces else None

    grid = np.log(np.logspace(-6, -1, MANIFOLD_TOLERANCES))
    for i, log_tolerance in enumerate(grid):
        best = fits(log_tolerance)
        if best is not None:
            low, high = (grid[i - 1] if i else grid[0] - 1.0), log_tolerance
            break
    else:
        return None
    for _ in range(MANIFOLD_BISECTIONS):
        middle = 0.5 * (low + high)
        trial = fits(middle)
        if trial is not None:
            best, high = trial, middle
        else:
            low = middle
    return _arrays(best)


def _quadric_round(vertices, faces, max_faces: int, closed: bool):
    """Quadric decimation to the budget, then ``TARGET_SHRINK`` smaller, each result repaired by MeshFix
    if open. Returns (the first usable result or None, the closed result with the fewest faces or None)."""
    import fast_simplification

    smallest_closed = (vertices, faces) if closed else None
    target = max_faces
    for attempt in range(QUADRIC_ATTEMPTS):
        if len(faces) > max_faces or attempt > 0:
            count = max(4, min(target, len(faces) - 1))
            v, f = fast_simplification.simplify(vertices, faces, target_count=count, preserve_border=not closed)
            v, f = _without_collapsed_faces(np.asarray(v, dtype=np.float64), np.asarray(f, dtype=np.int64))
        else:
            v, f = vertices, faces
        if not is_watertight(f):
            v, f = meshfix(v, f)
        if _usable(v, f, max_faces):
            return (v, f), None
        if is_watertight(f) and (smallest_closed is None or len(f) < len(smallest_closed[1])):
            smallest_closed = (v, f)
        if len(faces) <= 4:
            break
        target = int(target * TARGET_SHRINK)
    return None, smallest_closed


def close_and_decimate(vertices: np.ndarray, faces: np.ndarray, max_faces: int,
                       closed: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A closed mesh of at most ``max_faces`` triangles from a consistently wound one (metres).

    Open meshes are first checked for large openings (``MAX_HOLE_AREA_FRACTION``). Then, in rounds
    that stop at the first closed result within the budget:

    1. quadric decimation from the original (keeping hole borders, so a hole stays small for MeshFix),
       MeshFix where the result is open, smaller targets where it stays open;
    2. the same on the closed mesh without its redundant flat-region vertices, where quadric collapse
       stalled on them;
    3. manifold3d's manifold-preserving simplification of the smallest closed mesh seen, where quadric
       collapse keeps pinching thin walls or creases into non-manifold edges.

    ``closed`` may pass in whether the input is closed, if known (saves a pass over a large mesh); the
    result is always checked with ``is_watertight``.

    Raises
    ------
    MeshRepairError saying what is wrong and what to do.
    """
    vertices = np.ascontiguousarray(vertices, dtype=np.float64)
    faces = np.ascontiguousarray(faces, dtype=np.int64)
    closed = is_watertight(faces) if closed is None else bool(closed)
    if not closed:
        fraction = hole_area_fraction(vertices, faces)
        if fraction > MAX_HOLE_AREA_FRACTION:
            raise MeshRepairError(
                f"open surface, not a solid: its holes span {fraction:.0%} of its area (holes up to "
                f"{MAX_HOLE_AREA_FRACTION:.0%} are repaired); export the object as a closed (watertight) solid")
    result, smallest_closed = _quadric_round(vertices, faces, max_faces, closed)
    if result is not None:
        return result
    if smallest_closed is None:
        raise MeshRepairError("MeshFix could not close it into a solid; export the object as a closed "
                              "(watertight) solid")
    lean = without_redundant_vertices(*((vertices, faces) if closed else smallest_closed))
    if lean is not None:
        result, closed_again = _quadric_round(*lean, max_faces, True)
        if result is not None:
            return result
        if closed_again is not None and len(closed_again[1]) < len(smallest_closed[1]):
            smallest_closed = closed_again
    simplified = manifold_simplify(*smallest_closed, max_faces)
    if simplified is not None and _usable(*simplified, max_faces):
        return simplified
    raise MeshRepairError(f"no closed mesh of <= {max_faces} faces found by quadric decimation or manifold3d "
                          f"from {len(faces)} faces; simplify the mesh yourself or raise max_faces in the "
                          f"dataset config")
