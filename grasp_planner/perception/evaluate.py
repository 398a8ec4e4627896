"""Issue 8's real-camera evaluation: plan on realistic tabletop scenes, label the grasp in simulation.

A *scene case* is one :func:`grasp_planner.perception.scenes.make_scene` scene (a procedural object
of the evaluation seed, unseen in training, on a table with one or two neighbours, a 640x480
camera 0.4-0.7 m away) at a given camera tilt and noise level. The planner runs on the camera
image (16UC1, as a camera sends it) from the scene's perturbed pre-grasp, the best grasp is
mapped into the target's frame (``T_obj_hand = inv(T_camera_object) @ T_camera_grasp``) and the
database simulator labels it: robust after 1 shake, and after all 10.

The *clean case* is the paper's setting for the same target objects: one top-down view of the
object alone, straight from :func:`grasp_planner.data.render.synthesize_views` (random object
orientation, field of view fitted to the object), the barrier on the known mesh, and a pre-grasp
drawn by the same perturbation as the scenes' (:func:`grasp_planner.perception.scenes.pregrasp_pose`).

Pairing: scene ``i`` is drawn from ``SeedSequence([seed, i])`` with only the tilt given, so the
objects, their layout, the camera distance and azimuth and the pre-grasp (in the table frame) are
the same at every tilt and noise level; noise is added afterwards from its own stream. The
simulator's stream is also per scene. Differences between conditions are therefore due to the
tilt and the noise, not to different objects.

Labels come from the table-top world by default (``world="table"``: the table, gravity, the scene's
neighbours at their rendered poses, close, a 10 cm lift and the 10 shakes; sim/table_world.py);
``world="floating"`` keeps the old figures (the object floats free, no table, no neighbour). The clean
case is the paper's own setting (an object alone) and is always labelled in the floating world.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from grasp_planner.camera import PinholeCamera
from grasp_planner.perception.noise import SensorNoise, add_sensor_noise
from grasp_planner.perception.scenes import Scene, make_scene, pregrasp_pose
from grasp_planner.pose import Pose

#: camera tilts (deg from straight down) and noise levels of the issue's table
TILTS_DEG = (0.0, 15.0, 30.0, 45.0)
NOISE_LEVELS: dict[str, SensorNoise | None] = {
    "none": None,
    "sensor": SensorNoise(),
    "sensor+20% holes": SensorNoise(hole_fraction=0.2),
}
CLEAN = "clean top-down"


@dataclass(frozen=True)
class CaseOutcome:
    """One planned and simulated grasp.

    Attributes
    ----------
    case : ``"scene"``, ``"clean"`` or ``"heuristic"`` (the no-network baseline on a scene image).
    index : scene number (the pairing key).
    tilt_deg, noise : the condition (``nan`` and ``CLEAN`` for the clean case).
    object_name, object_id : the target (procedural index of the evaluation seed).
    plan_status : PlanStatus name; ``plan_message`` its text.
    planned : a grasp came back (the best one is labelled even when the status is not OK).
    label : GraspLabel name, or ``NOT_PLANNED``.
    robust_1_shake, robust_10_shakes : the paper's two metrics.
    probability : the network's robust probability of the best grasp (nan if none).
    distance_m : open hand to the scene (nan if none).
    grasp_in_object : (x, y, z) of the palm in the target's frame, m (nan if none).
    T_obj_hand : 4x4 as nested lists (None if none).
    n_clusters : objects the perception found (scene case; 0 otherwise).
    plan_s, view_s, label_s : wall-clock seconds.
    """

    case: str
    index: int
    tilt_deg: float
    noise: str
    object_name: str
    object_id: int
    plan_status: str
    plan_message: str
    planned: bool
    label: str
    robust_1_shake: bool
    robust_10_shakes: bool
    probability: float
    distance_m: float
    grasp_in_object: tuple
    n_clusters: int
    plan_s: float
    view_s: float
    label_s: float
    T_obj_hand: list | None = field(default=None, repr=False)

    @property
    def success(self) -> bool:
        """Robust after 10 shakes *and* the planner said OK (what a robot would execute)."""
        return self.robust_10_shakes and self.plan_status == "OK"


def scene_for(index: int, seed: int, tilt_deg: float, noise: SensorNoise | None) -> Scene:
    """Scene ``index`` of the evaluation at one tilt and noise level (paired across conditions)."""
    scene = make_scene(np.random.default_rng([seed, index]), tilt_deg=tilt_deg, noise=None)
    if noise is None:
        return scene
    depth = add_sensor_noise(scene.depth, np.random.default_rng([seed, index, 1]), noise)
    description = scene.description.replace(
        "clean depth", f"noise k={noise.k:g}/m, {noise.hole_fraction:.0%} holes")
    return dataclasses.replace(scene, depth=depth, description=description)


WORLDS = ("table", "floating")


def grasped_object(scene: Scene, T_camera_hand: Pose, grasp_centre_z_m: float | None = None) -> int:
    """The object a grasp closes on: the one whose surface lies nearest the point between the open fingers
    (``grasp_centre_z_m`` along the hand's +z; default config/sim.yaml ``qualify.grasp_centre_z_m``)."""
    if grasp_centre_z_m is None:
        from grasp_planner.sim.config import SimConfig
        grasp_centre_z_m = SimConfig.load().qualify.grasp_centre_z_m
    centre = T_camera_hand.transform_points(np.array([[0.0, 0.0, grasp_centre_z_m]]))[0]
    gaps = [np.linalg.norm(scene.T_camera_object(i).transform_points(m.vertices) - centre, axis=1).min()
            for i, m in enumerate(scene.objects)]
    return int(np.argmin(gaps))


def _with_target(scene: Scene, k: int) -> Scene:
    """The same scene with object ``k`` as the target (object 0), the others as its neighbours."""
    if k == 0:
        return scene
    order = [k] + [i for i in range(len(scene.objects)) if i != k]
    ids = tuple(scene.object_ids[i] for i in order) if scene.object_ids else scene.object_ids
    return dataclasses.replace(scene, objects=tuple(scene.objects[i] for i in order),
                               T_world_objects=tuple(scene.T_world_objects[i] for i in order), object_ids=ids)


def _table_simulator(scene: Scene, simulators: dict):
    """The table-world simulator of a scene's layout (target and neighbours at their rendered poses)."""
    from grasp_planner.sim.table_world import Body, TableGraspSimulator, TableScene

    key = ("table", tuple(o.name for o in scene.objects),
           tuple(np.round(p.matrix(), 6).tobytes() for p in scene.T_world_objects))
    if key not in simulators:
        bodies = [Body(m.vertices, m.faces, p.matrix()) for m, p in zip(scene.objects, scene.T_world_objects)]
        simulators[key] = TableGraspSimulator(TableScene(bodies[0], tuple(bodies[1:])))
    return simulators[key]


def _label_table(result, scene: Scene, rng: np.random.Generator, simulators: dict) -> dict:
    """One table-world trial of the best grasp, its pose taken from the camera into the table frame."""
    if not result.grasps:
        return _not_planned()
    best = result.grasps[0]
    return _label_table_pose(best.pose, scene, rng, simulators, float(best.probability), float(best.distance))


def _label_table_pose(T_camera_hand: Pose, scene: Scene, rng: np.random.Generator, simulators: dict,
                      probability: float = float("nan"), distance: float = float("nan")) -> dict:
    """One table-world trial of a palm pose given in the camera frame."""
    T_table_hand = (scene.T_camera_world.inverse() @ T_camera_hand).matrix()
    T_obj_hand = (scene.T_camera_object(0).inverse() @ T_camera_hand).matrix()
    started = time.perf_counter()
    outcome = _table_simulator(scene, simulators).trial(T_table_hand, rng)
    return _labelled(outcome, T_obj_hand, probability, distance, time.perf_counter() - started)


def evaluate_heuristic(scene: Scene, rng: np.random.Generator, simulators: dict, index: int = 0,
                       noise_name: str = "?", as_16uc1: bool = True) -> CaseOutcome:
    """The top-down heuristic (planning/heuristic.py) on the same camera image, labelled in the table world.

    Its target is the cluster perception picks from the scene's pre-grasp, as the planner's is.
    """
    from grasp_planner.perception.view import normalize_view
    from grasp_planner.planning.heuristic import heuristic_for_view

    depth = scene.depth_mm() if as_16uc1 else scene.depth
    started = time.perf_counter()
    try:
        view = normalize_view(depth, scene.camera, scene.initial_pose)
        status, message = "OK", ""
    except ValueError as exc:
        view, status, message = None, "INVALID_INPUT", str(exc)
    plan_s = time.perf_counter() - started
    if view is None:
        labelled = _not_planned()
    else:
        labelled = _label_table_pose(Pose.from_matrix(heuristic_for_view(view, rng)), scene, rng, simulators)
    return CaseOutcome(case="heuristic", index=int(index), tilt_deg=float(scene.tilt_deg), noise=noise_name,
                       object_name=scene.objects[0].name, object_id=int(scene.object_ids[0]),
                       plan_status=status, plan_message=message, n_clusters=0, plan_s=plan_s, view_s=plan_s,
                       **labelled)


def _label(result, T_camera_object: Pose, mesh, rng: np.random.Generator, simulators: dict) -> dict:
    """Map the best grasp into the object frame and simulate it (or report that nothing was planned)."""
    from grasp_planner.sim.simulate import cached_simulator

    if not result.grasps:
        return _not_planned()
    best = result.grasps[0]
    T_obj_hand = (T_camera_object.inverse() @ best.pose).matrix()
    started = time.perf_counter()
    simulator = cached_simulator(simulators, mesh.name, mesh.vertices, mesh.faces)
    outcome = simulator.label(T_obj_hand, rng)
    return _labelled(outcome, T_obj_hand, float(best.probability), float(best.distance),
                     time.perf_counter() - started)


def _not_planned() -> dict:
    """The labelling fields of a case where nothing was planned."""
    return dict(planned=False, label="NOT_PLANNED", robust_1_shake=False, robust_10_shakes=False,
                probability=float("nan"), distance_m=float("nan"), grasp_in_object=(float("nan"),) * 3,
                label_s=0.0, T_obj_hand=None)


def _labelled(outcome, T_obj_hand: np.ndarray, probability: float, distance: float, label_s: float) -> dict:
    """The labelling fields of a simulated grasp (a SimOutcome or a table-world TrialOutcome)."""
    from grasp_planner.sim.labels import GraspLabel
    return dict(planned=True, label=outcome.label.name, robust_1_shake=bool(outcome.robust_after_1_shake),
                robust_10_shakes=outcome.label == GraspLabel.ROBUST, probability=probability,
                distance_m=distance, grasp_in_object=tuple(float(v) for v in T_obj_hand[:3, 3]),
                label_s=label_s, T_obj_hand=T_obj_hand.tolist())


def evaluate_scene(planner, scene: Scene, rng: np.random.Generator, simulators: dict | None = None,
                   index: int = 0, noise_name: str = "?", as_16uc1: bool = True,
                   time_budget_s: float | None = None, world: str = "table", with_pose: bool = True
                   ) -> CaseOutcome:
    """Plan on one scene from its perturbed pre-grasp, map the best grasp into the target's frame, label it.

    Parameters
    ----------
    planner : a :class:`grasp_planner.planning.planner.GraspPlanner`.
    scene : object 0 is the target.
    rng : the simulator's stream.
    simulators : cache of GraspSimulator by object name (filled here).
    as_16uc1 : give the planner the image as a camera sends it (uint16 mm), else float m.
    time_budget_s : the planner's wall-clock budget (None: its config's).
    world : ``"table"`` (default) or ``"floating"``: the simulator that labels the grasp.
    with_pose : False plans with no initial pose (case ``"no_pose"``): the planner picks a cluster and
        seeds itself, so the object it grasps may be a neighbour; that object is then the one labelled
        (``object_name``), as a robot clearing the table would count it.
    """
    if world not in WORLDS:
        raise ValueError(f"world must be one of {WORLDS}, got {world!r}")
    simulators = {} if simulators is None else simulators
    depth = scene.depth_mm() if as_16uc1 else scene.depth
    started = time.perf_counter()
    result = planner.plan(depth, scene.camera, scene.initial_pose if with_pose else None,
                          time_budget_s=time_budget_s)
    plan_s = time.perf_counter() - started
    n_clusters = 0
    if result.reason.name != "INVALID_INPUT":
        try:  # what the perception found (cheap next to planning; for the report only)
            from grasp_planner.perception.view import analyse_scene
            n_clusters = len(analyse_scene(depth, scene.camera).clusters)
        except ValueError:
            n_clusters = 0
    if not with_pose and result.grasps:
        scene = _with_target(scene, grasped_object(scene, result.grasps[0].pose))
    if world == "table":
        labelled = _label_table(result, scene, rng, simulators)
    else:
        labelled = _label(result, scene.T_camera_object(0), scene.objects[0], rng, simulators)
    return CaseOutcome(case="scene" if with_pose else "no_pose", index=int(index), tilt_deg=float(scene.tilt_deg),
                       noise=noise_name, object_name=scene.objects[0].name, object_id=int(scene.object_ids[0]),
                       plan_status=result.reason.name, plan_message=result.message, n_clusters=n_clusters,
                       plan_s=plan_s, view_s=float(result.timings.get("view", float("nan"))), **labelled)


def clean_view(mesh, rng: np.random.Generator):
    """The paper's view of one object and a pre-grasp above it: (depth, camera, T_cam_obj Pose, initial Pose).

    The pre-grasp is :func:`pregrasp_pose` in a frame with +z up (the view looks down -z), above the
    top of the object's bounding box centre, so it is perturbed exactly like the scenes' pre-grasps.
    """
    from grasp_planner.data.render import synthesize_views
    views = synthesize_views(mesh, 1, rng)
    camera = PinholeCamera.from_array(views.cameras[0])
    T_cam_obj = Pose.from_matrix(views.T_cam_obj[0])
    T_cam_up = Pose(np.diag([1.0, -1.0, -1.0]), np.zeros(3))  # +z up, x along the image's x
    up_points = T_cam_up.inverse().transform_points(T_cam_obj.transform_points(mesh.vertices))
    lo, hi = up_points.min(axis=0), up_points.max(axis=0)
    top = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, hi[2]])
    initial = T_cam_up @ pregrasp_pose(top, rng)
    return views.depth[0], camera, T_cam_obj, initial


