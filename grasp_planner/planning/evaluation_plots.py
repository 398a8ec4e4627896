"""Pictures of the optimization evaluations (matplotlib lives here, not in planning/evaluate.py).

``plot_sequences``: the paper's Fig. 8 for the floating protocol; ``plot_table_protocol``: each
method's robust rate in the table-world protocol, with 95% intervals, for a glance.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def _draw_side(ax, T_cam_hand, color, label=None):
    """Orthographic side view (camera x right, camera z = depth down) of the open hand's boxes."""
    from grasp_planner.planning.drawing import _EDGES, hand_box_corners
    corners = hand_box_corners(T_cam_hand)
    for link in corners:
        for i, j in _EDGES:
            ax.plot([link[i, 0], link[j, 0]], [link[i, 2], link[j, 2]], color=color, lw=0.7)
    T = np.asarray(T_cam_hand)
    ax.plot(T[0, 3], T[2, 3], "o", color=color, ms=4, label=label)


def plot_sequences(path, problems: list, outcomes: list, k: int = 4) -> Path:
    """The paper's Fig. 8 style, for ``k`` problems (columns). Top: the network's depth image with
    the open hand at the start (orange), the palm's path (cyan; it begins at the winning
    multi-start start, which may differ from the problem's start) and the optimized hand (green if
    robust after 10 shakes, red if not); the axes grow past the image to keep the palms in view.
    Bottom: the same from the side (camera x across, depth down), the object mesh in grey."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from grasp_planner.plotting import save_figure
    from grasp_planner.planning.drawing import draw_hand

    k = min(k, len(problems))
    fig, axes = plt.subplots(2, max(k, 1), figsize=(4 * max(k, 1), 8.4), squeeze=False)
    for col, (problem, outcome) in enumerate(zip(problems[:k], outcomes[:k])):
        ax, side = axes[0, col], axes[1, col]
        final_color = "lime" if outcome.robust_10_shakes else "red"
        depth = np.where(problem.depth > 0, problem.depth, np.nan)
        ax.imshow(depth, cmap="gray")
        draw_hand(ax, problem.camera, problem.T_cam_start, "orange", "start", lw=0.6)
        palms = [problem.T_cam_start[:3, 3]]
        if len(outcome.trajectory):
            palm = np.array([T[:3, 3] for T in outcome.trajectory])
            palms.extend(palm)
            u, v, _ = problem.camera.project(palm)
            ax.plot(u, v, ".-", color="cyan", ms=3, lw=0.8, label="palm path")
        if outcome.T_cam_final is not None:
            draw_hand(ax, problem.camera, outcome.T_cam_final, final_color, "optimized", lw=0.6)
            palms.append(outcome.T_cam_final[:3, 3])
        u, v, _ = problem.camera.project(np.array(palms))
        W, H = problem.camera.width, problem.camera.height
        pad = 12
        ax.set_xlim(max(min(-0.5, u.min() - pad), -W), min(max(W - 0.5, u.max() + pad), 2 * W))
        ax.set_ylim(min(max(H - 0.5, v.max() + pad), 2 * H), max(min(-0.5, v.min() - pad), -H))
        ax.set_title(f"{outcome.object_name}: {outcome.label} (start: {outcome.start_label or '?'})\n"
                     f"logit {outcome.start_logit:.2f} -> {outcome.final_logit:.2f}, {outcome.n_iter} it, "
                     f"moved {outcome.moved_m * 100:.1f} cm / {np.degrees(outcome.turned_rad):.0f} deg",
                     fontsize=8)
        ax.legend(fontsize=6, loc="lower right")
        T = problem.T_cam_obj
        cam_vertices = problem.vertices @ T[:3, :3].T + T[:3, 3]
        from matplotlib.collections import PolyCollection
        side.add_collection(PolyCollection(cam_vertices[problem.faces][:, :, [0, 2]], facecolor="0.6",
                                           edgecolor="none", alpha=0.6))
        _draw_side(side, problem.T_cam_start, "orange", "start")
        if len(outcome.trajectory):
            palm = np.array([T[:3, 3] for T in outcome.trajectory])
            side.plot(palm[:, 0], palm[:, 2], ".-", color="black", ms=3, lw=0.8)
        if outcome.T_cam_final is not None:
            _draw_side(side, outcome.T_cam_final, final_color, "optimized")
        side.set_aspect("equal")
        side.invert_yaxis()
        side.set_xlabel("camera x (m)", fontsize=7)
        side.set_ylabel("depth z (m)", fontsize=7)
        side.tick_params(labelsize=6)
        side.set_title("side view", fontsize=8)
    return save_figure(fig, path, dpi=100)


def plot_table_protocol(path, summary: dict, title: str) -> Path:
    """Bars per method: robust after 1 and after 10 shakes, 10-shake 95% intervals as whiskers."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from grasp_planner.plotting import save_figure

    methods = list(summary)
    x = np.arange(len(methods))
    r1 = [summary[m]["robust_1_shake"] * 100 for m in methods]
    r10 = [summary[m]["robust_10_shakes"] * 100 for m in methods]
    lo = [r - summary[m]["robust_10_shakes_ci95"][0] * 100 for m, r in zip(methods, r10)]
    hi = [summary[m]["robust_10_shakes_ci95"][1] * 100 - r for m, r in zip(methods, r10)]
    fig, ax = plt.subplots(figsize=(1.6 * len(methods) + 2.5, 4.2))
    ax.bar(x - 0.2, r1, 0.4, color="#9ecae1", label="after lift + 1 shake")
    ax.bar(x + 0.2, r10, 0.4, color="#08519c", yerr=[lo, hi], capsize=4, label="after lift + 10 shakes")
    for xi, v, up, one in zip(x, r10, hi, r1):
        ax.text(xi + 0.2, v + up + 1.5, f"{v:.0f}%", ha="center", fontsize=9)      # above the whisker
        ax.text(xi - 0.2, one + 1.5, f"{one:.0f}%", ha="center", fontsize=8, color="0.35")
    ax.set_xticks(x, [f"{m}\n(n={summary[m]['n']})" for m in methods])
    ax.set_ylabel("robust grasps (%)")
    ax.set_ylim(0, 105)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path, dpi=110)
