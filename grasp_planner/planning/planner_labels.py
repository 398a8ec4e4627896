"""Labels where the planner goes: its answers on the store's own scenes, simulated in the table world.

The network is trained on poses the sampler proposes and is then climbed by the optimizer to
poses the sampler rarely proposes, where it can be confidently wrong: a model trained on 550 store
objects said OK on 90 of the protocol's 100 plans and 45% of those held (docs/learning.md). This
module plans on a store object's camera image, as the node would, and labels each answer with the
generator's K trials in the object's settled world, so those poses join the training data (one
round of DAgger-style data aggregation per model).

Per object, ``starts`` plans (default: two pre-grasps and one without a pose): ``"pre_grasp"``, a
stored pose of the object (a robust one where it has one, else an aimed proposal) pulled back and
turned as the protocol does; ``"no_pose"``, no initial pose (auto-seeding). The image is one of
the object's training views (the same renderer, camera draw and sensor noise as
``data.training_views``), drawn per object.

The results are a label store of their own (same format, proposal kind ``"planned"``) next to the
base store: the objects' rows are copied from it, and the manifest names the base store's manifest
hash, the model and the planner settings. ``learning.table_dataset`` adds these grasps to the
*training* poses of seen objects only, so the split and every evaluation part stay those of the
base store.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from grasp_planner.data import label_store as ls

STARTS = ("pre_grasp", "pre_grasp", "no_pose")
_STREAM = 7041   # the mining draws: apart from the generator's and the views' streams


def start_pose(T_obj_hand: np.ndarray, label: np.ndarray, proposal: np.ndarray, rng: np.random.Generator):
    """A pre-grasp in the object frame: a robust stored pose if any, else an aimed one, else any; perturbed."""
    from grasp_planner.data.generate_table import PROPOSAL_CODES
    from grasp_planner.planning.evaluate import perturb_start

    for pool in (np.flatnonzero(label == 2), np.flatnonzero(proposal == PROPOSAL_CODES["approach"]),
                 np.arange(len(label))):
        if len(pool):
            return perturb_start(T_obj_hand[int(rng.choice(pool))], rng)
    return None


def plan_and_label(planner, seed: int, arrays: dict, row: int, params, starts=STARTS, sim_config=None,
                   world_config=None) -> tuple[list[dict], dict]:
    """(records of ``label_poses``, counts) for one object row of a store batch.

    Counts: plans made, plans that returned no grasp (by reason), seconds planning and simulating.
    """
    from grasp_planner.data.generate_table import label_poses
    from grasp_planner.data.table_views import stored_scene
    from grasp_planner.data.training_views import camera_image
    from grasp_planner.planning.table_protocol import table_scene
    from grasp_planner.pose import Pose
    from grasp_planner.sim.quiet import silenced_output
    from grasp_planner.sim.table_world import TableGraspSimulator

    index = int(arrays["object_index"][row])
    rng = np.random.default_rng(np.random.SeedSequence([seed, index, _STREAM]))
    mine = arrays["grasp_object"] == row
    T_obj_hand = ls.unpack_pose(arrays["position"][mine], arrays["rotvec"][mine])
    view = int(rng.integers(params.views_per_object))
    depth, camera, T_camera_table, T_camera_obj, _ = camera_image(seed, arrays, row, view, params)
    stored = stored_scene(seed, index, arrays["T_table_obj"][row], arrays["neighbour_index"][row],
                          arrays["T_table_neighbour"][row])
    counts = {"plans": 0, "no_grasp": {}, "plan_s": 0.0, "sim_s": 0.0}
    records = []
    with silenced_output():
        simulator = TableGraspSimulator(table_scene(stored), sim_config, world_config)
    for kind in starts:
        if kind == "pre_grasp":
            T_start = start_pose(T_obj_hand, arrays["label"][mine], arrays["proposal"][mine], rng)
            if T_start is None:
                continue
            initial = Pose.from_matrix(T_camera_obj @ T_start)
        elif kind == "no_pose":
            initial = None
        else:
            raise ValueError(f"start kind must be one of {STARTS}, got {kind!r}")
        t0 = time.perf_counter()
        result = planner.plan(depth, camera, initial)
        counts["plan_s"] += time.perf_counter() - t0
        counts["plans"] += 1
        if not result.grasps:
            counts["no_grasp"][result.reason.name] = counts["no_grasp"].get(result.reason.name, 0) + 1
            continue
        T_table_hand = np.linalg.inv(T_camera_table) @ result.grasps[0].pose.matrix()
        t0 = time.perf_counter()
        with silenced_output():
            records += label_poses(simulator, stored.poses[0], [T_table_hand], rng, "planned")
        counts["sim_s"] += time.perf_counter() - t0
    return records, counts


def manifest_hash(store) -> str:
    """sha256 of a store's manifest (the planning side does not import learning)."""
    from grasp_planner.resources import file_sha256
    return file_sha256(Path(store) / ls.MANIFEST)


def _config_record(config) -> dict:
    """The planner settings as the manifest keeps them (JSON types)."""
    import dataclasses
    import json
    return json.loads(json.dumps(dataclasses.asdict(config)))


