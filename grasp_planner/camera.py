"""Pinhole camera: depth image <-> point cloud, and the paper's fitted top-down view.

Frames follow ROS optical conventions (REP 103): camera +z looks forward along the optical axis,
+x to the right of the image, +y down. Depth images hold metres along +z as float32; a pixel
without a return is 0 (NaN and inf are accepted on input and treated the same way).
Pixel centres sit at integer coordinates: pixel (row v, column u) is at ``u = fx*x/z + cx``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasp_planner.pose import Pose

#: the paper's network input size (128x128)
DEFAULT_RESOLUTION = 128
#: distance (m) from the fitted top-down camera to the object's bounding-box centre
DEFAULT_VIEW_DISTANCE = 0.5
#: fraction of the half-image left empty around the object in a fitted view
DEFAULT_MARGIN = 0.1

#: camera-from-world rotation of a camera looking straight down world -z (x right = world +x)
TOP_DOWN_ROTATION = np.diag([1.0, -1.0, -1.0])


def valid_depth_mask(depth: np.ndarray) -> np.ndarray:
    """True where a depth pixel holds a real return (finite and > 0)."""
    depth = np.asarray(depth)
    return np.isfinite(depth) & (depth > 0)


@dataclass(frozen=True)
class PinholeCamera:
    """Intrinsics of an ideal pinhole camera (no distortion); focal lengths and centre in pixels."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    def __post_init__(self):
        numbers = (self.fx, self.fy, self.cx, self.cy)
        if not all(np.isfinite(v) for v in numbers) or self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"camera intrinsics must be finite with fx, fy > 0, got {numbers}")
        if int(self.width) != self.width or int(self.height) != self.height or self.width < 1 or self.height < 1:
            raise ValueError(f"camera size must be positive integers, got {self.width}x{self.height}")
        for name in ("fx", "fy", "cx", "cy"):
            object.__setattr__(self, name, float(getattr(self, name)))
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @property
    def shape(self) -> tuple[int, int]:
        """Image shape ``(height, width)``."""
        return (self.height, self.width)

    def as_array(self) -> np.ndarray:
        """``[fx, fy, cx, cy, width, height]``, the layout datasets and model cards store."""
        return np.array([self.fx, self.fy, self.cx, self.cy, self.width, self.height], dtype=float)

    @classmethod
    def from_array(cls, values) -> "PinholeCamera":
        fx, fy, cx, cy, width, height = (float(v) for v in np.asarray(values).reshape(6))
        return cls(fx, fy, cx, cy, int(round(width)), int(round(height)))

    @classmethod
    def from_fov(cls, width: int, height: int, fov_x_rad: float) -> "PinholeCamera":
        """Square pixels, principal point at the image centre, horizontal field of view given."""
        f = (width / 2.0) / np.tan(fov_x_rad / 2.0)
        return cls(f, f, (width - 1) / 2.0, (height - 1) / 2.0, width, height)

    def check_image(self, depth: np.ndarray, name: str = "depth") -> np.ndarray:
        """Return ``depth`` as float array, or raise ValueError saying why it does not fit this camera."""
        depth = np.asarray(depth)
        if depth.ndim != 2:
            raise ValueError(f"{name} must be a 2-D image, got shape {depth.shape}")
        if depth.shape != self.shape:
            raise ValueError(f"{name} is {depth.shape[1]}x{depth.shape[0]} (WxH) but the camera is "
                             f"{self.width}x{self.height}")
        if not np.issubdtype(depth.dtype, np.number):
            raise ValueError(f"{name} must be numeric, got dtype {depth.dtype}")
        return depth.astype(np.float64, copy=False)

    # --- image -> points ----------------------------------------------------------------------
    def pixel_rays(self) -> np.ndarray:
        """``(H, W, 3)`` rays with z = 1 through every pixel centre."""
        u = (np.arange(self.width) - self.cx) / self.fx
        v = (np.arange(self.height) - self.cy) / self.fy
        rays = np.empty((self.height, self.width, 3))
        rays[..., 0] = u[None, :]
        rays[..., 1] = v[:, None]
        rays[..., 2] = 1.0
        return rays

    def deproject(self, depth: np.ndarray) -> np.ndarray:
        """Points ``(N, 3)`` in the camera frame for every valid pixel, row-major order; holes skipped."""
        depth = self.check_image(depth)
        return self.deproject_pixels(depth, *np.nonzero(valid_depth_mask(depth)))   # no (H, W, 3) array

    def deproject_pixels(self, depth: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Points ``(N, 3)`` in the camera frame of the pixels ``(rows, cols)`` of ``depth`` (metres), in that order."""
        z = depth[rows, cols].astype(float)
        return np.stack([(cols - self.cx) / self.fx * z, (rows - self.cy) / self.fy * z, z], axis=1)

    # --- points -> image ----------------------------------------------------------------------
    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pixel coordinates ``(u, v)`` and depth ``z`` of camera-frame points ``(N, 3)``."""
        points = np.asarray(points, dtype=float).reshape(-1, 3)
        z = points[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.fx * points[:, 0] / z + self.cx
            v = self.fy * points[:, 1] / z + self.cy
        return u, v, z

    def render_points(self, points: np.ndarray, splat: int = 0) -> np.ndarray:
        """Z-buffer a point cloud into a depth image (nearest point wins, 0 where nothing lands).

        ``splat`` > 0 draws each point as a (2*splat+1)^2 square, closing gaps between sparse points.
        """
        u, v, z = self.project(points)
        ok = np.isfinite(u) & np.isfinite(v) & (z > 0)
        ui, vi, z = np.rint(u[ok]).astype(np.int64), np.rint(v[ok]).astype(np.int64), z[ok]
        if splat > 0:
            offs = np.arange(-splat, splat + 1)
            du, dv = np.meshgrid(offs, offs)
            ui = (ui[:, None] + du.ravel()[None, :]).ravel()
            vi = (vi[:, None] + dv.ravel()[None, :]).ravel()
            z = np.repeat(z, du.size)
        inside = (ui >= 0) & (ui < self.width) & (vi >= 0) & (vi < self.height)
        flat = vi[inside] * self.width + ui[inside]
        z = z[inside]
        out = np.full(self.width * self.height, np.inf)
        np.minimum.at(out, flat, z)
        out[~np.isfinite(out)] = 0.0
        return out.reshape(self.shape).astype(np.float32)


@dataclass(frozen=True)
class CameraView:
    """A camera and where it is: ``T_world_camera`` maps camera-frame points into the world."""

    camera: PinholeCamera
    T_world_camera: Pose

    def world_to_camera(self, points: np.ndarray) -> np.ndarray:
        return self.T_world_camera.inverse().transform_points(points)

    def camera_to_world(self, points: np.ndarray) -> np.ndarray:
        return self.T_world_camera.transform_points(points)


def fit_top_down_view(points_world: np.ndarray, resolution: int = DEFAULT_RESOLUTION,
                      distance: float = DEFAULT_VIEW_DISTANCE, margin: float = DEFAULT_MARGIN) -> CameraView:
    """The paper's synthesis camera: straight down world -z, field of view fitted to the points.

    The camera sits ``distance`` metres above the centre of the points' bounding box, its image
    x axis along world +x, and its focal length is the largest that keeps every point inside the
    image with ``margin`` of the half-width to spare. The same function fits the training views
    and the virtual view built from a real camera's cluster, so both see objects at one scale.

    Parameters
    ----------
    points_world : (N, 3) points of the object (mesh vertices or a segmented cloud), world frame, m.
    resolution : image width and height in pixels.
    distance : camera height above the bounding-box centre, m; must clear the object's top.
    margin : fraction of the half-image kept free at the tightest side.
    """
    points_world = np.asarray(points_world, dtype=float).reshape(-1, 3)
    if len(points_world) == 0 or not np.all(np.isfinite(points_world)):
        raise ValueError("fit_top_down_view needs at least one finite point")
    lo, hi = points_world.min(axis=0), points_world.max(axis=0)
    centre = (lo + hi) / 2.0
    if hi[2] >= centre[2] + distance - 1e-3:
        raise ValueError(f"object top at {hi[2]:.3f} m is above the camera (distance {distance} m)")
    pose = Pose(TOP_DOWN_ROTATION, centre + np.array([0.0, 0.0, distance]))
    pts = pose.inverse().transform_points(points_world)
    extent = np.max(np.maximum(np.abs(pts[:, 0]), np.abs(pts[:, 1])) / pts[:, 2])
    extent = max(extent, 1e-6)
    half = (resolution - 1) / 2.0
    focal = half * (1.0 - margin) / extent
    camera = PinholeCamera(focal, focal, half, half, resolution, resolution)
    return CameraView(camera, pose)
