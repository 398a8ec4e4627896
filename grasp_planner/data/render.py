"""Headless CPU depth rendering: a vectorised z-buffer triangle rasteriser, and the paper's view synthesis.

No OpenGL, no ray-casting library: every triangle is clipped at the near plane, projected, and its
bounding box of pixel centres enumerated in one flat numpy array; an edge-function test keeps the
pixels inside and the exact depth comes from the triangle's plane (for a pinhole camera 1/z is affine
in the pixel coordinates, so depth on a flat face is exact, not interpolated). ``np.minimum.at`` keeps
the nearest surface. benchmarks/bench_render.py measures it against a per-pixel ray-cast baseline.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasp_planner.camera import DEFAULT_MARGIN, DEFAULT_VIEW_DISTANCE, PinholeCamera, fit_top_down_view
from grasp_planner.pose import Pose, invert_transform, quaternion_to_matrix

#: triangles closer to the camera than this (m) are clipped
NEAR_PLANE = 1e-3
#: candidate pixels handled per batch; bounds the memory of one batch to about 100 MB
BATCH_PIXELS = 2_000_000


def _clip_near(tri: np.ndarray, near: float) -> np.ndarray:
    """Clip camera-frame triangles (F, 3, 3) against the plane z = near; returns the kept pieces (K, 3, 3).

    A triangle with one vertex behind the plane becomes two triangles, with two behind becomes one.
    """
    behind = tri[:, :, 2] < near
    count = behind.sum(axis=1)
    pieces = [tri[count == 0]]
    for n_behind in (1, 2):
        sel = tri[count == n_behind]
        if len(sel) == 0:
            continue
        flags = behind[count == n_behind]
        # rotate each triangle so the odd vertex (the lone behind one, or the lone front one) is first;
        # rolling keeps the winding
        odd = np.argmax(flags if n_behind == 1 else ~flags, axis=1)
        order = (odd[:, None] + np.arange(3)[None, :]) % 3
        sel = np.take_along_axis(sel, order[:, :, None], axis=1)
        a, b, c = sel[:, 0], sel[:, 1], sel[:, 2]

        def cut(p, q):  # point on segment p-q at z = near
            t = (near - p[:, 2]) / (q[:, 2] - p[:, 2])
            return p + t[:, None] * (q - p)

        ab, ac = cut(a, b), cut(a, c)
        if n_behind == 1:  # a behind: quad ab, b, c, ac
            pieces += [np.stack([ab, b, c], axis=1), np.stack([ab, c, ac], axis=1)]
        else:  # b and c behind, a in front
            pieces.append(np.stack([a, ab, ac], axis=1))
    return np.concatenate(pieces)


def render_depth(vertices: np.ndarray, faces: np.ndarray, camera: PinholeCamera,
                 T_cam_obj=np.eye(4)) -> np.ndarray:
    """Depth image of a triangle mesh seen by a pinhole camera.

    Parameters
    ----------
    vertices : (V, 3) vertex positions in the object (or scene) frame, m.
    faces : (F, 3) vertex indices; any winding (no back-face culling, so open scene meshes work).
    camera : intrinsics and image size.
    T_cam_obj : 4x4 or ``Pose``, maps object-frame points into the camera optical frame.

    Returns
    -------
    (H, W) float32 depth along the camera +z, m; 0 where no surface is seen.
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise ValueError(f"vertices must be (V, 3), got shape {vertices.shape}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise ValueError(f"faces must be (F, 3), got shape {faces.shape}")
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise ValueError(f"faces index outside 0..{len(vertices) - 1}")
    T = T_cam_obj.matrix() if isinstance(T_cam_obj, Pose) else np.asarray(T_cam_obj, dtype=np.float64)
    if T.shape != (4, 4) or not np.all(np.isfinite(T)):
        raise ValueError(f"T_cam_obj must be a finite 4x4 transform, got shape {T.shape}")
    H, W = camera.height, camera.width
    zbuf = np.full(H * W, np.inf)
    if len(faces) == 0:
        return np.zeros((H, W), dtype=np.float32)
    tri = (vertices @ T[:3, :3].T + T[:3, 3])[faces]
    tri = tri[(tri[:, :, 2] >= NEAR_PLANE).any(axis=1)]
    if len(tri) == 0:
        return np.zeros((H, W), dtype=np.float32)
    tri = _clip_near(tri, NEAR_PLANE)

    # plane of each triangle, n . X = d, gives 1/z = (n . (xn, yn, 1)) / d at normalised pixel (xn, yn)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    d = np.einsum("ij,ij->i", normal, tri[:, 0])
    u = camera.fx * tri[:, :, 0] / tri[:, :, 2] + camera.cx
    v = camera.fy * tri[:, :, 1] / tri[:, :, 2] + camera.cy
    # signed doubled area in pixels; drop edge-on and degenerate triangles
    area = (u[:, 1] - u[:, 0]) * (v[:, 2] - v[:, 0]) - (u[:, 2] - u[:, 0]) * (v[:, 1] - v[:, 0])
    u0 = np.maximum(np.ceil(u.min(axis=1)), 0).astype(np.int64)
    u1 = np.minimum(np.floor(u.max(axis=1)), W - 1).astype(np.int64)
    v0 = np.maximum(np.ceil(v.min(axis=1)), 0).astype(np.int64)
    v1 = np.minimum(np.floor(v.max(axis=1)), H - 1).astype(np.int64)
    keep = (np.abs(area) > 1e-12) & (u1 >= u0) & (v1 >= v0) & (np.abs(d) > 1e-15)
    if not keep.any():
        return np.zeros((H, W), dtype=np.float32)
    u, v, area, normal, d = u[keep], v[keep], area[keep], normal[keep], d[keep]
    u0, u1, v0, v1 = u0[keep], u1[keep], v0[keep], v1[keep]
    bw = u1 - u0 + 1
    npix = bw * (v1 - v0 + 1)
    # edge functions e_k(p) = A_k * pu + B_k * pv + C_k, all >= 0 inside after orienting by area sign
    s = np.sign(area)[:, None]
    ua, va = u, v
    ub, vb = np.roll(u, -1, axis=1), np.roll(v, -1, axis=1)
    A = -(vb - va) * s
    B = (ub - ua) * s
    C = -(A * ua + B * va)
    # 1/z = a * pu + b * pv + c
    ia = normal[:, 0] / camera.fx / d
    ib = normal[:, 1] / camera.fy / d
    ic = (normal[:, 2] - normal[:, 0] * camera.cx / camera.fx - normal[:, 1] * camera.cy / camera.fy) / d
    eps = 1e-9 * np.abs(area)[:, None]

    # enumerate the candidate pixels of consecutive runs of triangles, BATCH_PIXELS at a time
    ends = np.cumsum(npix)
    start = 0
    while start < len(npix):
        base = ends[start - 1] if start else 0
        stop = max(int(np.searchsorted(ends, base + BATCH_PIXELS, side="right")), start + 1)
        counts = npix[start:stop]
        tri_id = np.repeat(np.arange(start, stop), counts)
        local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        pu = u0[tri_id] + local % bw[tri_id]
        pv = v0[tri_id] + local // bw[tri_id]
        fu, fv = pu.astype(np.float64), pv.astype(np.float64)
        inside = np.ones(len(tri_id), dtype=bool)
        for k in range(3):
            inside &= A[tri_id, k] * fu + B[tri_id, k] * fv + C[tri_id, k] >= -eps[tri_id, 0]
        tri_id, fu, fv = tri_id[inside], fu[inside], fv[inside]
        inv_z = ia[tri_id] * fu + ib[tri_id] * fv + ic[tri_id]
        ok = inv_z > 0
        flat = pv[inside][ok] * W + pu[inside][ok]
        np.minimum.at(zbuf, flat, 1.0 / inv_z[ok])
        start = stop
    zbuf[~np.isfinite(zbuf)] = 0.0
    return zbuf.reshape(H, W).astype(np.float32)


def raycast_depth(vertices: np.ndarray, faces: np.ndarray, camera: PinholeCamera,
                  T_cam_obj=np.eye(4)) -> np.ndarray:
    """Slow reference for ``render_depth``: one ray per pixel centre, tested against every triangle.

    Moller-Trumbore intersection, vectorised over triangles only; the benchmark's baseline and the
    tests' independent check. Same arguments and result as ``render_depth``.
    """
    T = T_cam_obj.matrix() if isinstance(T_cam_obj, Pose) else np.asarray(T_cam_obj, dtype=np.float64)
    tri = (np.asarray(vertices, dtype=np.float64) @ T[:3, :3].T + T[:3, 3])[np.asarray(faces)]
    a = tri[:, 0]
    e1, e2 = tri[:, 1] - a, tri[:, 2] - a
    rays = camera.pixel_rays().reshape(-1, 3)
    out = np.zeros(len(rays))
    for k, ray in enumerate(rays):
        p = np.cross(ray, e2)
        det = np.einsum("ij,ij->i", e1, p)
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / det
            s = -a
            bu = np.einsum("ij,ij->i", s, p) * inv
            q = np.cross(s, e1)
            bv = (q @ ray) * inv
            t = np.einsum("ij,ij->i", e2, q) * inv
        hit = (np.abs(det) > 1e-15) & (bu >= 0) & (bv >= 0) & (bu + bv <= 1) & (t > NEAR_PLANE)
        if hit.any():
            out[k] = t[hit].min()  # ray has z = 1, so the ray parameter is the depth
    return out.reshape(camera.shape).astype(np.float32)


@dataclass(frozen=True)
class SynthesizedViews:
    """Depth images of one object at random orientations, each with its fitted top-down camera.

    depth : (M, H, W) float32 m, 0 = background.  cameras : (M, 6) float64 ``PinholeCamera.as_array``.
    T_cam_obj : (M, 4, 4) float64, object frame -> each image's camera optical frame.
    """

    depth: np.ndarray
    cameras: np.ndarray
    T_cam_obj: np.ndarray


def random_rotations(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 3, 3) rotations uniform over SO(3) (normalised Gaussian quaternions)."""
    q = rng.normal(size=(n, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return np.asarray(quaternion_to_matrix(q)).reshape(n, 3, 3)


def synthesize_views(mesh, n: int, rng: np.random.Generator, resolution: int = 128,
                     distance: float = DEFAULT_VIEW_DISTANCE, margin: float = DEFAULT_MARGIN) -> SynthesizedViews:
    """The paper's depth synthesis: ``n`` random object orientations, each seen by ``fit_top_down_view``.

    Parameters
    ----------
    mesh : ``ObjectMesh`` (anything with ``vertices`` and ``faces``), object frame, m.
    n : number of images.
    rng : draws the orientations.
    resolution : image width and height, pixels.
    distance, margin : passed to ``camera.fit_top_down_view`` (camera height above the object, m; image margin).

    Returns
    -------
    SynthesizedViews with ``T_cam_obj[m]`` mapping object points into image m's camera frame.
    """
    if int(n) != n or n < 0:
        raise ValueError(f"number of views must be a non-negative integer, got {n!r}")
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    rotations = random_rotations(int(n), rng)
    depth = np.zeros((n, resolution, resolution), dtype=np.float32)
    cameras = np.zeros((n, 6))
    T_cam_obj = np.zeros((n, 4, 4))
    for m, R in enumerate(rotations):
        T_world_obj = np.eye(4)
        T_world_obj[:3, :3] = R
        view = fit_top_down_view(vertices @ R.T, resolution=resolution, distance=distance, margin=margin)
        T_cam_obj[m] = invert_transform(view.T_world_camera.matrix()) @ T_world_obj
        cameras[m] = view.camera.as_array()
        depth[m] = render_depth(vertices, mesh.faces, view.camera, T_cam_obj[m])
    return SynthesizedViews(depth, cameras, T_cam_obj)
