"""Models side by side on the table protocol, each planner answer labelled by several trials (less noise).

``grasp-planner evaluate --world table`` labels each answer with one trial; a robust table-world
grasp holds again in only ~half of its trials (docs/learning.md), so two models 1 point apart on
100 problems differ on ~35 discordant problems by chance alone. Here every model plans once per
problem on the same camera image, and its answer is labelled by ``--trials`` independent trials
(trial k of problem i draws from the same seeded stream for every model: paired). The success of a
problem is the share of its trials robust after 10 shakes; the figure is the mean over problems, with
a 95% interval from resampling the problems, and each model's difference from the first one with a
paired interval. The reliability of OK is read the same way: mean success of OK plans against
LOW_SCORE plans.

    python benchmarks/protocol_models.py --models models/grasp_cnn.json runs/x/grasp_cnn.json --trials 3 \
        [--problems 100] [--out runs/compare.json]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def solve_and_label(planner, world, trials: int, problem_seed) -> dict:
    """Plan once from the problem's start; label the best grasp ``trials`` times (paired streams)."""
    from grasp_planner.pose import Pose
    from grasp_planner.sim.labels import GraspLabel

    start = Pose.from_matrix(world.T_camera_table @ world.problem.T_table_start)
    t0 = time.perf_counter()
    result = planner.plan(world.depth, world.camera, start)
    plan_s = time.perf_counter() - t0
    if not result.grasps:
        return {"status": result.reason.name, "probability": None, "held": [False] * trials, "plan_s": plan_s}
    best = result.grasps[0]
    T = np.linalg.inv(world.T_camera_table) @ best.pose.matrix()
    held = [world.simulator.trial(T, np.random.default_rng([*problem_seed, k])).label == GraspLabel.ROBUST
            for k in range(trials)]
    return {"status": result.reason.name, "probability": float(best.probability), "held": [bool(h) for h in held],
            "plan_s": plan_s}


def bootstrap_mean(values: np.ndarray, rng: np.random.Generator, n: int = 2000) -> tuple[float, float]:
    """95% interval of the mean over problems (problems resampled)."""
    idx = rng.integers(len(values), size=(n, len(values)))
    means = values[idx].mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def summarise(rows: list[dict], reference: list[dict] | None, rng) -> dict:
    success = np.array([np.mean(r["held"]) for r in rows])
    out = {"success": float(success.mean()), "success_ci95": bootstrap_mean(success, rng),
           "any_trial": float(np.mean([any(r["held"]) for r in rows]))}
    for status in ("OK", "LOW_SCORE"):
        sel = [np.mean(r["held"]) for r in rows if r["status"] == status]
        out[status] = {"plans": len(sel), "success": float(np.mean(sel)) if sel else None}
    if reference is not None:
        diff = success - np.array([np.mean(r["held"]) for r in reference])
        out["difference_from_first"] = float(diff.mean())
        out["difference_ci95"] = bootstrap_mean(diff, rng)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", type=Path, default=[ROOT / "models" / "grasp_cnn.json"])
    parser.add_argument("--problem-set", type=Path, default=None, help="default: the protocol's kept set")
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--trials", type=int, default=3, help="trials per planner answer")
    parser.add_argument("--config", type=Path, default=None, help="planner YAML (default config/planner.yaml)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="JSON of every answer and the summary")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from grasp_planner.planning.cli_evaluate import DEFAULT_PROBLEM_SET
    from grasp_planner.planning.planner import GraspPlanner
    from grasp_planner.planning.table_protocol import ProblemWorld, load_problems

    try:
        problems = load_problems(args.problem_set or DEFAULT_PROBLEM_SET)[:args.problems]
        planners = [GraspPlanner.from_config(m, args.config) for m in args.models]
    except (ValueError, OSError) as exc:
        print(f"protocol_models: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    rows: list[list[dict]] = [[] for _ in planners]
    simulators: dict = {}
    for i, problem in enumerate(tqdm(problems, desc="problems", unit="problem", disable=not sys.stderr.isatty())):
        world = ProblemWorld(problem, simulators)
        for m, planner in enumerate(planners):
            rows[m].append({"problem": problem.name, **solve_and_label(planner, world, args.trials, (args.seed, i))})
    rng = np.random.default_rng(args.seed)
    summary = {str(m): summarise(r, rows[0] if k else None, rng) for k, (m, r) in enumerate(zip(args.models, rows))}
    print(f"{len(problems)} problems, {args.trials} trials per answer (robust after 10 shakes, mean over problems)")
    for name, s in summary.items():
        lo, hi = s["success_ci95"]
        line = (f"  {name}: {100 * s['success']:.1f}% ({100 * lo:.1f}-{100 * hi:.1f}), any trial "
                f"{100 * s['any_trial']:.0f}%; OK {s['OK']['plans']} plans at "
                f"{100 * (s['OK']['success'] or 0):.1f}%, LOW_SCORE {s['LOW_SCORE']['plans']} at "
                f"{100 * (s['LOW_SCORE']['success'] or 0):.1f}%")
        if "difference_from_first" in s:
            dlo, dhi = s["difference_ci95"]
            line += f"; vs first {100 * s['difference_from_first']:+.1f} ({100 * dlo:+.1f} to {100 * dhi:+.1f})"
        print(line)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"trials": args.trials, "seed": args.seed, "summary": summary,
                                        "answers": {str(m): r for m, r in zip(args.models, rows)}}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
