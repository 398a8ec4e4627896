"""Scoring a grasp on the four quarter turns of the camera about its optical axis, and averaging.

The network's view is a square top-down image with the principal point at its centre
(``fit_top_down_view``). Turning that camera by 90 degrees about its optical axis turns the image
by 90 degrees (``np.rot90``) and nothing else: the same scene, the same grasp, seen by a camera the
database could equally have used (its objects lie at random orientations). The network is not
exactly invariant to the turn, and its errors differ from turn to turn; the mean of the four logits
is a better score than any one of them (measured: +0.4 to +1.5 points of balanced accuracy on unseen
objects, benchmarks/eval_model_accuracy.py; docs/learning.md). numpy only.

Frames: ``np.rot90(image, k)`` shows at pixel (row i, column j) what the original showed at
(row j, column W-1-i), once per turn, so a point ``(x, y, z)`` of the camera frame is at
``(y, -x, z)`` in the turned camera's frame: ``T_turned_hand = R^k @ T_cam_hand``.
"""
from __future__ import annotations

import numpy as np

from grasp_planner.camera import PinholeCamera

#: the camera frame after one quarter turn of the image (np.rot90, k=1), as a 4x4 transform
QUARTER_TURN = np.array([[0.0, 1.0, 0.0, 0.0],
                         [-1.0, 0.0, 0.0, 0.0],
                         [0.0, 0.0, 1.0, 0.0],
                         [0.0, 0.0, 0.0, 1.0]])
#: allowed values of the model card's ``quarter_turns``
ALLOWED = (1, 4)


def _check_turns(turns: int) -> None:
    if turns not in ALLOWED:
        raise ValueError(f"quarter_turns must be one of {ALLOWED}, got {turns!r}")


def turn_transform(k: int) -> np.ndarray:
    """``T_turned_cam`` (4x4) of ``k`` quarter turns: the frame ``np.rot90(image, k)`` is seen from."""
    return np.linalg.matrix_power(QUARTER_TURN, k)


def turn_transforms(turns: int) -> np.ndarray:
    """``(turns, 4, 4)``: :func:`turn_transform` for k = 0 .. turns-1."""
    _check_turns(turns)
    return np.stack([turn_transform(k) for k in range(turns)])


def is_turnable(camera: PinholeCamera, atol: float = 1e-6) -> bool:
    """Whether a quarter turn of ``camera``'s image is a turn of the camera itself.

    That needs a square image, equal focal lengths and the principal point at the image centre:
    the fitted top-down view the planner builds (real cameras are normalised to it first).
    """
    centre_x, centre_y = (camera.width - 1) / 2.0, (camera.height - 1) / 2.0
    return (camera.width == camera.height and abs(camera.fx - camera.fy) <= atol * camera.fx
            and abs(camera.cx - centre_x) <= 1e-3 and abs(camera.cy - centre_y) <= 1e-3)


def check_turnable(camera: PinholeCamera) -> None:
    """Raise ValueError, saying what is needed, unless :func:`is_turnable`."""
    if not is_turnable(camera):
        raise ValueError(
            f"averaging over quarter turns needs a square image with fx == fy and the principal point at the "
            f"centre (the network's fitted view), got {camera.width}x{camera.height}, fx {camera.fx:g}, "
            f"fy {camera.fy:g}, cx {camera.cx:g}, cy {camera.cy:g}")


def turned_images(image: np.ndarray, turns: int) -> np.ndarray:
    """``(turns, ..., H, W)``: ``image`` (``(..., H, W)``) turned by k quarter turns, k = 0 .. turns-1."""
    _check_turns(turns)
    return np.stack([np.rot90(image, k, axes=(-2, -1)) for k in range(turns)])


def turned_poses(T_cam_hand: np.ndarray, turns: int) -> np.ndarray:
    """``(turns, N, 4, 4)``: hand poses ``(N, 4, 4)`` in each turned camera's frame."""
    T = np.asarray(T_cam_hand, dtype=float).reshape(-1, 4, 4)
    return np.einsum("kij,njl->knil", turn_transforms(turns), T)
