"""Generate the simulated grasp database: per object, qualified poses, Klamp't labels, depth images, one shard.

One worker function, ``generate_object``, does a whole object and returns its ``Shard``; the driver
writes shards (so a Ray cluster needs no shared file system), keeps the manifest and the progress bar.
It runs in-process (1 worker), on a forked process pool (default) or on Ray (``cluster``), and every
object draws only from ``SeedSequence([seed, index])``, so any backend, order, kill and resume gives
the same shards.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grasp_planner.data.dataset_config import DatasetConfig
from grasp_planner.data.mesh_loader import load_mesh_file, mesh_files
from grasp_planner.data.objects import procedural_object
from grasp_planner.data.render import synthesize_views
from grasp_planner.data.shards import (LABEL_NAMES, SHARDS_DIR, Shard, ShardError, finished_shards,
                                       read_manifest, read_shard, shard_path, write_manifest, write_shard)
from grasp_planner.version import code_version

#: stages timed per object (seconds), the profile bench_generate.py reports
STAGES = ("object", "qualify", "sim", "render", "write")


@dataclass(frozen=True)
class ObjectTask:
    """One object to generate: procedural (``path is None``) or a mesh file."""

    index: int
    seed: int
    path: str | None
    config: dict          # DatasetConfig.to_dict()
    sim_config: dict      # SimConfig.to_dict()


@dataclass
class ObjectResult:
    """What a worker sends back: the shard, or the error that made it skip the object."""

    index: int
    shard: Shard | None
    error: str | None
    timings: dict = field(default_factory=dict)
    sim_errors: int = 0


def parse_objects(objects: str, seed: int) -> list[tuple[int, str | None]]:
    """``procedural:N`` or a mesh directory -> ``[(index, mesh path or None), ...]``.

    Directory indices follow the sorted file list, so a file keeps its index when others fail.
    """
    if objects.startswith("procedural:"):
        count = objects.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"--objects procedural:N needs a positive integer N, got {objects!r}")
        return [(i, None) for i in range(int(count))]
    path = Path(objects)
    if not path.is_dir():
        raise ValueError(f"--objects must be 'procedural:N' or an existing mesh directory, got {objects!r}")
    files = mesh_files(path)
    if not files:
        raise ValueError(f"--objects {objects}: no .off/.obj/.stl/.ply files found")
    return [(i, str(p)) for i, p in enumerate(files)]


def generate_object(task: ObjectTask) -> ObjectResult:
    """Build, label and render one object; never raises (errors come back in the result).

    Draws from ``SeedSequence([seed, index])`` only: children 0, 1, 2 drive qualified sampling,
    labelling and view synthesis, so each stage's randomness is independent of the others' counts.
    """
    timings = {stage: 0.0 for stage in STAGES}
    try:
        from grasp_planner.sim.config import SimConfig
        from grasp_planner.sim.qualify import sample_qualified_poses
        from grasp_planner.sim.quiet import silenced_output
        from grasp_planner.sim.simulate import GraspSimulator

        config = DatasetConfig(**task.config)
        sim_config = SimConfig.from_dict(task.sim_config)
        t0 = time.perf_counter()
        if task.path is None:
            mesh = procedural_object(task.index, task.seed)
        else:
            mesh = load_mesh_file(task.path, config.mesh_scale, config.max_faces)
        timings["object"] = time.perf_counter() - t0
        rng_qualify, rng_label, rng_views = (np.random.default_rng(s) for s in
                                             np.random.SeedSequence([task.seed, task.index]).spawn(3))
        t0 = time.perf_counter()
        with silenced_output():
            poses = np.asarray(sample_qualified_poses(mesh.vertices, mesh.faces, rng_qualify,
                                                      config.grasps_per_object, sim_config)).reshape(-1, 4, 4)
        timings["qualify"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        kept, labels, after_1 = [], [], []
        sim_errors = 0
        with silenced_output():
            simulator = GraspSimulator(mesh.vertices, mesh.faces, sim_config) if len(poses) else None
            for T in poses:
                try:
                    outcome = simulator.label(T, rng_label)
                except Exception:  # one bad grasp must not cost the object: skip it, count it
                    sim_errors += 1
                    continue
                kept.append(T)
                labels.append(int(outcome.label))
                after_1.append(bool(outcome.robust_after_1_shake))
        timings["sim"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        views = synthesize_views(mesh, config.images_per_object, rng_views, config.resolution,
                                 config.view_distance_m, config.view_margin)
        timings["render"] = time.perf_counter() - t0
        shard = Shard(object_index=task.index, object_name=mesh.name, object_kind=mesh.kind, seed=task.seed,
                      code_version="", config={"dataset": task.config, "sim": task.sim_config},
                      vertices=mesh.vertices, faces=mesh.faces, depth=views.depth, cameras=views.cameras,
                      T_cam_obj=views.T_cam_obj, T_obj_hand=np.asarray(kept).reshape(-1, 4, 4),
                      label=np.asarray(labels, dtype=np.int8), robust_after_1_shake=np.asarray(after_1, dtype=bool))
        return ObjectResult(task.index, shard, None, timings, sim_errors)
    except Exception as exc:
        where = task.path or f"procedural object {task.index}"
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        return ObjectResult(task.index, None, f"{where}: {detail}", timings)


@dataclass
class GenerationSummary:
    """What a run did: shards written now, skipped as finished, failures, label counts, stage timings (s)."""

    written: list[int] = field(default_factory=list)
    resumed: int = 0
    failures: list[dict] = field(default_factory=list)
    counts: dict = field(default_factory=lambda: {name: 0 for name in LABEL_NAMES})
    timings: dict = field(default_factory=lambda: {stage: 0.0 for stage in STAGES})
    images: int = 0
    wall_s: float = 0.0
    manifest: Path | None = None

    @property
    def grasps(self) -> int:
        return int(sum(self.counts.values()))


def _pool_initializer():
    """Silence the Klamp't C++ layer for the worker's whole life (fd-level; tqdm runs in the parent)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)


