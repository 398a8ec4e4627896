"""The label store: table-world simulation results, compact, committed to git, grown by ``--append``.

Layout (docs/table_world.md)::

    <store>/manifest.json         seed, world, the configs and their hash, code version, per-batch sha256
    <store>/batch_00000.npz       one compressed file per batch of objects (never rewritten)

A batch holds, per object: its procedural index, the settled resting pose, the neighbours (index and
pose); per grasp: the object row, the pose in the object frame (float32 position + rotation vector),
the hard label (trial 0), the trials done and robust, each trial's label (2 bits per trial), flags
and the proposal kind. Images are not stored: ``table_views.render_view`` re-renders them
deterministically, and the manifest keeps checksums of a few to prove it. Files are read with
``allow_pickle=False``.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from grasp_planner.resources import file_sha256

FORMAT = "grasp_planner label store 1"
MANIFEST = "manifest.json"
MAX_NEIGHBOURS = 2
#: flag bits of ``grasp_flags`` (trial 0)
FLAG_ROBUST_AFTER_1 = 1
FLAG_TABLE_TOUCHED = 2
FLAG_NEIGHBOUR_MOVED = 4

OBJECT_FIELDS = ("object_index", "T_table_obj", "neighbour_index", "T_table_neighbour")
GRASP_FIELDS = ("grasp_object", "position", "rotvec", "label", "trials", "robust_trials", "trial_labels",
                "flags", "proposal")


class StoreError(ValueError):
    """A store that cannot be read or appended to; the message names the file and the field."""


def pack_pose(T_obj_hand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(G, 4, 4) -> float32 positions (G, 3) and rotation vectors (G, 3)."""
    T = np.asarray(T_obj_hand, dtype=float).reshape(-1, 4, 4)
    return T[:, :3, 3].astype(np.float32), Rotation.from_matrix(T[:, :3, :3]).as_rotvec().astype(np.float32)


def unpack_pose(position: np.ndarray, rotvec: np.ndarray) -> np.ndarray:
    """float32 positions and rotation vectors -> (G, 4, 4) float64 poses."""
    n = len(position)
    T = np.tile(np.eye(4), (n, 1, 1))
    if n:
        T[:, :3, :3] = Rotation.from_rotvec(np.asarray(rotvec, dtype=float)).as_matrix()
        T[:, :3, 3] = position
    return T


def pack_trial_labels(labels) -> int:
    """Up to 8 trial labels (0..2) as 2-bit fields of one uint16, trial 0 in the lowest bits."""
    if len(labels) > 8:
        raise ValueError(f"at most 8 trials fit a uint16, got {len(labels)}")
    return sum(int(v) << (2 * k) for k, v in enumerate(labels))


def unpack_trial_labels(code: int, trials: int) -> list[int]:
    return [(int(code) >> (2 * k)) & 3 for k in range(int(trials))]


@dataclass
class Batch:
    """One batch's arrays (``OBJECT_FIELDS`` per object, ``GRASP_FIELDS`` per grasp)."""

    arrays: dict

    @property
    def n_objects(self) -> int:
        return len(self.arrays["object_index"])

    @property
    def n_grasps(self) -> int:
        return len(self.arrays["label"])

    def T_obj_hand(self) -> np.ndarray:
        return unpack_pose(self.arrays["position"], self.arrays["rotvec"])

    @property
    def robust_fraction(self) -> np.ndarray:
        return self.arrays["robust_trials"] / np.maximum(self.arrays["trials"], 1)


def empty_object_arrays(n: int) -> dict:
    return {"object_index": np.zeros(n, np.int32), "T_table_obj": np.zeros((n, 4, 4), np.float64),
            "neighbour_index": np.full((n, MAX_NEIGHBOURS), -1, np.int32),
            "T_table_neighbour": np.zeros((n, MAX_NEIGHBOURS, 4, 4), np.float64)}


def concatenate(batches: list[dict]) -> dict:
    """Join per-object results (each with one object) into batch arrays, re-basing ``grasp_object``."""
    out = {}
    rows = []
    for k, b in enumerate(batches):
        rows.append(np.full(len(b["label"]), k, np.uint16))
    for name in OBJECT_FIELDS + GRASP_FIELDS:
        if name == "grasp_object":
            out[name] = np.concatenate(rows) if rows else np.zeros(0, np.uint16)
        else:
            out[name] = np.concatenate([b[name] for b in batches])
    return out


