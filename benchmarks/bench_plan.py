#!/usr/bin/env python3
"""Time to optimize one grasp on one core: the planner's way against the naive way, same run.

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_plan.py [--starts 40] [--naive-starts 4]

Networks: the paper's mix-in CNN at 128x128 (full layer sizes, so full compute), exported by
learning/export.py and run by onnxruntime with one thread, twice: ``peaked`` (random encoder, a
hand-set head with one known optimum 3 cm above the object, test/peaked_model.py: runs
converge as on a trained net) and ``random`` (all random, FC1's pose columns x300 as in
shared/notes/cnn-planner-perf.md: the score is unbounded, runs end when the line search stalls).

* planner: ``optimize()`` as shipped (encoder once per image, split head, the 13-pose central
  difference stencil in one head call per evaluation, scaled coordinates), barrier off, and
  again with the barrier on (planning/distance_field.SceneBarrier of the depth image's points, built
  in each timed optimization). Issue 18's goal: planner + barrier p50 <= 2x the planner alone.
* naive: the full network (encoder + head) for every function value, gradients by scipy's own
  2-point finite differences (one full forward per coordinate), same coordinates, step and
  iteration limit.

A third variant scores the peaked network as a card with ``quarter_turns: 4`` does (the shipped
model's: encoder on 4 turned images, head on 4x the poses, logits averaged).

Prints p50/p95 per optimization, iterations, evaluations, and the naive/planner ratio; writes a
JSON with the seed and commit next to a PNG (``--out``, default out/bench_plan). Goal: p50 <= 20 ms and >= 20x naive.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")


def build_models(out_dir: Path, seed: int, peak_depth_m: float) -> dict[str, Path]:
    """Two networks of the paper's shape: ``peaked`` (one known optimum, runs converge like on a
    trained net) and ``random`` (FC1's pose columns x300; its score is unbounded, runs end by stalling)."""
    import torch

    from grasp_planner.learning.export import export_model
    from grasp_planner.learning.model import GraspCNN
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "test"))  # the tests' scaffolding
    from peaked_model import export_peaked_model

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    model = GraspCNN("paper")
    with torch.no_grad():
        model.head.fc1.weight[:, model.feature_size:] *= 300.0
    from grasp_planner.contract.model_card import ModelCard
    peaked = export_peaked_model(out_dir / "peaked_cnn.onnx", peak_depth_m, seed)
    turned = ModelCard.load(peaked)
    turned.quarter_turns = 4  # same ONNX files, scored as the shipped card says: mean over 4 turns
    return {"peaked": peaked, "random": export_model(model, out_dir / "random_cnn.onnx", seed=seed).path,
            "peaked, 4 quarter turns": turned.save(out_dir / "peaked_cnn_turns.json")}


def naive_optimize(session, card, depth, camera, T0, config):
    """Full network per function value, scipy 2-point differences: the way the planner avoids."""
    from scipy.optimize import minimize

    from grasp_planner.contract.features import normalize_depth, pose_features
    from grasp_planner.planning.optimize import PoseCoordinates

    opt = config.optimizer
    coords = PoseCoordinates(T0.matrix(), opt.position_scale_m, opt.rotation_scale_rad)
    image = normalize_depth(depth, card)[None, None]

    def fun(x):
        pose = pose_features(coords.poses(x), camera, card)
        return -float(session.run(None, {"depth": image, "pose": pose})[0][0, 1])

    start = time.perf_counter()
    res = minimize(fun, np.zeros(6), method="BFGS",
                   options={"maxiter": opt.max_iter, "gtol": opt.gtol, "eps": opt.fd_step})
    return time.perf_counter() - start, res.nit, res.nfev, -res.fun


def starts(depth, n, rng):
    from grasp_planner.pose import Pose
    top = float(depth[depth > 0].min())
    return [Pose.from_xyzrpy([*rng.normal(0, 0.02, 2), top - rng.uniform(0.04, 0.1),
                              *rng.normal(0, 0.3, 2), rng.uniform(-np.pi, np.pi)]) for _ in range(n)]


