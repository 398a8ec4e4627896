"""Load a user's own object meshes (OFF as in the Princeton Shape Benchmark, OBJ, STL, PLY) via trimesh.

Each file becomes an ``ObjectMesh`` scaled by ``scale`` (the paper used 0.3 on PSB models so they match
the hand), closed (holes filled where trimesh can), and decimated to at most ``max_faces`` triangles by
vertex clustering because Klamp't contact cost grows with the triangle count. A file that cannot be
used raises ``MeshLoadError`` naming it; ``load_mesh_dir`` skips such files and reports why.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grasp_planner.data.objects import ObjectMesh, closed_mesh, is_watertight

#: file types read (lower-case suffixes)
MESH_SUFFIXES = (".off", ".obj", ".stl", ".ply")
#: default triangle budget per object (notes/klampt-sim.md: meshes cost 4-7x primitives per step)
DEFAULT_MAX_FACES = 2000


class MeshLoadError(ValueError):
    """A mesh file that cannot be used; the message starts with the file path."""


@dataclass
class LoadedMeshes:
    """Result of ``load_mesh_dir``: the usable meshes and ``(path, reason)`` for each skipped file."""

    meshes: list[ObjectMesh] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def mesh_files(directory) -> list[Path]:
    """Mesh files (by suffix, case-insensitive) directly or recursively under ``directory``, sorted."""
    directory = Path(directory)
    if not directory.is_dir():
        raise MeshLoadError(f"{directory}: not a directory")
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in MESH_SUFFIXES)


def _clean(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop degenerate and duplicate faces and unused vertices."""
    faces = faces[(faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 2] != faces[:, 0])]
    _, first = np.unique(np.sort(faces, axis=1), axis=0, return_index=True)
    faces = faces[np.sort(first)]
    used, inverse = np.unique(faces, return_inverse=True)
    return vertices[used], inverse.reshape(-1, 3)


def cluster_decimate(vertices: np.ndarray, faces: np.ndarray, max_faces: int) -> tuple[np.ndarray, np.ndarray]:
    """Vertex-clustering decimation: merge vertices on a grid, coarsening until ``<= max_faces`` faces.

    Vertices falling into one grid cell become their mean. Clustering can pinch the surface into
    non-manifold edges, so coarser grids are tried until a result is both small enough and
    watertight. Returns the input when already small enough.
    """
    if len(faces) <= max_faces:
        return vertices, faces
    diag = float(np.linalg.norm(vertices.max(axis=0) - vertices.min(axis=0)))
    cell = diag / 200.0
    for _ in range(40):
        keys = np.floor((vertices - vertices.min(axis=0)) / cell).astype(np.int64)
        _, label, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        label = label.reshape(-1)
        merged = np.zeros((len(counts), 3))
        np.add.at(merged, label, vertices)
        merged /= counts[:, None]
        new_v, new_f = _clean(merged, label[faces])
        if len(new_f) <= max_faces and is_watertight(new_f):
            return new_v, new_f
        if len(new_f) < 8:
            break
        cell *= 1.1
    raise ValueError(f"vertex clustering found no watertight mesh of <= {max_faces} faces "
                     f"(from {len(faces)} faces)")


def load_mesh_file(path, scale: float = 1.0, max_faces: int = DEFAULT_MAX_FACES) -> ObjectMesh:
    """One mesh file as a closed ``ObjectMesh`` named after the file stem, ``kind="file"``.

    Parameters
    ----------
    path : .off, .obj, .stl or .ply file.
    scale : factor applied to the file's coordinates to get metres (the paper: 0.3 on PSB).
    max_faces : triangle budget; larger meshes are decimated.

    Raises
    ------
    MeshLoadError starting with ``path`` and saying what is wrong.
    """
    import trimesh  # lazy: importing trimesh costs about 0.3 s

    path = Path(path)
    if not (np.isfinite(scale) and scale > 0):
        raise MeshLoadError(f"{path}: scale must be a positive number, got {scale!r}")
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise MeshLoadError(f"{path}: unsupported file type {path.suffix!r}; expected one of {MESH_SUFFIXES}")
    try:
        loaded = trimesh.load(str(path), force="mesh", process=True)
    except Exception as exc:  # trimesh raises many types for broken files
        raise MeshLoadError(f"{path}: cannot parse ({type(exc).__name__}: {exc})") from exc
    if not isinstance(loaded, trimesh.Trimesh) or len(loaded.faces) < 4:
        raise MeshLoadError(f"{path}: holds no triangle mesh (need at least 4 faces)")
    vertices = np.asarray(loaded.vertices, dtype=np.float64) * float(scale)
    faces = np.asarray(loaded.faces, dtype=np.int64)
    if not np.all(np.isfinite(vertices)):
        raise MeshLoadError(f"{path}: vertices contain NaN or inf")
    if not is_watertight(faces):
        trimesh.repair.fill_holes(loaded)
        trimesh.repair.fix_winding(loaded)
        vertices = np.asarray(loaded.vertices, dtype=np.float64) * float(scale)
        faces = np.asarray(loaded.faces, dtype=np.int64)
        if not is_watertight(faces):
            raise MeshLoadError(f"{path}: not watertight after filling holes ({len(faces)} faces)")
    try:
        vertices, faces = cluster_decimate(vertices, faces, max_faces)
    except ValueError as exc:
        raise MeshLoadError(f"{path}: {exc}") from exc
    try:
        return closed_mesh(path.stem, vertices, faces, "file")
    except ValueError as exc:
        reason = str(exc)
        if len(loaded.faces) > max_faces:
            reason += f" after decimating {len(loaded.faces)} -> {len(faces)} faces"
        raise MeshLoadError(f"{path}: {reason}") from exc


def load_mesh_dir(directory, scale: float = 1.0, max_faces: int = DEFAULT_MAX_FACES) -> LoadedMeshes:
    """Every usable mesh file under ``directory``; bad files are skipped and listed with the reason.

    Returns
    -------
    LoadedMeshes(meshes in sorted file order, skipped = [(path, reason), ...]).
    """
    result = LoadedMeshes()
    for path in mesh_files(directory):
        try:
            result.meshes.append(load_mesh_file(path, scale, max_faces))
        except MeshLoadError as exc:
            result.skipped.append((str(path), str(exc)))
    return result
