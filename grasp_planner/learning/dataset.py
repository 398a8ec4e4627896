"""Training data from the grasp database: shards in RAM, the paper's splits, image-grouped batches.

numpy only (no torch). Shards are read with ``data.shards.read_shard``, every shard once, its depth
images normalised once; batches are then cut from memory.

Splits (deterministic for a seed; :func:`make_split`):

* only robust (1) and failed (0) grasps; failed grasps are undersampled to the number of robust
  ones, per object (the paper; ``balance="per_object"``) or over the whole database
  (``balance="global"``, for databases with about one robust grasp per object);
* only objects with at least ``min_robust`` robust grasps (the paper's ">= 10 valid grasps");
* 10% of the objects are *unseen*; within *seen* objects, 10% of the images are *new images* and
  10% of the kept grasps (of each label) are *new poses*; training uses the rest;
* *planned* grasps (``ObjectData.planned``, the planner's labelled answers) play no part in the
  split and join the training poses of seen objects.

A sample is (object, image m, grasp g) with ``T_cam_hand = T_cam_obj[m] @ T_obj_hand[g]``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from grasp_planner.data.shards import finished_shards, read_shard
from grasp_planner.contract.features import DepthNormalization, PoseEncoding, normalize_depth, pose_features_per_camera
from grasp_planner.contract.quarter_turns import view_image, view_poses

# GraspLabel values of the shard format (sim/labels.py). Not imported: grasp_planner.sim's __init__
# loads the Klamp't simulator, and training must run where Klamp't is not installed (GPU machines).
FAILED, ROBUST = 0, 2


@dataclass
class ObjectData:
    """One shard in memory: normalised depth images and the grasps of one object."""

    index: int
    name: str
    depth: np.ndarray  # (M, H, W) float32, normalised
    cameras: np.ndarray  # (M, 6) fx, fy, cx, cy, width, height
    T_cam_obj: np.ndarray  # (M, 4, 4)
    T_obj_hand: np.ndarray  # (G, 4, 4)
    label: np.ndarray  # (G,) int8 GraspLabel
    #: (G,) float: share of repeated trials that held (the label store's soft label); None: the hard label
    fraction: np.ndarray | None = None
    #: (G,) bool: training-only grasps (the planner's answers, planning/planner_labels.py); None: none.
    #: The split is drawn without them and they join the training poses of seen objects only.
    planned: np.ndarray | None = None

    def _sampled(self) -> np.ndarray:
        return np.ones(len(self.label), bool) if self.planned is None else ~self.planned

    @property
    def robust(self) -> np.ndarray:
        """Indices of the robust grasps (sampled ones; planned ones: ``planned_grasps``)."""
        return np.flatnonzero((self.label == ROBUST) & self._sampled())

    @property
    def failed(self) -> np.ndarray:
        """Indices of the failed grasps (sampled ones)."""
        return np.flatnonzero((self.label == FAILED) & self._sampled())

    @property
    def planned_grasps(self) -> np.ndarray:
        """Indices of the planned robust and failed grasps (training only)."""
        if self.planned is None:
            return np.zeros(0, np.int64)
        return np.flatnonzero(self.planned & ((self.label == ROBUST) | (self.label == FAILED)))


def read_object(path, depth_normalization: DepthNormalization) -> ObjectData:
    """Read one shard (``data.shards.read_shard`` validates it) and normalise its depth images."""
    shard = read_shard(path)
    return ObjectData(shard.object_index, shard.object_name, normalize_depth(shard.depth, depth_normalization),
                      shard.cameras, shard.T_cam_obj, shard.T_obj_hand, shard.label)


def load_database(data_dir, depth_normalization: DepthNormalization, progress: bool = True) -> list[ObjectData]:
    """All finished shards of a database folder (``<dir>/shards/obj_*.h5``), read into RAM once."""
    data_dir = Path(data_dir)
    paths = finished_shards(data_dir)
    if not paths:
        raise FileNotFoundError(f"{data_dir} is not a grasp database: no finished shards in {data_dir / 'shards'}")
    return [read_object(p, depth_normalization) for p in tqdm(paths, desc="reading shards", disable=not progress)]


@dataclass
class Split:
    """Positions (into the object list) and per-object image/grasp index arrays of each part."""

    seen: list[int]
    unseen: list[int]
    skipped: list[int]  # too few robust grasps
    train_images: dict = field(default_factory=dict)
    new_images: dict = field(default_factory=dict)
    train_grasps: dict = field(default_factory=dict)  # balanced; training poses of seen objects
    new_poses: dict = field(default_factory=dict)  # balanced; held-out poses of seen objects
    balanced: dict = field(default_factory=dict)  # all balanced grasps of every eligible object

    def counts(self, objects: list[ObjectData]) -> dict:
        """Object, image and grasp counts of each part (for the metrics file and model card)."""
        def n(d):
            return int(sum(len(v) for v in d.values()))
        labels = np.concatenate([objects[i].label[objects[i]._sampled()] for i in self.seen + self.unseen]) \
            if self.seen + self.unseen else np.zeros(0)
        return {
            "objects_total": len(objects), "objects_seen": len(self.seen), "objects_unseen": len(self.unseen),
            "objects_skipped_few_robust": len(self.skipped),
            "images_train": n(self.train_images), "images_new": n(self.new_images),
            "images_unseen": int(sum(len(objects[i].depth) for i in self.unseen)),
            "grasps_train": n(self.train_grasps), "grasps_new_poses": n(self.new_poses),
            "grasps_train_planned": int(sum(len(objects[i].planned_grasps) for i in self.seen)),
            "grasps_unseen": int(sum(len(self.balanced[i]) for i in self.unseen)),
            "labels_eligible_objects": {name: int(np.sum(labels == value))
                                        for name, value in (("failed", FAILED), ("loose", 1), ("robust", ROBUST))},
        }


def _holdout(n: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held-out) positions of ``range(n)``; holds out ``round(fraction * n)``, at least 1 if n >= 2."""
    perm = rng.permutation(n)
    k = int(round(fraction * n))
    if n >= 2:
        k = min(max(k, 1), n - 1) if fraction > 0 else 0
    else:
        k = 0
    return np.sort(perm[k:]), np.sort(perm[:k])


