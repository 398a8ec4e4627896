"""The network's view of a real scene: a virtual top-down camera fitted to the target object.

The network was trained on one object seen straight down world -z with the field of view
fitted by :func:`grasp_planner.camera.fit_top_down_view`. A robot's camera is tilted and sees a
table and neighbours. Here the table plane defines a "world" frame whose +z is the plane normal,
the target's points are expressed in it, the same fit places a virtual camera above them, and
the points are z-buffered into that camera's image. ``T_camera_virtual`` carries poses between
the virtual view (where the planner works) and the real camera (where grasps are reported).

Rendering: each point is splatted as a square of half-width ``splat`` pixels, chosen from the
point spacing (real pixel footprint on the table seen in the virtual image), then empty pixels
with at least 5 of their 8 neighbours valid take the median of those neighbours (two passes).
That closes the pinholes of sparse sampling without growing the silhouette. Sensor holes that
the object's silhouette encloses completely, up to ``MAX_ENCLOSED_HOLE`` real-camera pixels, are filled
from their rim inwards (each pass: the mean of the valid 8-neighbours); larger enclosed holes stay
background, since they may be real (a handle, a ring) as they would in a training image.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from scipy.ndimage import binary_fill_holes, label

from grasp_planner.camera import DEFAULT_RESOLUTION, PinholeCamera, fit_top_down_view
from grasp_planner.contract.model_card import VIEW_BACKGROUNDS
from grasp_planner.pose import Pose
from grasp_planner.perception.depth_input import DEFAULT_MIN_VALID_PIXELS, CheckedDepth, read_depth
from grasp_planner.perception.plane import (DEFAULT_INLIER_TOLERANCE, DEFAULT_MAX_REFINE, DEFAULT_OBJECT_HEIGHT, Plane,
                                            fit_table_plane)
from grasp_planner.perception.segment import Cluster, cluster_points, nearest_cluster

#: an empty pixel is filled when at least this many of its 8 neighbours hold depth
FILL_MIN_NEIGHBOURS = 5
#: number of hole-filling passes
FILL_PASSES = 2
#: enclosed holes up to this many real-camera pixels (20 x 20 px: 16 mm across at 0.5 m) are filled
MAX_ENCLOSED_HOLE = 400
#: voxel (m) that thins the scene cloud for the barrier, and the radius (m) around the target it keeps
BARRIER_VOXEL = 0.004
BARRIER_RADIUS = 0.25
#: largest splat half-width (pixels); sparser clouds than this are not closed by splatting
MAX_SPLAT = 3
#: what the virtual view shows where the target is not (contract.model_card.VIEW_BACKGROUNDS): "none"
#: (no return, as in the floating-object training images; the shipped model) or "table" (the table plane
#: at its true depth, so the network knows where the support surface is). A card's ``view_background``
#: says which its network saw.
BACKGROUNDS = VIEW_BACKGROUNDS


@dataclass(frozen=True)
class SceneAnalysis:
    """What was found in a camera image, all in the real camera frame (m).

    Only the points a step needs are deprojected: a 640x480 image holds ~300k valid pixels and
    most are table, so the plane is fitted on a sample, heights come per pixel from the depth
    image, and the full cloud (``points``) is built only when something asks for it.
    """

    depth: np.ndarray            # (H, W) float32 m, 0 = missing
    camera: PinholeCamera
    plane: Plane                 # the table, normal towards the camera
    heights: np.ndarray          # (H, W) float64 height (m) of each pixel's point above the plane, nan = missing
    object_points: np.ndarray    # (M, 3) points higher than the object threshold above the table
    clusters: tuple[Cluster, ...]  # largest first; indices refer to object_points

    @property
    def n_valid_pixels(self) -> int:
        return int(np.count_nonzero(self.depth > 0))

    @cached_property
    def points(self) -> np.ndarray:
        """(N, 3) every valid pixel's point, row-major (computed on first use)."""
        return self.camera.deproject(self.depth)

    def points_above(self, height: float) -> np.ndarray:
        """(K, 3) the points more than ``height`` (m) above the table, row-major."""
        with np.errstate(invalid="ignore"):
            above = self.heights > height
        return self.camera.deproject_pixels(self.depth, *np.nonzero(above))


