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

import numpy as np
from scipy.spatial.transform import Rotation

from grasp_planner.camera import PinholeCamera
from grasp_planner.pose import Pose, invert_transform

#: pull-back along the approach axis (m) and orientation perturbation (rad, rotation-vector sigma)
PULL_RANGE_M = (0.01, 0.04)
TURN_SIGMA_RAD = 0.15
#: fingers that must touch the object after closing for a grasp to count as robust. The simulator
#: (zero gravity, there-and-back shakes) labels a hand that never touches the object ROBUST: the
#: untouched object simply stays in the hand box. The paper only labels qualified grasps, whose
#: fingers meet the object, so a grasp without contact is a failure here.
MIN_FINGERS_TOUCHING = 1


def judged(outcome, min_fingers: int | None = None) -> tuple[bool, bool, str]:
    """(robust after 1 shake, robust after 10, label) of a SimOutcome, failed without finger contact."""
    from grasp_planner.sim.labels import GraspLabel
    need = MIN_FINGERS_TOUCHING if min_fingers is None else min_fingers
    if outcome.fingers_touching < need:
        return False, False, "NO_CONTACT" if outcome.label != GraspLabel.FAILED else outcome.label.name
    return bool(outcome.robust_after_1_shake), outcome.label == GraspLabel.ROBUST, outcome.label.name


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
    start_label: str = ""          # the simulator's label of the start itself (no optimization)
    start_robust_1_shake: bool = False
    start_robust_10_shakes: bool = False
    fingers_touching: int = -1     # after closing at the result
    sim_label: str = ""            # the simulator's own label (counts a contact-free hand as ROBUST)


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
                        labels_per_object: int = 12, max_objects: int | None = None, log=print,
                        max_per_object: int | None = None, start: int = 0) -> list[Problem]:
    """Problems on procedural objects of an evaluation seed (never used for training).

    Robust grasps are found by labelling qualified poses with the simulator, at most
    ``labels_per_object`` per object; one problem per robust grasp found, at most ``max_per_object``
    per object (all by default). Graspable objects are visited from index ``start`` on, at most
    ``max_objects`` of them (default ``max(4 n, 20)``).
    """
    from grasp_planner.perception.scenes import graspable_object_ids
    from grasp_planner.data.objects import procedural_object
    from grasp_planner.sim.qualify import sample_qualified_poses
    from grasp_planner.sim.simulate import GraspSimulator

    problems: list[Problem] = []
    limit = max_objects or max(4 * n, 20)
    cap = max_per_object or n
    visited, next_index = 0, int(start)
    while len(problems) < n and visited < limit:
        chunk = graspable_object_ids(min(20, limit - visited), seed, start=next_index)
        next_index = chunk[-1] + 1
        for index in chunk:
            if len(problems) >= n:
                break
            visited += 1
            mesh = procedural_object(index, seed)
            poses = sample_qualified_poses(mesh.vertices, mesh.faces, rng, labels_per_object, sim_config)
            sim = GraspSimulator(mesh.vertices, mesh.faces, sim_config)
            found = 0
            for T in poses:
                if len(problems) >= n or found >= cap:
                    break
                if judged(sim.label(T, rng))[1]:
                    problem = make_problem(mesh.name, mesh.vertices, mesh.faces, T, rng)
                    if problem is not None:
                        problems.append(problem)
                        found += 1
            log(f"  {mesh.name} (seed {seed}, index {index}): {len(problems)}/{n} problems")
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


def solve_and_label(planner, problem: Problem, rng: np.random.Generator, simulators: dict,
                    label_start: bool = False) -> ProblemOutcome:
    """Optimize one problem (barrier on the known mesh) and label the result with the simulator;
    with ``label_start`` also label the start itself (the no-optimization control)."""
    from grasp_planner.geometry import ObjectGeometry
    from grasp_planner.sim.simulate import cached_simulator

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
    simulator = cached_simulator(simulators, problem.object_name, problem.vertices, problem.faces)
    outcome = simulator.label(T_obj_final, rng)
    start_logit = float(planner.scorer.score(planner.scorer.image_features(problem.depth, problem.camera),
                                             problem.T_cam_start[None])[0])
    moved, turned = start.distance_to(best.pose)
    extra = {}
    if label_start:
        at_start = simulators[problem.object_name].label(invert_transform(T) @ problem.T_cam_start, rng)
        r1, r10, name = judged(at_start)
        extra = {"start_label": name, "start_robust_1_shake": r1, "start_robust_10_shakes": r10}
    r1, r10, name = judged(outcome)
    extra.update(fingers_touching=int(outcome.fingers_touching), sim_label=outcome.label.name)
    return ProblemOutcome(problem.object_name, r1, r10, name, start_logit, best.score,
                          best.distance, moved, turned, best.n_iter, plan_s, result.reason.name,
                          best.pose.matrix(), tuple(p.matrix() for p in result.trajectory), **extra)


