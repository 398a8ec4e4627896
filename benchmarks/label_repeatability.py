"""How repeatable are the database's robust/failed labels? A bound on what any classifier can reach.

Every robust grasp of a database (and as many failed ones, drawn at random) is simulated again:

* ``same pose``: the stored pose, a new simulator seed and new shake offsets;
* ``perturbed``: the pose moved by N(0, sigma_t) per axis and turned by N(0, sigma_r) about a random axis
  (default 2 mm / 2 deg: about two pixels of the 128x128 view, the network's resolution).

It prints, per stored label, the share that gets the same label again (loose counts as "not robust"),
and their mean. A low share means the label is partly the simulator's seed and the random shakes,
not the pose, which no network that sees only the image and the pose can learn. (It is not a hard
ceiling on the balanced test accuracy: balancing weights the rare robust class about 50x, so an ideal
classifier calls "robust" every pose with a few per cent chance of holding.)

    OMP_NUM_THREADS=1 python benchmarks/label_repeatability.py --data datasets/std --objects 300 \
        --png docs/label_repeatability.png
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from tqdm import tqdm

from grasp_planner.data.shards import finished_shards, read_shard
from grasp_planner.planning.optimize import rotvec_to_matrix
from grasp_planner.plotting import save_figure
from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.labels import GraspLabel
from grasp_planner.sim.simulate import GraspSimulator

CONDITIONS = ("same pose", "perturbed")


def perturb(T: np.ndarray, rng: np.random.Generator, sigma_t: float, sigma_r: float) -> np.ndarray:
    """``T`` moved by Gaussian noise: translation per axis (m), rotation angle (rad) about a random axis."""
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    angle = rng.normal(0.0, sigma_r)
    out = T.copy()
    out[:3, :3] = rotvec_to_matrix((angle * axis)[None])[0] @ T[:3, :3]
    out[:3, 3] = T[:3, 3] + rng.normal(0.0, sigma_t, 3)
    return out


def relabel_database(data: Path, objects: int, seed: int, sigma_t: float, sigma_r: float) -> list[dict]:
    """One record per re-simulated grasp: object, stored label, new label per condition."""
    rng = np.random.default_rng(seed)
    paths = finished_shards(data)
    records = []
    for path in tqdm(paths[:objects], desc="re-simulating"):
        shard = read_shard(path)
        robust = np.flatnonzero(shard.label == GraspLabel.ROBUST)
        failed = np.flatnonzero(shard.label == GraspLabel.FAILED)
        if len(robust) == 0 or len(failed) == 0:
            continue
        chosen = np.concatenate([robust, rng.choice(failed, min(len(robust), len(failed)), replace=False)])
        simulator = GraspSimulator(shard.vertices, shard.faces, SimConfig.from_dict(shard.config["sim"]))
        for g in chosen:
            T = shard.T_obj_hand[g]
            new = {CONDITIONS[0]: simulator.label(T, rng).label,
                   CONDITIONS[1]: simulator.label(perturb(T, rng, sigma_t, sigma_r), rng).label}
            records.append({"object": shard.object_name, "stored": int(shard.label[g]),
                            **{c: int(v) for c, v in new.items()}})
    return records


def agreement(records: list[dict]) -> dict:
    """Per condition: P(robust again | robust), P(failed again | failed), their mean, and counts."""
    out = {}
    for c in CONDITIONS:
        stored = np.array([r["stored"] for r in records])
        new = np.array([r[c] for r in records])
        robust = stored == GraspLabel.ROBUST
        failed = stored == GraspLabel.FAILED
        keep_r = float(np.mean(new[robust] == GraspLabel.ROBUST)) if robust.any() else float("nan")
        keep_f = float(np.mean(new[failed] == GraspLabel.FAILED)) if failed.any() else float("nan")
        out[c] = {"robust_again": keep_r, "failed_again": keep_f, "mean_agreement": (keep_r + keep_f) / 2,
                  "robust_became_loose": float(np.mean(new[robust] == GraspLabel.LOOSE)) if robust.any() else None,
                  "robust": int(robust.sum()), "failed": int(failed.sum())}
    return out


def plot(summary: dict, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 3.5))
    x = np.arange(len(CONDITIONS))
    for k, (key, name) in enumerate((("robust_again", "robust stays robust"), ("failed_again", "failed stays failed"),
                                     ("mean_agreement", "mean of the two"))):
        values = [100 * summary[c][key] for c in CONDITIONS]
        bars = ax.bar(x + (k - 1) * 0.27, values, 0.25, label=name)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks(x, CONDITIONS)
    ax.set_ylabel("% of re-simulated grasps")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title("Same label on a second simulation")
    save_figure(fig, png)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--objects", type=int, default=100, help="first N shards of the database")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sigma-t-mm", type=float, default=2.0)
    parser.add_argument("--sigma-r-deg", type=float, default=2.0)
    parser.add_argument("--out", type=Path, default=Path("out/label_repeatability.json"))
    parser.add_argument("--png", type=Path)
    args = parser.parse_args()
    records = relabel_database(args.data, args.objects, args.seed, args.sigma_t_mm / 1000,
                               np.radians(args.sigma_r_deg))
    summary = agreement(records)
    for c, s in summary.items():
        print(f"{c:>10s}: robust stays robust {s['robust_again']:.1%} (of {s['robust']}), failed stays failed "
              f"{s['failed_again']:.1%} (of {s['failed']}), mean {s['mean_agreement']:.1%}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()}, "summary": summary,
                                    "records": records}, indent=1))
    if args.png:
        plot(summary, args.png)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
