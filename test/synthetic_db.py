"""A small grasp database with rendered depth images but *rule-based* labels, for tests and benchmarks.

Images are real: procedural objects rendered by ``data.render.synthesize_views`` with the fitted
top-down camera, written by ``data.shards.write_shard`` in the shard format. Labels are not
simulated: a hand pose is "robust" when its origin lies within ``robust_radius_m`` of the object
frame's origin, else "failed", a rule the network can learn in a few seconds, so the training
pipeline can be tested without hours of Klamp't simulation. Never train a shipped model on it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from grasp_planner.data.objects import procedural_objects
from grasp_planner.data.render import random_rotations, synthesize_views
from grasp_planner.data.shards import Shard, shard_path, write_shard
from grasp_planner.learning.dataset import FAILED, ROBUST


def rule_grasps(n: int, rng: np.random.Generator, robust_radius_m: float = 0.06,
                max_radius_m: float = 0.12) -> tuple[np.ndarray, np.ndarray]:
    """``(T_obj_hand (n, 4, 4), label (n,) int8)``: random orientations, distances uniform in [0, max_radius_m]."""
    T = np.zeros((n, 4, 4))
    T[:, :3, :3] = random_rotations(n, rng)
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    radius = rng.uniform(0, max_radius_m, n)
    T[:, :3, 3] = direction * radius[:, None]
    T[:, 3, 3] = 1.0
    label = np.where(radius < robust_radius_m, ROBUST, FAILED).astype(np.int8)
    return T, label


def write_synthetic_database(out, n_objects: int = 4, images_per_object: int = 6, grasps_per_object: int = 60,
                             resolution: int = 128, seed: int = 0) -> list[Path]:
    """Write ``<out>/shards/obj_<i>.h5`` for ``n_objects`` procedural objects; returns the shard paths."""
    paths = []
    for index, obj in enumerate(procedural_objects(n_objects, seed)):
        rng = np.random.default_rng([seed, index])
        views = synthesize_views(obj, images_per_object, rng, resolution=resolution)
        T_obj_hand, label = rule_grasps(grasps_per_object, rng)
        shard = Shard(object_index=index, object_name=obj.name, object_kind=obj.kind, seed=seed,
                      code_version="synthetic", config={"labels": "rule: robust within 6 cm of the origin"},
                      vertices=obj.vertices, faces=obj.faces, depth=views.depth, cameras=views.cameras,
                      T_cam_obj=views.T_cam_obj, T_obj_hand=T_obj_hand, label=label,
                      robust_after_1_shake=label == ROBUST)
        paths.append(write_shard(shard_path(out, index), shard))
    return paths
