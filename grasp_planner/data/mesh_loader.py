"""Load a user's own object meshes (OFF as in the Princeton Shape Benchmark, OBJ, STL, PLY, GLB/GLTF) via trimesh.

Each file becomes an ``ObjectMesh`` in metres: scaled by ``scale`` (the paper used 0.3 on PSB models
so they match the hand; ``"auto"`` reads files larger than ``MILLIMETRE_EXTENT`` as millimetres),
closed (small holes repaired by MeshFix) and decimated to at most ``max_faces`` triangles by quadric
edge collapse (``mesh_repair``), because Klamp't contact cost grows with the triangle count. A GLB/GLTF
scene becomes one mesh, its parts placed by their node transforms. A file that cannot be used raises
``MeshLoadError``: one line naming the file, the reason and what to do; ``load_mesh_dir`` skips such
files and reports why.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grasp_planner.data.objects import ObjectMesh, closed_mesh

#: file types read (lower-case suffixes)
MESH_SUFFIXES = (".off", ".obj", ".stl", ".ply", ".glb", ".gltf")
#: default triangle budget per object (notes/klampt-sim.md: meshes cost 4-7x primitives per step)
DEFAULT_MAX_FACES = 2000
#: ``scale="auto"``: a file whose largest extent exceeds this many units is in millimetres, else metres.
#: Objects a hand grasps are well under 2 m, and in millimetres even an 8 mm object spans more than 2
#: units. Centimetre files are read as millimetres by this rule: give them an explicit scale of 0.01.
MILLIMETRE_EXTENT = 2.0
#: the value of ``scale`` (and of ``--mesh-scale`` / ``mesh_scale``) that picks the unit per file
AUTO_SCALE = "auto"

log = logging.getLogger(__name__)


class MeshLoadError(ValueError):
    """A mesh file that cannot be used; the message is one line starting with the file path."""


@dataclass
class LoadedMeshes:
    """Result of ``load_mesh_dir``: usable meshes, ``(path, reason)`` per skipped file, ``(path, note)`` per
    file whose unit ``scale="auto"`` guessed as millimetres."""

    meshes: list[ObjectMesh] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)


def mesh_files(directory) -> list[Path]:
    """Mesh files (by suffix, case-insensitive) directly or recursively under ``directory``, sorted."""
    directory = Path(directory)
    if not directory.is_dir():
        raise MeshLoadError(f"{directory}: not a directory")
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in MESH_SUFFIXES)


def parse_scale(value) -> float | str:
    """``"auto"`` or a positive finite number (from a CLI string, YAML or code); ValueError otherwise."""
    if isinstance(value, str) and value.strip().lower() == AUTO_SCALE:
        return AUTO_SCALE
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if isinstance(value, bool) or not (np.isfinite(number) and number > 0):
        raise ValueError(f"mesh scale must be a positive number or 'auto', got {value!r}")
    return number


def auto_scale(largest_extent: float) -> float:
    """The factor to metres that ``scale="auto"`` picks for a file of this largest extent (file units)."""
    return 0.001 if largest_extent > MILLIMETRE_EXTENT else 1.0


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def read_triangles(path: Path) -> tuple[np.ndarray, np.ndarray, bool]:
    """Vertices and faces of every triangle mesh in the file, file units, vertices merged by position,
    and whether they are closed (every edge in two faces, consistently wound).

    A scene (GLB/GLTF, multi-object OBJ) is flattened with its node transforms applied and its parts
    concatenated. Vertices split only by texture coordinates or normals are merged, so a seam does not
    read as a hole. Raises MeshLoadError.
    """
    import trimesh  # lazy: importing trimesh costs about 0.3 s

    try:
        loaded = trimesh.load(str(path), process=False)
    except Exception as exc:  # trimesh raises many types for broken files
        raise MeshLoadError(_one_line(f"{path}: cannot parse ({type(exc).__name__}: {exc}); check the file or "
                                      f"re-export it")) from exc
    parts = loaded.dump() if isinstance(loaded, trimesh.Scene) else [loaded]
    parts = [p for p in parts if isinstance(p, trimesh.Trimesh) and len(p.faces)]
    if not parts:
        raise MeshLoadError(f"{path}: holds no triangle mesh (points or lines only); export the object's "
                            f"surface as triangles")
    vertices = np.concatenate([np.asarray(p.vertices, dtype=np.float64) for p in parts])
    offsets = np.cumsum([0] + [len(p.vertices) for p in parts[:-1]])
    faces = np.concatenate([np.asarray(p.faces, dtype=np.int64) + o for p, o in zip(parts, offsets)])
    if not np.all(np.isfinite(vertices)):
        raise MeshLoadError(f"{path}: vertices contain NaN or inf; re-export the mesh")
    mesh = trimesh.Trimesh(vertices, faces, process=True)  # merges vertices by position only
    mesh.update_faces(mesh.unique_faces())
    f = mesh.faces  # drop faces on a repeated vertex; zero-area slivers stay, they close their neighbours
    mesh.update_faces((f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 2] != f[:, 0]))
    mesh.remove_unreferenced_vertices()
    if len(mesh.faces) < 4:
        raise MeshLoadError(f"{path}: holds {len(mesh.faces)} triangles, a solid needs at least 4; export the "
                            f"object as a closed solid")
    trimesh.repair.fix_winding(mesh)  # consistent orientation, so a flipped face is not an open edge
    closed = bool(mesh.is_watertight and mesh.is_winding_consistent)
    return np.asarray(mesh.vertices, dtype=np.float64), np.asarray(mesh.faces, dtype=np.int64), closed


def _load(path, scale, max_faces: int) -> tuple[ObjectMesh, str | None]:
    """``load_mesh_file``'s work; also returns the note for an ``"auto"`` millimetre guess (else None)."""
    from grasp_planner.data.mesh_repair import MeshRepairError, close_and_decimate

    path = Path(path)
    try:
        scale = parse_scale(scale)
    except ValueError as exc:
        raise MeshLoadError(f"{path}: {exc}") from None
    if path.suffix.lower() not in MESH_SUFFIXES:
        raise MeshLoadError(f"{path}: unsupported file type {path.suffix!r}; convert it to one of "
                            f"{', '.join(MESH_SUFFIXES)}")
    vertices, faces, closed = read_triangles(path)
    note = None
    if scale == AUTO_SCALE:
        largest = float((vertices.max(axis=0) - vertices.min(axis=0)).max())
        scale = auto_scale(largest)
        if scale != 1.0:
            note = (f"{path}: largest extent {largest:.4g} units > {MILLIMETRE_EXTENT:g}, read as millimetres "
                    f"(scale {scale:g}); give an explicit mesh scale to override")
    vertices = vertices * float(scale)
    n_read = len(faces)
    try:
        vertices, faces = close_and_decimate(vertices, faces, int(max_faces), closed)
    except MeshRepairError as exc:
        raise MeshLoadError(_one_line(f"{path}: {exc}")) from None
    try:
        mesh = closed_mesh(path.stem, vertices, faces, "file")
    except ValueError as exc:
        raise MeshLoadError(_one_line(f"{path}: {exc} after closing and decimating {n_read} -> {len(faces)} "
                                      f"faces; check the mesh scale (the mesh must be in metres)")) from None
    return mesh, note


