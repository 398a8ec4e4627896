"""Kinematic underactuated closing of the Robotiq 3-finger hand and the collision checks built on it.

The real hand drives each finger with one motor through a linkage: the proximal phalanx turns until
it (or a phalanx it carries) meets the object, then the medial one turns, then the distal one
(manual [M] in hand/dimensions.py, "encompassing grip"). This module reproduces that sequence
geometrically, finger by finger, with no dynamics:

* ``grip="encompassing"``: proximal, then medial, then distal, each until contact or its limit;
* ``grip="fingertip"``: only the proximal joint turns; medial and distal keep the open posture,
  so the fingertips meet the object first (the manual's fingertip grip).

Each stage advances its joint by conservative advancement: with the moving links at distance d_i
from the object and no point of link i farther than r_i from the joint axis, the joint may turn by
min_i(d_i / r_i) without any link passing through the object. The stage ends when the gap is below
``CONTACT_TOLERANCE`` or the joint reaches its limit.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

# geometry.py imports hand.kinematics, so bind the module (not its names) to allow either import order
import grasp_planner.geometry as geo
from grasp_planner.hand import dimensions as dim
from grasp_planner.hand import kinematics as kin

#: gap (m) at which a closing phalanx counts as touching the object
CONTACT_TOLERANCE = 1e-4
#: largest move (m) of any link point between two samples of the closing-on-nothing sweep; below
#: half the thinnest phalanx (15 mm) so consecutive sampled boxes overlap
SWEEP_STEP = 0.006
#: cap on conservative-advancement steps per stage (a stage normally needs 5-30)
MAX_STEPS = 200
GRIPS = ("encompassing", "fingertip")


def _finger_link_indices(finger: str) -> list[int]:
    return [kin.link_index(f"finger_{finger}_link_{j}") for j in range(4)]


def _joint_index(finger: str, stage: int) -> int:
    return 2 + 3 * dim.FINGERS.index(finger) + (stage - 1)


def _box_corners(half: np.ndarray) -> np.ndarray:
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)
    return signs * half


@lru_cache(maxsize=None)
def _stage_geometry(finger: str, stage: int) -> tuple[list[int], np.ndarray, np.ndarray]:
    """Links moved by a stage, their box transforms relative to the moving joint frame, and reaches.

    The reach of a link is the largest distance of its box corners from the joint axis for any
    posture of the joints after this one (bounded by the straight-line distance from the axis
    origin), metres.
    """
    idx = _finger_link_indices(finger)[stage:]
    q = kin.open_configuration("basic")
    mats = kin.hand_link_matrices(q)
    T_joint = mats[idx[0]]
    rel = np.linalg.inv(T_joint) @ mats[idx] @ kin.BOX_TRANSFORMS[idx]
    lengths = [dim.PROXIMAL_LENGTH, dim.MEDIAL_LENGTH, dim.DISTAL_LENGTH][stage - 1:]
    reaches = []
    for k, i in enumerate(idx):
        half = kin.BOX_HALF_EXTENTS[i]
        # the link's own box from its pivot, plus the full length of every link before it in the stage
        reaches.append(sum(lengths[:k]) + np.linalg.norm([half[0], 2 * half[2]]))
    return idx, rel, np.array(reaches)


def _check_mode_grip(mode: str, grip: str) -> None:
    if mode not in dim.MODES:
        raise ValueError(f"mode must be one of {sorted(dim.MODES)}, got {mode!r}")
    if grip not in GRIPS:
        raise ValueError(f"grip must be one of {GRIPS}, got {grip!r}")


def _close_stage(obj, q: np.ndarray, finger: str, stage: int) -> bool:
    """Turn one joint of one finger until contact or its limit; returns True on contact."""
    j = _joint_index(finger, stage)
    lower, upper = kin.joint_limits()
    idx, rel, reach = _stage_geometry(finger, stage)
    link = kin.LINKS[idx[0]]
    parent_mats = kin.hand_link_matrices(q)
    T_parent_joint = parent_mats[kin.link_index(link.parent)] @ kin.JOINT_ORIGINS[idx[0]]
    boxes = geo.hand_boxes().geometries
    for _ in range(MAX_STEPS):
        T_joint = T_parent_joint.copy()
        T_joint[:3, :3] = T_joint[:3, :3] @ kin.rotation_about(link.axis, q[j])
        gaps = np.empty(len(idx))
        for k, i in enumerate(idx):
            boxes[i].setCurrentTransform(*geo.klampt_transform(T_joint @ rel[k]))
            gaps[k] = boxes[i].distance_simple(obj)
        if gaps.min() <= CONTACT_TOLERANCE:
            return True
        if q[j] >= upper[j]:
            return False
        # conservative advancement: no link point moves more than its gap less half the tolerance, so the
        # phalanx ends within the tolerance yet never touches (a full gap / reach step can land on contact)
        q[j] = min(q[j] + max(np.min((gaps - 0.5 * CONTACT_TOLERANCE) / reach), 1e-5), upper[j])
    return True


def close_fingers(T_world_hand, geometry: geo.ObjectGeometry, mode: str = "basic",
                  grip: str = "encompassing") -> np.ndarray:
    """Close the three fingers on an object the way the underactuated hand does (kinematically).

    Parameters
    ----------
    T_world_hand : (4, 4) array
        Hand pose in the geometry's frame.
    geometry : ObjectGeometry
        The object (mesh or point cloud).
    mode : str
        Grasping mode of the scissor axis: 'basic', 'wide' or 'pinch'.
    grip : str
        'encompassing' (proximal, medial, distal in turn) or 'fingertip' (proximal only).

    Returns
    -------
    (11,) array
        Joint vector where every finger stopped, radians. Fingers already touching the object in
        the open posture do not move.
    """
    _check_mode_grip(mode, grip)
    T = geo.check_transforms(T_world_hand, "T_world_hand").reshape(4, 4)
    geometry.place_in_hand_frame(T)
    geo.hand_boxes().place_links(np.empty(0), [])  # poses change below: forget the cached q
    q = kin.open_configuration(mode)
    stages = (1, 2, 3) if grip == "encompassing" else (1,)
    for finger in dim.FINGERS:
        for stage in stages:
            _close_stage(geometry.geometry, q, finger, stage)
    return q


def closed_on_nothing(mode: str = "basic", grip: str = "encompassing") -> np.ndarray:
    """Joint vector after closing on nothing: each closing joint at its upper limit, radians."""
    _check_mode_grip(mode, grip)
    q = kin.open_configuration(mode)
    upper = kin.joint_limits()[1]
    for finger in dim.FINGERS:
        for stage in ((1, 2, 3) if grip == "encompassing" else (1,)):
            q[_joint_index(finger, stage)] = upper[_joint_index(finger, stage)]
    return q


@lru_cache(maxsize=None)
def _sweep_boxes(mode: str, grip: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Box transforms (hand frame), link indices and hand-frame AABBs sampled along the empty closing.

    The fingers close in the stage order of ``close_fingers`` with nothing to stop them; each stage
    is sampled so that no link point moves more than ``SWEEP_STEP`` between samples.
    """
    q = kin.open_configuration(mode)
    upper = kin.joint_limits()[1]
    mats, links = [], []
    for finger in dim.FINGERS:
        for stage in ((1, 2, 3) if grip == "encompassing" else (1,)):
            j = _joint_index(finger, stage)
            idx, _, reach = _stage_geometry(finger, stage)
            n = max(1, int(np.ceil((upper[j] - q[j]) * reach.max() / SWEEP_STEP)))
            for angle in np.linspace(q[j], upper[j], n + 1)[1:]:
                q[j] = angle
                all_mats = kin.box_matrices(np.eye(4), q)
                mats.extend(all_mats[idx])
                links.extend(idx)
    mats, links = np.array(mats), np.array(links)
    corners = np.einsum("nij,nkj->nki", mats[:, :3, :3], np.stack(
        [_box_corners(kin.BOX_HALF_EXTENTS[i]) for i in links])) + mats[:, None, :3, 3]
    return mats, links, np.stack([corners.min(1), corners.max(1)], axis=1)


