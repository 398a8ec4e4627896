"""Grow the label store in the table world: per object, a settled scene, qualified poses, K trials each.

``label_table_object`` does one object and returns its arrays (it never raises; errors come back);
``grow_store`` runs objects on a process pool, writes a batch file every ``batch_size`` finished
objects (in index order), and keeps the manifest current, so a killed run loses at most a batch and
``--append`` continues with new indices. Every object draws only from ``SeedSequence([seed, index])``.
"""
from __future__ import annotations

import multiprocessing
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from grasp_planner.data import label_store as ls
from grasp_planner.data.generate import _pool_initializer
from grasp_planner.data.objects import procedural_object

#: neighbour meshes are procedural objects from an index range no target uses
NEIGHBOUR_INDEX_BASE = 1_000_000
#: how a stored pose was proposed; "planned": the planner's answer on a camera image (planning/planner_labels.py)
PROPOSAL_CODES = {"uniform": 0, "approach": 1, "local": 2, "planned": 3}


@dataclass(frozen=True)
class TableTask:
    index: int
    seed: int
    grasps: int
    sim_config: dict
    world_config: dict
    mix: dict
    render_check_views: int = 0


@dataclass
class TableResult:
    index: int
    arrays: dict | None
    error: str | None
    wall_s: float = 0.0
    timings: dict = field(default_factory=dict)
    checksums: list = field(default_factory=list)


def _neighbour_meshes(rng: np.random.Generator, seed: int, probability: float) -> list[tuple[int, object]]:
    if rng.uniform() >= probability:
        return []
    count = 1 + int(rng.integers(2))
    return [(idx, procedural_object(idx, seed))
            for idx in (NEIGHBOUR_INDEX_BASE + int(rng.integers(1_000_000)) for _ in range(count))]


def label_poses(simulator, sampler_T_table_obj, poses_table, rng, kind: str) -> list[dict]:
    """K trials of each pose; one record per pose."""
    records = []
    T_obj_table = np.linalg.inv(sampler_T_table_obj)
    for T in poses_table:
        out = simulator.label_repeated(T, rng)
        first = out.trials[0]
        records.append({"T_obj_hand": T_obj_table @ T, "T_table_hand": T, "label": int(out.label),
                        "trials": len(out.trials),
                        "robust_trials": sum(int(t.label) == 2 for t in out.trials),
                        "trial_labels": ls.pack_trial_labels([int(t.label) for t in out.trials]),
                        "flags": (ls.FLAG_ROBUST_AFTER_1 * first.robust_after_1_shake
                                  | ls.FLAG_TABLE_TOUCHED * first.table_touched
                                  | ls.FLAG_NEIGHBOUR_MOVED * first.neighbour_moved),
                        "proposal": PROPOSAL_CODES[kind]})
    return records


def grasp_arrays(records: list[dict]) -> dict:
    """The per-grasp batch fields (``label_store.GRASP_FIELDS``) of one object's ``label_poses`` records."""
    position, rotvec = ls.pack_pose(np.array([r["T_obj_hand"] for r in records]).reshape(-1, 4, 4))
    return dict(position=position, rotvec=rotvec,
                label=np.array([r["label"] for r in records], np.int8),
                trials=np.array([r["trials"] for r in records], np.uint8),
                robust_trials=np.array([r["robust_trials"] for r in records], np.uint8),
                trial_labels=np.array([r["trial_labels"] for r in records], np.uint16),
                flags=np.array([r["flags"] for r in records], np.uint8),
                proposal=np.array([r["proposal"] for r in records], np.uint8),
                grasp_object=np.zeros(len(records), np.uint16))