def evaluate_clean(planner, mesh, object_id: int, index: int, seed: int, simulators: dict | None = None,
                   time_budget_s: float | None = None) -> CaseOutcome:
    """The clean case for one object: its synthesized top-down view, barrier on the known mesh."""
    from grasp_planner.geometry import ObjectGeometry
    simulators = {} if simulators is None else simulators
    depth, camera, T_cam_obj, initial = clean_view(mesh, np.random.default_rng([seed, index, 3]))
    geometry = ObjectGeometry.from_mesh(T_cam_obj.transform_points(mesh.vertices), mesh.faces)
    started = time.perf_counter()
    direct = planner.replaced(planner={"view": "direct"})   # the clean case is a network view
    result = direct.plan(depth, camera, initial, geometry=geometry, time_budget_s=time_budget_s)
    plan_s = time.perf_counter() - started
    labelled = _label(result, T_cam_obj, mesh, np.random.default_rng([seed, index, 2]), simulators)
    return CaseOutcome(case="clean", index=int(index), tilt_deg=float("nan"), noise=CLEAN,
                       object_name=mesh.name, object_id=int(object_id), plan_status=result.reason.name,
                       plan_message=result.message, n_clusters=0, plan_s=plan_s,
                       view_s=float(result.timings.get("view", float("nan"))), **labelled)


