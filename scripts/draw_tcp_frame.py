#!/usr/bin/env python3
"""Draw docs/tcp_frame.png: which point of the Robotiq 3F the planned grasp pose is, and its axes.

The hand is drawn from the link transforms and collision boxes of hand/kinematics.py, open in
basic mode, so the picture follows the model if the model changes.

    python scripts/draw_tcp_frame.py [--out docs/tcp_frame.png]
"""
from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from mpl_toolkits.mplot3d.art3d import Poly3DCollection  # noqa: E402

from grasp_planner.hand import kinematics as kin  # noqa: E402

AXES = (("+x: towards finger A", "tab:red"), ("+y: finger B side", "tab:green"), ("+z: approach axis", "tab:blue"))
FINGER_COLOURS = {"a": "#d9a0a0", "b": "#a0c8a0", "c": "#a0b4d9"}


def box_faces(T_hand_box: np.ndarray, half: np.ndarray) -> list[np.ndarray]:
    """The six faces of a box as (4, 3) corner arrays in the hand frame."""
    corners = np.array(list(itertools.product(*[(-h, h) for h in half])))       # (8, 3), index = bits zyx
    pts = corners @ T_hand_box[:3, :3].T + T_hand_box[:3, 3]
    quads = [(0, 1, 3, 2), (4, 5, 7, 6), (0, 1, 5, 4), (2, 3, 7, 6), (0, 2, 6, 4), (1, 3, 7, 5)]
    return [pts[list(q)] for q in quads]


def draw(out: Path) -> None:
    q = kin.open_configuration("basic")
    links = kin.link_transforms(np.eye(4), q)
    fig = plt.figure(figsize=(11, 5.5))
    ax = fig.add_subplot(1, 2, 1, projection="3d")
    side = fig.add_subplot(1, 2, 2)
    for name, T_link_box, half in zip(kin.LINK_NAMES, kin.BOX_TRANSFORMS, kin.BOX_HALF_EXTENTS):
        T = links[name] @ T_link_box
        colour = "#bbbbbb" if name == "palm" else FINGER_COLOURS[name.split("_")[1]]
        ax.add_collection3d(Poly3DCollection(box_faces(T, half), facecolor=colour,
                                             edgecolor="#555555", linewidths=0.4, alpha=0.35))
        faces = box_faces(T, half)
        for face in faces:       # side view: project onto the x-z plane
            side.fill(face[:, 0], face[:, 2], facecolor=colour, edgecolor="#777777", linewidth=0.3, alpha=0.25)
    length = 0.08
    for i, (label, colour) in enumerate(AXES):
        d = np.eye(3)[i] * length
        ax.quiver(0, 0, 0, *d, color=colour, linewidth=2.5, arrow_length_ratio=0.15)
        ax.text(*(d * (1.9 if i == 0 else 1.25)), label, color=colour, fontsize=9)
    ax.scatter([0], [0], [0], color="black", s=40)
    fig.text(0.02, 0.02, "Black dot: the TCP = hand frame origin = centre of the palm's outer face. "
             "The planner's grasp pose is this frame; tcp_offset maps it to a robot's tool frame.", fontsize=9)
    for name, tag in (("finger_a_link_3", "A"), ("finger_b_link_3", "B"), ("finger_c_link_3", "C")):
        tip = links[name][:3, 3] + 0.04 * links[name][:3, 2]
        ax.text(*tip, tag, fontsize=12, weight="bold")
    ax.set_xlim(-0.12, 0.12), ax.set_ylim(-0.12, 0.12), ax.set_zlim(-0.1, 0.2)
    ax.set_box_aspect((1, 1, 1.25))
    ax.set_xlabel("x (m)"), ax.set_ylabel("y (m)"), ax.set_zlabel("z (m)")
    ax.view_init(elev=18, azim=-60)
    ax.set_title("Grasp pose = hand frame (TCP), open hand, basic mode")

    side.arrow(0, 0, length, 0, color="tab:red", width=0.0015, length_includes_head=True)
    side.arrow(0, 0, 0, length, color="tab:blue", width=0.0015, length_includes_head=True)
    side.plot([0], [0], "ko")
    side.annotate("TCP", (0, 0), (0.012, -0.03), fontsize=10)
    side.text(length + 0.005, 0.0, "+x (finger A)", color="tab:red", va="center")
    side.text(0.004, length + 0.008, "+z (approach, towards the object)", color="tab:blue")
    side.axhline(0.0, color="k", linewidth=0.5, linestyle=":")
    side.set_aspect("equal")
    side.set_xlim(-0.13, 0.17), side.set_ylim(-0.11, 0.2)
    side.set_xlabel("x (m)"), side.set_ylabel("z (m)")
    side.set_title("Side view (x-z plane): finger A right, B and C left")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "docs" / "tcp_frame.png")
    draw(parser.parse_args().out)


if __name__ == "__main__":
    main()