def closing_sweep(mode: str = "basic", grip: str = "encompassing") -> tuple[np.ndarray, np.ndarray]:
    """The empty closing's sampled link boxes in closing order: ``(N, 4, 4)`` hand-frame transforms, ``(N,)`` links."""
    _check_mode_grip(mode, grip)
    mats, links, _ = _sweep_boxes(mode, grip)
    return mats, links


def open_hand_collides(T_world_hand, geometry: geo.ObjectGeometry, mode: str = "basic") -> bool:
    """True if the open hand at ``T_world_hand`` touches or crosses the geometry."""
    return geo.hand_collides(geometry, T_world_hand, kin.open_configuration(mode))


def closed_hand_would_collide(T_world_hand, geometry: geo.ObjectGeometry, mode: str = "basic",
                              grip: str = "encompassing") -> bool:
    """True if closing the hand on nothing would sweep a finger through the geometry.

    The paper's qualified-grasp test is ``not open_hand_collides(...) and closed_hand_would_collide(...)``:
    the open hand is clear and the object lies where the fingers close.
    """
    _check_mode_grip(mode, grip)
    T = geo.check_transforms(T_world_hand, "T_world_hand").reshape(4, 4)
    mats, links, aabbs = _sweep_boxes(mode, grip)
    # object bounds seen from the hand: cheap rejection of sweep samples that cannot touch it
    lo, hi = geometry.bounds
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    T_hand_world = np.linalg.inv(T)
    in_hand = corners @ T_hand_world[:3, :3].T + T_hand_world[:3, 3]
    olo, ohi = in_hand.min(0), in_hand.max(0)
    near = np.all((aabbs[:, 0] <= ohi) & (aabbs[:, 1] >= olo), axis=1)
    if not near.any():
        return False
    geometry.place_in_hand_frame(T)
    boxes = geo.hand_boxes()
    obj = geometry.geometry
    try:
        for k in np.flatnonzero(near):
            box = boxes.geometries[links[k]]
            box.setCurrentTransform(*geo.klampt_transform(mats[k]))
            if box.collides(obj):
                return True
        return False
    finally:
        boxes.place_links(np.empty(0), [])
