"""Labeled qualified grasps per core-second: the shipped settings (early exits on) vs a baseline.

The baseline is the same simulator with ``early_exit.enabled = False`` (full 1.3 s closing, all 10
shakes), run in the same process on the same poses, so the ratio is independent of machine load.
Core-seconds are process CPU time (``time.process_time``), one thread (set OMP_NUM_THREADS=1).

    OMP_NUM_THREADS=1 python benchmarks/bench_label.py --poses 12 --png bench_label.png
"""
from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import time
from collections import Counter

import numpy as np
import trimesh

from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.labels import GraspLabel
from grasp_planner.sim.qualify import sample_qualified_poses
from grasp_planner.sim.simulate import GraspSimulator
from grasp_planner.plotting import save_figure


def shapes() -> dict[str, trimesh.Trimesh]:
    """Procedural-like objects at the paper's scale (graspable, small, elongated)."""
    return {
        "box_5cm": trimesh.creation.box([0.05, 0.05, 0.05]),
        "box_8x4x3cm": trimesh.creation.box([0.08, 0.04, 0.03]),
        "cylinder_r2.5_h10cm": trimesh.creation.cylinder(radius=0.025, height=0.10, sections=24),
        "sphere_r3cm": trimesh.creation.icosphere(subdivisions=2, radius=0.03),
    }


def label_all(simulators, poses, seed: int, early_exit: bool):
    """Label every pose; returns (labels per shape, CPU seconds)."""
    labels = {}
    start = time.process_time()
    for name, sim in simulators.items():
        rng = np.random.default_rng(seed)
        labels[name] = [sim.label(T, rng, early_exit=early_exit) for T in poses[name]]
    return labels, time.process_time() - start


def counts(outcomes) -> str:
    c = Counter(o.label for o in outcomes)
    return "/".join(str(c.get(label, 0)) for label in (GraspLabel.ROBUST, GraspLabel.LOOSE, GraspLabel.FAILED))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--poses", type=int, default=12, help="qualified poses per shape")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--config", default=None, help="sim config YAML (default config/sim.yaml)")
    parser.add_argument("--png", default=None, help="write a bar chart of labels and throughput here")
    args = parser.parse_args(argv)
    config = SimConfig.load(args.config)
    meshes = shapes()

    start = time.process_time()
    poses = {name: sample_qualified_poses(m.vertices, m.faces, np.random.default_rng(args.seed), args.poses, config)
             for name, m in meshes.items()}
    sample_s = time.process_time() - start
    n = sum(len(p) for p in poses.values())
    simulators = {name: GraspSimulator(m.vertices, m.faces, config) for name, m in meshes.items()}
    print(f"qualified sampling: {n} poses in {sample_s:.2f} core-s ({1e3 * sample_s / max(n, 1):.2f} ms/pose)")

    profiler = cProfile.Profile()
    profiler.enable()
    fast, fast_s = label_all(simulators, poses, args.seed, early_exit=True)
    profiler.disable()
    base, base_s = label_all(simulators, poses, args.seed, early_exit=False)

    print(f"{'shape':<22}{'R/L/F fast':>12}{'R/L/F base':>12}{'agree':>8}")
    agree_total = 0
    for name in meshes:
        agree = sum(a.label == b.label for a, b in zip(fast[name], base[name]))
        agree_total += agree
        print(f"{name:<22}{counts(fast[name]):>12}{counts(base[name]):>12}{agree:>5}/{len(fast[name])}")
    all_fast = [o for v in fast.values() for o in v]
    print(f"all shapes R/L/F: early exits {counts(all_fast)}, baseline {counts([o for v in base.values() for o in v])};"
          f" label agreement {agree_total}/{n}")
    rate_fast = n / (fast_s + sample_s)
    rate_base = n / (base_s + sample_s)
    print(f"labeled qualified grasps per core-second (sampling included): early exits {rate_fast:.2f}, "
          f"baseline {rate_base:.2f}, ratio {rate_fast / rate_base:.2f}x")
    print(f"simulation only: early exits {n / fast_s:.2f}/s, baseline {n / base_s:.2f}/s; "
          f"mean simulated closing {np.mean([o.closing_time_s for o in all_fast]):.2f} s")

    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(10)
    print("profile of the early-exit run (tottime):")
    print("\n".join(line for line in text.getvalue().splitlines() if line.strip())[:3000])

    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 4))
        names = list(meshes)
        for k, label in enumerate((GraspLabel.ROBUST, GraspLabel.LOOSE, GraspLabel.FAILED)):
            ax0.bar(np.arange(len(names)) + 0.27 * (k - 1), [sum(o.label == label for o in fast[nm]) for nm in names],
                    width=0.27, label=label.name)
        ax0.set_xticks(range(len(names)), names, rotation=20, fontsize=8)
        ax0.set_ylabel("qualified grasps")
        ax0.legend()
        ax0.set_title("labels (early exits)")
        ax1.bar(["early exits", "baseline"], [rate_fast, rate_base])
        ax1.set_ylabel("labeled grasps per core-second")
        ax1.set_title(f"throughput, ratio {rate_fast / rate_base:.2f}x")
        save_figure(fig, args.png, dpi=100)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