def percentiles(values):
    return {"p50_ms": float(np.percentile(values, 50) * 1e3), "p95_ms": float(np.percentile(values, 95) * 1e3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=40, help="optimizations timed per planner variant")
    parser.add_argument("--naive-starts", type=int, default=4, help="naive optimizations (each takes seconds)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("out/bench_plan"), help="JSON, PNG and the model")
    args = parser.parse_args()

    from grasp_planner.contract.onnx_models import open_session
    from grasp_planner.planning import PlannerConfig, optimize
    from grasp_planner.planning.optimize import prepare_image, optimize_prepared
    from grasp_planner.planning.scene_io import generated_scene
    from grasp_planner.planning.scorer import GraspScorer

    args.out.mkdir(parents=True, exist_ok=True)
    scene = generated_scene(0)
    depth, camera = scene.depth, scene.camera
    top = float(depth[depth > 0].min())
    cards = build_models(args.out, args.seed, peak_depth_m=top - 0.03)
    rng = np.random.default_rng(args.seed)
    poses = starts(depth, args.starts, rng)
    config = PlannerConfig().replace(optimizer={"time_budget_s": None})
    no_barrier = config.replace(barrier={"enabled": False})
    variants = [("planner", no_barrier), ("planner+barrier", config)]

    rows, ratios, split_used = {}, {}, {}
    for net, card_path in cards.items():
        scorer = GraspScorer(card_path)
        split_used[net] = scorer.uses_split_head
        optimize(depth, camera, poses[0], scorer, config=no_barrier)   # warm-up (ORT allocations)
        for name, cfg in variants:
            times, nit, nev, gain = [], [], [], []
            for T0 in poses:
                t = time.perf_counter()
                r = optimize(depth, camera, T0, scorer, config=cfg)   # encoder + barrier build included
                times.append(time.perf_counter() - t)
                nit.append(r.n_iter)
                nev.append(r.n_eval)
                gain.append(r.logit - r.initial_logit)
            rows[f"{net}: {name}"] = {**percentiles(times), "median_iter": float(np.median(nit)),
                                      "median_eval": float(np.median(nev)),
                                      "median_logit_gain": float(np.median(gain)), "n": len(times)}
        prepared = prepare_image(depth, camera, scorer, None, no_barrier)
        extra = []
        for T0 in poses:   # the optimizer alone, features computed once (what each further start costs)
            t = time.perf_counter()
            optimize_prepared(prepared, T0, scorer, no_barrier)
            extra.append(time.perf_counter() - t)
        rows[f"{net}: planner, per extra start"] = {**percentiles(extra), "n": len(extra)}
        card = scorer.card
        baseline = net.split(",")[0]  # the turned variant is held against its plain network's naive way
        if f"{baseline}: naive" not in rows:
            session = open_session(card.file_path("full"), "full", card, threads=1)
            naive = [naive_optimize(session, card, depth, camera, T0, config) for T0 in poses[:args.naive_starts]]
            rows[f"{net}: naive"] = {**percentiles([n[0] for n in naive]),
                                     "median_iter": float(np.median([n[1] for n in naive])),
                                     "median_eval": float(np.median([n[2] for n in naive])), "n": len(naive)}
        ratios[net] = rows[f"{baseline}: naive"]["p50_ms"] / rows[f"{net}: planner"]["p50_ms"]

    print(f"one grasp optimization, 1 core, paper CNN 128x128 (seed {args.seed}), split head: {split_used}")
    print(f"{'variant':34s} {'p50 ms':>9s} {'p95 ms':>9s} {'iter':>6s} {'evals':>6s} {'n':>4s}")
    for name, row in rows.items():
        print(f"{name:34s} {row['p50_ms']:9.1f} {row['p95_ms']:9.1f} {row.get('median_iter', float('nan')):6.0f} "
              f"{row.get('median_eval', float('nan')):6.0f} {row['n']:4d}")
    for net, ratio in ratios.items():
        print(f"{net}: naive / planner (p50) = {ratio:.0f}x, planner+barrier / planner (p50) = "
              f"{rows[f'{net}: planner+barrier']['p50_ms'] / rows[f'{net}: planner']['p50_ms']:.2f}x")
    print("goal: planner p50 <= 20 ms and >= 20x naive")

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        commit = "unknown"
    result = {"seed": args.seed, "commit": commit, "rows": rows, "naive_over_planner_p50": ratios,
              "split_head": split_used, "omp_threads": os.environ.get("OMP_NUM_THREADS")}
    (args.out / "bench_plan.json").write_text(json.dumps(result, indent=1))
    plot(rows, ratios, args.out / "bench_plan.png")
    print(f"wrote {args.out / 'bench_plan.json'} and bench_plan.png")
    return 0


def plot(rows, ratios, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from grasp_planner.plotting import save_figure
    names = list(rows)
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.barh(names, [rows[n]["p50_ms"] for n in names], color="tab:blue", label="p50")
    ax.scatter([rows[n]["p95_ms"] for n in names], names, color="black", marker="|", s=200, label="p95")
    ax.set_xscale("log")
    ax.set_xlabel("ms per grasp optimization (1 core, log)")
    ax.set_title("naive / planner (p50): " + ", ".join(f"{k} {v:.0f}x" for k, v in ratios.items()))
    ax.axvline(20, color="red", lw=0.8, ls="--", label="goal 20 ms")
    ax.legend(fontsize=7)
    save_figure(fig, path)


if __name__ == "__main__":
    raise SystemExit(main())