def run_evaluation(planner, n_scenes: int, seed: int = 0, tilts=TILTS_DEG, noise_levels=None,
                   clean: bool = True, time_budget_s: float | None = None, progress: bool = True,
                   as_16uc1: bool = True, world: str = "table", heuristic: bool = True,
                   no_pose: bool = False) -> list[CaseOutcome]:
    """Every scene at every tilt and noise level, plus the clean case of each scene's target; in the
    table world (and with ``heuristic``) the top-down heuristic on every scene image too, and with
    ``no_pose`` the planner with no initial pose on it (case ``"no_pose"``).

    Returns the outcomes in the order run (scene by scene, so an interrupted run still covers
    every condition evenly).
    """
    from tqdm import tqdm
    noise_levels = NOISE_LEVELS if noise_levels is None else noise_levels
    jobs = [(i, t, name) for i in range(int(n_scenes)) for t in tilts for name in noise_levels]
    if clean:
        jobs += [(i, None, CLEAN) for i in range(int(n_scenes))]
    simulators: dict = {}
    outcomes: list[CaseOutcome] = []
    bar = tqdm(jobs, desc="real-camera eval", unit="case", disable=not progress, dynamic_ncols=True)
    for i, tilt, name in bar:
        if name == CLEAN:
            target = scene_for(i, seed, 0.0, None)  # the same target object as scene i
            outcome = evaluate_clean(planner, target.objects[0], target.object_ids[0], i, seed, simulators,
                                     time_budget_s)
        else:
            scene = scene_for(i, seed, tilt, noise_levels[name])
            outcome = evaluate_scene(planner, scene, np.random.default_rng([seed, i, 2]), simulators, i, name,
                                     as_16uc1, time_budget_s, world)
            if heuristic and world == "table":
                outcomes.append(evaluate_heuristic(scene, np.random.default_rng([seed, i, 3]), simulators, i,
                                                   name, as_16uc1))
            if no_pose:
                outcomes.append(evaluate_scene(planner, scene, np.random.default_rng([seed, i, 4]), simulators, i,
                                               name, as_16uc1, time_budget_s, world, with_pose=False))
        outcomes.append(outcome)
        done = [o for o in outcomes if o.case == "scene"]
        if done:
            bar.set_postfix(r1=f"{np.mean([o.robust_1_shake for o in done]):.2f}",
                            r10=f"{np.mean([o.robust_10_shakes for o in done]):.2f}")
    return outcomes


