"""Object meshes for the grasp database, and the project's own procedural object set.

The paper took Princeton Shape Benchmark models scaled by 0.3 so they match the hand. We cannot ship
PSB, so a seeded generator writes a set of its own: boxes, cylinders, superquadrics, convex hulls of
random blobs, extruded polygons and L/T shapes, with sizes spanning too small, graspable and too large
for the Robotiq 3F (its fingers close around objects up to about 155 mm across). Every mesh is a closed
(watertight) triangle mesh with its object frame at the volume centroid, in metres, and has at most
about 2k triangles because Klamp't contact cost grows with the triangle count (notes/klampt-sim.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull

#: Robotiq 3F: largest object diameter the fingers close around, m (Robotiq 3F manual, encompassing grip)
MAX_GRIP_DIAMETER = 0.155

#: size classes: (name, probability, range of the object's largest dimension in m)
SIZE_CLASSES = (
    ("too_small", 0.15, (0.008, 0.02)),
    ("graspable", 0.70, (0.03, 0.14)),
    ("too_large", 0.15, (0.18, 0.30)),
)

#: procedural shape kinds and how often each is drawn
KINDS = (
    ("box", 0.18),
    ("cylinder", 0.18),
    ("superquadric", 0.18),
    ("blob_hull", 0.18),
    ("extruded_polygon", 0.14),
    ("l_shape", 0.07),
    ("t_shape", 0.07),
)


def mesh_volume_centroid(vertices: np.ndarray, faces: np.ndarray) -> tuple[float, np.ndarray]:
    """Volume (m^3) and centre of volume (m) of a closed, outward-oriented triangle mesh.

    Sums signed tetrahedra from the origin to each face; the result is independent of the origin.
    """
    tri = vertices[faces]
    signed = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])) / 6.0
    volume = float(signed.sum())
    if abs(volume) < 1e-15:
        return volume, vertices.mean(axis=0)
    centroid = (signed[:, None] * tri.sum(axis=1) / 4.0).sum(axis=0) / volume
    return volume, centroid


def is_watertight(faces: np.ndarray) -> bool:
    """True when every undirected edge is shared by exactly two faces with opposite directions.

    This is the closed, consistently oriented 2-manifold test that the volume and the simulator need.
    """
    faces = np.asarray(faces)
    if len(faces) < 4:
        return False
    directed = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    n = int(faces.max()) + 1
    keys = directed[:, 0].astype(np.int64) * n + directed[:, 1]
    reverse = directed[:, 1].astype(np.int64) * n + directed[:, 0]
    unique_keys, counts = np.unique(keys, return_counts=True)
    if np.any(counts != 1):  # a directed edge used twice: inconsistent orientation or non-manifold
        return False
    return bool(np.all(np.isin(reverse, unique_keys, assume_unique=False)))


@dataclass(frozen=True)
class ObjectMesh:
    """A closed triangle mesh in its object frame (origin at the volume centroid), metres.

    Parameters
    ----------
    name : unique name, e.g. ``box_00012`` or the file stem of a loaded mesh.
    vertices : (V, 3) float64 vertex positions, object frame, m.
    faces : (F, 3) int64 vertex indices, counter-clockwise seen from outside.
    kind : shape family (``box``, ``cylinder``, ..., or ``file`` for loaded meshes).
    """

    name: str
    vertices: np.ndarray
    faces: np.ndarray
    kind: str

    def __post_init__(self):
        vertices = np.array(self.vertices, dtype=np.float64)
        faces = np.array(self.faces, dtype=np.int64)
        if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) < 4:
            raise ValueError(f"object {self.name!r}: vertices must be (V>=4, 3), got shape {vertices.shape}")
        if not np.all(np.isfinite(vertices)):
            raise ValueError(f"object {self.name!r}: vertices contain NaN or inf")
        if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) < 4:
            raise ValueError(f"object {self.name!r}: faces must be (F>=4, 3), got shape {faces.shape}")
        if faces.min() < 0 or faces.max() >= len(vertices):
            raise ValueError(f"object {self.name!r}: face indices outside 0..{len(vertices) - 1}")
        vertices.setflags(write=False)
        faces.setflags(write=False)
        object.__setattr__(self, "vertices", vertices)
        object.__setattr__(self, "faces", faces)

    @property
    def extents(self) -> np.ndarray:
        """Axis-aligned bounding-box size (3,) in the object frame, m."""
        return self.vertices.max(axis=0) - self.vertices.min(axis=0)

    @property
    def volume(self) -> float:
        """Enclosed volume, m^3."""
        return mesh_volume_centroid(self.vertices, self.faces)[0]


def closed_mesh(name: str, vertices: np.ndarray, faces: np.ndarray, kind: str) -> ObjectMesh:
    """An ``ObjectMesh`` after checking it is closed, orienting it outward and centring it.

    Raises ValueError naming ``name`` if the mesh is not watertight or encloses no volume.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if not is_watertight(faces):
        raise ValueError(f"object {name!r}: mesh is not watertight (open or non-manifold edges)")
    volume, centroid = mesh_volume_centroid(vertices, faces)
    if abs(volume) < 1e-12:
        raise ValueError(f"object {name!r}: mesh encloses no volume ({volume:.3g} m^3)")
    if volume < 0:  # inward normals: flip every face
        faces = faces[:, ::-1]
    return ObjectMesh(name, vertices - centroid, faces, kind)


