#!/usr/bin/env python3
"""Why table-world scene grasps fail: each planned grasp of one noise level re-simulated once, by failure mode.

    OMP_NUM_THREADS=1 python benchmarks/scene_failures.py out/rc_shipped/outcomes.json [--noise none] [--seed 0]

Rebuilds every scene of ``eval_real_camera.py``'s outcomes (same seed), puts the stored best grasp back in
the table frame and runs one ``TableGraspSimulator.trial``: open hand blocked (not simulated), no finger on
the object, closed but not lifted (and whether the table was touched), loose, robust; per plan status. Also
the palm's height above the target's top and of the open fingertips above the table (percentiles).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")


def main() -> None:
    import numpy as np

    from grasp_planner.perception.evaluate import _table_simulator, scene_for
    from grasp_planner.planning.heuristic import open_hand_reach

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outcomes")
    parser.add_argument("--noise", default="none", help="noise level whose cases are re-simulated")
    parser.add_argument("--seed", type=int, default=0, help="the evaluation's seed (scenes)")
    args = parser.parse_args()
    reach = open_hand_reach()
    simulators: dict = {}
    modes: collections.Counter = collections.Counter()
    tips, above_top = [], []
    for o in json.loads(Path(args.outcomes).read_text()):
        if o["case"] != "scene" or o["T_obj_hand"] is None or o["noise"] != args.noise:
            continue
        scene = scene_for(o["index"], args.seed, o["tilt_deg"], None)   # the layout; noise does not move bodies
        T = scene.T_world_objects[0].matrix() @ np.array(o["T_obj_hand"])
        top = scene.T_world_objects[0].transform_points(scene.objects[0].vertices)[:, 2].max()
        simulator = _table_simulator(scene, simulators)
        if simulator.open_hand_blocked(T):
            mode = "open hand in the table or a body"
        else:
            t = simulator.trial(T, np.random.default_rng([o["index"], 5]))
            mode = ("no finger on the object" if t.fingers_touching == 0 else
                    ("closed, not lifted" + (" (table touched)" if t.table_touched else "")) if not t.lifted
                    else t.label.name)
        modes[(o["plan_status"], mode)] += 1
        tips.append(T[2, 3] + reach * T[2, 2])      # lowest open fingertip, approach axis T[:3, 2]
        above_top.append(T[2, 3] - top)
    for (status, mode), n in sorted(modes.items()):
        print(f"{status:17s} {mode:40s} {n}")
    for name, values in (("palm above the target's top", above_top), ("open fingertips above the table", tips)):
        p10, p50, p90 = np.percentile(values, [10, 50, 90]) * 100
        print(f"{name}: median {p50:.1f} cm (10th-90th percentile {p10:.1f}-{p90:.1f})")


if __name__ == "__main__":
    main()
