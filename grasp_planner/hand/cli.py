"""``grasp-planner hand --png out.png``: draw the hand open and closed around a box, to check the model by eye."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from grasp_planner.hand import dimensions as dim
from grasp_planner.hand import kinematics as kin

#: colours of the palm and of fingers A, B, C
COLOURS = {"palm": "0.55", "a": "tab:red", "b": "tab:green", "c": "tab:blue"}
_FACES = [[0, 1, 3, 2], [4, 5, 7, 6], [0, 1, 5, 4], [2, 3, 7, 6], [0, 2, 6, 4], [1, 3, 7, 5]]
_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--png", type=Path, required=True, help="output picture (PNG)")
    parser.add_argument("--box", type=float, nargs=3, default=(0.05, 0.06, 0.04), metavar=("X", "Y", "Z"),
                        help="box size in m (default 0.05 0.06 0.04)")
    parser.add_argument("--standoff", type=float, default=0.005,
                        help="gap between the palm face and the box, m (default 0.005)")
    parser.add_argument("--mode", choices=sorted(dim.MODES), default="basic", help="grasping mode")
    parser.add_argument("--grip", choices=("encompassing", "fingertip"), default="encompassing")


def _box_faces(T: np.ndarray, half: np.ndarray) -> list[np.ndarray]:
    corners = (_SIGNS * half) @ T[:3, :3].T + T[:3, 3]
    return [corners[f] for f in _FACES]


def _draw(ax, q: np.ndarray, box_bounds: np.ndarray, title: str) -> None:
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection
    for T, half, name in zip(kin.box_matrices(np.eye(4), q), kin.BOX_HALF_EXTENTS, kin.LINK_NAMES):
        colour = COLOURS["palm" if name == "palm" else name.split("_")[1]]
        ax.add_collection3d(Poly3DCollection(_box_faces(T, half), facecolor=colour, edgecolor="k",
                                             linewidth=0.3, alpha=0.25 if name == "palm" else 0.8))
    centre, half = box_bounds.mean(0), np.ptp(box_bounds, 0) / 2
    box_T = np.eye(4)
    box_T[:3, 3] = centre
    ax.add_collection3d(Poly3DCollection(_box_faces(box_T, half), facecolor="gold", edgecolor="k",
                                         linewidth=0.4, alpha=0.35))
    tips = kin.fingertip_positions(np.eye(4), q)
    for tip, finger in zip(tips, dim.FINGERS):
        ax.text(*tip, finger.upper(), color=COLOURS[finger], fontsize=11, fontweight="bold")
    ax.quiver(0, 0, 0, 0, 0, 0.05, color="k", linewidth=1.0)
    ax.text(0, 0, 0.055, "+z approach", fontsize=7)
    ax.quiver(0, 0, 0, 0.05, 0, 0, color="tab:red", linewidth=1.0)
    ax.set(xlim=(-0.13, 0.13), ylim=(-0.13, 0.13), zlim=(-0.08, 0.18), xlabel="x (m)", ylabel="y (m)",
           zlabel="z (m)", title=title)
    ax.set_box_aspect((1, 1, 1))
    ax.view_init(elev=18, azim=-60)


def draw_hand_png(path: Path, box_size=(0.05, 0.06, 0.04), standoff: float = 0.005, mode: str = "basic",
                  grip: str = "encompassing") -> np.ndarray:
    """Write a two-panel 3-D picture (open hand; hand closed on a box) and return the closed ``q``."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from grasp_planner.geometry import ObjectGeometry
    from grasp_planner.plotting import save_figure
    from grasp_planner.hand.closing import close_fingers
    import trimesh

    size = np.asarray(box_size, dtype=float)
    if size.shape != (3,) or np.any(size <= 0):
        raise ValueError(f"box size must be three positive lengths, got {box_size}")
    bounds = np.array([[-size[0] / 2, -size[1] / 2, standoff], [size[0] / 2, size[1] / 2, standoff + size[2]]])
    mesh = trimesh.creation.box(bounds=bounds)
    q_open = kin.open_configuration(mode)
    q_closed = close_fingers(np.eye(4), ObjectGeometry.from_mesh(mesh.vertices, mesh.faces), mode, grip)
    fig = plt.figure(figsize=(12, 6))
    _draw(fig.add_subplot(1, 2, 1, projection="3d"), q_open, bounds, f"open ({mode} mode)")
    _draw(fig.add_subplot(1, 2, 2, projection="3d"), q_closed, bounds,
          f"closed on a {size[0]*100:.0f}x{size[1]*100:.0f}x{size[2]*100:.0f} cm box ({grip})")
    fig.suptitle("Robotiq 3-finger hand model: A (red) opposite B (green, +y) and C (blue, -y)")
    save_figure(fig, path)
    return q_closed


def run(args: argparse.Namespace) -> int:
    q = draw_hand_png(args.png, tuple(args.box), args.standoff, args.mode, args.grip)
    names = kin.JOINT_NAMES
    print(f"wrote {args.png}")
    print("closed joint angles (rad): " + ", ".join(f"{n}={v:.3f}" for n, v in zip(names, q)))
    return 0
