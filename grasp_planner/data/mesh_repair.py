"""Make a loaded triangle mesh closed and small enough for the simulator: MeshFix, quadric decimation, manifold3d.

Small holes are closed first (trimesh's hole filling, else MeshFix from ``pymeshfix``). A surface whose
openings are large (a bowl, a plane, half a scan) is not "repaired": closing it would invent a different
object, so it is refused. Klamp't contact cost grows with the triangle count, so meshes over the face
budget are decimated by quadric edge collapse (``fast-simplification``), MeshFix mending what a
collapse opens, and, where quadric collapse stalls or keeps pinching the surface, by manifold3d's
manifold-preserving simplification. Every result passes the project's own closed test
(``objects.is_watertight``) after decimation, not only before it, and keeps the volume within
``MAX_VOLUME_CHANGE`` where any candidate does.
"""
from __future__ import annotations

import numpy as np

from grasp_planner.data.objects import is_watertight, mesh_volume_centroid

#: an open mesh is repaired only if its holes' areas add up to at most this fraction of its surface area
MAX_HOLE_AREA_FRACTION = 0.10
#: decimation targets tried: the budget, then this factor smaller each time the result is not usable
TARGET_SHRINK = 0.85
#: a decimated result whose volume differs from the original's by more is replaced by a better one if any
MAX_VOLUME_CHANGE = 0.05
#: surface deviation, as a fraction of the mesh size, within which a vertex counts as carrying no shape
REDUNDANT_TOLERANCE = 1e-6
#: quadric decimation (and repair) attempts per round
QUADRIC_ATTEMPTS = 3
#: the progressive round: passes, each decimating to this fraction of the faces left
PROGRESSIVE_PASSES = 12
PASS_FRACTION = 0.7
#: tolerances (log-spaced, 1e-6 to 0.1 of the mesh size) scanned by manifold3d's simplification, and
#: bisections narrowing the first that meets the budget
MANIFOLD_TOLERANCES = 11
MANIFOLD_BISECTIONS = 6


class MeshRepairError(ValueError):
    """The mesh cannot be made closed within the face budget; the message says why and what to do."""


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