def _balance(objects: list[ObjectData], eligible: list[int], mode: str, rng: np.random.Generator) -> dict:
    """Per eligible object, the sorted robust + failed grasp indices kept after undersampling."""
    if mode == "per_object":
        out = {}
        for i in eligible:
            obj = objects[i]
            n = min(len(obj.robust), len(obj.failed))
            out[i] = np.sort(np.concatenate([rng.choice(obj.robust, n, replace=False),
                                             rng.choice(obj.failed, n, replace=False)]))
        return out
    if mode != "global":
        raise ValueError(f"balance must be 'per_object' or 'global', got {mode!r}")
    # every robust grasp; as many failed grasps drawn from the pool of all eligible objects
    pools = {lab: [(i, g) for i in eligible for g in (objects[i].robust if lab else objects[i].failed)]
             for lab in (1, 0)}
    n = min(len(pools[0]), len(pools[1]))
    kept = {i: [] for i in eligible}
    for lab in (1, 0):
        pool = pools[lab]
        for k in rng.choice(len(pool), n, replace=False):
            kept[pool[k][0]].append(pool[k][1])
    return {i: np.sort(np.asarray(g, dtype=np.int64)) for i, g in kept.items()}


def _stratified_objects(objects: list[ObjectData], eligible: list[int], skipped: list[int],
                        unseen_fraction: float, rng: np.random.Generator) -> Split:
    """Unseen objects drawn apart among those with a robust grasp and those without (the table-store rule).

    Few table-top objects hold a robust grasp (112 of 680); drawing the unseen part over all objects
    would leave it a handful of robust samples, so the share is taken of each group.
    """
    seen, unseen = [], []
    for group in ([i for i in eligible if len(objects[i].robust)], [i for i in eligible if not len(objects[i].robust)]):
        keep, held = _holdout(len(group), unseen_fraction, rng)
        seen += [group[k] for k in keep]
        unseen += [group[k] for k in held]
    return Split(seen=sorted(seen), unseen=sorted(unseen), skipped=skipped)