def _plane_sample(depth: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of a uniform sample of about ``DEFAULT_MAX_REFINE`` valid pixels (all of them in a small
    image): the plane fit refines on a sample that size anyway, and drawing pixel indices costs less than
    listing a 640x480 image's valid pixels first."""
    flat = depth.ravel()
    if flat.size > 2 * DEFAULT_MAX_REFINE:
        pick = rng.integers(0, flat.size, DEFAULT_MAX_REFINE)
        pick = pick[flat[pick] > 0]
        if len(pick) >= DEFAULT_MAX_REFINE // 4:      # else mostly holes: list the valid pixels instead
            return np.divmod(pick, depth.shape[1])
    rows, cols = np.nonzero(depth > 0)
    if len(rows) > DEFAULT_MAX_REFINE:
        pick = rng.integers(0, len(rows), DEFAULT_MAX_REFINE)
        rows, cols = rows[pick], cols[pick]
    return rows, cols


def pixel_heights(depth: np.ndarray, camera: PinholeCamera, plane: Plane) -> np.ndarray:
    """(H, W) height (m) above ``plane`` of every pixel's point, nan where there is no return.

    A pixel's point is z * ray with ray = ((u - cx)/fx, (v - cy)/fy, 1), so its height is
    z * (ray . n) + offset: one product per pixel, no (H, W, 3) cloud.
    """
    n = plane.normal
    ray_n = (((np.arange(camera.height) - camera.cy) / camera.fy * n[1] + n[2])[:, None]
             + ((np.arange(camera.width) - camera.cx) / camera.fx * n[0])[None, :])
    with np.errstate(invalid="ignore"):
        return np.where(depth > 0, depth * ray_n + plane.offset, np.nan)


@dataclass(frozen=True)
class NormalizedView:
    """A virtual top-down view of one target object, and how it sits in the real camera.

    Attributes
    ----------
    depth : (res, res) float32, m along the virtual camera's +z, 0 = background (as in training).
    camera : intrinsics of the virtual view.
    T_camera_virtual : maps virtual-view-frame points into the real camera frame.
    T_camera_world : the table frame (origin under the target's centroid, +z = plane normal) in the camera.
    plane : the table in the real camera frame; ``plane_virtual`` is the same plane in the virtual frame.
    analysis : the scene analysis the view was cut from; ``source_points`` (N, 3) is every valid point
        of the real image (table, target, neighbours), camera frame, and ``scene_points`` the same
        cloud in the virtual frame (both computed on first use).
    target_points : (K, 3) the target's points, virtual frame.
    clusters : every object found (real camera frame), largest first; ``target_index`` picks the target.
    source_depth, source_camera : the real image (m) and its intrinsics.
    splat : splat half-width (px) used to render ``depth``.
    """

    depth: np.ndarray
    camera: PinholeCamera
    T_camera_virtual: Pose
    T_camera_world: Pose
    plane: Plane
    plane_virtual: Plane
    analysis: SceneAnalysis
    target_points: np.ndarray
    clusters: tuple[Cluster, ...]
    target_index: int
    source_depth: np.ndarray
    source_camera: PinholeCamera
    splat: int

    @property
    def source_points(self) -> np.ndarray:
        return self.analysis.points

    @cached_property
    def scene_points(self) -> np.ndarray:
        """Every valid point of the real image, virtual frame (the planner's barrier reads the camera frame's)."""
        return self.T_camera_virtual.inverse().transform_points(self.source_points)

    @property
    def target(self) -> Cluster:
        return self.clusters[self.target_index]

    def to_virtual(self, pose_camera) -> Pose:
        """A pose given in the real camera frame (Pose or 4x4), written in the virtual-view frame."""
        return self.T_camera_virtual.inverse() @ _as_pose(pose_camera)

    def to_camera(self, pose_virtual) -> Pose:
        """A pose given in the virtual-view frame (Pose or 4x4), written in the real camera frame."""
        return self.T_camera_virtual @ _as_pose(pose_virtual)

    def to_camera_matrices(self, T_virtual_hand: np.ndarray) -> np.ndarray:
        """Batched ``(N, 4, 4)`` virtual-frame poses -> real-camera-frame poses."""
        return np.einsum("ij,njk->nik", self.T_camera_virtual.matrix(), np.asarray(T_virtual_hand, dtype=float))

    def target_mask(self, object_height: float = DEFAULT_OBJECT_HEIGHT) -> np.ndarray:
        """(res, res) bool: pixels of ``depth`` on the target, i.e. above the table by more than ``object_height``.

        With the table as background every other pixel shows the table; seeding there would plan on it.
        """
        points = self.camera.pixel_rays() * self.depth[..., None]
        heights = self.plane_virtual.height(points.reshape(-1, 3)).reshape(self.depth.shape)
        return (self.depth > 0) & (heights > object_height)

    def barrier_points(self, voxel: float = BARRIER_VOXEL, radius: float = BARRIER_RADIUS) -> np.ndarray:
        """What the hand must not enter, virtual frame, m: the scene near the target plus the table under it.

        Every valid camera point off the table within ``radius`` of the target (measured across the
        table), thinned to one point per ``voxel`` cube, and a ``voxel``-spaced disc of the table plane
        of the same radius in place of the seen table, which also covers the table the camera cannot
        see behind the objects.
        """
        centre = self.target_points.mean(axis=0)
        near = np.hypot(*(self.scene_points[:, :2] - centre[:2]).T) < radius
        near &= np.abs(self.plane_virtual.height(self.scene_points)) > DEFAULT_INLIER_TOLERANCE  # table: the disc
        seen = _one_point_per_voxel(self.scene_points[near], voxel)
        steps = np.arange(-radius, radius + 1e-9, voxel)
        gx, gy = np.meshgrid(steps, steps)
        inside = np.hypot(gx, gy) < radius
        table_z = self.plane_virtual.offset  # the table is z = offset in the virtual frame
        table = np.stack([gx[inside] + centre[0], gy[inside] + centre[1], np.full(inside.sum(), table_z)], axis=1)
        return np.vstack([seen, table])

    def scene_geometry(self):
        """The whole scene near the target (table, target, neighbours) as an ObjectGeometry, virtual frame.

        Built from :meth:`barrier_points`, so the barrier keeps a grasp out of the table and the
        neighbours, not only the target.
        """
        from grasp_planner.geometry import ObjectGeometry  # klampt-backed; imported on demand
        return ObjectGeometry.from_points(self.barrier_points())


def _one_point_per_voxel(points: np.ndarray, voxel: float) -> np.ndarray:
    if len(points) == 0:
        return points.reshape(0, 3)
    cells = np.floor(points / voxel).astype(np.int64)
    cells -= cells.min(axis=0)
    dims = cells.max(axis=0) + 1
    keys = (cells[:, 0] * dims[1] + cells[:, 1]) * dims[2] + cells[:, 2]
    _, first = np.unique(keys, return_index=True)
    return points[first]


def _as_pose(pose) -> Pose:
    return pose if isinstance(pose, Pose) else Pose.from_matrix(np.asarray(pose, dtype=float))


def analyse_scene(depth: np.ndarray, camera: PinholeCamera, rng: np.random.Generator | None = None,
                  object_height: float = DEFAULT_OBJECT_HEIGHT,
                  min_valid_pixels: int = DEFAULT_MIN_VALID_PIXELS) -> SceneAnalysis:
    """Depth image -> cloud -> table plane -> object clusters (real camera frame).

    Parameters
    ----------
    depth : (H, W) uint16 mm (16UC1) or float m (32FC1); holes are 0/NaN. A CheckedDepth is used as it is.
    camera : its intrinsics.
    rng : seeds RANSAC; ``None`` uses a fixed seed (0) so a request is repeatable.
    object_height : points more than this (m) above the table are object points.
    min_valid_pixels : fewer valid pixels than this is an error.

    Raises
    ------
    ValueError naming what is missing: valid depth, a table plane, or an object above it.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    # a CheckedDepth was read once at the boundary (planning/request.py); anything else is read here
    depth_m = depth.depth if isinstance(depth, CheckedDepth) else read_depth(depth, camera, min_valid_pixels)
    plane = fit_table_plane(camera.deproject_pixels(depth_m, *_plane_sample(depth_m, rng)), rng)
    heights = pixel_heights(depth_m, camera, plane)
    with np.errstate(invalid="ignore"):
        plane = replace(plane, n_inliers=int(np.count_nonzero(np.abs(heights) < DEFAULT_INLIER_TOLERANCE)))
        above = heights > object_height
    object_points = camera.deproject_pixels(depth_m, *np.nonzero(above))
    clusters = tuple(cluster_points(object_points))
    if not clusters:
        n_valid = int(np.count_nonzero(depth_m > 0))
        raise ValueError(f"no object above the table plane: {len(object_points)} of {n_valid} valid points "
                         f"lie more than {object_height * 1000:.0f} mm above it, too few to form an object")
    return SceneAnalysis(depth_m, camera, plane, heights, object_points, clusters)


def table_frame(plane: Plane, origin_camera: np.ndarray) -> Pose:
    """``T_camera_world``: +z = plane normal, +x = camera +x laid onto the table, origin = foot of ``origin_camera``."""
    z = plane.normal / np.linalg.norm(plane.normal)
    x = np.array([1.0, 0.0, 0.0]) - z[0] * z
    if np.linalg.norm(x) < 1e-6:  # camera x parallel to the normal: use camera y instead
        x = np.array([0.0, 1.0, 0.0]) - z[1] * z
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    origin = plane.project(np.asarray(origin_camera, dtype=float).reshape(1, 3))[0]
    return Pose(np.stack([x, y, z], axis=1), origin)


def fill_small_holes(depth: np.ndarray, min_neighbours: int = FILL_MIN_NEIGHBOURS,
                     passes: int = FILL_PASSES) -> np.ndarray:
    """Fill empty pixels surrounded by object: median of the valid 8-neighbours where >= ``min_neighbours`` exist."""
    out = np.asarray(depth, dtype=np.float32).copy()
    h, w = out.shape
    for _ in range(passes):
        padded = np.pad(out, 1)
        stack = np.stack([padded[1 + dv:1 + dv + h, 1 + du:1 + du + w]
                          for dv in (-1, 0, 1) for du in (-1, 0, 1) if dv or du])
        valid = stack > 0
        fill = (out == 0) & (valid.sum(axis=0) >= min_neighbours)
        if not fill.any():
            break
        neigh = np.where(valid[:, fill], stack[:, fill], np.nan)
        out[fill] = np.nanmedian(neigh, axis=0)
    return out


def fill_enclosed_holes(depth: np.ndarray, max_area: int = MAX_ENCLOSED_HOLE) -> np.ndarray:
    """Fill background regions enclosed by the object (area <= ``max_area`` px) from their rim inwards."""
    out = np.asarray(depth, dtype=np.float32).copy()
    mask = out > 0
    holes, n = label(binary_fill_holes(mask) & ~mask)
    if n == 0:
        return out
    areas = np.bincount(holes.ravel())
    areas[0] = max_area + 1  # label 0 is everything that is not an enclosed hole
    todo = np.isin(holes, np.flatnonzero(areas <= max_area))
    h, w = out.shape
    while todo.any():
        padded = np.pad(out, 1)
        stack = np.stack([padded[1 + dv:1 + dv + h, 1 + du:1 + du + w]
                          for dv in (-1, 0, 1) for du in (-1, 0, 1) if dv or du])
        count = (stack > 0).sum(axis=0)
        rim = todo & (count > 0)
        if not rim.any():
            break
        out[rim] = stack[:, rim].sum(axis=0) / count[rim]
        todo &= ~rim
    return out


def _point_spacing(points_camera: np.ndarray, camera: PinholeCamera, plane: Plane,
                   virtual_camera: PinholeCamera, virtual_depths: np.ndarray) -> float:
    """Distance (virtual px) between the points of neighbouring real pixels, on a surface facing up."""
    z_real = points_camera[:, 2]
    rays = points_camera / np.linalg.norm(points_camera, axis=1, keepdims=True)
    cos_incidence = np.clip(np.abs(rays @ plane.normal), 0.3, 1.0)
    footprint = np.median(z_real / (min(camera.fx, camera.fy) * cos_incidence))  # m between real pixels
    return float(footprint * virtual_camera.fx / float(np.median(virtual_depths)))


def plane_depth(plane: Plane, camera: PinholeCamera) -> np.ndarray:
    """(H, W) float32 depth (m along +z) of ``plane`` (camera frame) at every pixel; 0 where a ray misses it."""
    u, v = np.meshgrid(np.arange(camera.width), np.arange(camera.height))
    rays = np.stack([(u - camera.cx) / camera.fx, (v - camera.cy) / camera.fy, np.ones(u.shape)], axis=-1)
    denominator = rays @ plane.normal
    with np.errstate(divide="ignore", invalid="ignore"):
        z = -plane.offset / denominator
    return np.where(np.isfinite(z) & (z > 0), z, 0.0).astype(np.float32)


def check_background(background: str) -> str:
    if background not in BACKGROUNDS:
        raise ValueError(f"view background must be one of {list(BACKGROUNDS)}, got {background!r}")
    return background


def view_of_cluster(scene: SceneAnalysis, target_index: int,
                    resolution: int = DEFAULT_RESOLUTION, background: str = "none") -> NormalizedView:
    """The virtual top-down view of ``scene.clusters[target_index]`` (see :func:`normalize_view`)."""
    check_background(background)
    target = scene.clusters[target_index]
    target_camera = scene.object_points[target.indices]
    T_camera_world = table_frame(scene.plane, target.centroid)
    target_world = T_camera_world.inverse().transform_points(target_camera)
    # The foot of the object on the table belongs to it (training meshes reach down to their base);
    # the points stop ``object_height`` above the table, so add the foot before fitting.
    foot = np.array([[*target_world[:, :2].mean(axis=0), 0.0]])
    view = fit_top_down_view(np.vstack([target_world, foot]), resolution)
    T_camera_virtual = T_camera_world @ view.T_world_camera
    T_virtual_camera = T_camera_virtual.inverse()
    target_virtual = T_virtual_camera.transform_points(target_camera)
    spacing = _point_spacing(target_camera, scene.camera, scene.plane, view.camera, target_virtual[:, 2])
    splat = int(np.clip(np.ceil(spacing / 2.0 - 0.5), 0, MAX_SPLAT))  # half the gap to the next point
    depth = fill_small_holes(view.camera.render_points(target_virtual, splat=splat))
    depth = fill_enclosed_holes(depth, int(MAX_ENCLOSED_HOLE * max(spacing, 1.0) ** 2))
    plane_virtual = scene.plane.transformed(T_virtual_camera)
    if background == "table":  # every pixel the target does not cover shows the table under it
        table = plane_depth(plane_virtual, view.camera)
        depth = np.where(depth > 0, depth, table).astype(np.float32)
    return NormalizedView(
        depth=depth, camera=view.camera, T_camera_virtual=T_camera_virtual, T_camera_world=T_camera_world,
        plane=scene.plane, plane_virtual=plane_virtual,
        analysis=scene, target_points=target_virtual,
        clusters=scene.clusters, target_index=int(target_index), source_depth=scene.depth,
        source_camera=scene.camera, splat=splat)


def normalize_view(depth: np.ndarray, camera: PinholeCamera, initial_pose=None,
                   resolution: int = DEFAULT_RESOLUTION, rng: np.random.Generator | None = None,
                   object_height: float = DEFAULT_OBJECT_HEIGHT, background: str = "none") -> NormalizedView:
    """A real camera's depth image -> the network's top-down view of the target object.

    Parameters
    ----------
    depth : (H, W) uint16 mm (16UC1) or float32 m (32FC1); 0/NaN pixels are holes. A CheckedDepth
        (read once at the boundary) is not read again.
    camera : the real camera's intrinsics (any resolution).
    initial_pose : a hand pose (Pose or 4x4) in the real camera frame; the target is the cluster
        nearest to it across the table. ``None``: the largest cluster.
    resolution : width = height of the virtual image (the network's input size), px.
    rng : seeds the plane fit; ``None`` uses a fixed seed.
    object_height : points more than this (m) above the table are object points.
    background : ``"none"`` (pixels off the target hold no return) or ``"table"`` (they hold the
        table plane's depth); see ``BACKGROUNDS``.

    Returns
    -------
    NormalizedView; ``T_camera_virtual`` maps virtual-frame poses back into the real camera frame.

    Raises
    ------
    ValueError when the image has too few valid pixels, no table plane, or no object above it.
    """
    scene = analyse_scene(depth, camera, rng, object_height)
    if initial_pose is None:
        target = 0
    else:
        target = nearest_cluster(list(scene.clusters), _as_pose(initial_pose).translation, scene.plane.normal)
    return view_of_cluster(scene, target, resolution, background)


def normalize_views(depth: np.ndarray, camera: PinholeCamera, resolution: int = DEFAULT_RESOLUTION,
                    rng: np.random.Generator | None = None,
                    object_height: float = DEFAULT_OBJECT_HEIGHT, background: str = "none") -> list[NormalizedView]:
    """One view per object cluster, largest first: the planner's loop when no initial pose is given."""
    scene = analyse_scene(depth, camera, rng, object_height)
    return [view_of_cluster(scene, i, resolution, background) for i in range(len(scene.clusters))]