def label_table_object(task: TableTask) -> TableResult:
    """Settle, sample, simulate and pack one object (see the module docstring)."""
    from grasp_planner.sim.config import SimConfig
    from grasp_planner.sim.quiet import silenced_output
    from grasp_planner.sim.table_qualify import ProposalMix, TableQualifiedSampler
    from grasp_planner.sim.table_world import TableGraspSimulator, place_scene
    from grasp_planner.sim.world_config import TableWorldConfig

    start = time.perf_counter()
    timings = {"scene": 0.0, "qualify": 0.0, "sim": 0.0}
    try:
        sim_config = SimConfig.from_dict(task.sim_config)
        world = TableWorldConfig.from_dict(task.world_config)
        mix = ProposalMix(**task.mix)
        rng_scene, rng_qualify, rng_sim = (np.random.default_rng(s) for s in
                                           np.random.SeedSequence([task.seed, task.index]).spawn(3))
        t0 = time.perf_counter()
        target = procedural_object(task.index, task.seed)
        neighbours = _neighbour_meshes(rng_scene, task.seed, world.placement.neighbour_probability)
        with silenced_output():
            scene = place_scene(target.vertices, target.faces, rng_scene, world, sim_config,
                                neighbours=[(m.vertices, m.faces) for _, m in neighbours])
            timings["scene"] = time.perf_counter() - t0
            sampler = TableQualifiedSampler(scene, sim_config, mix, world.grip.qualify_past_table)
            simulator = TableGraspSimulator(scene, sim_config, world)
            n_uniform, n_approach, n_local = mix.counts(task.grasps)
            records = []
            for kind, n in (("uniform", n_uniform), ("approach", n_approach)):
                t0 = time.perf_counter()
                poses = sampler.propose(kind, rng_qualify, n)
                timings["qualify"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                records += label_poses(simulator, scene.target.T_table_obj, poses, rng_sim, kind)
                timings["sim"] += time.perf_counter() - t0
            robust = [r["T_table_hand"] for r in records if r["label"] == 2]
            for k in range(n_local):
                t0 = time.perf_counter()
                if robust:
                    T = sampler.local(robust[k % len(robust)], rng_qualify)
                    poses, kind = (np.empty((0, 4, 4)) if T is None else T[None]), "local"
                else:
                    poses, kind = sampler.propose("approach", rng_qualify, 1), "approach"
                timings["qualify"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                records += label_poses(simulator, scene.target.T_table_obj, poses, rng_sim, kind)
                timings["sim"] += time.perf_counter() - t0
        arrays = ls.empty_object_arrays(1)
        arrays["object_index"][0] = task.index
        arrays["T_table_obj"][0] = scene.target.T_table_obj
        for k, ((idx, _), body) in enumerate(zip(neighbours, scene.neighbours)):
            arrays["neighbour_index"][0, k] = idx
            arrays["T_table_neighbour"][0, k] = body.T_table_obj
        arrays.update(grasp_arrays(records))
        checksums = []
        if task.render_check_views:
            from grasp_planner.data.table_views import depth_checksum, stored_view
            for view in range(task.render_check_views):
                checksums.append({"object_index": task.index, "view": view,
                                  "sha256": depth_checksum(stored_view(task.seed, arrays, 0, view))})
        return TableResult(task.index, arrays, None, time.perf_counter() - start, timings, checksums)
    except Exception as exc:  # one object must not cost the run: skip it, report it
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return TableResult(task.index, None, f"procedural object {task.index}: {detail}",
                           time.perf_counter() - start, timings)


def _results(tasks, workers: int):
    if workers <= 1:
        for task in tasks:
            yield label_table_object(task)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_pool_initializer, maxtasksperchild=20) as pool:
        yield from pool.imap_unordered(label_table_object, tasks, chunksize=1)


@dataclass
class GrowSummary:
    objects: int = 0
    skipped: list = field(default_factory=list)
    grasps: int = 0
    trials: int = 0
    counts: dict = field(default_factory=lambda: {"failed": 0, "loose": 0, "robust": 0})
    batches: list = field(default_factory=list)
    wall_s: float = 0.0
    cpu_s: float = 0.0


def run_configs(sim_config_path=None, world_config_path=None, grasps: int = 50, mix=None) -> dict:
    """The configs a store is made with, as plain dicts, and their hash."""
    from grasp_planner.sim.config import SimConfig
    from grasp_planner.sim.table_qualify import ProposalMix
    from grasp_planner.sim.world_config import TableWorldConfig, config_hash

    configs = {"sim": SimConfig.load(sim_config_path).to_dict(),
               "table_world": TableWorldConfig.load(world_config_path).to_dict(),
               "proposals": asdict(mix or ProposalMix()), "grasps_per_object": int(grasps)}
    return {"configs": configs, "config_hash": config_hash(configs)}


def stored_config_hash(manifest: dict) -> str:
    """The hash of a store's configs as this code reads them: keys added since (with the default the
    store was labelled with) filled in, so a store stays appendable when a setting is added."""
    from grasp_planner.sim.config import SimConfig
    from grasp_planner.sim.table_qualify import ProposalMix
    from grasp_planner.sim.world_config import TableWorldConfig, config_hash

    stored = manifest["configs"]
    try:
        configs = {"sim": SimConfig.from_dict(stored["sim"]).to_dict(),
                   "table_world": TableWorldConfig.from_dict(stored["table_world"]).to_dict(),
                   "proposals": asdict(ProposalMix(**stored["proposals"])),
                   "grasps_per_object": int(stored["grasps_per_object"])}
    except (KeyError, TypeError, ValueError):
        return manifest["config_hash"]
    return config_hash(configs)


def grow_store(store, n_objects: int, seed: int = 0, workers: int = 2, append: bool = False, grasps: int = 50,
               batch_size: int = 10, sim_config_path=None, world_config_path=None, render_check_views: int = 1,
               progress: bool = True) -> GrowSummary:
    """Add ``n_objects`` procedural objects (new indices) to the store at ``store``.

    A new store needs an empty or missing folder; an existing one needs ``append`` and the same seed
    and configs (StoreError otherwise). Batches are written as objects finish, in index order.
    """
    from tqdm import tqdm

    from grasp_planner.version import code_version

    store = Path(store)
    run = run_configs(sim_config_path, world_config_path, grasps)
    source = "procedural"
    if (store / ls.MANIFEST).exists():
        if not append:
            raise ls.StoreError(f"{store / ls.MANIFEST}: a label store is already here; pass --append to grow it")
        manifest = ls.read_manifest(store)
        ls.check_compatible(manifest, store, seed, run["config_hash"], source, stored_config_hash(manifest))
    else:
        if store.exists() and any(store.iterdir()):
            raise ls.StoreError(f"{store}: not empty and holds no label store manifest")
        store.mkdir(parents=True, exist_ok=True)
        manifest = {"format": ls.FORMAT, "world": "table", "seed": int(seed), "source": source,
                    "config_hash": run["config_hash"], "configs": run["configs"], "batches": [],
                    "render_checksums": [], "next_object": 0, "runs": []}
    for stale in store.glob("*.tmp.npz"):
        stale.unlink()
    first = int(manifest["next_object"])
    indices = list(range(first, first + int(n_objects)))
    version = code_version()
    manifest["runs"].append({"code_version": version, "objects": [first, first + int(n_objects) - 1],
                             "started": time.strftime("%Y-%m-%dT%H:%M:%S"), "finished": None})
    ls.write_manifest(store, manifest)  # written at the start: a killed run can be checked
    tasks = [TableTask(i, int(seed), int(grasps), run["configs"]["sim"], run["configs"]["table_world"],
                       run["configs"]["proposals"], render_check_views if k % batch_size == 0 else 0)
             for k, i in enumerate(indices)]
    summary = GrowSummary()
    pending, next_write, buffer = {}, first, []
    batch_number = len(manifest["batches"])
    start = time.perf_counter()
    bar = tqdm(total=len(tasks), desc="objects", unit="obj", disable=not progress, dynamic_ncols=True)

    def flush(final: bool) -> None:
        nonlocal buffer, batch_number
        while buffer and (len(buffer) >= batch_size or final):
            chunk, buffer = buffer[:batch_size], buffer[batch_size:]
            entry = ls.write_batch(store, batch_number, ls.concatenate([r.arrays for r in chunk]))
            batch_number += 1
            manifest["batches"].append(entry)
            manifest["render_checksums"] += [c for r in chunk for c in r.checksums]
            manifest["next_object"] = int(chunk[-1].index) + 1
            ls.write_manifest(store, manifest)
            summary.batches.append(entry["file"])

    for result in _results(tasks, int(workers)):
        pending[result.index] = result
        summary.cpu_s += result.wall_s
        while next_write in pending:
            r = pending.pop(next_write)
            next_write += 1
            if r.error:
                summary.skipped.append(r.error)
                bar.write(f"skipped {r.error}")
                manifest.setdefault("skipped", []).append(r.index)
                continue
            buffer.append(r)
            summary.objects += 1
            summary.grasps += len(r.arrays["label"])
            summary.trials += int(r.arrays["trials"].sum())
            for v, name in enumerate(("failed", "loose", "robust")):
                summary.counts[name] += int(np.sum(r.arrays["label"] == v))
        flush(final=False)
        bar.set_postfix(grasps=summary.grasps, R=summary.counts["robust"],
                        g_per_core_s=f"{summary.grasps / max(summary.cpu_s, 1e-9):.2f}")
        bar.update(1)
    flush(final=True)
    bar.close()
    manifest["next_object"] = first + int(n_objects)
    manifest["runs"][-1]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    ls.write_manifest(store, manifest)
    summary.wall_s = time.perf_counter() - start
    return summary