def make_split(objects: list[ObjectData], seed: int, min_robust: int = 10, unseen_fraction: float = 0.1,
               new_image_fraction: float = 0.1, new_pose_fraction: float = 0.1,
               balance: str = "per_object") -> Split:
    """The paper's splits, deterministic for ``seed`` (see the module docstring).

    Parameters
    ----------
    min_robust : objects with fewer robust grasps (or no failed one) are skipped. 0 (the table-store
        rule): every object with a failed grasp takes part, objects without a robust grasp as
        negatives only; the unseen share is drawn apart from the objects with and without a robust
        grasp, and unseen objects are scored on all their robust and failed grasps.
    balance : ``"per_object"`` (each object keeps as many failed as robust grasps; the paper) or
        ``"global"`` (every robust grasp kept, as many failed ones drawn from all objects: for
        databases with ~1 robust grasp per object, where per-object balancing leaves almost nothing).
    new_pose_fraction : share of the seen objects' kept robust grasps, and of their failed ones,
        held out as "new poses" (drawn over all seen objects, so objects with one robust grasp count).
    """
    rng = np.random.default_rng(seed)
    eligible = [i for i, o in enumerate(objects) if len(o.robust) >= min_robust and len(o.failed) > 0]
    skipped = [i for i in range(len(objects)) if i not in eligible]
    if not eligible or not any(len(objects[i].robust) for i in eligible):
        raise ValueError(f"no object has >= {max(min_robust, 1)} robust grasps and a failed one; nothing to train on")
    if min_robust >= 1:
        keep, held = _holdout(len(eligible), unseen_fraction, rng)
        split = Split(seen=[eligible[k] for k in keep], unseen=[eligible[k] for k in held], skipped=skipped)
    else:
        split = _stratified_objects(objects, eligible, skipped, unseen_fraction, rng)
    split.balanced = _balance(objects, eligible, balance, rng)
    if min_robust < 1:  # unseen objects are scored on all their grasps (balanced accuracy), not an undersample
        for i in split.unseen:
            split.balanced[i] = np.sort(np.concatenate([objects[i].robust, objects[i].failed]))
    for i in split.seen:
        split.train_images[i], split.new_images[i] = _holdout(len(objects[i].depth), new_image_fraction, rng)
    # hold out poses per label, over all seen objects, so both parts stay balanced
    held_out = {i: [] for i in split.seen}
    for lab in (ROBUST, FAILED):
        pool = [(i, g) for i in split.seen for g in split.balanced[i] if objects[i].label[g] == lab]
        _, out = _holdout(len(pool), new_pose_fraction, rng)
        for k in out:
            held_out[pool[k][0]].append(pool[k][1])
    for i in split.seen:
        is_held = np.isin(split.balanced[i], held_out[i])
        split.train_grasps[i] = np.concatenate([split.balanced[i][~is_held], objects[i].planned_grasps])
        split.new_poses[i] = split.balanced[i][is_held]
    return split


@dataclass
class Batch:
    """Image-grouped batch: B depth images and N (image, pose) samples on them (numpy)."""

    depth: np.ndarray  # (B, 1, H, W) float32
    image_index: np.ndarray  # (N,) int64 into depth
    pose: np.ndarray  # (N, D) float32
    target: np.ndarray  # (N,) int64: 1 robust, 0 failed
    object_position: np.ndarray  # (N,) int64 position in the object list
    soft_target: np.ndarray | None = None  # (N,) float32 robust fraction of K trials (hard target without one)


