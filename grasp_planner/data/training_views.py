"""Training views of the label store made the way the node sees a scene, cached in an ignored folder.

One view of a stored object: the table scene rebuilt from the store (``table_views``), rendered by
a robot-like camera (``table_views.view_camera``: 0.3-0.8 m, tilt 0-60 degrees, any azimuth), one
of the noise levels of the real-camera evaluation applied (sensor model, holes), then the node's own
``perception.normalize_view`` with the object's pose as the initial pose. What is kept is what
``GraspPlanner.plan`` hands the network: the virtual view (depth, intrinsics) and the object's pose
in the virtual frame, so every stored grasp ``T_obj_hand`` becomes ``T_virtual_obj @ T_obj_hand``.

Why a cache: a view costs ~0.1 s of one core (render, noise, plane fit, splatting) against ~5 ms
of a training step per image, so views are rendered once per (store batch, parameters) into
``<cache>/<params hash>/<batch sha256[:16]>.npz`` (depth in 0.1 mm as uint16: 0.05 mm rounding) and
read by ``learning.table_dataset``. A grown store renders only its new batches.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from tqdm import tqdm

from grasp_planner.camera import PinholeCamera
from grasp_planner.contract.model_card import VIEW_BACKGROUNDS
from grasp_planner.data import table_views as tv
from grasp_planner.data.label_store import read_batch, read_manifest
from grasp_planner.perception.noise import SensorNoise

CACHE_FORMAT = "grasp_planner training views 1"
#: the real-camera evaluation's noise levels (perception/evaluate.py NOISE_LEVELS), drawn per view
NOISE_LEVELS = {"clean": None, "sensor": SensorNoise(), "sensor+20% holes": SensorNoise(hole_fraction=0.2)}
_NOISE_STREAM = 104729  # SeedSequence key of the noise draws, apart from view_camera's
#: depth quantum of the cache (m): the network input it changes by at most 0.05 mm / scale_m
CACHE_QUANTUM = 1e-4
#: a view whose chosen cluster lies farther than this (m, across the table) from the object is skipped
MAX_TARGET_OFFSET = 0.05


@dataclass(frozen=True)
class ViewParams:
    """How training views are made; their hash names the cache folder."""

    views_per_object: int = 8
    scale: float = 0.5           # of the 640x480 RealSense-like camera
    resolution: int = 128        # the virtual view (the network input)
    background: str = "none"     # perception.view BACKGROUNDS
    noise: tuple = tuple(NOISE_LEVELS)

    def __post_init__(self):
        if self.background not in VIEW_BACKGROUNDS:
            raise ValueError(f"views background must be one of {list(VIEW_BACKGROUNDS)}, got {self.background!r}")
        unknown = [n for n in self.noise if n not in NOISE_LEVELS]
        if unknown or not self.noise:
            raise ValueError(f"views noise must be names from {list(NOISE_LEVELS)}, got {list(self.noise)}")
        if int(self.views_per_object) < 1 or not 0.05 <= float(self.scale) <= 1.0:
            raise ValueError(f"views_per_object must be >= 1 and scale in [0.05, 1], got "
                             f"{self.views_per_object}, {self.scale}")

    @classmethod
    def from_dict(cls, data: dict | None) -> "ViewParams":
        data = dict(data or {})
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"views: unknown key(s) {unknown}; known: {sorted(cls.__dataclass_fields__)}")
        if "noise" in data:
            data["noise"] = tuple(data["noise"])
        return cls(**data)

    def to_dict(self) -> dict:
        return {**asdict(self), "noise": list(self.noise)}

    def key(self) -> str:
        text = json.dumps({"format": CACHE_FORMAT, **self.to_dict()}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class TrainingView:
    """One normalised view: what the network gets, and the object's pose in the view's frame."""

    depth: np.ndarray        # (res, res) float32 m, 0 = no return
    camera: PinholeCamera    # the virtual view's intrinsics
    T_virtual_obj: np.ndarray
    noise: int               # position in ViewParams.noise


def camera_image(seed: int, object_arrays: dict, row: int, view: int, params: ViewParams):
    """(noisy depth, camera, T_camera_table, T_camera_obj, noise level) of one view: what the robot's camera sends."""
    index = int(object_arrays["object_index"][row])
    scene = tv.stored_scene(seed, index, object_arrays["T_table_obj"][row], object_arrays["neighbour_index"][row],
                            object_arrays["T_table_neighbour"][row])
    camera, T_camera_table = tv.view_camera(seed, index, view, scene.poses[0][:3, 3], params.scale)
    depth = tv.render_view(scene, camera, T_camera_table)
    rng = np.random.default_rng(np.random.SeedSequence([seed, index, _NOISE_STREAM, int(view)]))
    level = int(rng.integers(len(params.noise)))
    noise = NOISE_LEVELS[params.noise[level]]
    if noise is not None:
        depth = noise.apply(depth, rng)
    return depth, camera, T_camera_table, T_camera_table @ scene.poses[0], level


