"""Pictures of plans: the depth image with the open hand's link boxes drawn at given poses (matplotlib Agg)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from grasp_planner.camera import PinholeCamera
from grasp_planner.hand import kinematics as kin
from grasp_planner.pose import Pose

#: corner signs of a box and the 12 edges between them
_CORNERS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
_EDGES = [(i, j) for i in range(8) for j in range(i + 1, 8) if np.sum(_CORNERS[i] != _CORNERS[j]) == 1]


def hand_box_corners(T_cam_hand, q=None) -> np.ndarray:
    """Corners ``(L, 8, 3)`` of every link box of the hand (open by default), camera frame, m."""
    T = T_cam_hand.matrix() if isinstance(T_cam_hand, Pose) else np.asarray(T_cam_hand, dtype=float)
    q = kin.open_configuration("basic") if q is None else q
    boxes = kin.box_matrices(T, q)
    local = _CORNERS[None] * kin.BOX_HALF_EXTENTS[:, None, :]
    return np.einsum("lij,lkj->lki", boxes[:, :3, :3], local) + boxes[:, None, :3, 3]


def draw_hand(ax, camera: PinholeCamera, T_cam_hand, color: str, label: str | None = None, lw: float = 0.8):
    """Project the hand's boxes into the image on ``ax``; an arrow-free wireframe plus the palm origin."""
    corners = hand_box_corners(T_cam_hand)
    u, v, z = camera.project(corners.reshape(-1, 3))
    u, v, z = (a.reshape(corners.shape[:2]) for a in (u, v, z))
    for link in range(len(corners)):
        for i, j in _EDGES:
            if z[link, i] > 0 and z[link, j] > 0:
                ax.plot([u[link, i], u[link, j]], [v[link, i], v[link, j]], color=color, lw=lw)
    T = T_cam_hand.matrix() if isinstance(T_cam_hand, Pose) else np.asarray(T_cam_hand)
    pu, pv, _ = camera.project(T[:3, 3][None])
    ax.plot(pu, pv, "o", color=color, ms=4, label=label)


def plot_plan(path, depth: np.ndarray, camera: PinholeCamera, initial_pose, grasps, title: str = "",
              trajectory=()) -> Path:
    """Write a PNG: depth image, the hand at the initial pose (orange), the palm's path (white
    dots) and the best grasp (green; further candidates cyan)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from grasp_planner.plotting import save_figure

    depth = np.asarray(depth, dtype=float)
    shown = np.where(np.isfinite(depth) & (depth > 0), depth, np.nan)
    fig, ax = plt.subplots(figsize=(6, 6 * camera.height / camera.width))
    im = ax.imshow(shown, cmap="viridis")
    fig.colorbar(im, ax=ax, fraction=0.046, label="depth (m)")
    if initial_pose is not None:
        draw_hand(ax, camera, initial_pose, "orange", "initial")
    if len(trajectory):
        palm = np.array([(p.matrix() if isinstance(p, Pose) else p)[:3, 3] for p in trajectory])
        u, v, _ = camera.project(palm)
        ax.plot(u, v, ".-", color="white", ms=3, lw=0.6)
    for k, grasp in enumerate(grasps):
        draw_hand(ax, camera, grasp.pose, "lime" if k == 0 else "cyan",
                  f"grasp {k + 1}: score {grasp.score:.2f}")
    ax.set_xlim(-0.5, camera.width - 0.5)
    ax.set_ylim(camera.height - 0.5, -0.5)
    ax.set_title(title, fontsize=8)
    ax.legend(loc="lower right", fontsize=7)
    return save_figure(fig, path)