def write_batch(store: Path, number: int, arrays: dict) -> dict:
    """Write ``batch_<number>.npz`` atomically; its manifest entry."""
    missing = [f for f in OBJECT_FIELDS + GRASP_FIELDS if f not in arrays]
    if missing:
        raise StoreError(f"batch {number}: missing fields {missing}")
    path = store / f"batch_{number:05d}.npz"
    if path.exists():
        raise StoreError(f"{path}: exists; batches are never rewritten")
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    labels = arrays["label"]
    return {"file": path.name, "sha256": file_sha256(path), "bytes": path.stat().st_size,
            "objects": [int(arrays["object_index"].min()), int(arrays["object_index"].max())],
            "n_objects": int(len(arrays["object_index"])), "n_grasps": int(len(labels)),
            "counts": {name: int(np.sum(labels == v)) for v, name in enumerate(("failed", "loose", "robust"))}}


def read_batch(store: Path, entry: dict, check_hash: bool = True) -> Batch:
    """One batch, its hash checked against the manifest; StoreError naming the file otherwise."""
    path = Path(store) / entry["file"]
    if not path.is_file():
        raise StoreError(f"{path}: missing (listed in {Path(store) / MANIFEST})")
    if check_hash and file_sha256(path) != entry["sha256"]:
        raise StoreError(f"{path}: sha256 differs from the manifest's (corrupt or edited file)")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in OBJECT_FIELDS + GRASP_FIELDS}
    except KeyError as exc:
        raise StoreError(f"{path}: field {exc} missing") from None
    except (OSError, ValueError) as exc:
        raise StoreError(f"{path}: not a readable .npz ({exc})") from None
    return Batch(arrays)


def read_manifest(store) -> dict:
    path = Path(store) / MANIFEST
    if not path.is_file():
        raise StoreError(f"{path}: no label store manifest here")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path}: malformed JSON ({exc.msg}, line {exc.lineno})") from None
    if manifest.get("format") != FORMAT:
        raise StoreError(f"{path}: field 'format' is {manifest.get('format')!r}, expected {FORMAT!r}")
    return manifest


def write_manifest(store: Path, manifest: dict) -> Path:
    path = Path(store) / MANIFEST
    tmp = path.with_name(MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def check_compatible(manifest: dict, store: Path, seed: int, config_hash: str, source: str,
                     stored_hash: str | None = None) -> None:
    """Refuse to mix runs: the seed, the configs' hash and the object source must match the store's.

    ``stored_hash``: the store's configs hashed as the current code reads them (default: the manifest's).
    """
    where = Path(store) / MANIFEST
    stored_hash = manifest["config_hash"] if stored_hash is None else stored_hash
    if manifest["seed"] != seed:
        raise StoreError(f"{where}: the store was made with seed {manifest['seed']}, this run has --seed {seed}; "
                         f"use another --out for another seed")
    if stored_hash != config_hash:
        raise StoreError(f"{where}: the store's configs (hash {stored_hash[:12]}) differ from this "
                         f"run's ({config_hash[:12]}); use another --out for other settings")
    if manifest["source"] != source:
        raise StoreError(f"{where}: the store's objects are {manifest['source']!r}, this run's {source!r}")


def load_store(store, check_hash: bool = True) -> tuple[dict, list[Batch]]:
    """The manifest and every batch (hash-checked)."""
    manifest = read_manifest(store)
    return manifest, [read_batch(store, entry, check_hash) for entry in manifest["batches"]]


def store_stats(manifest: dict, batches: list[Batch]) -> dict:
    """Counts people quote: objects, grasps, labels, trials, objects with >= 10 robust grasps, bytes per grasp."""
    labels = np.concatenate([b.arrays["label"] for b in batches]) if batches else np.zeros(0)
    trials = np.concatenate([b.arrays["trials"] for b in batches]) if batches else np.zeros(0)
    robust_per_object = []
    for b in batches:
        robust = b.arrays["label"] == 2
        robust_per_object.extend(np.bincount(b.arrays["grasp_object"][robust], minlength=b.n_objects))
    size = sum(e["bytes"] for e in manifest["batches"])
    n = int(len(labels))
    return {"objects": int(sum(b.n_objects for b in batches)), "grasps": n,
            "failed": int(np.sum(labels == 0)), "loose": int(np.sum(labels == 1)), "robust": int(np.sum(labels == 2)),
            "trials": int(trials.sum()), "objects_with_10_robust": int(np.sum(np.asarray(robust_per_object) >= 10)),
            "objects_with_robust": int(np.sum(np.asarray(robust_per_object) >= 1)),
            "bytes": int(size), "bytes_per_grasp": size / max(n, 1)}  # = MB per million grasps
