"""Picture for docs/table_world.md: a settled scene, and one side grasp before and after the lift.

    python scripts/draw_table_world.py --png docs/table_world.png
"""
from __future__ import annotations

import argparse

import numpy as np
import trimesh

from grasp_planner.data.objects import procedural_object
from grasp_planner.hand import kinematics as kin
from grasp_planner.plotting import save_figure
from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.quiet import silenced_output
from grasp_planner.sim.table_world import (Body, TableGraspSimulator, TableScene, body_matrix, drop_pose,
                                           place_scene, settle)
from grasp_planner.sim.world_config import TableWorldConfig

SIDE = np.array([[0.0, 0.0, 1.0, -0.08], [1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.075], [0.0, 0.0, 0.0, 1.0]])
SIGNS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
BOX_FACES = [[0, 1, 3, 2], [4, 5, 7, 6], [0, 1, 5, 4], [2, 3, 7, 6], [0, 2, 6, 4], [1, 3, 7, 5]]


def draw_mesh(ax, vertices, faces, T, color, alpha=0.6):
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    v = np.asarray(vertices) @ T[:3, :3].T + T[:3, 3]
    ax.add_collection3d(Poly3DCollection(v[np.asarray(faces)], facecolor=color, edgecolor="none", alpha=alpha))


def draw_hand(ax, T, q, color):
    from mpl_toolkits.mplot3d.art3d import Poly3DCollection

    mats = kin.box_matrices(T, q)
    for m, half in zip(mats, kin.BOX_HALF_EXTENTS):
        c = (SIGNS * half) @ m[:3, :3].T + m[:3, 3]
        ax.add_collection3d(Poly3DCollection([c[f] for f in BOX_FACES], facecolor=color, edgecolor="k",
                                             linewidths=0.2, alpha=0.35))


def draw_table(ax, half=0.15):
    xx, yy = np.meshgrid([-half, half], [-half, half])
    ax.plot_surface(xx, yy, np.zeros_like(xx), color="burlywood", alpha=0.4)


def snapshot(simulator: TableGraspSimulator, T, seed: int = 0):
    """Object pose and hand joints after closing and after the lift (the trial's own phases)."""
    with silenced_output():
        sim = simulator._start(T, seed)
        closing = simulator._close(sim, True)
        closed = (body_matrix(sim.body(simulator.object)), closing.q_hand)
        lifted_ok, _ = simulator._lift(sim)
        q = np.asarray(sim.getActualConfig(0))[simulator._hand_dofs]
        lifted = (body_matrix(sim.body(simulator.object)), q)
    return closed, lifted, lifted_ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--png", default="docs/table_world.png")
    args = parser.parse_args()
    import matplotlib.pyplot as plt

    sim_config, world = SimConfig.load(), TableWorldConfig.load()
    target, other = procedural_object(5, 0), procedural_object(1_000_004, 0)
    scene = place_scene(target.vertices, target.faces, np.random.default_rng(2), world, sim_config,
                        neighbours=[(other.vertices, other.faces)])
    cylinder = trimesh.creation.cylinder(0.03, 0.12, sections=32)
    side = TableScene(settle([Body(cylinder.vertices, cylinder.faces,
                                   drop_pose(cylinder.vertices, np.eye(3), (0.0, 0.0), 0.0015))], sim_config, world)[0])
    simulator = TableGraspSimulator(side, sim_config, world)
    (T_closed, q_closed), (T_lifted, q_lifted), ok = snapshot(simulator, SIDE)
    lift = np.eye(4)
    lift[2, 3] = world.lift.height_m

    fig = plt.figure(figsize=(15, 5))
    panels = [("settled scene (target + neighbour)", None),
              ("side grasp closed, gravity on", (T_closed, q_closed, SIDE)),
              (f"after the {world.lift.height_m * 100:.0f} cm lift: {'held' if ok else 'dropped'}",
               (T_lifted, q_lifted, lift @ SIDE))]
    for k, (title, state) in enumerate(panels):
        ax = fig.add_subplot(1, 3, k + 1, projection="3d")
        draw_table(ax)
        if state is None:
            for body, color in zip(scene.bodies, ("tab:blue", "tab:grey")):
                draw_mesh(ax, body.vertices, body.faces, body.T_table_obj, color)
            low = (scene.target.vertices @ scene.target.T_table_obj[:3, :3].T)[:, 2].min() \
                + scene.target.T_table_obj[2, 3]
            title += f"\nlowest point {low * 1000:+.1f} mm"
        else:
            T_obj, q, T_hand = state
            draw_mesh(ax, cylinder.vertices, cylinder.faces, T_obj, "tab:blue")
            draw_hand(ax, T_hand, q, "tab:orange")
        ax.set_title(title, fontsize=10)
        ax.set_xlim(-0.15, 0.15)
        ax.set_ylim(-0.15, 0.15)
        ax.set_zlim(0.0, 0.3)
        ax.set_box_aspect((1, 1, 1))
        ax.view_init(elev=18, azim=-60)
        ax.set_xlabel("x (m)")
        ax.set_ylabel("y (m)")
    fig.tight_layout()
    save_figure(fig, args.png)
    print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