def _rates(outcomes: list[CaseOutcome]) -> dict:
    n = len(outcomes)
    if n == 0:
        return {"n": 0}
    return {"n": n,
            "robust_1_shake": float(np.mean([o.robust_1_shake for o in outcomes])),
            "robust_10_shakes": float(np.mean([o.robust_10_shakes for o in outcomes])),
            "plan_ok": float(np.mean([o.plan_status == "OK" for o in outcomes])),
            "ok_and_robust_10": float(np.mean([o.success for o in outcomes])),
            "planned": float(np.mean([o.planned for o in outcomes])),
            "median_plan_s": float(np.median([o.plan_s for o in outcomes]))}


def summarize(outcomes: list[CaseOutcome]) -> dict:
    """Success rates per tilt, per noise level, per (tilt, noise), overall, and for the clean case;
    counts of plan statuses and labels."""
    scenes = [o for o in outcomes if o.case == "scene"]
    clean = [o for o in outcomes if o.case == "clean"]
    tilts = sorted({o.tilt_deg for o in scenes})
    noises = list(dict.fromkeys(o.noise for o in scenes))

    def counts(items, key):
        out: dict[str, int] = {}
        for o in items:
            out[getattr(o, key)] = out.get(getattr(o, key), 0) + 1
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    return {
        "scenes": _rates(scenes),
        "clean": _rates(clean),
        "heuristic": _rates([o for o in outcomes if o.case == "heuristic"]),
        "no_pose": _rates([o for o in outcomes if o.case == "no_pose"]),
        "per_tilt": {f"{t:g}": _rates([o for o in scenes if o.tilt_deg == t]) for t in tilts},
        "per_noise": {n: _rates([o for o in scenes if o.noise == n]) for n in noises},
        "per_tilt_noise": {f"{t:g}|{n}": _rates([o for o in scenes if o.tilt_deg == t and o.noise == n])
                           for t in tilts for n in noises},
        "plan_status_scenes": counts(scenes, "plan_status"),
        "plan_status_clean": counts(clean, "plan_status"),
        "labels_scenes": counts(scenes, "label"),
        "labels_clean": counts(clean, "label"),
        "failure_messages": counts([o for o in scenes if o.plan_status == "INVALID_INPUT"], "plan_message"),
        "targets": sorted({o.object_name for o in outcomes}),
    }


