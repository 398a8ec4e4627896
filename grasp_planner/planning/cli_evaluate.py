"""``grasp-planner evaluate``: the paper's evaluation, perturbed robust grasps on unseen objects -> JSON + PNG.

``--world table`` (default): the table-top world's protocol (planning/table_protocol.py), its
problem set kept in ``datasets/problems/``; ``--world floating``: the paper's zero-gravity one.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from grasp_planner.planning.cli_plan import DEFAULT_MODEL
from grasp_planner.planning.config import PlannerConfig


DEFAULT_PROBLEM_SET = Path(__file__).resolve().parents[2] / "datasets" / "problems" / "table_servo_seed9001.npz"


def add_arguments(parser) -> None:
    parser.add_argument("--world", choices=("table", "floating"), default="table",
                        help="table: object on a table among neighbours, gravity, lift + 10 shakes (default); "
                             "floating: the paper's zero-gravity protocol")
    parser.add_argument("--problem-set", type=Path, default=None,
                        help="table world: the kept problem set (default: %s; made and saved if missing)"
                             % DEFAULT_PROBLEM_SET.relative_to(DEFAULT_PROBLEM_SET.parents[2]))
    parser.add_argument("--new-problems", action="store_true",
                        help="table world: find the problems again and overwrite --problem-set (default: "
                             "load it, and grow it from where its search stopped if it holds fewer than --problems)")
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
    parser.add_argument("--object-start", type=int, default=0,
                        help="first procedural index to visit (with --object-seed; default: %(default)s)")
    parser.add_argument("--max-objects", type=int, default=None,
                        help="most objects to visit for robust grasps (default: max(4 x problems, 20))")
    parser.add_argument("--labels-per-object", type=int, default=12,
                        help="qualified poses labelled per object to find robust grasps (default: %(default)s)")
    parser.add_argument("--max-per-object", type=int, default=None,
                        help="most problems per object (default: no limit)")
    parser.add_argument("--rank-samples", type=int, default=0,
                        help="sampling + CNN ranking baseline: uniform poses scored per problem, the best "
                             "labelled (default: 0, off)")
    parser.add_argument("--label-starts", action="store_true",
                        help="also label each start itself (the no-optimization control)")
    parser.add_argument("--single-start-too", action="store_true",
                        help="also optimize each problem from its start alone (multistart.n_starts = 1)")
    parser.add_argument("--min-fingers", type=int, default=1,
                        help="fingers that must touch the object after closing for a robust label; the "
                             "simulator calls a hand that never touches the object robust (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seeds perturbations and simulations")
    parser.add_argument("--out", type=Path, default=Path("eval_out"), help="folder for evaluation.json and .png")


def _planner(args, GraspPlanner, view: str | None = None):
    """The planner the arguments ask for, or None after a one-line error (bad model, config or count)."""
    try:
        config = PlannerConfig.load(args.config)
        planner = GraspPlanner.from_config(args.model, config.replace(planner={"view": view}) if view else config)
    except ValueError as err:
        print(f"error: {err}")
        return None
    if args.problems < 1:
        print("error: --problems must be >= 1")
        return None
    return planner


def run(args) -> int:
    if args.world == "table":
        return run_table(args)
    from grasp_planner.perception.scenes import EVALUATION_OBJECT_SEED
    from grasp_planner.planning import evaluate as ev
    from grasp_planner.planning import evaluation_plots as plots
    from grasp_planner.planning.planner import GraspPlanner

    planner = _planner(args, GraspPlanner, view="direct")   # the paper's problems are network views
    if planner is None:
        return 2
    ev.MIN_FINGERS_TOUCHING = args.min_fingers
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    if args.dataset is not None:
        unseen = [int(i) for i in args.unseen.split(",")] if args.unseen else None
        problems = ev.dataset_problems(args.dataset, args.problems, rng, unseen)
        source = {"dataset": str(args.dataset), "unseen": unseen}
    else:
        seed = EVALUATION_OBJECT_SEED if args.object_seed is None else args.object_seed
        if seed == 0 and args.object_start < 652:
            print("warning: seed 0 objects 0..651 trained the shipped model; they are not unseen")
        print(f"finding robust grasps on procedural objects (seed {seed}, from index {args.object_start}) ...")
        problems = ev.procedural_problems(args.problems, seed, rng, labels_per_object=args.labels_per_object,
                                          max_objects=args.max_objects, max_per_object=args.max_per_object,
                                          start=args.object_start)
        source = {"procedural_seed": seed, "object_start": args.object_start,
                  "labels_per_object": args.labels_per_object, "max_per_object": args.max_per_object}
    if not problems:
        print("error: no qualified problem could be made")
        return 1
    problems_s = time.perf_counter() - started
    print(f"{len(problems)} problems on {len({p.object_name for p in problems})} objects in {problems_s:.0f} s")
    simulators: dict = {}
    outcomes = []
    for k, problem in enumerate(problems):
        outcome = ev.solve_and_label(planner, problem, rng, simulators, label_start=args.label_starts)
        outcomes.append(outcome)
        print(f"[{k + 1:3d}/{len(problems)}] {outcome.object_name:16s} {outcome.label:7s} "
              f"1-shake {'yes' if outcome.robust_1_shake else 'no ':3s} score {outcome.start_logit:6.2f} -> "
              f"{outcome.final_logit:6.2f}  moved {outcome.moved_m * 100:4.1f} cm  {outcome.n_iter:2d} it  "
              f"{outcome.plan_s * 1000:5.0f} ms  fingers {outcome.fingers_touching}  start {outcome.start_label}")
    summary = ev.summarize(outcomes)
    summary["objects"] = len(summary["per_object"])
    single = []
    if args.single_start_too:
        planner_1 = GraspPlanner.from_config(
            args.model, PlannerConfig.load(args.config).replace(multistart={"n_starts": 1}, planner={"view": "direct"}))
        single = [ev.solve_and_label(planner_1, problem, rng, simulators) for problem in problems]
        summary["single_start"] = {key: value for key, value in ev.summarize(single).items()
                                   if key not in ("per_object", "start_labelled")}
        for name, row in summary["per_object"].items():
            row["single_start_robust_1_shake"] = sum(o.robust_1_shake for o in single if o.object_name == name)
            row["single_start_robust_10_shakes"] = sum(o.robust_10_shakes for o in single if o.object_name == name)
    if args.label_starts:
        for name, row in summary["per_object"].items():
            row["start_robust_10_shakes"] = sum(o.start_robust_10_shakes for o in outcomes if o.object_name == name)
    n_uniform = len(problems) if args.uniform_samples is None else args.uniform_samples
    t0 = time.perf_counter()
    summary["uniform_baseline"] = ev.uniform_baseline(problems, n_uniform, rng, simulators)
    summary["uniform_baseline"]["wall_s"] = time.perf_counter() - t0
    if args.rank_samples > 0:
        t0 = time.perf_counter()
        summary["sample_rank_baseline"] = ev.sample_rank_baseline(planner, problems, args.rank_samples, rng,
                                                                  simulators)
        summary["sample_rank_baseline"]["wall_s"] = time.perf_counter() - t0
    print(f"\nrobust after 1 shake: {summary['robust_1_shake']:.0%} (paper 93%)   "
          f"after 10 shakes: {summary['robust_10_shakes']:.0%} (paper 81%)   "
          f"uniform sampling: {summary['uniform_baseline']['robust_10_shakes']:.0%} (paper 2%)")
    if "sample_rank_baseline" in summary:
        print(f"sampling + CNN ranking: {summary['sample_rank_baseline']['robust_1_shake']:.0%} / "
              f"{summary['sample_rank_baseline']['robust_10_shakes']:.0%}")
    if "single_start" in summary:
        print(f"single start: {summary['single_start']['robust_1_shake']:.0%} / "
              f"{summary['single_start']['robust_10_shakes']:.0%}")
    if args.label_starts:
        print(f"starts as they are: {summary['start_labelled']['robust_1_shake']:.0%} / "
              f"{summary['start_labelled']['robust_10_shakes']:.0%}")
    print(f"{'object':16s} {'problems':>8s} {'1 shake':>8s} {'10 shakes':>9s}")
    for name, row in summary["per_object"].items():
        print(f"{name:16s} {row['problems']:8d} {row['robust_1_shake']:8d} {row['robust_10_shakes']:9d}")
    args.out.mkdir(parents=True, exist_ok=True)
    shown = ev.pick_examples(outcomes)
    png = plots.plot_sequences(args.out / "evaluation_sequences.png", [problems[i] for i in shown],
                               [outcomes[i] for i in shown])
    report = {"model": str(args.model), "seed": args.seed, "source": source, "summary": summary,
              "wall_s": time.perf_counter() - started, "problems_s": problems_s, "png": str(png),
              "outcomes": [{k: v for k, v in o.__dict__.items() if k not in ("T_cam_final", "trajectory")}
                           for o in outcomes]}
    (args.out / "evaluation.json").write_text(json.dumps(report, indent=1, default=float))
    print(f"wrote {args.out / 'evaluation.json'} and {png}")
    return 0


def run_table(args) -> int:
    """The table-world protocol: planner, top-down heuristic, uniform poses and the unoptimized start."""
    from grasp_planner.perception.scenes import EVALUATION_OBJECT_SEED
    from grasp_planner.planning import table_protocol as tp
    from grasp_planner.planning.evaluation_plots import plot_table_protocol
    from grasp_planner.planning.planner import GraspPlanner

    planner = _planner(args, GraspPlanner)                   # camera images, through perception
    if planner is None:
        return 2
    path = DEFAULT_PROBLEM_SET if args.problem_set is None else args.problem_set
    started = time.perf_counter()
    seed = EVALUATION_OBJECT_SEED if args.object_seed is None else args.object_seed
    problems, start = [], args.object_start
    if path.exists() and not args.new_problems:
        try:
            problems = tp.load_problems(path)
            start = max(tp.next_object_index(path), start)
        except ValueError as err:
            print(f"error: {err}")
            return 2
        print(f"{len(problems)} problems from {path}")
    if len(problems) < args.problems:   # grow the kept set: objects from where it stopped
        if start < 0:
            print(f"error: {path} does not say where its search stopped; pass --new-problems")
            return 2
        print(f"finding {args.problems - len(problems)} more robust table-world grasps on procedural objects "
              f"(seed {seed}, from index {start}) ...")
        kept = list(problems)

        def keep(found, next_index):
            tp.save_problems(path, kept + found, next_index)

        found = tp.find_problems(args.problems - len(problems), seed, np.random.default_rng([seed, start]),
                                 max_objects=args.max_objects, start=start, progress=False,
                                 log=lambda line: print(line, flush=True), on_object=keep,
                                 **({"max_per_object": args.max_per_object} if args.max_per_object else {}))
        problems = kept + found
        print(f"{len(problems)} problems on {len({p.object_index for p in problems})} objects, "
              f"{time.perf_counter() - started:.0f} s, kept in {path}")
    problems = problems[:args.problems]
    if not problems:
        print("error: no qualified problem could be made")
        return 1
    outcomes = tp.run_protocol(planner, problems, seed=args.seed)
    summary = tp.rates(outcomes)
    print(f"\n{'method':10s} {'n':>4s} {'1 shake':>8s} {'10 shakes':>10s}  95% interval (10 shakes)")
    for method, row in summary.items():
        lo, hi = row["robust_10_shakes_ci95"]
        print(f"{method:10s} {row['n']:4d} {row['robust_1_shake']:8.0%} {row['robust_10_shakes']:10.0%}  "
              f"{lo:.0%}-{hi:.0%}")
    print("(the paper, floating: 93% / 81% optimized, 2% uniform)")
    args.out.mkdir(parents=True, exist_ok=True)
    png = plot_table_protocol(args.out / "table_protocol.png", summary,
                              f"Table-world protocol: {len(problems)} problems on "
                              f"{len({p.object_index for p in problems})} unseen objects (seed {problems[0].seed})")
    report = {"world": "table", "model": str(args.model), "seed": args.seed, "problem_set": str(path),
              "summary": summary, "wall_s": time.perf_counter() - started, "png": str(png),
              "outcomes": [o.__dict__ for o in outcomes]}
    (args.out / "evaluation.json").write_text(json.dumps(report, indent=1, default=float))
    print(f"wrote {args.out / 'evaluation.json'} and {png}")
    return 0