def training_view(seed: int, object_arrays: dict, row: int, view: int, params: ViewParams) -> TrainingView | None:
    """The view the node would plan on for this camera image; None where the node would not see the object."""
    from grasp_planner.perception.view import normalize_view  # perception: loaded in the rendering processes

    depth, camera, _, T_camera_obj, level = camera_image(seed, object_arrays, row, view, params)
    try:
        view_ = normalize_view(depth, camera, T_camera_obj, resolution=params.resolution, background=params.background)
    except ValueError:  # no table or no object left after noise and occlusion
        return None
    offset = view_.target.centroid - T_camera_obj[:3, 3]
    offset -= (offset @ view_.plane.normal) * view_.plane.normal
    if np.linalg.norm(offset) > MAX_TARGET_OFFSET:  # the chosen cluster is a neighbour, not the object
        return None
    T_virtual_obj = view_.T_camera_virtual.inverse().matrix() @ T_camera_obj
    return TrainingView(view_.depth, view_.camera, T_virtual_obj, level)


def _render_batch(job) -> tuple[str, dict, int]:
    seed, store, entry, params, out = job
    arrays = read_batch(store, entry).arrays
    rows, views, depth, cameras, poses, noise = [], [], [], [], [], []
    skipped = 0
    for row in range(len(arrays["object_index"])):
        for view in range(params.views_per_object):
            v = training_view(seed, arrays, row, view, params)
            if v is None:
                skipped += 1
                continue
            rows.append(row)
            views.append(view)
            depth.append(np.round(v.depth / CACHE_QUANTUM).astype(np.uint16))
            cameras.append(v.camera.as_array())
            poses.append(v.T_virtual_obj)
            noise.append(v.noise)
    res = params.resolution
    data = {"row": np.asarray(rows, np.int32), "view": np.asarray(views, np.int32),
            "depth": np.asarray(depth, np.uint16).reshape(-1, res, res),
            "camera": np.asarray(cameras, np.float64).reshape(-1, 6),
            "T_virtual_obj": np.asarray(poses, np.float64).reshape(-1, 4, 4), "noise": np.asarray(noise, np.int8)}
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez_compressed(tmp, **data)
    os.replace(tmp, out)
    return entry["file"], data, skipped


def cache_dir(cache_root, params: ViewParams) -> Path:
    return Path(cache_root) / params.key()


def cached_file(cache_root, params: ViewParams, entry: dict) -> Path:
    return cache_dir(cache_root, params) / f"{entry['file'][:-4]}_{entry['sha256'][:16]}.npz"


def build_cache(store, cache_root, params: ViewParams, workers: int = 1, progress: bool = True,
                max_objects: int | None = None) -> Path:
    """Render every store batch not yet in ``<cache_root>/<params.key()>/``; the folder.

    ``max_objects``: only the batches holding the first objects (smoke tests, small runs).
    """
    manifest = read_manifest(store)
    folder = cache_dir(cache_root, params)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "params.json").write_text(json.dumps({"format": CACHE_FORMAT, **params.to_dict()}, indent=1) + "\n")
    entries = _entries(manifest, max_objects)
    todo = [(manifest["seed"], Path(store), e, params, cached_file(cache_root, params, e))
            for e in entries if not cached_file(cache_root, params, e).is_file()]
    skipped = 0
    if todo:
        if workers > 1:
            with get_context("spawn").Pool(workers) as pool:
                results = pool.imap_unordered(_render_batch, todo)
                for _, _, s in tqdm(results, total=len(todo), desc="rendering views", disable=not progress):
                    skipped += s
        else:
            for job in tqdm(todo, desc="rendering views", disable=not progress):
                skipped += _render_batch(job)[2]
    if progress and todo:
        tqdm.write(f"views: rendered {len(todo)} batch(es) into {folder}; {skipped} view(s) skipped "
                   f"(object not found by normalize_view)")
    return folder


def _entries(manifest: dict, max_objects: int | None) -> list[dict]:
    entries, total = [], 0
    for entry in manifest["batches"]:
        if max_objects is not None and total >= max_objects:
            break
        entries.append(entry)
        total += entry["n_objects"]
    return entries


def read_cached(store, cache_root, params: ViewParams, max_objects: int | None = None):
    """Yield (store batch arrays, cached view arrays) per batch; StoreError/FileNotFoundError name what is missing."""
    manifest = read_manifest(store)
    for entry in _entries(manifest, max_objects):
        path = cached_file(cache_root, params, entry)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: views not rendered; run `grasp-planner train --store {store}` "
                                    f"(it renders them) or data.training_views.build_cache")
        with np.load(path, allow_pickle=False) as data:
            views = {k: data[k] for k in data.files}
        yield read_batch(store, entry).arrays, views


def main(argv=None) -> int:
    """``python -m grasp_planner.data.training_views --store S --cache C``: render the views only (device stage)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="render a label store's training views into the cache")
    parser.add_argument("--store", default="datasets/labels")
    parser.add_argument("--cache", default="datasets/cache/views")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--background", nargs="+", default=["none"], choices=list(VIEW_BACKGROUNDS))
    parser.add_argument("--views-per-object", type=int, default=ViewParams.views_per_object)
    parser.add_argument("--max-objects", type=int)
    args = parser.parse_args(argv)
    try:
        for background in args.background:
            params = ViewParams(views_per_object=args.views_per_object, background=background)
            print(build_cache(args.store, args.cache, params, args.workers, sys.stderr.isatty(), args.max_objects))
    except (ValueError, OSError) as exc:
        print(f"training_views: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
