"""The paper's optimization evaluation (Sec. IV-B): perturbed robust grasps on unseen objects, optimized, simulated.

A problem is a robust grasp of an unseen object, pulled back along its approach axis and turned
a little, kept only if the start is still *qualified* (open hand clear of the object, closing
fingers would meet it). The planner optimizes from it on a top-down depth view of the object
(barrier on the known mesh) and the simulator labels the result: robust after 1 shake, and after
all 10 (the paper: 93% and 81%). Uniform random poses, labelled the same way, are the baseline
(the paper: 2%).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from grasp_planner.camera import PinholeCamera
from grasp_planner.pose import Pose, invert_transform

#: pull-back along the approach axis (m) and orientation perturbation (rad, rotation-vector sigma)
PULL_RANGE_M = (0.01, 0.04)
TURN_SIGMA_RAD = 0.15


@dataclass(frozen=True)
class Problem:
    """One optimization problem: an object's top-down view and a qualified start near a robust grasp."""

    object_name: str
    vertices: np.ndarray          # object frame, m
    faces: np.ndarray
    depth: np.ndarray             # (H, W) m, top-down network view
    camera: PinholeCamera
    T_cam_obj: np.ndarray         # (4, 4)
    T_cam_start: np.ndarray       # (4, 4) the perturbed start
    T_cam_robust: np.ndarray      # (4, 4) the robust grasp it came from


@dataclass(frozen=True)
class ProblemOutcome:
    """What optimizing and simulating one problem gave."""

    object_name: str
    robust_1_shake: bool
    robust_10_shakes: bool
    label: str
    start_logit: float
    final_logit: float
    distance_m: float
    moved_m: float                # palm translation start -> result
    turned_rad: float
    n_iter: int
    plan_s: float
    reason: str
    T_cam_final: np.ndarray = field(repr=False, default=None)
    trajectory: tuple = field(repr=False, default=())


