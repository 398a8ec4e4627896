"""6-DOF poses: one type and the batched conversions every stage shares.

Conventions (used by the simulator, the dataset, the network and the node):

* positions in metres; a pose ``T_a_b`` maps points of frame *b* into frame *a*;
* quaternions are ``(x, y, z, w)`` as in ``geometry_msgs/Quaternion``;
* roll-pitch-yaw are fixed-axis X-Y-Z angles, ``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)``,
  the URDF/ROS convention and the paper's ``(x, y, z, roll, pitch, yaw)``;
* the continuous 6-D rotation representation is the first two columns of ``R``
  (Zhou et al., CVPR 2019), ``[r00, r10, r20, r01, r11, r21]``;
* Klamp't rigid transforms are ``(R, t)`` with ``R`` a column-major 9-list.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

_ORTHO_TOL = 1e-5


def wrap_angle(angle):
    """Wrap angles to ``[-pi, pi)`` so equal rotations get equal numbers."""
    return (np.asarray(angle, dtype=float) + np.pi) % (2.0 * np.pi) - np.pi


def rpy_to_matrix(rpy) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` from roll-pitch-yaw angles ``(..., 3)``."""
    rpy = np.asarray(rpy, dtype=float)
    cr, cp, cy = np.cos(rpy[..., 0]), np.cos(rpy[..., 1]), np.cos(rpy[..., 2])
    sr, sp, sy = np.sin(rpy[..., 0]), np.sin(rpy[..., 1]), np.sin(rpy[..., 2])
    rot = np.empty(rpy.shape[:-1] + (3, 3))
    rot[..., 0, 0] = cy * cp
    rot[..., 0, 1] = cy * sp * sr - sy * cr
    rot[..., 0, 2] = cy * sp * cr + sy * sr
    rot[..., 1, 0] = sy * cp
    rot[..., 1, 1] = sy * sp * sr + cy * cr
    rot[..., 1, 2] = sy * sp * cr - cy * sr
    rot[..., 2, 0] = -sp
    rot[..., 2, 1] = cp * sr
    rot[..., 2, 2] = cp * cr
    return rot


def matrix_to_rpy(rot) -> np.ndarray:
    """Roll-pitch-yaw ``(..., 3)`` in ``[-pi, pi)`` from rotation matrices ``(..., 3, 3)``.

    At gimbal lock (pitch = +-pi/2) roll is set to 0 and yaw carries the rotation.
    """
    rot = np.asarray(rot, dtype=float)
    cos_p = np.hypot(rot[..., 0, 0], rot[..., 1, 0])
    pitch = np.arctan2(-rot[..., 2, 0], cos_p)
    regular = cos_p > 1e-9
    roll = np.where(regular, np.arctan2(rot[..., 2, 1], rot[..., 2, 2]), 0.0)
    yaw = np.where(regular, np.arctan2(rot[..., 1, 0], rot[..., 0, 0]),
                   np.arctan2(-rot[..., 0, 1], rot[..., 1, 1]))
    return wrap_angle(np.stack([roll, pitch, yaw], axis=-1))


def quaternion_to_matrix(quat) -> np.ndarray:
    """Rotation matrices from quaternions ``(..., 4)`` in ``(x, y, z, w)`` order.

    Raises ValueError for a zero or non-finite quaternion, which has no rotation.
    """
    quat = np.asarray(quat, dtype=float)
    norm = np.linalg.norm(quat, axis=-1, keepdims=True)
    if not np.all(np.isfinite(quat)) or np.any(norm < 1e-9):
        raise ValueError(f"quaternion must be finite and non-zero, got {quat.tolist()}")
    x, y, z, w = np.moveaxis(quat / norm, -1, 0)
    rot = np.empty(quat.shape[:-1] + (3, 3))
    rot[..., 0, 0] = 1 - 2 * (y * y + z * z)
    rot[..., 0, 1] = 2 * (x * y - z * w)
    rot[..., 0, 2] = 2 * (x * z + y * w)
    rot[..., 1, 0] = 2 * (x * y + z * w)
    rot[..., 1, 1] = 1 - 2 * (x * x + z * z)
    rot[..., 1, 2] = 2 * (y * z - x * w)
    rot[..., 2, 0] = 2 * (x * z - y * w)
    rot[..., 2, 1] = 2 * (y * z + x * w)
    rot[..., 2, 2] = 1 - 2 * (x * x + y * y)
    return rot


