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
                       max_objects: int | None = None) -> tuple[list[ObjectData], dict]:
    """(objects, data record) from a store whose views are cached; the record goes into the run and card."""
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
    return objects, record


def manifest_hash(store) -> str:
    """sha256 of the store's manifest: names the exact batches (their hashes) a model saw."""
    from pathlib import Path

    from grasp_planner.resources import file_sha256
    return file_sha256(Path(store) / "manifest.json")