# --- shape builders (all return vertices, faces; outward orientation is fixed by closed_mesh) -------

def triangulate_polygon(polygon: np.ndarray) -> np.ndarray:
    """Ear-clipping triangulation of a simple counter-clockwise polygon (N, 2) -> (N-2, 3) indices."""
    remaining = list(range(len(polygon)))
    triangles = []
    guard = 0
    while len(remaining) > 3:
        guard += 1
        if guard > 10 * len(polygon) ** 2:
            raise ValueError("polygon is not simple (ear clipping found no ear)")
        n = len(remaining)
        for k in range(n):
            i, j, m = remaining[k - 1], remaining[k], remaining[(k + 1) % n]
            a, b, c = polygon[i], polygon[j], polygon[m]
            cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])
            if cross <= 1e-14:
                continue  # reflex or degenerate corner: not an ear
            others = [o for o in remaining if o not in (i, j, m)]
            if others and _points_in_triangle(polygon[others], a, b, c).any():
                continue
            triangles.append((i, j, m))
            remaining.pop(k)
            break
    triangles.append(tuple(remaining))
    return np.array(triangles, dtype=np.int64)


def _points_in_triangle(p: np.ndarray, a, b, c) -> np.ndarray:
    def side(p, q, r):
        return (q[0] - p[:, 0]) * (r[1] - p[:, 1]) - (q[1] - p[:, 1]) * (r[0] - p[:, 0])
    d1, d2, d3 = side(p, a, b), side(p, b, c), side(p, c, a)
    return (d1 >= 0) & (d2 >= 0) & (d3 >= 0)


def extrude_polygon(polygon: np.ndarray, height: float) -> tuple[np.ndarray, np.ndarray]:
    """Prism over a simple counter-clockwise polygon (N, 2), from z = 0 to z = ``height``."""
    polygon = np.asarray(polygon, dtype=float)
    n = len(polygon)
    bottom = np.column_stack([polygon, np.zeros(n)])
    top = np.column_stack([polygon, np.full(n, height)])
    caps = triangulate_polygon(polygon)
    i = np.arange(n)
    j = (i + 1) % n
    sides = np.concatenate([np.column_stack([i, j, j + n]), np.column_stack([i, j + n, i + n])])
    faces = np.concatenate([caps[:, ::-1], caps + n, sides])
    return np.vstack([bottom, top]), faces


def icosphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit sphere by subdividing an icosahedron; 20 * 4**subdivisions faces."""
    t = (1.0 + 5 ** 0.5) / 2.0
    verts = [(-1, t, 0), (1, t, 0), (-1, -t, 0), (1, -t, 0), (0, -1, t), (0, 1, t),
             (0, -1, -t), (0, 1, -t), (t, 0, -1), (t, 0, 1), (-t, 0, -1), (-t, 0, 1)]
    faces = [(0, 11, 5), (0, 5, 1), (0, 1, 7), (0, 7, 10), (0, 10, 11), (1, 5, 9), (5, 11, 4),
             (11, 10, 2), (10, 7, 6), (7, 1, 8), (3, 9, 4), (3, 4, 2), (3, 2, 6), (3, 6, 8),
             (3, 8, 9), (4, 9, 5), (2, 4, 11), (6, 2, 10), (8, 6, 7), (9, 8, 1)]
    vertices = [np.array(v, dtype=float) / np.linalg.norm(v) for v in verts]
    for _ in range(subdivisions):
        midpoint = {}
        new_faces = []

        def mid(a, b):
            key = (min(a, b), max(a, b))
            if key not in midpoint:
                m = vertices[a] + vertices[b]
                vertices.append(m / np.linalg.norm(m))
                midpoint[key] = len(vertices) - 1
            return midpoint[key]

        for a, b, c in faces:
            ab, bc, ca = mid(a, b), mid(b, c), mid(c, a)
            new_faces += [(a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca)]
        faces = new_faces
    return np.array(vertices), np.array(faces, dtype=np.int64)


_SPHERE_CACHE: dict[int, tuple[np.ndarray, np.ndarray]] = {}


def _unit_sphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    if subdivisions not in _SPHERE_CACHE:
        _SPHERE_CACHE[subdivisions] = icosphere(subdivisions)
    return _SPHERE_CACHE[subdivisions]


def superquadric(semi_axes, e1: float, e2: float, subdivisions: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Superquadric ``(|x/a|^(2/e2) + |y/b|^(2/e2))^(e2/e1) + |z/c|^(2/e1) = 1`` as a radially projected icosphere.

    The inside-outside function is homogeneous of degree 2/e1, so each sphere direction d lands on the
    surface at ``r = F(d)^(-e1/2)``; the shape is star-shaped, so the mesh stays closed.
    """
    directions, faces = _unit_sphere(subdivisions)
    a, b, c = semi_axes
    x, y, z = np.abs(directions / np.array([a, b, c])).T
    f = (x ** (2 / e2) + y ** (2 / e2)) ** (e2 / e1) + z ** (2 / e1)
    return directions * f[:, None] ** (-e1 / 2.0), faces


