"""``grasp-planner evaluate``: the paper's evaluation, perturbed robust grasps on unseen objects -> JSON + PNG."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from grasp_planner.planning.cli_plan import DEFAULT_MODEL
from grasp_planner.planning.config import PlannerConfig


def add_arguments(parser) -> None:
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model card JSON (default: %(default)s)")
    parser.add_argument("--config", type=Path, default=None, help="planner YAML (default: config/planner.yaml)")
    parser.add_argument("--problems", type=int, default=100, help="number of problems (the paper: 100)")
    parser.add_argument("--dataset", type=Path, default=None,
                        help="database folder; problems come from its shards listed by --unseen "
                             "(default: procedural objects of --object-seed)")
    parser.add_argument("--unseen", type=str, default=None,
                        help="comma-separated shard positions of the unseen objects (with --dataset)")
    parser.add_argument("--object-seed", type=int, default=None,
                        help="procedural object seed outside the training range (default: 9001, the evaluation seed)")
    parser.add_argument("--uniform-samples", type=int, default=None,
                        help="uniform random poses to label as the baseline (default: as many as problems)")
    parser.add_argument("--seed", type=int, default=0, help="seeds perturbations and simulations")
    parser.add_argument("--out", type=Path, default=Path("eval_out"), help="folder for evaluation.json and .png")


def run(args) -> int:
    from grasp_planner.perception.scenes import EVALUATION_OBJECT_SEED
    from grasp_planner.planning import evaluate as ev
    from grasp_planner.planning.planner import GraspPlanner

    try:
        planner = GraspPlanner.from_config(args.model, PlannerConfig.load(args.config))
    except ValueError as err:
        print(f"error: {err}")
        return 2
    if args.problems < 1:
        print("error: --problems must be >= 1")
        return 2
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    if args.dataset is not None:
        unseen = [int(i) for i in args.unseen.split(",")] if args.unseen else None
        problems = ev.dataset_problems(args.dataset, args.problems, rng, unseen)
        source = {"dataset": str(args.dataset), "unseen": unseen}
    else:
        seed = EVALUATION_OBJECT_SEED if args.object_seed is None else args.object_seed
        print(f"finding robust grasps on procedural objects (seed {seed}) ...")
        problems = ev.procedural_problems(args.problems, seed, rng)
        source = {"procedural_seed": seed}
    if not problems:
        print("error: no qualified problem could be made")
        return 1
    simulators: dict = {}
    outcomes = []
    for k, problem in enumerate(problems):
        outcome = ev.solve_and_label(planner, problem, rng, simulators)
        outcomes.append(outcome)
        print(f"[{k + 1:3d}/{len(problems)}] {outcome.object_name:16s} {outcome.label:7s} "
              f"1-shake {'yes' if outcome.robust_1_shake else 'no ':3s} score {outcome.start_logit:6.2f} -> "
              f"{outcome.final_logit:6.2f}  moved {outcome.moved_m * 100:4.1f} cm  {outcome.n_iter:2d} it  "
              f"{outcome.plan_s * 1000:5.0f} ms")
    summary = ev.summarize(outcomes)
    n_uniform = len(problems) if args.uniform_samples is None else args.uniform_samples
    summary["uniform_baseline"] = ev.uniform_baseline(problems, n_uniform, rng, simulators)
    print(f"\nrobust after 1 shake: {summary['robust_1_shake']:.0%} (paper 93%)   "
          f"after 10 shakes: {summary['robust_10_shakes']:.0%} (paper 81%)   "
          f"uniform sampling: {summary['uniform_baseline']['robust_10_shakes']:.0%} (paper 2%)")
    print(f"{'object':16s} {'problems':>8s} {'1 shake':>8s} {'10 shakes':>9s}")
    for name, row in summary["per_object"].items():
        print(f"{name:16s} {row['problems']:8d} {row['robust_1_shake']:8d} {row['robust_10_shakes']:9d}")
    args.out.mkdir(parents=True, exist_ok=True)
    png = ev.plot_sequences(args.out / "evaluation_sequences.png", problems, outcomes)
    report = {"model": str(args.model), "seed": args.seed, "source": source, "summary": summary,
              "wall_s": time.perf_counter() - started, "png": str(png),
              "outcomes": [{k: v for k, v in o.__dict__.items() if k not in ("T_cam_final", "trajectory")}
                           for o in outcomes]}
    (args.out / "evaluation.json").write_text(json.dumps(report, indent=1, default=float))
    print(f"wrote {args.out / 'evaluation.json'} and {png}")
    return 0
