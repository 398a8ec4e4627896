"""The views of the network's square image: its quarter turns and mirror images, for scoring and training.

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

Mirrored views (training augmentation, and a card's ``quarter_turns: 8``): ``np.fliplr`` puts a
point ``(x, y, z)`` at ``(-x, y, z)``, a reflection ``F``, so the mirrored scene holds the mirrored
hand. The Robotiq 3F is its own mirror image about its x-z plane (finger A on the plane, B and C on
either side: hand/dimensions.py; a test checks the collision boxes), so the mirrored hand is the
hand at the proper pose ``F @ T_cam_hand @ M``, ``M`` that plane's reflection. A mirrored object is
a new object with the same grasp outcome, so the eight views (four turns, each plain or mirrored)
are equally valid training samples.
"""
from __future__ import annotations

import numpy as np

from grasp_planner.camera import PinholeCamera

#: the camera frame after one quarter turn of the image (np.rot90, k=1), as a 4x4 transform
QUARTER_TURN = np.array([[0.0, 1.0, 0.0, 0.0],
                         [-1.0, 0.0, 0.0, 0.0],
                         [0.0, 0.0, 1.0, 0.0],
                         [0.0, 0.0, 0.0, 1.0]])
#: the camera frame of the left-right mirrored image (np.fliplr): a reflection, x -> -x
MIRROR = np.diag([-1.0, 1.0, 1.0, 1.0])
#: the hand's own mirror plane (its x-z plane: finger A on it, B and C on either side), y -> -y
HAND_MIRROR = np.diag([1.0, -1.0, 1.0, 1.0])
#: number of distinct views: 4 quarter turns, each plain or mirrored; view v = k + 4 * mirrored
VIEWS = 8
#: allowed values of the model card's ``quarter_turns``: the views 0 .. n-1 are averaged, so 4 is the
#: quarter turns and 8 the quarter turns of the image and of its mirror image
ALLOWED = (1, 4, VIEWS)


def _check_turns(turns: int) -> None:
    if turns not in ALLOWED:
        raise ValueError(f"quarter_turns must be one of {ALLOWED}, got {turns!r}")


def turn_transform(k: int) -> np.ndarray:
    """``T_turned_cam`` (4x4) of ``k`` quarter turns: the frame ``np.rot90(image, k)`` is seen from."""
    return np.linalg.matrix_power(QUARTER_TURN, k)


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


def _check_view(view: int) -> tuple[int, bool]:
    if not 0 <= int(view) < VIEWS:
        raise ValueError(f"view must be in 0..{VIEWS - 1} (k + 4 * mirrored), got {view!r}")
    return int(view) % 4, int(view) >= 4


def view_image(image: np.ndarray, view: int) -> np.ndarray:
    """``image`` (``(..., H, W)``) seen in view ``v``: mirrored left-right if ``v >= 4``, then ``v % 4`` turns."""
    k, mirrored = _check_view(view)
    return np.rot90(np.flip(image, axis=-1) if mirrored else image, k, axes=(-2, -1))


def view_poses(T_cam_hand: np.ndarray, view: int) -> np.ndarray:
    """Hand poses ``(..., 4, 4)`` as the hand that view ``v`` of the scene holds (a proper pose)."""
    k, mirrored = _check_view(view)
    T = np.asarray(T_cam_hand, dtype=float)
    if not mirrored:
        return turn_transform(k) @ T
    return turn_transform(k) @ MIRROR @ T @ HAND_MIRROR


def turned_images(image: np.ndarray, turns: int) -> np.ndarray:
    """``(turns, ..., H, W)``: ``image`` (``(..., H, W)``) in views 0 .. turns-1 (:func:`view_image`)."""
    _check_turns(turns)
    return np.stack([view_image(image, v) for v in range(turns)])


def turned_poses(T_cam_hand: np.ndarray, turns: int) -> np.ndarray:
    """``(turns, N, 4, 4)``: hand poses ``(N, 4, 4)`` in views 0 .. turns-1 (:func:`view_poses`)."""
    _check_turns(turns)
    T = np.asarray(T_cam_hand, dtype=float).reshape(-1, 4, 4)
    return np.stack([view_poses(T, v) for v in range(turns)])