def _object_arrays(arrays: dict, row: int, records: list[dict]) -> dict:
    """One object's batch arrays: its row copied from the base store, ``records`` as its grasps."""
    from grasp_planner.data.generate_table import grasp_arrays

    out = {name: arrays[name][row:row + 1].copy() for name in ls.OBJECT_FIELDS}
    out.update(grasp_arrays(records))
    return out


def _new_manifest(base: dict, base_store: Path, model_card: Path, planner_config: dict, starts) -> dict:
    from grasp_planner.resources import file_sha256

    manifest = {key: base[key] for key in ("format", "world", "seed", "source", "config_hash", "configs")}
    manifest.update(batches=[], render_checksums=[], next_object=int(base["next_object"]), runs=[],
                    planned={"base_store": str(base_store), "base_manifest_sha256": manifest_hash(base_store),
                             "model": str(model_card), "model_sha256": file_sha256(model_card),
                             "planner_config": planner_config, "starts": list(starts), "objects_done": []})
    return manifest


def mine_store(base_store, out_store, model_card, planner_config_path=None, max_objects: int | None = None,
               starts=STARTS, batch_size: int = 10, progress: bool = True, view_params=None) -> dict:
    """Plan and label every object of ``base_store`` (its first ``max_objects``) not yet in ``out_store``.

    Resumable: the objects already done are listed in the manifest and skipped; a batch file is
    written every ``batch_size`` objects. An ``out_store`` made from another base store, model or
    planner settings is refused (StoreError naming the field). Returns counts.
    """
    from tqdm import tqdm

    from grasp_planner.data.training_views import ViewParams
    from grasp_planner.planning.config import PlannerConfig
    from grasp_planner.planning.planner import GraspPlanner
    from grasp_planner.resources import file_sha256
    from grasp_planner.sim.config import SimConfig
    from grasp_planner.sim.world_config import TableWorldConfig

    base_store, out_store, model_card = Path(base_store), Path(out_store), Path(model_card)
    base, batches = ls.load_store(base_store)
    config = PlannerConfig.load(planner_config_path)
    planner = GraspPlanner.from_config(model_card, config)
    params = view_params or ViewParams()
    sim_config = SimConfig.from_dict(base["configs"]["sim"])
    world_config = TableWorldConfig.from_dict(base["configs"]["table_world"])
    if (out_store / ls.MANIFEST).exists():
        manifest = ls.read_manifest(out_store)
        planned = manifest.get("planned", {})
        expected = {"model_sha256": file_sha256(model_card), "planner_config": _config_record(config),
                    "starts": list(starts)}
        for key, value in expected.items():
            if planned.get(key) != value:
                raise ls.StoreError(f"{out_store / ls.MANIFEST}: field 'planned.{key}' differs from this run's; "
                                    f"use another --out")
        # the base store may have grown since (batches are never rewritten): its objects then are a superset
        planned["base_manifest_sha256"] = manifest_hash(base_store)
    else:
        out_store.mkdir(parents=True, exist_ok=True)
        manifest = _new_manifest(base, base_store, model_card, _config_record(config), starts)
        ls.write_manifest(out_store, manifest)
    for stale in out_store.glob("*.tmp.npz"):
        stale.unlink()
    done = set(manifest["planned"]["objects_done"])
    rows = [(b, r) for b in batches for r in range(b.n_objects)]
    if max_objects is not None:
        rows = rows[:int(max_objects)]
    todo = [(b, r) for b, r in rows if int(b.arrays["object_index"][r]) not in done]
    summary = {"objects": 0, "grasps": 0, "counts": {"failed": 0, "loose": 0, "robust": 0}, "plans": 0,
               "no_grasp": {}, "plan_s": 0.0, "sim_s": 0.0, "batches": []}
    buffer: list[tuple[int, dict]] = []
    run = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "finished": None, "objects": 0}
    manifest["runs"].append(run)

    def flush() -> None:
        nonlocal buffer
        with_grasps = [a for _, a in buffer if len(a["label"])]
        if with_grasps:
            entry = ls.write_batch(out_store, len(manifest["batches"]), ls.concatenate(with_grasps))
            manifest["batches"].append(entry)
            summary["batches"].append(entry["file"])
        manifest["planned"]["objects_done"] += [i for i, _ in buffer]
        run["objects"] += len(buffer)
        ls.write_manifest(out_store, manifest)
        buffer = []

    bar = tqdm(todo, desc="planned labels", unit="obj", disable=not progress, dynamic_ncols=True)
    for batch, row in bar:
        records, counts = plan_and_label(planner, int(base["seed"]), batch.arrays, row, params, starts,
                                         sim_config, world_config)
        buffer.append((int(batch.arrays["object_index"][row]), _object_arrays(batch.arrays, row, records)))
        summary["objects"] += 1
        summary["grasps"] += len(records)
        for r in records:
            summary["counts"][("failed", "loose", "robust")[r["label"]]] += 1
        summary["plans"] += counts["plans"]
        summary["plan_s"] += counts["plan_s"]
        summary["sim_s"] += counts["sim_s"]
        for reason, n in counts["no_grasp"].items():
            summary["no_grasp"][reason] = summary["no_grasp"].get(reason, 0) + n
        bar.set_postfix(R=summary["counts"]["robust"], F=summary["counts"]["failed"], grasps=summary["grasps"])
        if len(buffer) >= batch_size:
            flush()
    if buffer:
        flush()
    run["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    ls.write_manifest(out_store, manifest)
    return summary