def _results_in_process(tasks):
    for task in tasks:
        yield generate_object(task)


def _results_pool(tasks, workers: int):
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_pool_initializer, maxtasksperchild=50) as pool:
        yield from pool.imap_unordered(generate_object, tasks, chunksize=1)


def _results_ray(tasks, cluster: str):
    import ray

    if not ray.is_initialized():
        ray.init(address=cluster, log_to_driver=False)
    remote = ray.remote(num_cpus=1, max_retries=2)(generate_object)
    pending = [remote.remote(task) for task in tasks]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        yield ray.get(done[0])


def generate_dataset(objects: str, out_dir, workers: int = 1, config: DatasetConfig | None = None,
                     seed: int = 0, resume: bool = False, cluster: str | None = None,
                     progress: bool = True) -> GenerationSummary:
    """Generate (or finish) a dataset folder: ``<out>/shards/obj_*.h5`` and ``<out>/manifest.json``.

    Parameters
    ----------
    objects : ``procedural:N`` or a directory of mesh files.
    out_dir : dataset folder; must hold no finished shards unless ``resume``.
    workers : processes for the local pool (1 = in this process); ignored with ``cluster``.
    config : counts and camera; default config/dataset_standard.yaml.
    seed : the run seed; object ``i`` draws from ``SeedSequence([seed, i])``.
    resume : keep finished shards (and the manifest's seed must match) and generate only the rest.
    cluster : Ray address (``ray://host:10001`` or ``auto``); an already initialised Ray is used as is.

    Returns
    -------
    GenerationSummary. Objects that fail are skipped, reported in it and in the manifest.
    """
    from grasp_planner.sim.config import SimConfig

    config = config or DatasetConfig.load()
    if int(workers) < 1:
        raise ValueError(f"--workers must be >= 1, got {workers}")
    out_dir = Path(out_dir)
    sim_config = SimConfig.load(config.sim_config)
    items = parse_objects(objects, seed)
    done_before = finished_shards(out_dir)
    if done_before and not resume:
        raise ValueError(f"{out_dir} already holds {len(done_before)} finished shards; pass --resume to "
                         f"finish that run or choose an empty --out")
    configs = {"dataset": config.to_dict(), "sim": sim_config.to_dict()}
    if resume and (out_dir / "manifest.json").exists():
        _check_resumable(read_manifest(out_dir), out_dir, seed, configs, objects)
    (out_dir / SHARDS_DIR).mkdir(parents=True, exist_ok=True)
    for stale in (out_dir / SHARDS_DIR).glob("*.h5.tmp"):  # half shards of a killed run
        stale.unlink()
    for path in finished_shards(out_dir):  # a corrupt shard is regenerated, not kept
        try:
            read_shard(path, images=False)
        except (ShardError, OSError):
            print(f"generate: {path} is corrupt; regenerating it", file=sys.stderr)
            path.unlink()
    version = code_version()
    # written at the start (and again at the end): a killed run can be checked and resumed
    write_manifest(out_dir, seed, configs, version, finished_shards(out_dir), [], objects)
    tasks = [ObjectTask(i, seed, path, config.to_dict(), sim_config.to_dict())
             for i, path in items if not shard_path(out_dir, i).exists()]
    summary = GenerationSummary(resumed=len(items) - len(tasks))
    if cluster:
        results = _results_ray(tasks, cluster)
    elif workers > 1:
        results = _results_pool(tasks, int(workers))
    else:
        results = _results_in_process(tasks)
    start = time.perf_counter()
    from tqdm import tqdm

    bar = tqdm(total=len(tasks), desc="objects", unit="obj", disable=not progress, dynamic_ncols=True)
    for result in results:
        for stage, seconds in result.timings.items():
            summary.timings[stage] += seconds
        if result.error:
            summary.failures.append({"object_index": result.index, "error": result.error})
            bar.write(f"skipped {result.error}")
        else:
            shard = result.shard
            t0 = time.perf_counter()
            write_shard(shard_path(out_dir, result.index), _with_version(shard, version))
            summary.timings["write"] += time.perf_counter() - t0
            summary.written.append(result.index)
            for name, n in shard.label_counts.items():
                summary.counts[name] += n
            summary.images += len(shard.T_cam_obj)
            if result.sim_errors:
                bar.write(f"object {result.index}: {result.sim_errors} grasps skipped after simulator errors")
        elapsed = time.perf_counter() - start
        bar.set_postfix(grasps_s=f"{summary.grasps / max(elapsed, 1e-9):.1f}",
                        **{name[0].upper(): n for name, n in summary.counts.items()})
        bar.update(1)
    bar.close()
    summary.wall_s = time.perf_counter() - start
    summary.manifest = write_manifest(out_dir, seed, configs, version, finished_shards(out_dir), summary.failures,
                                      objects)
    return summary


def _check_resumable(previous: dict, out_dir: Path, seed: int, configs: dict, objects: str) -> None:
    """--resume continues only the same run: same seed, configs and object source (ValueError naming the file)."""
    where = out_dir / "manifest.json"
    if previous.get("seed") != seed:
        raise ValueError(f"{where}: --resume with --seed {seed} but the dataset was made with seed "
                         f"{previous.get('seed')}")
    if previous.get("config") != json.loads(json.dumps(configs)):
        raise ValueError(f"{where}: --resume with other dataset or sim settings than the dataset was made with; "
                         f"use the same --config or another --out")
    if previous.get("objects", objects) != objects:
        raise ValueError(f"{where}: --resume with --objects {objects!r} but the dataset was made from "
                         f"{previous.get('objects')!r}")


def _with_version(shard: Shard, version: str) -> Shard:
    from dataclasses import replace

    return replace(shard, code_version=version)