def format_table(summary: dict) -> str:
    """The issue's table (markdown): success at 1 and 10 shakes per tilt, per noise level, clean case."""
    def row(name, r):
        if not r.get("n"):
            return f"| {name} | 0 | - | - | - |"
        return (f"| {name} | {r['n']} | {r['robust_1_shake']:.0%} | {r['robust_10_shakes']:.0%} | "
                f"{r['plan_ok']:.0%} |")

    lines = ["| condition | grasps | robust after 1 shake | robust after 10 shakes | plan OK |",
             "|---|---:|---:|---:|---:|"]
    lines += [row(f"tilt {t} deg (all noise)", r) for t, r in summary["per_tilt"].items()]
    lines += [row(f"noise: {n} (all tilts)", r) for n, r in summary["per_noise"].items()]
    lines.append(row("**all scenes**", summary["scenes"]))
    lines.append(row(f"**{CLEAN}** (paper's case, same objects)", summary["clean"]))
    if summary.get("heuristic", {}).get("n"):
        lines.append(row("top-down heuristic, same scene images (no network)", summary["heuristic"]))
    if summary.get("no_pose", {}).get("n"):
        lines.append(row("planner with no initial pose, same scene images", summary["no_pose"]))
    noises = list(summary["per_noise"])
    grid = ["", "robust after 10 shakes (1 shake) by tilt x noise:", "",
            "| tilt \\ noise | " + " | ".join(noises) + " |", "|---|" + "---:|" * len(noises)]
    for t in summary["per_tilt"]:
        cells = []
        for n in noises:
            r = summary["per_tilt_noise"][f"{t}|{n}"]
            cells.append(f"{r['robust_10_shakes']:.0%} ({r['robust_1_shake']:.0%})" if r.get("n") else "-")
        grid.append(f"| {t} deg | " + " | ".join(cells) + " |")
    reasons = ["", "plan status (scenes): " + ", ".join(f"{k} {v}" for k, v in summary["plan_status_scenes"].items()),
               "plan status (clean): " + ", ".join(f"{k} {v}" for k, v in summary["plan_status_clean"].items()),
               "labels (scenes): " + ", ".join(f"{k} {v}" for k, v in summary["labels_scenes"].items()),
               "labels (clean): " + ", ".join(f"{k} {v}" for k, v in summary["labels_clean"].items())]
    return "\n".join(lines + grid + reasons)