def convex_hull(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Convex hull of points as a closed mesh of the hull vertices only, faces turned outward."""
    hull = ConvexHull(points)
    simplices = hull.simplices.copy()
    tri = points[simplices]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    inward = np.einsum("ij,ij->i", normals, hull.equations[:, :3]) < 0
    simplices[inward] = simplices[inward][:, ::-1]
    used = np.unique(simplices)
    remap = np.full(len(points), -1)
    remap[used] = np.arange(len(used))
    return points[used], remap[simplices]


def _star_polygon(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random simple polygon: sorted angles with random radii around the origin, counter-clockwise."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    gaps = np.diff(np.concatenate([angles, angles[:1] + 2 * np.pi]))
    angles = angles if gaps.max() < np.pi * 0.9 else np.linspace(0, 2 * np.pi, n, endpoint=False)
    radii = rng.uniform(0.5, 1.0, n)
    return np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])


def _l_polygon(rng: np.random.Generator) -> np.ndarray:
    w, h = rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0)
    tx, ty = rng.uniform(0.2, 0.45) * w, rng.uniform(0.2, 0.45) * h
    return np.array([(0, 0), (w, 0), (w, ty), (tx, ty), (tx, h), (0, h)], dtype=float)


def _t_polygon(rng: np.random.Generator) -> np.ndarray:
    w, h = rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0)
    stem, bar = rng.uniform(0.2, 0.4) * w, rng.uniform(0.2, 0.4) * h
    x0, x1 = (w - stem) / 2, (w + stem) / 2
    return np.array([(x0, 0), (x1, 0), (x1, h - bar), (w, h - bar), (w, h), (0, h), (0, h - bar),
                     (x0, h - bar)], dtype=float)


def _shape(kind: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Unscaled vertices and faces of one shape of ``kind`` (largest dimension about 1)."""
    if kind == "box":
        w, d = rng.uniform(0.2, 1.0, 2)
        return extrude_polygon(np.array([(0, 0), (w, 0), (w, d), (0, d)]), 1.0)
    if kind == "cylinder":
        sections = int(rng.integers(12, 33))
        angles = np.linspace(0, 2 * np.pi, sections, endpoint=False)
        radius = rng.uniform(0.1, 0.5)
        return extrude_polygon(radius * np.column_stack([np.cos(angles), np.sin(angles)]),
                               rng.uniform(0.2, 1.0))
    if kind == "superquadric":
        return superquadric(rng.uniform(0.25, 1.0, 3), rng.uniform(0.2, 1.6), rng.uniform(0.2, 1.6))
    if kind == "blob_hull":
        blobs = int(rng.integers(2, 5))
        centres = rng.normal(0, 0.35, (blobs, 3))
        spreads = rng.uniform(0.05, 0.3, (blobs, 1, 3))
        points = (centres[:, None, :] + spreads * rng.normal(size=(blobs, 40, 3))).reshape(-1, 3)
        return convex_hull(points)
    if kind == "extruded_polygon":
        return extrude_polygon(_star_polygon(rng, int(rng.integers(5, 13))), rng.uniform(0.2, 1.0))
    if kind == "l_shape":
        return extrude_polygon(_l_polygon(rng), rng.uniform(0.15, 0.8))
    if kind == "t_shape":
        return extrude_polygon(_t_polygon(rng), rng.uniform(0.15, 0.8))
    raise ValueError(f"unknown procedural kind {kind!r}; expected one of {[k for k, _ in KINDS]}")


def object_rng(seed: int, index: int) -> np.random.Generator:
    """The generator for object ``index`` of a run seeded ``seed`` (independent streams per object)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(index)]))


def procedural_object(index: int, seed: int) -> ObjectMesh:
    """Object ``index`` of the procedural set seeded ``seed``; the same pair always gives the same mesh.

    Parameters
    ----------
    index : object number (>= 0); names are ``<kind>_<index:05d>``.
    seed : set seed; each object draws from its own stream ``SeedSequence([seed, index])``.

    Returns
    -------
    ObjectMesh, closed, centred at its volume centroid, largest dimension drawn from ``SIZE_CLASSES``.
    """
    if int(index) != index or index < 0:
        raise ValueError(f"object index must be a non-negative integer, got {index!r}")
    rng = object_rng(seed, index)
    kinds, kind_p = zip(*KINDS)
    kind = kinds[rng.choice(len(kinds), p=kind_p)]
    _, class_p, ranges = zip(*SIZE_CLASSES)
    lo, hi = ranges[rng.choice(len(ranges), p=class_p)]
    vertices, faces = _shape(kind, rng)
    vertices = vertices - (vertices.max(axis=0) + vertices.min(axis=0)) / 2
    size = rng.uniform(lo, hi)
    vertices = vertices * (size / np.max(vertices.max(axis=0) - vertices.min(axis=0)))
    return closed_mesh(f"{kind}_{index:05d}", vertices, faces, kind)


def procedural_objects(n: int, seed: int, start: int = 0) -> list[ObjectMesh]:
    """Objects ``start .. start+n-1`` of the procedural set seeded ``seed`` (see ``procedural_object``)."""
    if int(n) != n or n < 0:
        raise ValueError(f"number of objects must be a non-negative integer, got {n!r}")
    return [procedural_object(i, seed) for i in range(start, start + n)]
