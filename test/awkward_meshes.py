"""Awkward closed meshes of everyday objects, for the mesh loader's tests and benchmarks/bench_mesh_loading.py.

Built with trimesh and manifold3d (unions), sized like things a hand grasps (metres), each checked
closed by trimesh before it is returned. ``faces`` picks a triangle count: parametric shapes pick
their section counts, the others are built finer and quadric-decimated to exactly that count.
"""
from __future__ import annotations

import numpy as np
import trimesh


def _checked(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    trimesh.repair.fix_normals(mesh)
    assert mesh.is_watertight and mesh.is_winding_consistent and mesh.volume > 0, "builder made an open mesh"
    return mesh


def _from_manifold(solid) -> trimesh.Trimesh:
    m = solid.to_mesh()
    return trimesh.Trimesh(np.asarray(m.vert_properties)[:, :3], np.asarray(m.tri_verts), process=True)


def _to_manifold(mesh: trimesh.Trimesh):
    import manifold3d

    return manifold3d.Manifold(manifold3d.Mesh(np.asarray(mesh.vertices, dtype=np.float32),
                                               np.asarray(mesh.faces, dtype=np.uint32)))


def _near(mesh: trimesh.Trimesh, faces: int) -> bool:
    return mesh.is_watertight and abs(len(mesh.faces) - faces) <= max(20, faces // 50)


def to_face_count(mesh: trimesh.Trimesh, faces: int) -> trimesh.Trimesh:
    """``mesh`` as a closed mesh of about ``faces`` triangles (within 2%): refined if coarser, then
    quadric-decimated, or simplified by manifold3d at a bisected tolerance where quadric collapse opens it."""
    import fast_simplification

    solid = _to_manifold(mesh)
    k0 = int(np.ceil(np.sqrt(faces / solid.num_tri())))
    levels = [solid] if solid.num_tri() > faces else []
    levels += [solid.refine(k) for k in (k0, k0 + 1, 2 * k0) if k > 1 and solid.num_tri() * k * k > faces]
    for level in levels:
        fine = _from_manifold(level)
        v, f = fast_simplification.simplify(fine.vertices, fine.faces, target_count=faces)
        out = trimesh.Trimesh(v, f, process=True)
        out.update_faces(out.nondegenerate_faces(height=None))
        out.remove_unreferenced_vertices()
        if _near(out, faces):
            return _checked(out)
        low, high = np.log(1e-7), np.log(1e-2)  # tolerance, m
        for _ in range(30):
            middle = 0.5 * (low + high)
            out = _from_manifold(level.simplify(float(np.exp(middle))))
            if _near(out, faces):
                return _checked(out)
            low, high = (middle, high) if len(out.faces) > faces else (low, middle)
    raise AssertionError(f"could not make a closed mesh of {faces} faces")


def torus(faces: int = 2560, major: float = 0.05, minor: float = 0.015) -> trimesh.Trimesh:
    """A ring (non-convex, genus 1): 2 * major_sections * minor_sections triangles."""
    minor_sections = max(3, int(round(np.sqrt(faces / 2 / (major / minor)))))
    major_sections = max(3, int(round(faces / 2 / minor_sections)))
    return _checked(trimesh.creation.torus(major, minor, major_sections, minor_sections))


def l_block(faces: int = 2400, arm: float = 0.10, width: float = 0.03, depth: float = 0.04) -> trimesh.Trimesh:
    """An L-shaped block extruded from its outline (no boolean), refined and decimated to ``faces``."""
    import manifold3d

    outline = [(0, 0), (arm, 0), (arm, width), (width, width), (width, 0.8 * arm), (0, 0.8 * arm)]
    return to_face_count(_from_manifold(manifold3d.CrossSection([outline]).extrude(depth)), faces)


def thin_plate(faces: int = 2352, size=(0.10, 0.06), thickness: float = 0.002) -> trimesh.Trimesh:
    """A 2 mm plate (12 box triangles, each edge split ``n`` times: 12 n^2 triangles)."""
    n = max(1, int(round(np.sqrt(faces / 12))))
    return _checked(_from_manifold(_to_manifold(trimesh.creation.box((*size, thickness))).refine(n)))


def mug(faces: int = 2500, radius: float = 0.04, height: float = 0.10, wall: float = 0.005) -> trimesh.Trimesh:
    """A hollow cup with a torus handle, unioned by manifold3d."""
    import manifold3d

    body = manifold3d.Manifold.cylinder(height, radius, radius, 128)
    cavity = manifold3d.Manifold.cylinder(height, radius - wall, radius - wall, 128).translate((0, 0, wall))
    handle = _to_manifold(trimesh.creation.torus(0.03, 0.006, 64, 20)).rotate((90, 0, 0))
    cup = (body - cavity) + handle.translate((radius + 0.015, 0, height / 2))
    return to_face_count(_from_manifold(cup), faces)


def bent_cylinder(faces: int = 2500, length: float = 0.18, radius: float = 0.018,
                  bend_deg: float = 80.0) -> trimesh.Trimesh:
    """A banana: a tube swept along an arc, thinner at the ends, capped by fans."""
    around = max(8, int(round(np.sqrt(faces / 6))))
    along = max(2, int(round((faces - 2 * around) / (2 * around))) + 1)
    bend = np.radians(bend_deg)
    arc_radius = length / bend
    t = np.linspace(0.0, 1.0, along)
    phi = bend * (t - 0.5)
    centre = np.stack([arc_radius * np.sin(phi), np.zeros_like(phi), arc_radius * (1 - np.cos(phi))], axis=1)
    normal = np.stack([-np.sin(phi), np.zeros_like(phi), np.cos(phi)], axis=1)
    r = radius * (0.35 + 0.65 * np.sin(np.pi * t))
    alpha = np.linspace(0, 2 * np.pi, around, endpoint=False)
    across = np.cos(alpha)[None, :, None] * normal[:, None, :] + np.sin(alpha)[None, :, None] * np.array([0, 1.0, 0])
    ring = centre[:, None, :] + r[:, None, None] * across
    vertices = np.vstack([ring.reshape(-1, 3), centre[0], centre[-1]])
    i, j = np.meshgrid(np.arange(along - 1), np.arange(around), indexing="ij")
    a, b = i * around + j, i * around + (j + 1) % around
    c, d = a + around, b + around
    side = np.concatenate([np.stack([a, b, d], -1).reshape(-1, 3), np.stack([a, d, c], -1).reshape(-1, 3)])
    start, end = len(vertices) - 2, len(vertices) - 1
    k = np.arange(around)
    caps = np.concatenate([np.stack([np.full(around, start), (k + 1) % around, k], -1),
                           np.stack([np.full(around, end), (along - 1) * around + k,
                                     (along - 1) * around + (k + 1) % around], -1)])
    return _checked(trimesh.Trimesh(vertices, np.concatenate([side, caps]), process=True))


def random_union(rng: np.random.Generator, faces: int = 2500) -> trimesh.Trimesh:
    """3-5 spheres, boxes and cylinders chained by a random walk and unioned: lumpy, non-convex.

    A draw that cannot be brought to ``faces`` closed triangles (mostly boxes, whose flat sides
    decimate back to a few hundred) is replaced by the next draw.
    """
    import manifold3d

    for _ in range(20):
        solid, position = None, np.zeros(3)
        for _ in range(int(rng.integers(3, 6))):
            size = rng.uniform(0.015, 0.04)
            kind = rng.integers(3)
            if kind == 0:
                part = manifold3d.Manifold.sphere(size / 2, 64)
            elif kind == 1:
                part = manifold3d.Manifold.cube(rng.uniform(0.5, 1.0, 3) * size, center=True)
            else:
                part = manifold3d.Manifold.cylinder(size, size / 3, size / 3, 64, center=True)
            part = part.rotate(tuple(rng.uniform(0, 360, 3))).translate(tuple(position))
            solid = part if solid is None else solid + part
            position = position + rng.normal(0, 1, 3) / np.sqrt(3) * size * 0.6
        try:
            return to_face_count(_from_manifold(solid), faces)
        except AssertionError:
            continue
    raise AssertionError(f"no random union of {faces} faces in 20 draws")


def fine_sphere(subdivisions: int = 7, radius: float = 0.05) -> trimesh.Trimesh:
    """A subdivided icosphere: 20 * 4^subdivisions triangles (7: 327,680; 8: 1,310,720)."""
    return _checked(trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius))


def fine_torus(faces: int = 500_000) -> trimesh.Trimesh:
    """A torus of about ``faces`` triangles (a large, non-convex scan-sized mesh)."""
    return torus(faces, major=0.05, minor=0.015)


def with_hole(mesh: trimesh.Trimesh, n_faces: int = 3) -> trimesh.Trimesh:
    """``mesh`` with ``n_faces`` neighbouring faces deleted: a small hole, as in a slightly broken scan."""
    start = 0
    neighbours = [start] + [int(f) for f in mesh.face_adjacency[np.any(mesh.face_adjacency == start, axis=1)]
                            .ravel() if f != start]
    drop = list(dict.fromkeys(neighbours))[:n_faces]
    return trimesh.Trimesh(mesh.vertices, np.delete(mesh.faces, drop, axis=0), process=False)


def open_strip(n: int = 20, width: float = 0.1, length: float = 0.2) -> trimesh.Trimesh:
    """A flat strip of 2n triangles: an open surface that no repair can turn into the object meant."""
    x = np.linspace(0, length, n + 1)
    vertices = np.concatenate([np.stack([x, np.zeros_like(x), np.zeros_like(x)], 1),
                               np.stack([x, np.full_like(x, width), np.zeros_like(x)], 1)])
    k = np.arange(n)
    faces = np.concatenate([np.stack([k, k + 1, k + n + 2], 1), np.stack([k, k + n + 2, k + n + 1], 1)])
    return trimesh.Trimesh(vertices, faces, process=False)


def everyday_set(count: int = 30, seed: int = 0, faces=(2050, 2850)) -> list[tuple[str, trimesh.Trimesh]]:
    """``count`` varied closed meshes of ``faces[0]``-``faces[1]`` triangles: tori, L-blocks, mugs, bananas,
    random unions and thin plates in turn, sizes and face counts drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    builders = ("torus", "l_block", "mug", "banana", "union", "plate")
    out = []
    for i in range(count):
        kind = builders[i % len(builders)]
        n = int(rng.integers(faces[0], faces[1] + 1))
        s = rng.uniform(0.7, 1.4)
        if kind == "torus":
            mesh = torus(n, major=0.05 * s, minor=0.05 * s * rng.uniform(0.15, 0.45))
        elif kind == "l_block":
            mesh = l_block(n, arm=0.1 * s, width=0.03 * s * rng.uniform(0.5, 1.2), depth=0.04 * s)
        elif kind == "mug":
            mesh = mug(n, radius=0.04 * s, height=0.1 * s, wall=rng.uniform(0.003, 0.006))
        elif kind == "banana":
            mesh = bent_cylinder(n, length=0.18 * s, radius=0.018 * s, bend_deg=rng.uniform(40, 120))
        elif kind == "union":
            mesh = random_union(rng, n)
        else:
            mesh = thin_plate(n, size=(0.1 * s, 0.06 * s), thickness=rng.uniform(0.002, 0.004))
        out.append((f"{i:02d}_{kind}", mesh))
    return out