def perturb_start(T_obj_robust: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Pull the hand back along its approach axis (-z) and turn it about its palm; object frame."""
    T = np.array(T_obj_robust, dtype=float)
    pull = rng.uniform(*PULL_RANGE_M)
    T[:3, 3] -= pull * T[:3, 2]
    T[:3, :3] = T[:3, :3] @ Rotation.from_rotvec(rng.normal(0.0, TURN_SIGMA_RAD, 3)).as_matrix()
    return T


def is_qualified(T_obj_hand: np.ndarray, geometry) -> bool:
    """The paper's qualified test: open hand clear of the object, closing fingers would reach it."""
    from grasp_planner.hand.closing import closed_hand_would_collide, open_hand_collides
    return (not open_hand_collides(T_obj_hand, geometry)) and closed_hand_would_collide(T_obj_hand, geometry)


def make_problem(name, vertices, faces, T_obj_robust, rng, depth=None, camera=None, T_cam_obj=None,
                 tries: int = 20) -> Problem | None:
    """A qualified perturbed start of one robust grasp, on the given view or a fresh top-down one."""
    from grasp_planner.geometry import ObjectGeometry
    geometry = ObjectGeometry.from_mesh(vertices, faces)
    if depth is None:
        from grasp_planner.data.render import synthesize_views
        views = synthesize_views(_Mesh(vertices, faces), 1, rng)
        depth, camera, T_cam_obj = views.depth[0], PinholeCamera.from_array(views.cameras[0]), views.T_cam_obj[0]
    for _ in range(tries):
        T_start = perturb_start(T_obj_robust, rng)
        if is_qualified(T_start, geometry):
            return Problem(name, np.asarray(vertices), np.asarray(faces), depth, camera, np.asarray(T_cam_obj),
                           T_cam_obj @ T_start, T_cam_obj @ np.asarray(T_obj_robust))
    return None


@dataclass(frozen=True)
class _Mesh:
    vertices: np.ndarray
    faces: np.ndarray


def procedural_problems(n: int, seed: int, rng: np.random.Generator, sim_config=None,
                        labels_per_object: int = 12, max_objects: int | None = None, log=print) -> list[Problem]:
    """Problems on procedural objects of an evaluation seed (never used for training).

    Robust grasps are found by labelling qualified poses with the simulator, at most
    ``labels_per_object`` per object; one problem per robust grasp found.
    """
    from grasp_planner.perception.scenes import graspable_object_ids
    from grasp_planner.data.objects import procedural_object
    from grasp_planner.sim.labels import GraspLabel
    from grasp_planner.sim.qualify import sample_qualified_poses
    from grasp_planner.sim.simulate import GraspSimulator

    problems: list[Problem] = []
    ids = graspable_object_ids(max_objects or max(4 * n, 20), seed)
    for index in ids:
        if len(problems) >= n:
            break
        mesh = procedural_object(index, seed)
        poses = sample_qualified_poses(mesh.vertices, mesh.faces, rng, labels_per_object, sim_config)
        sim = GraspSimulator(mesh.vertices, mesh.faces, sim_config)
        for T in poses:
            if len(problems) >= n:
                break
            if sim.label(T, rng).label == GraspLabel.ROBUST:
                problem = make_problem(mesh.name, mesh.vertices, mesh.faces, T, rng)
                if problem is not None:
                    problems.append(problem)
        log(f"  {mesh.name}: {len(problems)}/{n} problems")
    return problems


def dataset_problems(data_dir, n: int, rng: np.random.Generator, unseen: list[int] | None = None) -> list[Problem]:
    """Problems from a database's shards: robust grasps of the given (unseen) objects on their images."""
    from grasp_planner.data.shards import finished_shards, read_shard
    from grasp_planner.sim.labels import GraspLabel

    paths = finished_shards(data_dir)
    if not paths:
        raise ValueError(f"dataset {data_dir} has no finished shards")
    chosen = [paths[i] for i in unseen] if unseen is not None else paths
    problems: list[Problem] = []
    for path in chosen * 10:
        if len(problems) >= n:
            break
        shard = read_shard(path)
        robust = np.flatnonzero(shard.label == GraspLabel.ROBUST)
        if len(robust) == 0:
            continue
        g, m = rng.choice(robust), rng.integers(len(shard.depth))
        problem = make_problem(shard.object_name, shard.vertices, shard.faces, shard.T_obj_hand[g], rng,
                               shard.depth[m], PinholeCamera.from_array(shard.cameras[m]), shard.T_cam_obj[m])
        if problem is not None:
            problems.append(problem)
    return problems


def solve_and_label(planner, problem: Problem, rng: np.random.Generator, simulators: dict) -> ProblemOutcome:
    """Optimize one problem (barrier on the known mesh) and label the result with the simulator."""
    from grasp_planner.geometry import ObjectGeometry
    from grasp_planner.sim.labels import GraspLabel
    from grasp_planner.sim.simulate import GraspSimulator

    T = problem.T_cam_obj
    geometry = ObjectGeometry.from_mesh(problem.vertices @ T[:3, :3].T + T[:3, 3], problem.faces)
    start = Pose.from_matrix(problem.T_cam_start)
    t0 = time.perf_counter()
    result = planner.plan(problem.depth, problem.camera, start, geometry=geometry)
    plan_s = time.perf_counter() - t0
    if not result.grasps:
        return ProblemOutcome(problem.object_name, False, False, "NOT_PLANNED", float("nan"), float("nan"),
                              float("nan"), 0.0, 0.0, 0, plan_s, result.reason.name, problem.T_cam_start)
    best = result.grasps[0]
    T_obj_final = invert_transform(T) @ best.pose.matrix()
    if problem.object_name not in simulators:
        simulators[problem.object_name] = GraspSimulator(problem.vertices, problem.faces)
    outcome = simulators[problem.object_name].label(T_obj_final, rng)
    start_logit = float(planner.scorer.score(planner.scorer.image_features(problem.depth, problem.camera),
                                             problem.T_cam_start[None])[0])
    moved, turned = start.distance_to(best.pose)
    return ProblemOutcome(problem.object_name, bool(outcome.robust_after_1_shake),
                          outcome.label == GraspLabel.ROBUST, outcome.label.name, start_logit, best.score,
                          best.distance, moved, turned, best.n_iter, plan_s, result.reason.name,
                          best.pose.matrix(), tuple(p.matrix() for p in result.trajectory))


def uniform_baseline(problems: list[Problem], n: int, rng: np.random.Generator, simulators: dict) -> dict:
    """Label ``n`` uniform random poses around the problems' objects: the paper's 2% baseline.

    A pose whose open hand already intersects the object cannot be reached and counts as failed
    without simulation (the simulator would start with interpenetrating bodies).
    """
    from grasp_planner.geometry import ObjectGeometry
    from grasp_planner.hand.closing import open_hand_collides
    from grasp_planner.sim.labels import GraspLabel
    from grasp_planner.sim.simulate import GraspSimulator
    from grasp_planner.planning.baselines import uniform_poses

    robust1 = robust10 = 0
    for k in range(n):
        problem = problems[k % len(problems)]
        bounds = np.stack([problem.vertices.min(0), problem.vertices.max(0)])
        T = uniform_poses(bounds, 1, rng)[0]
        if open_hand_collides(T, ObjectGeometry.from_mesh(problem.vertices, problem.faces)):
            continue
        if problem.object_name not in simulators:
            simulators[problem.object_name] = GraspSimulator(problem.vertices, problem.faces)
        outcome = simulators[problem.object_name].label(T, rng)
        robust1 += bool(outcome.robust_after_1_shake)
        robust10 += outcome.label == GraspLabel.ROBUST
    return {"samples": n, "robust_1_shake": robust1 / max(n, 1), "robust_10_shakes": robust10 / max(n, 1)}


def summarize(outcomes: list[ProblemOutcome]) -> dict:
    """Success rates overall and per object."""
    per_object: dict[str, dict] = {}
    for o in outcomes:
        row = per_object.setdefault(o.object_name, {"problems": 0, "robust_1_shake": 0, "robust_10_shakes": 0})
        row["problems"] += 1
        row["robust_1_shake"] += int(o.robust_1_shake)
        row["robust_10_shakes"] += int(o.robust_10_shakes)
    n = max(len(outcomes), 1)
    return {"problems": len(outcomes),
            "robust_1_shake": sum(o.robust_1_shake for o in outcomes) / n,
            "robust_10_shakes": sum(o.robust_10_shakes for o in outcomes) / n,
            "median_plan_s": float(np.median([o.plan_s for o in outcomes])) if outcomes else float("nan"),
            "median_iterations": float(np.median([o.n_iter for o in outcomes])) if outcomes else float("nan"),
            "per_object": per_object}


def plot_sequences(path, problems: list[Problem], outcomes: list[ProblemOutcome], k: int = 4) -> Path:
    """The paper's Fig. 8 style: depth image with the hand at the start (orange), the palm's path
    and the optimized hand (green if robust after 10 shakes, red if not), for ``k`` problems."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from grasp_planner.planning.drawing import draw_hand

    k = min(k, len(problems))
    fig, axes = plt.subplots(1, max(k, 1), figsize=(4 * max(k, 1), 4.2), squeeze=False)
    for ax, problem, outcome in zip(axes[0], problems[:k], outcomes[:k]):
        depth = np.where(problem.depth > 0, problem.depth, np.nan)
        ax.imshow(depth, cmap="viridis")
        draw_hand(ax, problem.camera, problem.T_cam_start, "orange", "start")
        if len(outcome.trajectory):
            palm = np.array([T[:3, 3] for T in outcome.trajectory])
            u, v, _ = problem.camera.project(palm)
            ax.plot(u, v, ".-", color="white", ms=3, lw=0.6)
        if outcome.T_cam_final is not None:
            draw_hand(ax, problem.camera, outcome.T_cam_final, "lime" if outcome.robust_10_shakes else "red",
                      "optimized")
        ax.set_xlim(-0.5, problem.camera.width - 0.5)
        ax.set_ylim(problem.camera.height - 0.5, -0.5)
        ax.set_title(f"{outcome.object_name}: {outcome.label}\nscore {outcome.start_logit:.2f} -> "
                     f"{outcome.final_logit:.2f}, {outcome.n_iter} it", fontsize=8)
        ax.legend(fontsize=6, loc="lower right")
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