def load_mesh_file(path, scale: float | str = 1.0, max_faces: int = DEFAULT_MAX_FACES) -> ObjectMesh:
    """One mesh file as a closed ``ObjectMesh`` named after the file stem, ``kind="file"``.

    Parameters
    ----------
    path : .off, .obj, .stl, .ply, .glb or .gltf file.
    scale : factor applied to the file's coordinates to get metres (the paper: 0.3 on PSB), or ``"auto"``:
        millimetres if the largest extent exceeds ``MILLIMETRE_EXTENT`` units (logged), else metres.
    max_faces : triangle budget; larger meshes are decimated.

    Raises
    ------
    MeshLoadError: one line starting with ``path``, saying what is wrong and what to do.
    """
    mesh, note = _load(path, scale, max_faces)
    if note:
        log.info(note)
    return mesh


def load_mesh_dir(directory, scale: float | str = 1.0, max_faces: int = DEFAULT_MAX_FACES,
                  progress: bool = False) -> LoadedMeshes:
    """Every usable mesh file under ``directory``; bad files are skipped and listed with the reason.

    Returns
    -------
    LoadedMeshes(meshes in sorted file order, skipped = [(path, reason), ...], notes = [(path, note), ...]).
    """
    from tqdm import tqdm

    result = LoadedMeshes()
    for path in tqdm(mesh_files(directory), desc="meshes", unit="file", disable=not progress, leave=False):
        try:
            mesh, note = _load(path, scale, max_faces)
        except MeshLoadError as exc:
            result.skipped.append((str(path), str(exc)))
            continue
        result.meshes.append(mesh)
        if note:
            result.notes.append((str(path), note))
    return result
