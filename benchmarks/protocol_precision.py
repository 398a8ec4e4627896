"""How precise must a table-world grasp be, and how precise are the planner's answers? (the protocol's problems)

Part 1 moves each problem's robust grasp by a fixed error (a turn about a random axis through the palm,
a shift across or along the approach axis) and labels it with one trial: the success left at that
error. Part 2 plans from each problem's start, as the protocol does, and measures the answer's error
from the problem's robust grasp in the grasp's own frame (along the approach axis, across it, and
the rotation angle), with the start's error beside it. Together they say how much of the planner's
shortfall against the ceiling its imprecision explains.

    python benchmarks/protocol_precision.py [--model models/grasp_cnn.json] [--problems 100] \
        [--out runs/precision.json] [--png docs/protocol_precision.png]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

ROOT = Path(__file__).resolve().parents[1]
#: name -> (turn deg, shift across the approach axis m, shift along it m; + is deeper)
ERRORS = {"none": (0, 0, 0), "turn 5 deg": (5, 0, 0), "turn 10 deg": (10, 0, 0), "turn 20 deg": (20, 0, 0),
          "across 0.5 cm": (0, 0.005, 0), "across 1.3 cm": (0, 0.013, 0), "deeper 0.7 cm": (0, 0, 0.007),
          "back 1 cm": (0, 0, -0.01)}


def moved(T: np.ndarray, error, rng: np.random.Generator) -> np.ndarray:
    """``T`` (table frame) turned about a random axis through the palm and shifted in its own frame."""
    turn, across, along = error
    axis = rng.normal(size=3)
    angle = rng.uniform(0, 2 * np.pi)
    out = T.copy()
    out[:3, :3] = T[:3, :3] @ Rotation.from_rotvec(np.deg2rad(turn) * axis / np.linalg.norm(axis)).as_matrix()
    out[:3, 3] += T[:3, :3] @ np.array([across * np.cos(angle), across * np.sin(angle), along])
    return out


def grasp_error(T_ref: np.ndarray, T: np.ndarray) -> tuple[float, float, float]:
    """(along the approach axis m, across it m, rotation deg) of ``T`` in the frame of ``T_ref``."""
    d = np.linalg.inv(T_ref) @ T
    turn = float(np.degrees(Rotation.from_matrix(d[:3, :3]).magnitude()))
    return float(d[2, 3]), float(np.linalg.norm(d[:2, 3])), turn


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "grasp_cnn.json")
    parser.add_argument("--problem-set", type=Path, default=None)
    parser.add_argument("--problems", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--png", type=Path, default=None)
    args = parser.parse_args(argv)

    from tqdm import tqdm

    from grasp_planner.planning.cli_evaluate import DEFAULT_PROBLEM_SET
    from grasp_planner.planning.planner import GraspPlanner
    from grasp_planner.planning.table_protocol import ProblemWorld, load_problems
    from grasp_planner.pose import Pose
    from grasp_planner.sim.labels import GraspLabel

    try:
        problems = load_problems(args.problem_set or DEFAULT_PROBLEM_SET)[:args.problems]
        planner = GraspPlanner.from_config(args.model)
    except (ValueError, OSError) as exc:
        print(f"protocol_precision: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    held = {name: [] for name in ERRORS}
    answers = []
    simulators: dict = {}
    for i, problem in enumerate(tqdm(problems, desc="problems", unit="problem", disable=not sys.stderr.isatty())):
        world = ProblemWorld(problem, simulators)
        for j, (name, error) in enumerate(ERRORS.items()):
            rng = np.random.default_rng([args.seed, i, j])
            T = moved(problem.T_table_robust, error, rng)
            held[name].append(bool(world.simulator.trial(T, rng).label == GraspLabel.ROBUST))
        result = planner.plan(world.depth, world.camera, Pose.from_matrix(world.T_camera_table @ problem.T_table_start))
        if result.grasps:
            T = np.linalg.inv(world.T_camera_table) @ result.grasps[0].pose.matrix()
            answers.append({"problem": problem.name, "answer": grasp_error(problem.T_table_robust, T),
                            "start": grasp_error(problem.T_table_robust, problem.T_table_start),
                            "probability": float(result.grasps[0].probability)})
    success = {name: float(np.mean(v)) for name, v in held.items()}
    med = {part: np.median([a[part] for a in answers], axis=0).tolist() for part in ("start", "answer")}
    print(f"{len(problems)} problems, one trial each (robust after 10 shakes):")
    for name, s in success.items():
        print(f"  robust grasp, error {name:14s}: {100 * s:5.1f}%")
    for part in ("start", "answer"):
        along, across, turn = med[part]
        print(f"  median {part:6s} error from the robust grasp: along {100 * along:+.1f} cm, across "
              f"{100 * across:.1f} cm, turn {turn:.1f} deg")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"model": str(args.model), "success_at_error": success, "median_error": med,
                                        "answers": answers}, indent=1) + "\n")
    if args.png:
        plot(success, answers, args.png)
    return 0


def plot(success: dict, answers: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    names = list(success)
    a.barh(names[::-1], [100 * success[n] for n in names[::-1]], color="tab:blue")
    a.set_xlabel("robust after 10 shakes, %")
    a.set_title("the problem's robust grasp, moved by an error")
    a.set_xlim(0, 100)
    for part, colour in (("start", "tab:gray"), ("answer", "tab:orange")):
        e = np.array([x[part] for x in answers])
        b.scatter(100 * e[:, 1], e[:, 2], s=14, color=colour,
                  label=f"{part} (median turn {np.median(e[:, 2]):.0f} deg, across {100 * np.median(e[:, 1]):.1f} cm)")
    b.set_xlabel("error across the approach axis, cm")
    b.set_ylabel("rotation error, deg")
    b.set_title("planner's answers vs the robust grasp")
    b.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
