"""Can the table-world simulator hold simple objects? The issue's top-down heuristic on primitives resting alone.

Issue 17 reports that a hand-written top-down grasp (palm 1-3.5 cm above the top, centred within 1 cm,
random yaw) held "about half the time" on objects resting on a table in a quick real-world-like check.
This script puts that rule (grasp_planner.planning.heuristic.top_down_grasp, with the known object
points, so perception plays no part) on four primitives of graspable size standing alone on the table
and counts, per object, the trials that lift, hold after one shake and hold after all ten. It measures
the simulator, not the planner: a low figure here caps every table-world evaluation.

    python benchmarks/table_grip_check.py --trials 30 --png docs/table_grip_check.png
    python benchmarks/table_grip_check.py --sim my_sim.yaml --world my_table_world.yaml   # a variant

Prints one row per object and the pooled rates with Wilson 95% intervals; the PNG shows the three
rates per object as bars.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

#: (name, trimesh.creation constructor, its arguments); each stands on its base at the table centre
OBJECTS = (
    ("box 6x4x8 cm (issue 17)", "box", {"extents": (0.06, 0.04, 0.08)}),
    ("cube 5 cm", "box", {"extents": (0.05, 0.05, 0.05)}),
    ("tall box 6x4x12 cm", "box", {"extents": (0.06, 0.04, 0.12)}),
    ("cylinder d6 x 10 cm", "cylinder", {"radius": 0.03, "height": 0.10, "sections": 32}),
)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion k/n."""
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def standing_scene(kind: str, kwargs: dict, sim_config, world_config):
    """The primitive standing upright at the table centre, settled by simulation."""
    import trimesh

    from grasp_planner.sim.table_world import Body, TableScene, settle
    mesh = getattr(trimesh.creation, kind)(**kwargs)
    vertices, faces = np.asarray(mesh.vertices, float), np.asarray(mesh.faces, np.int64)
    T = np.eye(4)
    T[2, 3] = -vertices[:, 2].min() + world_config.placement.drop_gap_m
    return TableScene(settle([Body(vertices, faces, T)], sim_config, world_config)[0])


def run_object(name: str, kind: str, kwargs: dict, trials: int, seed: int, sim_config, world_config) -> dict:
    """``trials`` heuristic grasps of one primitive; counts of lifted / held after 1 / held after 10 shakes."""
    from grasp_planner.planning.heuristic import top_down_grasp
    from grasp_planner.sim.table_world import TableGraspSimulator

    scene = standing_scene(kind, kwargs, sim_config, world_config)
    simulator = TableGraspSimulator(scene, sim_config, world_config)
    T = scene.target.T_table_obj
    points = scene.target.vertices @ T[:3, :3].T + T[:3, 3]
    rng = np.random.default_rng(seed)
    outcomes = [simulator.trial(top_down_grasp(points, np.array([0.0, 0.0, 1.0]), rng, table_height=0.0), rng)
                for _ in range(trials)]
    return {"name": name, "n": trials,
            "lifted": sum(o.lifted for o in outcomes),
            "held_1": sum(o.robust_after_1_shake for o in outcomes),
            "held_10": sum(o.label.name == "ROBUST" for o in outcomes),
            "table_touched": sum(o.table_touched for o in outcomes)}


def plot(rows: list[dict], path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = (("lifted", "lifted 10 cm"), ("held_1", "held after 1 shake"), ("held_10", "held after 10 shakes"))
    fig, ax = plt.subplots(figsize=(8, 3.6))
    x = np.arange(len(rows))
    for i, (key, label) in enumerate(keys):
        rates = [r[key] / r["n"] for r in rows]
        ax.bar(x + (i - 1) * 0.27, rates, 0.27, label=label)
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1, label="issue 17's quick check: ~half held")
    ax.set_xticks(x, [r["name"] for r in rows], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"share of {rows[0]['n']} heuristic grasps")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=30, help="heuristic grasps per object (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sim", type=Path, default=None, help="sim YAML (default: config/sim.yaml)")
    parser.add_argument("--world", type=Path, default=None, help="table world YAML (default: config/table_world.yaml)")
    parser.add_argument("--png", type=Path, default=None, help="write the bar chart here")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from grasp_planner.config_schema import ConfigError
    from grasp_planner.sim.config import SimConfig
    from grasp_planner.sim.world_config import TableWorldConfig
    try:
        sim_config, world_config = SimConfig.load(args.sim), TableWorldConfig.load(args.world)
    except (ConfigError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    rows = [run_object(name, kind, kwargs, args.trials, args.seed + i, sim_config, world_config)
            for i, (name, kind, kwargs) in enumerate(tqdm(OBJECTS, desc="objects", unit="obj"))]
    print("| object | lifted | held after 1 shake | held after 10 shakes | a finger met the table |")
    print("|---|---:|---:|---:|---:|")
    pooled = {k: sum(r[k] for r in rows) for k in ("n", "lifted", "held_1", "held_10", "table_touched")}
    for r in rows + [{"name": "**all**", **pooled}]:
        lo, hi = wilson(r["held_10"], r["n"])
        print(f"| {r['name']} | {r['lifted']}/{r['n']} | {r['held_1']}/{r['n']} | {r['held_10']}/{r['n']} "
              f"({lo:.0%}-{hi:.0%}) | {r['table_touched']}/{r['n']} |")
    print(f"{time.perf_counter() - started:.0f} s; sim {args.sim or 'config/sim.yaml'}, "
          f"world {args.world or 'config/table_world.yaml'}, seed {args.seed}")
    if args.png:
        plot(rows, args.png, f"top-down heuristic on primitives alone on the table ({args.sim or 'config/sim.yaml'})")
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