def make_batch(objects: list[ObjectData], groups: list[tuple[int, int, np.ndarray]],
               pose_encoding: PoseEncoding, quarter_turn: int = 0,
               views: np.ndarray | None = None, hand_turns: np.ndarray | None = None) -> Batch:
    """Assemble a batch from ``(object position, image, grasp indices)`` groups.

    ``quarter_turn``: the same samples seen by the camera turned ``k`` quarter turns about its axis
    (images ``np.rot90``-ed, poses moved to the turned frame; :mod:`contract.quarter_turns`).
    ``views``: instead, one view per group, 0..7 (``k + 4 * mirrored``; training augmentation).
    ``hand_turns``: (N, 3, 3) rotations about the object's origin applied to the grasps (object
    frame), for poses no label exists for (the distillation samples of ``train``).
    """
    if views is None:
        if quarter_turn not in range(4):
            raise ValueError(f"quarter_turn must be 0..3, got {quarter_turn!r}")
        views = np.full(len(groups), quarter_turn)
    views = np.asarray(views, dtype=np.int64)
    if views.shape != (len(groups),):
        raise ValueError(f"views must hold one view per group ({len(groups)}), got shape {views.shape}")
    sizes = np.array([len(g) for _, _, g in groups])
    obj_pos = np.repeat([i for i, _, _ in groups], sizes)
    image = np.repeat([m for _, m, _ in groups], sizes)
    grasp = np.concatenate([g for _, _, g in groups]).astype(np.int64)
    T_cam_obj = np.empty((len(grasp), 4, 4))
    T_obj_hand = np.empty((len(grasp), 4, 4))
    cameras = np.empty((len(grasp), 6))
    target = np.empty(len(grasp), dtype=np.int64)
    soft = np.empty(len(grasp), dtype=np.float32)
    for i in np.unique(obj_pos):  # gather per object, then one vectorised feature computation
        sel = obj_pos == i
        obj = objects[i]
        T_cam_obj[sel] = obj.T_cam_obj[image[sel]]
        cameras[sel] = obj.cameras[image[sel]]
        T_obj_hand[sel] = obj.T_obj_hand[grasp[sel]]
        target[sel] = obj.label[grasp[sel]] == ROBUST
        soft[sel] = target[sel] if obj.fraction is None else obj.fraction[grasp[sel]]
    depth = np.ascontiguousarray(np.stack([view_image(objects[i].depth[m], v)
                                           for (i, m, _), v in zip(groups, views)])[:, None], dtype=np.float32)
    if hand_turns is not None:
        T_obj_hand[:, :3, :3] = hand_turns @ T_obj_hand[:, :3, :3]
        T_obj_hand[:, :3, 3] = np.einsum("nij,nj->ni", hand_turns, T_obj_hand[:, :3, 3])
    T_cam_hand = T_cam_obj @ T_obj_hand
    sample_view = np.repeat(views, sizes)
    for v in np.unique(sample_view[sample_view != 0]):  # view 0 is the image as rendered
        sel = sample_view == v
        T_cam_hand[sel] = view_poses(T_cam_hand[sel], v)
    pose = pose_features_per_camera(T_cam_hand, cameras, pose_encoding)
    return Batch(depth, np.repeat(np.arange(len(groups)), sizes), pose,
                 target, obj_pos.astype(np.int64), soft)