def meshfix(vertices: np.ndarray, faces: np.ndarray, holes_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """MeshFix on the mesh, keeping every part: only filling its holes, or its whole repair (fill holes,
    remove non-manifold parts and self-intersections, which can cut away more than it mends)."""
    import pymeshfix

    fixer = pymeshfix.MeshFix(np.ascontiguousarray(vertices, dtype=np.float64),
                              np.ascontiguousarray(faces, dtype=np.int32))
    if holes_only:
        fixer.fill_holes()
    else:
        fixer.repair(remove_smallest_components=False)
    return np.asarray(fixer.points, dtype=np.float64), np.asarray(fixer.faces, dtype=np.int64).reshape(-1, 3)


def _without_collapsed_faces(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop faces that decimation collapsed onto a repeated vertex, and vertices no face uses."""
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 2] != faces[:, 0])]
    used, inverse = np.unique(faces, return_inverse=True)
    return vertices[used], inverse.reshape(-1, 3)


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


class _Search:
    """The results tried so far: keeps the usable one (closed, within the budget) whose volume is nearest
    the original's, returned when none is faithful."""

    def __init__(self, max_faces: int, reference_volume: float):
        self.max_faces = max_faces
        self.reference = reference_volume
        self.best, self.best_change = None, np.inf

    def offer(self, vertices: np.ndarray, faces: np.ndarray) -> bool:
        """Record a result; True when it is usable and within ``MAX_VOLUME_CHANGE`` (the search may stop)."""
        if not is_watertight(faces):
            return False
        volume = abs(mesh_volume_centroid(vertices, faces)[0])
        if not 4 <= len(faces) <= self.max_faces or volume == 0:
            return False
        change = abs(volume / self.reference - 1) if self.reference > 0 else 0.0
        if change < self.best_change:
            self.best, self.best_change = (vertices, faces), change
        return change <= MAX_VOLUME_CHANGE


def _decimated(vertices: np.ndarray, faces: np.ndarray, target: int) -> tuple[np.ndarray, np.ndarray]:
    """One quadric decimation towards ``target`` faces, MeshFix where it leaves the mesh open."""
    import fast_simplification

    v, f = fast_simplification.simplify(vertices, faces, target_count=max(4, min(target, len(faces) - 1)))
    v, f = _without_collapsed_faces(np.asarray(v, dtype=np.float64), np.asarray(f, dtype=np.int64))
    return (v, f) if is_watertight(f) else meshfix(v, f)


def _quadric_round(search: _Search, vertices: np.ndarray, faces: np.ndarray) -> bool:
    """Quadric decimation of a closed mesh straight to the budget, then to ``TARGET_SHRINK`` smaller
    targets, each result offered to ``search``; True as soon as one is faithful."""
    target = search.max_faces
    for _ in range(QUADRIC_ATTEMPTS):
        if search.offer(*_decimated(vertices, faces, target)):
            return True
        target = int(target * TARGET_SHRINK)
    return False


def _progressive_round(search: _Search, vertices: np.ndarray, faces: np.ndarray) -> bool:
    """Quadric decimation in passes of ``PASS_FRACTION`` each, for thin walls where one straight pass
    stalls above the budget; the pass within the budget is offered to ``search``."""
    v, f = vertices, faces
    for _ in range(PROGRESSIVE_PASSES):
        before = len(f)
        v, f = _decimated(v, f, max(search.max_faces, int(len(f) * PASS_FRACTION)))
        if not is_watertight(f) or len(f) >= before:  # opened beyond repair, or stalled
            return False
        if len(f) <= search.max_faces:
            return search.offer(v, f)
    return False


def close_holes(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The open mesh closed by the least that does it: trimesh's hole filling (it adds only patches),
    MeshFix's hole filling, then MeshFix's whole repair. Raises MeshRepairError where none closes it."""
    import trimesh

    mesh = trimesh.Trimesh(vertices, faces, process=False)
    trimesh.repair.fill_holes(mesh)
    trimesh.repair.fix_winding(mesh)
    if is_watertight(np.asarray(mesh.faces)):
        return np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int64)
    for holes_only in (True, False):
        v, f = meshfix(vertices, faces, holes_only)
        if is_watertight(f):
            return v, f
    raise MeshRepairError("MeshFix could not close it into a solid; export the object as a closed "
                          "(watertight) solid")


def close_and_decimate(vertices: np.ndarray, faces: np.ndarray, max_faces: int,
                       closed: bool | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A closed mesh of at most ``max_faces`` triangles from a consistently wound one (metres).

    An open mesh is checked for large openings (``MAX_HOLE_AREA_FRACTION``) and closed first
    (``close_holes``). Then, in rounds that stop at the first closed result within the budget whose
    volume is within ``MAX_VOLUME_CHANGE`` of the closed mesh's:

    1. quadric decimation to the budget (then smaller targets), MeshFix where a result is open;
    2. the same without the mesh's redundant flat-region vertices, on which quadric collapse stalls;
    3. quadric decimation in passes, for thin walls where one pass stalls above the budget;
    4. manifold3d's manifold-preserving simplification, where quadric collapse keeps pinching thin
       walls or creases into non-manifold edges (and MeshFix then cuts parts away).

    If no result is that faithful, the usable one nearest the closed mesh's volume is returned.
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
        vertices, faces = close_holes(vertices, faces)
    search = _Search(max_faces, abs(mesh_volume_centroid(vertices, faces)[0]))
    if len(faces) <= max_faces and search.offer(vertices, faces):
        return vertices, faces
    if len(faces) > max_faces and _quadric_round(search, vertices, faces):
        return search.best
    lean = without_redundant_vertices(vertices, faces)
    if lean is not None and len(lean[1]) < len(faces):
        if len(lean[1]) <= max_faces and search.offer(*lean):
            return search.best
        if len(lean[1]) > max_faces and _quadric_round(search, *lean):
            return search.best
        vertices, faces = lean
    if len(faces) > max_faces and _progressive_round(search, vertices, faces):
        return search.best
    simplified = manifold_simplify(vertices, faces, max_faces)
    if (simplified is not None and search.offer(*simplified)) or search.best is not None:
        return search.best
    raise MeshRepairError(f"no closed mesh of <= {max_faces} faces found by quadric decimation or manifold3d "
                          f"from {len(faces)} faces; simplify the mesh yourself or raise max_faces in the "
                          f"dataset config")
