"""Depth images as cameras send them (16UC1 millimetres or 32FC1 metres) -> float metres, 0 = missing.

A real sensor leaves holes (0, NaN, inf); they are normal and simply skipped downstream. Only an
image with too little valid depth to find a table and an object is refused, and the message says
how many pixels were valid so the caller can tell a covered lens from a bad threshold.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from grasp_planner.camera import PinholeCamera, valid_depth_mask

#: below this many valid pixels a scene cannot hold both a table plane and an object
DEFAULT_MIN_VALID_PIXELS = 500
#: returns beyond this range (m) are treated as missing (no tabletop sensor reaches further)
DEFAULT_MAX_RANGE = 10.0


def depth_to_metres(depth: np.ndarray, max_range: float = DEFAULT_MAX_RANGE) -> np.ndarray:
    """Convert a depth image to float32 metres with 0 where the sensor gave no return.

    Parameters
    ----------
    depth : (H, W) image. ``uint16`` is read as millimetres (ROS ``16UC1``, 0 = missing); a
        floating image is read as metres (ROS ``32FC1``, 0/NaN/inf = missing).
    max_range : returns farther than this (m) are set to 0.

    Returns
    -------
    (H, W) float32, metres along the camera's +z, 0 = missing.
    """
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise ValueError(f"depth must be a 2-D image, got shape {depth.shape}")
    if depth.dtype == np.uint16:
        metres = depth.astype(np.float32) * np.float32(1e-3)
    elif np.issubdtype(depth.dtype, np.floating):
        metres = depth.astype(np.float32, copy=True)
    else:
        raise ValueError(f"depth must be uint16 millimetres (16UC1) or float metres (32FC1), got dtype {depth.dtype}")
    bad = ~valid_depth_mask(metres) | (metres > max_range)
    metres[bad] = 0.0
    return metres


def count_valid_pixels(depth_m: np.ndarray) -> int:
    """Number of pixels holding a return (finite and > 0)."""
    return int(np.count_nonzero(valid_depth_mask(depth_m)))


def read_depth(depth: np.ndarray, camera: PinholeCamera,
               min_valid_pixels: int = DEFAULT_MIN_VALID_PIXELS) -> np.ndarray:
    """Check a camera image against its intrinsics and return it in metres, 0 = missing.

    Parameters
    ----------
    depth : (H, W) uint16 mm or float m, see :func:`depth_to_metres`.
    camera : intrinsics of the image; its size must match ``depth``.
    min_valid_pixels : the least number of pixels with a return that is planned on.

    Returns
    -------
    (H, W) float32 metres, 0 = missing.

    Raises
    ------
    ValueError if the size does not match or fewer than ``min_valid_pixels`` pixels are valid.
    """
    metres = depth_to_metres(depth)
    camera.check_image(metres)
    n_valid = count_valid_pixels(metres)
    if n_valid < min_valid_pixels:
        raise ValueError(f"not enough valid depth: {n_valid} of {metres.size} pixels hold a return "
                         f"(need at least {min_valid_pixels})")
    return metres


@dataclass(frozen=True)
class CheckedDepth:
    """A camera image already passed through :func:`read_depth` (float32 metres, 0 = missing) with its
    intrinsics: what is handed on as this type is not converted or checked again downstream."""

    depth: np.ndarray
    camera: PinholeCamera

    @classmethod
    def read(cls, depth: np.ndarray, camera: PinholeCamera,
             min_valid_pixels: int = DEFAULT_MIN_VALID_PIXELS) -> "CheckedDepth":
        return cls(read_depth(depth, camera, min_valid_pixels), camera)