def _balanced_pick(obj: ObjectData, grasps: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Up to ``k`` of ``grasps``, half robust and half failed where possible."""
    labels = obj.label[grasps]
    robust, failed = grasps[labels == ROBUST], grasps[labels == FAILED]
    n_failed = len(failed)
    n_r = min(len(robust), max(k // 2, k - n_failed))
    n_f = min(n_failed, k - n_r)
    return np.concatenate([rng.choice(robust, n_r, replace=False), rng.choice(failed, n_f, replace=False)])


def spare_failed(split: Split, objects: list[ObjectData]) -> dict:
    """Per seen object, its failed grasps that no evaluation part scores.

    Undersampling keeps as many failed grasps as robust ones and drops the rest (94% of a
    database); these are the dropped ones of seen objects, minus the held-out "new poses".
    """
    return {i: np.setdiff1d(objects[i].failed, split.new_poses[i]) for i in split.seen}


def _resampled(obj: ObjectData, train: np.ndarray, spare: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``train`` with its failed grasps replaced by as many drawn afresh from ``spare``.

    Each object keeps the number of robust and failed grasps the split gave it, so the label
    balance and its spread over objects stay those of the evaluation parts; only *which*
    failed grasps an image is paired with changes, so training sees every failed grasp in time.
    """
    failed = obj.label[train] == FAILED
    if obj.planned is not None:   # the planner's failed answers stay: they are what it must learn to avoid
        failed &= ~obj.planned[train]
    n = int(np.sum(failed))
    if n == 0 or len(spare) < n:
        return train
    return np.concatenate([train[~failed], rng.choice(spare, n, replace=False)])


def training_groups(split: Split, objects: list[ObjectData], grasps_per_image: int,
                    rng: np.random.Generator, resample_failed: bool = False) -> list[tuple[int, int, np.ndarray]]:
    """One epoch: every training image once, with ``grasps_per_image`` balanced training poses, shuffled.

    ``resample_failed``: each image draws its failed poses afresh from the object's spare failed
    grasps (:func:`spare_failed`) instead of the split's fixed undersample.
    """
    spare = spare_failed(split, objects) if resample_failed else {}

    def poses(i):
        if not resample_failed:
            return split.train_grasps[i]
        return _resampled(objects[i], split.train_grasps[i], spare[i], rng)
    groups = [(i, int(m), _balanced_pick(objects[i], poses(i), grasps_per_image, rng))
              for i in split.seen for m in split.train_images[i]]
    groups = [g for g in groups if len(g[2])]  # an object may keep no training pose (global balance)
    order = rng.permutation(len(groups))
    return [groups[k] for k in order]


def evaluation_groups(split: Split, objects: list[ObjectData], part: str, seed: int,
                      images_per_object: int = 20, grasps_per_image: int = 32) -> list[tuple[int, int, np.ndarray]]:
    """Fixed evaluation samples of one part: ``"train"``, ``"new_images"``, ``"new_poses"`` or ``"unseen"``.

    ``train``: training images x training poses; ``new_images``: held-out images x training poses;
    ``new_poses``: training images x held-out poses; ``unseen``: unseen objects' images x their poses.
    The same seed gives the same samples, so epochs and architectures are compared on equal terms.
    """
    rng = np.random.default_rng(seed)
    if part == "train":
        plan = [(i, split.train_images[i], split.train_grasps[i]) for i in split.seen]
    elif part == "new_images":
        plan = [(i, split.new_images[i], split.train_grasps[i]) for i in split.seen]
    elif part == "new_poses":
        plan = [(i, split.train_images[i], split.new_poses[i]) for i in split.seen]
    elif part == "unseen":
        plan = [(i, np.arange(len(objects[i].depth)), split.balanced[i]) for i in split.unseen]
    else:
        raise ValueError(f"evaluation part must be train, new_images, new_poses or unseen, got {part!r}")
    groups = []
    for i, images, grasps in plan:
        if len(images) == 0 or len(grasps) == 0:
            continue
        chosen = rng.choice(images, min(images_per_object, len(images)), replace=False)
        for m in np.sort(chosen):
            groups.append((i, int(m), _balanced_pick(objects[i], grasps, grasps_per_image, rng)))
    return groups


def tally_per_object(counts: dict, object_position: np.ndarray, correct: np.ndarray) -> None:
    """Add one batch's ``[correct, samples]`` per object position into ``counts`` (for per-object accuracy)."""
    for i in np.unique(object_position):
        sel = object_position == i
        tally = counts.setdefault(int(i), [0, 0])
        tally[0] += int(np.sum(correct[sel]))
        tally[1] += int(np.sum(sel))


def batched(groups: list, images_per_batch: int):
    """Consecutive chunks of ``images_per_batch`` groups."""
    for start in range(0, len(groups), images_per_batch):
        yield groups[start:start + images_per_batch]


def write_split(split: Split, objects: list[ObjectData], path) -> None:
    """The split as JSON (object names per part), so a run's test objects can be looked up."""
    def names(positions):
        return [objects[i].name for i in positions]
    Path(path).write_text(json.dumps({"seen": names(split.seen), "unseen": names(split.unseen),
                                      "skipped": names(split.skipped)}, indent=1) + "\n")
