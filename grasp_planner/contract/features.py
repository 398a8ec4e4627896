"""Network inputs: depth normalisation and pose features, shared by training and the ONNX scorer.

numpy only (the planner and the ROS node import this without torch). Training and planning must
turn a depth image and a hand pose into numbers in exactly the same way, so the parameters live in
the model card and both sides call these functions with it.

Depth (:class:`DepthNormalization`, method ``"view_offset"``)
    ``(depth - reference_m) / scale_m`` clipped to ``[-clip, clip]``; pixels without a return
    (0, NaN, inf) become ``background``. ``reference_m`` is the fitted top-down camera's distance
    to the object's bounding-box centre (``camera.DEFAULT_VIEW_DISTANCE``), so 0 is the object's
    centre height and the same reference serves the pose's ``z`` below. Background is put at the
    far clip: "no surface here, as far as the network can tell".

Pose (:class:`PoseEncoding`), the hand pose ``T_cam_hand`` in the camera's optical frame
    position: ``u = fx * x / z / (W / 2)``, ``v = fy * y / z / (H / 2)`` (the hand origin's image
    position relative to the principal point, in half-image units, so it agrees with the fitted
    field of view whatever the object's size) and ``w = (z - reference_m) / scale_m``
    (the same units as the normalised depth, so the network compares hand and surface heights
    directly). ``z`` is floored at ``min_depth_m`` to keep the map smooth and finite.
    rotation, by ``representation``:

    * ``"rpy"`` (the paper): roll, pitch, yaw in radians, ``R = Rz(yaw) Ry(pitch) Rx(roll)``,
      wrapped to ``[-pi, pi)`` (the paper fed ``[0, 2pi)``; ``[-pi, pi)`` keeps the top-down
      grasps' roll and pitch, near 0, away from the wrap). D = 6.
    * ``"rot6d"``: the first two columns of ``R`` (Zhou et al. 2019), continuous. D = 9.
    * ``"quat"``: ``(x, y, z, w)`` with ``w >= 0``. D = 7.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from grasp_planner.camera import DEFAULT_VIEW_DISTANCE, PinholeCamera
from grasp_planner.pose import (matrix_to_quaternion, matrix_to_rot6d, matrix_to_rpy,
                                quaternion_to_matrix, rot6d_to_matrix, rpy_to_matrix, wrap_angle)

#: rotation representation -> number of rotation features
ROTATION_SIZES = {"rpy": 3, "rot6d": 6, "quat": 4}


@dataclass(frozen=True)
class DepthNormalization:
    """How a depth image in metres becomes the network's input (see the module docstring)."""

    method: str = "view_offset"
    reference_m: float = DEFAULT_VIEW_DISTANCE
    scale_m: float = 0.1
    clip: float = 3.0
    background: float = 3.0

    def __post_init__(self):
        if self.method != "view_offset":
            raise ValueError(f"depth normalization method must be 'view_offset', got {self.method!r}")
        for name in ("reference_m", "scale_m", "clip", "background"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not np.isfinite(value):
                raise ValueError(f"depth normalization {name} must be a finite number, got {value!r}")
        if self.scale_m <= 0 or self.clip <= 0:
            raise ValueError(f"depth normalization scale_m and clip must be > 0, got {self.scale_m}, {self.clip}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PoseEncoding:
    """How a hand pose in the camera frame becomes the network's pose input."""

    representation: str = "rpy"
    reference_m: float = DEFAULT_VIEW_DISTANCE
    scale_m: float = 0.1
    min_depth_m: float = 0.01

    def __post_init__(self):
        if self.representation not in ROTATION_SIZES:
            raise ValueError(f"pose representation must be one of {sorted(ROTATION_SIZES)}, "
                             f"got {self.representation!r}")
        for name in ("reference_m", "scale_m", "min_depth_m"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
                raise ValueError(f"pose encoding {name} must be a positive finite number, got {value!r}")

    @property
    def dim(self) -> int:
        """Number of pose features D."""
        return 3 + ROTATION_SIZES[self.representation]

    def to_dict(self) -> dict:
        return asdict(self)


def _depth_params(card) -> DepthNormalization:
    if isinstance(card, DepthNormalization):
        return card
    if isinstance(card, dict):
        return DepthNormalization(**card)
    params = getattr(card, "depth_normalization", None)
    if isinstance(params, DepthNormalization):
        return params
    raise TypeError(f"expected a ModelCard, DepthNormalization or dict, got {type(card).__name__}")


def _pose_params(card) -> PoseEncoding:
    if isinstance(card, PoseEncoding):
        return card
    if isinstance(card, dict):
        return PoseEncoding(**card)
    params = getattr(card, "pose_encoding", None)
    if isinstance(params, PoseEncoding):
        return params
    raise TypeError(f"expected a ModelCard, PoseEncoding or dict, got {type(card).__name__}")


def normalize_depth(depth, card) -> np.ndarray:
    """The network's depth input from depth images in metres.

    Parameters
    ----------
    depth : (H, W) or (M, H, W) array, metres along the camera's +z; 0/NaN/inf = no return.
    card : ModelCard, DepthNormalization or a dict of its fields.

    Returns
    -------
    float32 array of the same shape, dimensionless (see the module docstring).
    """
    params = _depth_params(card)
    depth = np.asarray(depth)
    if depth.ndim not in (2, 3) or not np.issubdtype(depth.dtype, np.number):
        raise ValueError(f"depth must be a numeric (H, W) or (M, H, W) array, got {depth.dtype} {depth.shape}")
    depth = depth.astype(np.float32, copy=False)
    valid = np.isfinite(depth) & (depth > 0)
    scaled = (np.where(valid, depth, np.float32(params.reference_m)) - np.float32(params.reference_m)) \
        / np.float32(params.scale_m)
    out = np.clip(scaled, -params.clip, params.clip)
    out[~valid] = params.background
    return out.astype(np.float32, copy=False)


def _check_transforms(T_cam_hand) -> np.ndarray:
    T = np.asarray(T_cam_hand, dtype=float)
    if T.ndim == 2:
        T = T[None]
    if T.ndim != 3 or T.shape[1:] != (4, 4):
        raise ValueError(f"T_cam_hand must be (N, 4, 4) or (4, 4), got shape {T.shape}")
    if not np.all(np.isfinite(T)):
        raise ValueError("T_cam_hand must be finite")
    return T


def pose_features(T_cam_hand, camera: PinholeCamera, card) -> np.ndarray:
    """Pose features ``(N, D)`` float32 of hand poses seen by ``camera``.

    Parameters
    ----------
    T_cam_hand : (N, 4, 4) or (4, 4) hand poses in the camera's optical frame, metres.
    camera : the camera that took the depth image (its fx, fy and size fix the position scale).
    card : ModelCard, PoseEncoding or a dict of its fields.

    Returns
    -------
    (N, D) float32: ``u, v, w`` then the rotation (see the module docstring).
    """
    params = _pose_params(card)
    T = _check_transforms(T_cam_hand)
    return pose_features_per_camera(T, np.broadcast_to(camera.as_array(), (len(T), 6)), params)


def pose_features_per_camera(T_cam_hand, cameras, card) -> np.ndarray:
    """:func:`pose_features` with a camera per pose, for batches mixing images (training).

    Parameters
    ----------
    T_cam_hand : (N, 4, 4) hand poses, each in its own camera's optical frame, metres.
    cameras : (N, 6) ``fx, fy, cx, cy, width, height`` of each pose's camera (``PinholeCamera.as_array``).
    card : ModelCard, PoseEncoding or a dict of its fields.
    """
    params = _pose_params(card)
    T = _check_transforms(T_cam_hand)
    cameras = np.asarray(cameras, dtype=float)
    if cameras.shape != (len(T), 6):
        raise ValueError(f"cameras must be ({len(T)}, 6), got shape {cameras.shape}")
    pos = T[:, :3, 3]
    z = np.maximum(pos[:, 2], params.min_depth_m)
    out = np.empty((len(T), params.dim), dtype=np.float32)   # filled in place: this runs per evaluation
    out[:, 0] = cameras[:, 0] * pos[:, 0] / z / (cameras[:, 4] / 2.0)
    out[:, 1] = cameras[:, 1] * pos[:, 1] / z / (cameras[:, 5] / 2.0)
    out[:, 2] = (pos[:, 2] - params.reference_m) / params.scale_m
    rot = T[:, :3, :3]
    if params.representation == "rpy":
        out[:, 3:] = matrix_to_rpy(rot)
    elif params.representation == "rot6d":
        out[:, 3:] = matrix_to_rot6d(rot)
    else:
        out[:, 3:] = matrix_to_quaternion(rot)
    return out


def features_to_pose(features, camera: PinholeCamera, card) -> np.ndarray:
    """Hand poses ``T_cam_hand`` (N, 4, 4) from pose features: the inverse of :func:`pose_features`.

    Exact for ``z >= min_depth_m``. Any finite rotation part is accepted: rpy angles of any size,
    a non-orthogonal 6-D vector (Gram-Schmidt) or a non-unit quaternion (normalised), so an
    optimiser may move the features freely.

    Parameters
    ----------
    features : (N, D) or (D,) pose features.
    camera : the camera the features refer to.
    card : ModelCard, PoseEncoding or a dict of its fields.
    """
    params = _pose_params(card)
    feats = np.asarray(features, dtype=float)
    if feats.ndim == 1:
        feats = feats[None]
    if feats.ndim != 2 or feats.shape[1] != params.dim:
        raise ValueError(f"pose features must be (N, {params.dim}) for {params.representation!r}, "
                         f"got shape {feats.shape}")
    if not np.all(np.isfinite(feats)):
        raise ValueError("pose features must be finite")
    z = feats[:, 2] * params.scale_m + params.reference_m
    z_proj = np.maximum(z, params.min_depth_m)
    T = np.zeros((len(feats), 4, 4))
    T[:, 0, 3] = feats[:, 0] * (camera.width / 2.0) * z_proj / camera.fx
    T[:, 1, 3] = feats[:, 1] * (camera.height / 2.0) * z_proj / camera.fy
    T[:, 2, 3] = z
    rot = feats[:, 3:]
    if params.representation == "rpy":
        T[:, :3, :3] = rpy_to_matrix(wrap_angle(rot))
    elif params.representation == "rot6d":
        T[:, :3, :3] = rot6d_to_matrix(rot)
    else:
        T[:, :3, :3] = quaternion_to_matrix(rot)
    T[:, 3, 3] = 1.0
    return T
