"""Training objects from the label store and its cached training views (``data.training_views``).

Each stored object becomes one :class:`~grasp_planner.learning.dataset.ObjectData`: its cached
virtual views are the images (``T_cam_obj`` = the object in the view's frame, ``cameras`` = the
virtual intrinsics), its stored grasps the poses, the hard label (trial 0) the label and the share
of K trials that held the soft label. So the paper's splits, batching and augmentation run on it
unchanged. Objects none of whose views the node could segment are left out (counted).
"""
from __future__ import annotations

import numpy as np

from grasp_planner.contract.features import DepthNormalization, normalize_depth
from grasp_planner.data.label_store import read_manifest, unpack_pose
from grasp_planner.data.training_views import CACHE_QUANTUM, ViewParams, read_cached
from grasp_planner.learning.dataset import ObjectData


def load_table_objects(store, cache_root, params: ViewParams, depth_normalization: DepthNormalization,
                       max_objects: int | None = None, planned_stores=()) -> tuple[list[ObjectData], dict]:
    """(objects, data record) from a store whose views are cached; the record goes into the run and card.

    ``planned_stores``: stores of the planner's labelled answers on this store's objects
    (planning/planner_labels.py); their grasps are added to the objects they were planned on, marked
    ``planned`` (training only); a planned store of another base seed is refused.
    """
    manifest = read_manifest(store)
    objects, without_views = [], 0
    for arrays, views in read_cached(store, cache_root, params, max_objects):
        T_obj_hand = unpack_pose(arrays["position"], arrays["rotvec"])
        fraction = arrays["robust_trials"] / np.maximum(arrays["trials"], 1)
        for row, index in enumerate(arrays["object_index"]):
            mine = views["row"] == row
            grasps = arrays["grasp_object"] == row
            if not mine.any():
                without_views += 1
                continue
            depth_m = views["depth"][mine].astype(np.float32) * np.float32(CACHE_QUANTUM)
            objects.append(ObjectData(
                index=int(index), name=f"table_{int(index):06d}",
                depth=normalize_depth(depth_m, depth_normalization), cameras=views["camera"][mine],
                T_cam_obj=views["T_virtual_obj"][mine], T_obj_hand=T_obj_hand[grasps],
                label=arrays["label"][grasps].astype(np.int8), fraction=fraction[grasps].astype(np.float32)))
    if not objects:
        raise ValueError(f"--store {store}: no object has a view the node can segment; nothing to train on")
    record = {"store": str(store), "store_manifest_sha256": manifest_hash(store), "store_seed": manifest["seed"],
              "store_objects_read": len(objects) + without_views, "objects_without_views": without_views,
              "views": params.to_dict(), "views_cache_key": params.key()}
    if planned_stores:
        objects, record["planned"] = add_planned(objects, manifest, planned_stores)
    return objects, record


def add_planned(objects: list[ObjectData], manifest: dict, planned_stores) -> tuple[list[ObjectData], list[dict]]:
    """The objects with the planned stores' grasps appended (``planned`` mask set); a record per store."""
    from dataclasses import replace

    from grasp_planner.data.label_store import StoreError, load_store

    by_index = {o.index: k for k, o in enumerate(objects)}
    extra: dict[int, list] = {}
    records = []
    for path in planned_stores:
        planned_manifest, batches = load_store(path)
        if planned_manifest["seed"] != manifest["seed"] or planned_manifest.get("planned") is None:
            raise StoreError(f"{path}/manifest.json: field 'seed' or 'planned': not a planned store of this "
                             f"store (seed {manifest['seed']})")
        used = unmatched = 0
        for batch in batches:
            a = batch.arrays
            T, fraction = batch.T_obj_hand(), batch.robust_fraction
            for row, index in enumerate(a["object_index"]):
                grasps = a["grasp_object"] == row
                if int(index) not in by_index:
                    unmatched += int(grasps.sum())
                    continue
                extra.setdefault(by_index[int(index)], []).append((T[grasps], a["label"][grasps], fraction[grasps]))
                used += int(grasps.sum())
        records.append({"store": str(path), "manifest_sha256": manifest_hash(path),
                        "model_sha256": planned_manifest["planned"].get("model_sha256"),
                        "grasps_added": used, "grasps_without_object": unmatched})
    out = list(objects)
    for k, parts in extra.items():
        o = objects[k]
        n0 = len(o.label)
        fraction = o.fraction if o.fraction is not None else (o.label == 2).astype(np.float32)
        planned = np.zeros(n0, bool) if o.planned is None else o.planned
        out[k] = replace(o, T_obj_hand=np.concatenate([o.T_obj_hand] + [p[0] for p in parts]),
                         label=np.concatenate([o.label] + [p[1].astype(np.int8) for p in parts]),
                         fraction=np.concatenate([fraction] + [p[2].astype(np.float32) for p in parts]),
                         planned=np.concatenate([planned] + [np.ones(len(p[1]), bool) for p in parts]))
    return out, records


def manifest_hash(store) -> str:
    """sha256 of the store's manifest: names the exact batches (their hashes) a model saw."""
    from pathlib import Path

    from grasp_planner.resources import file_sha256
    return file_sha256(Path(store) / "manifest.json")