def matrix_to_quaternion(rot) -> np.ndarray:
    """Unit quaternions ``(..., 4)`` in ``(x, y, z, w)`` order with ``w >= 0``."""
    rot = np.asarray(rot, dtype=float)
    m = rot
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    # Shepperd's method: pick the largest of w, x, y, z to divide by.
    cand = np.stack([trace, m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]], axis=-1)
    best = np.argmax(cand, axis=-1)
    quat = np.empty(rot.shape[:-2] + (4,))
    w_case = best == 0
    s = np.sqrt(np.maximum(1.0 + trace, 1e-12)) * 2
    quat[w_case] = np.stack([
        (m[..., 2, 1] - m[..., 1, 2]) / s, (m[..., 0, 2] - m[..., 2, 0]) / s,
        (m[..., 1, 0] - m[..., 0, 1]) / s, 0.25 * s], axis=-1)[w_case]
    for axis in range(3):
        case = best == axis + 1
        i, j, k = axis, (axis + 1) % 3, (axis + 2) % 3
        s = np.sqrt(np.maximum(1.0 + m[..., i, i] - m[..., j, j] - m[..., k, k], 1e-12)) * 2
        part = np.empty(rot.shape[:-2] + (4,))
        part[..., i] = 0.25 * s
        part[..., j] = (m[..., j, i] + m[..., i, j]) / s
        part[..., k] = (m[..., k, i] + m[..., i, k]) / s
        part[..., 3] = (m[..., k, j] - m[..., j, k]) / s
        quat[case] = part[case]
    quat /= np.linalg.norm(quat, axis=-1, keepdims=True)
    return np.where(quat[..., 3:4] < 0, -quat, quat)


def rot6d_to_matrix(rot6d) -> np.ndarray:
    """Rotation matrices from the 6-D representation by Gram-Schmidt (any non-degenerate input)."""
    rot6d = np.asarray(rot6d, dtype=float)
    a, b = rot6d[..., 0:3], rot6d[..., 3:6]
    c0 = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b - np.sum(c0 * b, axis=-1, keepdims=True) * c0
    c1 = b / np.linalg.norm(b, axis=-1, keepdims=True)
    c2 = np.cross(c0, c1)
    return np.stack([c0, c1, c2], axis=-1)


def matrix_to_rot6d(rot) -> np.ndarray:
    """The 6-D representation ``(..., 6)``: the first two columns of ``R``."""
    rot = np.asarray(rot, dtype=float)
    return np.concatenate([rot[..., :, 0], rot[..., :, 1]], axis=-1)


def xyzrpy_to_matrix(xyzrpy) -> np.ndarray:
    """Homogeneous transforms ``(..., 4, 4)`` from ``(..., 6)`` vectors ``x, y, z, roll, pitch, yaw``."""
    xyzrpy = np.asarray(xyzrpy, dtype=float)
    out = np.zeros(xyzrpy.shape[:-1] + (4, 4))
    out[..., :3, :3] = rpy_to_matrix(xyzrpy[..., 3:6])
    out[..., :3, 3] = xyzrpy[..., :3]
    out[..., 3, 3] = 1.0
    return out


def matrix_to_xyzrpy(matrix) -> np.ndarray:
    """``(..., 6)`` vectors ``x, y, z, roll, pitch, yaw`` from homogeneous transforms."""
    matrix = np.asarray(matrix, dtype=float)
    return np.concatenate([matrix[..., :3, 3], matrix_to_rpy(matrix[..., :3, :3])], axis=-1)


def invert_transform(matrix) -> np.ndarray:
    """Inverse of rigid transforms ``(..., 4, 4)`` without a general matrix inverse."""
    matrix = np.asarray(matrix, dtype=float)
    out = np.zeros_like(matrix)
    rot_t = np.swapaxes(matrix[..., :3, :3], -1, -2)
    out[..., :3, :3] = rot_t
    out[..., :3, 3] = -np.einsum("...ij,...j->...i", rot_t, matrix[..., :3, 3])
    out[..., 3, 3] = 1.0
    return out