def uniform_baseline(problems: list[Problem], n: int, rng: np.random.Generator, simulators: dict) -> dict:
    """Label ``n`` uniform random poses around the problems' objects: the paper's 2% baseline.

    A pose whose open hand already intersects the object cannot be reached and counts as failed
    without simulation (the simulator would start with interpenetrating bodies).
    """
    from grasp_planner.geometry import ObjectGeometry
    from grasp_planner.hand.closing import open_hand_collides
    from grasp_planner.sim.labels import GraspLabel
    from grasp_planner.sim.simulate import cached_simulator
    from grasp_planner.planning.baselines import uniform_poses

    robust1 = robust10 = raw10 = touching = free = 0
    for k in range(n):
        problem = problems[k % len(problems)]
        bounds = np.stack([problem.vertices.min(0), problem.vertices.max(0)])
        T = uniform_poses(bounds, 1, rng)[0]
        if open_hand_collides(T, ObjectGeometry.from_mesh(problem.vertices, problem.faces)):
            continue
        free += 1
        simulator = cached_simulator(simulators, problem.object_name, problem.vertices, problem.faces)
        outcome = simulator.label(T, rng)
        r1, r10, _ = judged(outcome)
        robust1 += r1
        robust10 += r10
        raw10 += outcome.label == GraspLabel.ROBUST
        touching += outcome.fingers_touching > 0
    return {"samples": n, "robust_1_shake": robust1 / max(n, 1), "robust_10_shakes": robust10 / max(n, 1),
            "collision_free": free, "with_finger_contact": touching,
            "sim_label_robust_10_shakes_without_contact_check": raw10 / max(n, 1)}


def sample_rank_baseline(planner, problems: list[Problem], n_samples: int, rng: np.random.Generator,
                         simulators: dict) -> dict:
    """Sampling + CNN ranking: per problem, ``n_samples`` uniform poses around the object (camera
    frame), those whose open hand touches the object dropped, the best by the CNN labelled."""
    from grasp_planner.geometry import ObjectGeometry
    from grasp_planner.sim.simulate import cached_simulator
    from grasp_planner.planning.baselines import sample_and_rank

    robust1 = robust10 = 0
    logits = []
    for problem in problems:
        T = problem.T_cam_obj
        cam_vertices = problem.vertices @ T[:3, :3].T + T[:3, 3]
        geometry = ObjectGeometry.from_mesh(cam_vertices, problem.faces)
        features = planner.scorer.image_features(problem.depth, problem.camera)
        bounds = np.stack([cam_vertices.min(0), cam_vertices.max(0)])
        ranked = sample_and_rank(planner.scorer, features, bounds, n_samples, 1, rng, geometry)
        if not ranked:
            continue
        pose, logit = ranked[0]
        logits.append(logit)
        simulator = cached_simulator(simulators, problem.object_name, problem.vertices, problem.faces)
        outcome = simulator.label(invert_transform(T) @ pose.matrix(), rng)
        r1, r10, _ = judged(outcome)
        robust1 += r1
        robust10 += r10
    n = max(len(problems), 1)
    return {"problems": len(problems), "samples_per_problem": n_samples,
            "robust_1_shake": robust1 / n, "robust_10_shakes": robust10 / n,
            "mean_best_logit": float(np.mean(logits)) if logits else float("nan")}


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
            "moved_from_start": sum((o.moved_m > 1e-3 or o.turned_rad > 1e-2) for o in outcomes) / n,
            "median_moved_m": float(np.median([o.moved_m for o in outcomes])) if outcomes else float("nan"),
            "median_turned_rad": float(np.median([o.turned_rad for o in outcomes])) if outcomes else float("nan"),
            "mean_start_logit": float(np.nanmean([o.start_logit for o in outcomes])) if outcomes else float("nan"),
            "mean_final_logit": float(np.nanmean([o.final_logit for o in outcomes])) if outcomes else float("nan"),
            "final_logit_above_start": sum(o.final_logit > o.start_logit for o in outcomes) / n,
            "min_fingers_touching": MIN_FINGERS_TOUCHING,
            "final_fingers_touching": {str(f): sum(o.fingers_touching == f for o in outcomes) for f in range(4)},
            "sim_label_robust_10_shakes_without_contact_check":
                sum(o.sim_label == "ROBUST" for o in outcomes) / n,
            "start_labelled": {"robust_1_shake": sum(o.start_robust_1_shake for o in outcomes) / n,
                               "robust_10_shakes": sum(o.start_robust_10_shakes for o in outcomes) / n,
                               "labelled": sum(bool(o.start_label) for o in outcomes)},
            "per_object": per_object}


def pick_examples(outcomes: list[ProblemOutcome], k: int = 4) -> list[int]:
    """Indices of ``k`` problems worth drawing: starts the optimizer turned into robust grasps first,
    then a failure, then the rest in order (distinct objects where possible)."""
    chosen: list[int] = []
    passes = ((k - 1 if k > 1 else k, lambda o: o.robust_10_shakes and not o.start_robust_10_shakes),
              (k, lambda o: not o.robust_10_shakes), (k, lambda o: True), (k, None))
    for quota, want in passes:
        for i, o in enumerate(outcomes):
            if len(chosen) >= quota:
                break
            seen = {outcomes[j].object_name for j in chosen}
            if i not in chosen and (want is None or (want(o) and o.object_name not in seen)):
                chosen.append(i)
    return chosen[:k]
