"""The paper's "blind" idea: colliding hand poses as extra failed examples (optional third variant).

The database holds qualified poses only (the open hand clear of the object), so the network never
sees a colliding pose, and the paper found high-scoring optimised grasps often intersect the object
(hence its distance barrier). Here each object's qualified poses are pushed along their approach
axis by 1-6 cm and turned by up to 20 degrees, and those where the open hand then collides with the
object mesh (``hand.closing.open_hand_collides``, Klamp't) are kept as failed grasps.

They are computed once into an HDF5 file (``<object name>/T_obj_hand`` (K, 4, 4) f8, object frame),
so training on a machine without Klamp't can reuse it. In training they join the failed grasps of
*seen* objects only; evaluation samples never include them, so accuracies stay comparable.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
from tqdm import tqdm

from grasp_planner.data.shards import finished_shards, read_shard
from grasp_planner.learning.dataset import FAILED, ObjectData
from grasp_planner.pose import rpy_to_matrix

PUSH_M = (0.01, 0.06)
MAX_TURN_RAD = np.deg2rad(20.0)


def perturbed_poses(T_obj_hand: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` poses (n, 4, 4): random qualified poses pushed along their +z (approach) and slightly turned."""
    T = T_obj_hand[rng.integers(0, len(T_obj_hand), n)].copy()
    push = rng.uniform(*PUSH_M, n)
    T[:, :3, 3] += T[:, :3, 2] * push[:, None]
    T[:, :3, :3] = T[:, :3, :3] @ rpy_to_matrix(rng.uniform(-1, 1, (n, 3)) * MAX_TURN_RAD / np.sqrt(3))
    return T


def colliding_poses(vertices, faces, T_obj_hand: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``n`` open-hand poses (K, 4, 4) that collide with the mesh, near the given qualified poses."""
    from grasp_planner.geometry import ObjectGeometry  # Klamp't, only when negatives are made
    from grasp_planner.hand.closing import open_hand_collides

    if len(T_obj_hand) == 0 or n <= 0:
        return np.zeros((0, 4, 4))
    geometry = ObjectGeometry.from_mesh(vertices, faces)
    candidates = perturbed_poses(T_obj_hand, 3 * n, rng)
    hits = [T for T in candidates if open_hand_collides(T, geometry)]
    return np.asarray(hits[:n]).reshape(-1, 4, 4)


def write_blind_negatives(data_dir, path, per_object: int, seed: int, progress: bool = True) -> Path:
    """Compute colliding poses for every shard of ``data_dir`` into the HDF5 file ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with h5py.File(tmp, "w") as f:
        f.attrs["seed"] = seed
        f.attrs["per_object"] = per_object
        for k, shard_file in enumerate(tqdm(finished_shards(data_dir), desc="colliding poses", disable=not progress)):
            shard = read_shard(shard_file, images=False)
            rng = np.random.default_rng([seed, k])
            f.create_dataset(f"{shard.object_name}/T_obj_hand",
                             data=colliding_poses(shard.vertices, shard.faces, shard.T_obj_hand, per_object, rng))
    tmp.replace(path)
    return path


def read_blind_negatives(path) -> dict[str, np.ndarray]:
    """Object name -> colliding poses (K, 4, 4) from a file of :func:`write_blind_negatives`."""
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            return {name: np.asarray(f[name]["T_obj_hand"][()], dtype=float) for name in f}
    except (OSError, KeyError) as err:
        raise ValueError(f"blind negatives file {path}: not readable ({err})") from err


def with_blind_negatives(objects: list[ObjectData], negatives: dict[str, np.ndarray]) -> list[ObjectData]:
    """Objects with their colliding poses appended as failed grasps, marked in ``ObjectData.blind``."""
    out = []
    for obj in objects:
        extra = negatives.get(obj.name, np.zeros((0, 4, 4)))
        blind = np.concatenate([np.zeros(len(obj.label), bool), np.ones(len(extra), bool)])
        out.append(replace(obj, T_obj_hand=np.concatenate([obj.T_obj_hand, extra]),
                           label=np.concatenate([obj.label, np.full(len(extra), FAILED, np.int8)]), blind=blind))
    return out