def rotation_angle_between(rot_a, rot_b) -> np.ndarray:
    """Geodesic angle (rad) between rotations, ``(..., 3, 3)`` each."""
    rel = np.einsum("...ji,...jk->...ik", np.asarray(rot_a, float), np.asarray(rot_b, float))
    cos = (np.trace(rel, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.arccos(np.clip(cos, -1.0, 1.0))


@dataclass(frozen=True)
class Pose:
    """A rigid transform: ``rotation`` (3x3) and ``translation`` (3,), metres.

    Immutable and validated on construction, so a NaN or a non-rotation fails where it is made,
    with the offending numbers in the message.
    """

    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def __post_init__(self):
        rot = np.array(self.rotation, dtype=float).reshape(3, 3)
        trans = np.array(self.translation, dtype=float).reshape(3)
        if not (np.all(np.isfinite(rot)) and np.all(np.isfinite(trans))):
            raise ValueError(f"pose must be finite, got rotation={rot.tolist()} translation={trans.tolist()}")
        if np.abs(rot @ rot.T - np.eye(3)).max() > _ORTHO_TOL or np.linalg.det(rot) < 0:
            raise ValueError(f"rotation is not a proper rotation matrix: {rot.tolist()}")
        rot.setflags(write=False)
        trans.setflags(write=False)
        object.__setattr__(self, "rotation", rot)
        object.__setattr__(self, "translation", trans)

    # --- constructors -------------------------------------------------------------------------
    @classmethod
    def identity(cls) -> "Pose":
        return cls()

    @classmethod
    def from_matrix(cls, matrix) -> "Pose":
        matrix = np.asarray(matrix, dtype=float)
        if matrix.shape != (4, 4):
            raise ValueError(f"expected a 4x4 matrix, got shape {matrix.shape}")
        return cls(matrix[:3, :3], matrix[:3, 3])

    @classmethod
    def from_xyzrpy(cls, xyzrpy) -> "Pose":
        xyzrpy = np.asarray(xyzrpy, dtype=float).reshape(6)
        if not np.all(np.isfinite(xyzrpy)):
            raise ValueError(f"pose must be finite, got xyzrpy={xyzrpy.tolist()}")
        return cls(rpy_to_matrix(xyzrpy[3:]), xyzrpy[:3])

    @classmethod
    def from_position_quaternion(cls, position, quaternion_xyzw) -> "Pose":
        return cls(quaternion_to_matrix(quaternion_xyzw), position)

    @classmethod
    def from_rot6d(cls, position, rot6d) -> "Pose":
        return cls(rot6d_to_matrix(rot6d), position)

    @classmethod
    def from_klampt(cls, transform) -> "Pose":
        rot_colmajor, trans = transform
        return cls(np.asarray(rot_colmajor, dtype=float).reshape(3, 3).T, trans)

    # --- views ---------------------------------------------------------------------------------
    def matrix(self) -> np.ndarray:
        out = np.eye(4)
        out[:3, :3] = self.rotation
        out[:3, 3] = self.translation
        return out

    def xyzrpy(self) -> np.ndarray:
        return np.concatenate([self.translation, matrix_to_rpy(self.rotation)])

    def quaternion(self) -> np.ndarray:
        """``(x, y, z, w)`` with ``w >= 0``."""
        return matrix_to_quaternion(self.rotation)

    def rot6d(self) -> np.ndarray:
        return matrix_to_rot6d(self.rotation)

    def to_klampt(self) -> tuple[list, list]:
        return self.rotation.T.reshape(-1).tolist(), self.translation.tolist()

    # --- algebra -------------------------------------------------------------------------------
    def __matmul__(self, other: "Pose") -> "Pose":
        return Pose(self.rotation @ other.rotation, self.rotation @ other.translation + self.translation)

    def inverse(self) -> "Pose":
        return Pose(self.rotation.T, -self.rotation.T @ self.translation)

    def transform_points(self, points) -> np.ndarray:
        """Map ``(N, 3)`` points from this pose's child frame into its parent frame."""
        return np.asarray(points, dtype=float) @ self.rotation.T + self.translation

    def distance_to(self, other: "Pose") -> tuple[float, float]:
        """(translation distance in m, rotation angle in rad) to another pose."""
        return (float(np.linalg.norm(self.translation - other.translation)),
                float(rotation_angle_between(self.rotation, other.rotation)))

    def __repr__(self) -> str:
        x = self.xyzrpy()
        return ("Pose(xyz=[{:.4f}, {:.4f}, {:.4f}] m, rpy=[{:.3f}, {:.3f}, {:.3f}] rad)"
                .format(*x))
