"""HDF5 dataset shards (one per object) and the dataset manifest, exactly as docs/architecture.md states.

A shard holds one object's mesh, its synthesized depth images (stored once) and its labelled grasps in
the object frame; a training sample is a pair (image m, grasp g) of one shard with
``T_cam_hand = T_cam_obj[m] @ T_obj_hand[g]``. Shards are written to ``*.h5.tmp`` and renamed when
complete, so a killed run never leaves a half shard under the final name. Reading validates every
field and names the file on any problem; nothing on the load path unpickles.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

#: shard file name of object ``index`` inside ``<out>/shards/``
SHARD_PATTERN = "obj_{index:05d}.h5"
SHARDS_DIR = "shards"
MANIFEST = "manifest.json"
#: label names in ``GraspLabel`` order (FAILED=0, LOOSE=1, ROBUST=2; sim/labels.py)
LABEL_NAMES = ("failed", "loose", "robust")


class ShardError(ValueError):
    """A shard or manifest that cannot be read or does not follow the format; the message names the file."""


@dataclass(frozen=True)
class Shard:
    """Everything one shard holds (field names follow the HDF5 paths).

    vertices (V,3) f4 and faces (F,3) i4: the object mesh, object frame, m.
    depth (M,H,W) f4 m, 0 = background; cameras (M,6) f8 fx, fy, cx, cy, width, height;
    T_cam_obj (M,4,4) f8; T_obj_hand (G,4,4) f8; label (G,) i1 ``GraspLabel``;
    robust_after_1_shake (G,) bool. ``config`` is the generation config as a dict.
    """

    object_index: int
    object_name: str
    object_kind: str
    seed: int
    code_version: str
    config: dict
    vertices: np.ndarray
    faces: np.ndarray
    depth: np.ndarray
    cameras: np.ndarray
    T_cam_obj: np.ndarray
    T_obj_hand: np.ndarray
    label: np.ndarray
    robust_after_1_shake: np.ndarray
    path: Path | None = field(default=None, compare=False)

    @property
    def label_counts(self) -> dict[str, int]:
        """Grasps per label name."""
        counts = np.bincount(np.asarray(self.label, dtype=np.int64), minlength=3)
        return {name: int(counts[i]) for i, name in enumerate(LABEL_NAMES)}


#: dataset path -> (attribute on Shard, dtype, shape with None for free sizes and names for shared sizes)
LAYOUT = {
    "mesh/vertices": ("vertices", np.float32, ("V", 3)),
    "mesh/faces": ("faces", np.int32, ("F", 3)),
    "images/depth": ("depth", np.float32, ("M", "H", "W")),
    "images/camera": ("cameras", np.float64, ("M", 6)),
    "images/T_cam_obj": ("T_cam_obj", np.float64, ("M", 4, 4)),
    "grasps/T_obj_hand": ("T_obj_hand", np.float64, ("G", 4, 4)),
    "grasps/label": ("label", np.int8, ("G",)),
    "grasps/robust_after_1_shake": ("robust_after_1_shake", np.bool_, ("G",)),
}
ATTRS = ("object_index", "object_name", "object_kind", "seed", "code_version", "config")


def shard_path(out_dir, index: int) -> Path:
    """``<out>/shards/obj_<index:05d>.h5``."""
    return Path(out_dir) / SHARDS_DIR / SHARD_PATTERN.format(index=int(index))


def _check_shapes(arrays: dict, where: str) -> None:
    sizes: dict[str, int] = {}
    for key, (attr, _, shape) in LAYOUT.items():
        value = arrays[attr]
        if value.ndim != len(shape):
            raise ShardError(f"{where}: {key} must have {len(shape)} dimensions, got shape {value.shape}")
        for dim, want in zip(value.shape, shape):
            if isinstance(want, int):
                if dim != want:
                    raise ShardError(f"{where}: {key} has shape {value.shape}, expected {shape}")
            elif sizes.setdefault(want, dim) != dim:
                raise ShardError(f"{where}: {key} has {want}={dim} but another field has {want}={sizes[want]}")
    if sizes["F"] and (arrays["faces"].min() < 0 or arrays["faces"].max() >= sizes["V"]):
        raise ShardError(f"{where}: mesh/faces index outside 0..{sizes['V'] - 1}")
    labels = arrays["label"]
    if labels.size and (labels.min() < 0 or labels.max() > 2):
        raise ShardError(f"{where}: grasps/label holds values outside 0..2: {np.unique(labels).tolist()}")
    for attr in ("vertices", "cameras", "T_cam_obj", "T_obj_hand"):
        if not np.all(np.isfinite(arrays[attr])):
            raise ShardError(f"{where}: {attr} contains NaN or inf")


def write_shard(path, shard: Shard) -> Path:
    """Write ``shard`` to ``path`` atomically: into ``<path>.tmp``, then renamed over ``path``.

    Depth images are gzip-compressed per image (mostly background zeros); h5py reads them back
    transparently. Returns the final path.
    """
    path = Path(path)
    arrays = {attr: np.asarray(getattr(shard, attr), dtype=dtype) for attr, dtype, _ in LAYOUT.values()}
    _check_shapes(arrays, str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w", track_order=True) as f:
        f.attrs["object_index"] = int(shard.object_index)
        f.attrs["object_name"] = str(shard.object_name)
        f.attrs["object_kind"] = str(shard.object_kind)
        f.attrs["seed"] = int(shard.seed)
        f.attrs["code_version"] = str(shard.code_version)
        f.attrs["config"] = json.dumps(shard.config, sort_keys=True)
        for key, (attr, _, _) in LAYOUT.items():
            data = arrays[attr]
            if key == "images/depth" and data.shape[0] > 0:
                f.create_dataset(key, data=data, chunks=(1,) + data.shape[1:], compression="gzip",
                                 compression_opts=1, shuffle=True)
            else:
                f.create_dataset(key, data=data)
    os.replace(tmp, path)
    return path


def read_shard(path, images: bool = True) -> Shard:
    """Read and validate one shard.

    Parameters
    ----------
    path : the ``.h5`` file.
    images : False skips loading ``images/depth`` (an empty (M,0,0) array stands in), for statistics.

    Raises
    ------
    ShardError naming ``path`` when the file is missing, not HDF5, truncated, or breaks the format.
    """
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            missing = [k for k in LAYOUT if k not in f] + [a for a in ATTRS if a not in f.attrs]
            if missing:
                raise ShardError(f"{path}: not a grasp shard, missing {missing}")
            arrays = {}
            for key, (attr, dtype, _) in LAYOUT.items():
                if key == "images/depth" and not images:
                    arrays[attr] = np.zeros((f[key].shape[0], 0, 0), dtype=np.float32)
                else:
                    arrays[attr] = np.asarray(f[key][()], dtype=dtype)
            attrs = {a: f.attrs[a] for a in ATTRS}
    except ShardError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ShardError(f"{path}: cannot read shard ({type(exc).__name__}: {exc})") from exc
    if images:
        _check_shapes(arrays, str(path))
    try:
        config = json.loads(attrs["config"])
    except (TypeError, json.JSONDecodeError) as exc:
        raise ShardError(f"{path}: attribute 'config' is not a JSON string ({exc})") from exc
    return Shard(object_index=int(attrs["object_index"]), object_name=str(attrs["object_name"]),
                 object_kind=str(attrs["object_kind"]), seed=int(attrs["seed"]),
                 code_version=str(attrs["code_version"]), config=config, path=path, **arrays)


def finished_shards(out_dir) -> list[Path]:
    """Completed shard files under ``<out>/shards`` (``*.h5``, never ``*.h5.tmp``), sorted by name."""
    return sorted((Path(out_dir) / SHARDS_DIR).glob("obj_*.h5"))


def write_manifest(out_dir, seed: int, config: dict, version: str, shards: list, failures: list | None = None,
                   objects: str = "") -> Path:
    """Write ``<out>/manifest.json`` atomically from the finished shards.

    Parameters
    ----------
    shards : paths of finished shards; their label counts are read (without images) and summed.
    failures : ``{"object_index", "object_name", "error"}`` records of objects skipped in this run.
    objects : the ``--objects`` source string, for the record.
    """
    counts = {name: 0 for name in LABEL_NAMES}
    entries = []
    n_images = 0
    for p in sorted(Path(s) for s in shards):
        shard = read_shard(p, images=False)
        c = shard.label_counts
        for k in counts:
            counts[k] += c[k]
        n_images += len(shard.T_cam_obj)
        entries.append({"file": f"{SHARDS_DIR}/{p.name}", "object_index": shard.object_index,
                        "object_name": shard.object_name, "grasps": int(len(shard.label)),
                        "images": int(len(shard.T_cam_obj)), "labels": c})
    manifest = {"format": "grasp_planner shards v1", "seed": int(seed), "objects": objects,
                "config": config, "code_version": version, "counts": counts,
                "grasps": int(sum(counts.values())), "images": n_images, "shards": entries,
                "failures": list(failures or [])}
    path = Path(out_dir) / MANIFEST
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, path)
    return path


def read_manifest(out_dir) -> dict:
    """The manifest of a dataset folder; ShardError naming the file if missing or not JSON."""
    path = Path(out_dir) / MANIFEST
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ShardError(f"{path}: cannot read manifest ({exc})") from exc
