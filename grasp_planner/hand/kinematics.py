"""Kinematic tree of the Robotiq 3-finger hand and plain-numpy forward kinematics.

The tree here is the single description of the hand: the URDF (hand/urdf.py) is written from it, so
Klamp't and this module agree by construction, and a test checks that they do.

Joint vector ``q`` (11 values, radians), the order used everywhere in the project::

    [scissor_b, scissor_c, a_1, a_2, a_3, b_1, b_2, b_3, c_1, c_2, c_3]

``x_1/x_2/x_3`` are the proximal, medial and distal joints of finger x (physical angles, positive
closing, see hand/dimensions.py); the scissor angles are positive when B and C spread apart.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from grasp_planner.hand import dimensions as dim
from grasp_planner.pose import xyzrpy_to_matrix

#: the committed URDF written from this tree by ``python -m grasp_planner.hand.urdf``
URDF_FILE = Path(__file__).with_name("robotiq_3f.urdf")


def urdf_path() -> str:
    """Path of the committed URDF of the hand (string, for ``WorldModel.loadRobot``)."""
    return str(URDF_FILE)


JOINT_NAMES = ("palm_finger_b_joint", "palm_finger_c_joint",
               *(f"finger_{f}_joint_{j}" for f in dim.FINGERS for j in (1, 2, 3)))
N_JOINTS = len(JOINT_NAMES)


@dataclass(frozen=True)
class LinkSpec:
    """One link and the joint that carries it.

    ``origin_xyz``/``origin_rpy`` place the joint frame in the parent link frame (URDF convention);
    the joint then turns by ``q[q_index]`` about ``axis``. ``box_center``/``box_half_extents`` give
    the link's collision box in its own frame (axis-aligned there), metres.
    """

    name: str
    parent: str | None
    joint: str | None
    origin_xyz: tuple
    origin_rpy: tuple
    axis: tuple
    q_index: int | None
    limits: tuple
    box_center: tuple
    box_half_extents: tuple
    mass: float


def _finger_links(finger: str) -> list[LinkSpec]:
    knuckle = {"a": dim.KNUCKLE_A, "b": dim.KNUCKLE_B, "c": dim.KNUCKLE_C}[finger]
    # Finger base frames: local +x points outwards (away from the opposing finger), +z = approach.
    yaw = 0.0 if finger == "a" else np.pi
    # Positive scissor angles spread B and C apart (their pivots move outwards in y) and turn their
    # closing planes towards each other, as in the manual's wide mode.
    base_axis = {"a": (0, 0, 1), "b": (0, 0, -1), "c": (0, 0, 1)}[finger]
    scissor_index = {"a": None, "b": 0, "c": 1}[finger]
    first = 2 + 3 * dim.FINGERS.index(finger)
    inward = (0.0, -1.0, 0.0)  # turning about local -y tilts +z towards -x, i.e. towards the palm centre
    pivot = (dim.PIVOT_OUTWARD, 0.0, dim.PIVOT_HEIGHT)
    phalanges = [(dim.PROXIMAL_LENGTH, dim.PROXIMAL_THICKNESS, dim.PROXIMAL_MASS, dim.PROXIMAL_LIMITS),
                 (dim.MEDIAL_LENGTH, dim.MEDIAL_THICKNESS, dim.MEDIAL_MASS, dim.MEDIAL_LIMITS),
                 (dim.DISTAL_LENGTH, dim.DISTAL_THICKNESS, dim.DISTAL_MASS, dim.DISTAL_LIMITS)]
    links = [LinkSpec(
        name=f"finger_{finger}_link_0", parent="palm", joint=f"palm_finger_{finger}_joint",
        origin_xyz=(knuckle[0], knuckle[1], 0.0), origin_rpy=(0.0, 0.0, yaw), axis=base_axis,
        q_index=scissor_index, limits=dim.SCISSOR_LIMITS if scissor_index is not None else (0.0, 0.0),
        box_center=pivot, box_half_extents=dim.BASE_HALF_EXTENTS, mass=dim.BASE_MASS)]
    offsets = [pivot, (0.0, 0.0, dim.PROXIMAL_LENGTH), (0.0, 0.0, dim.MEDIAL_LENGTH)]
    for j, (length, thickness, mass, limits) in enumerate(phalanges, start=1):
        links.append(LinkSpec(
            name=f"finger_{finger}_link_{j}", parent=f"finger_{finger}_link_{j - 1}",
            joint=f"finger_{finger}_joint_{j}", origin_xyz=offsets[j - 1], origin_rpy=(0.0, 0.0, 0.0),
            axis=inward, q_index=first + j - 1, limits=limits,
            box_center=(0.0, 0.0, length / 2.0),
            box_half_extents=(thickness / 2.0, dim.FINGER_WIDTH / 2.0, length / 2.0), mass=mass))
    return links


def _build_links() -> tuple[LinkSpec, ...]:
    hx, hy, hz = dim.PALM_HALF_EXTENTS
    palm = LinkSpec(name="palm", parent=None, joint=None, origin_xyz=(0, 0, 0), origin_rpy=(0, 0, 0),
                    axis=(0, 0, 1), q_index=None, limits=(0.0, 0.0), box_center=(0.0, 0.0, -hz),
                    box_half_extents=(hx, hy, hz), mass=dim.PALM_MASS)
    return (palm, *[link for finger in dim.FINGERS for link in _finger_links(finger)])


#: palm first, then finger A links 0..3, B links 0..3, C links 0..3 (parents before children).
LINKS = _build_links()
LINK_NAMES = tuple(link.name for link in LINKS)
_INDEX = {name: i for i, name in enumerate(LINK_NAMES)}
_PARENTS = np.array([-1 if link.parent is None else _INDEX[link.parent] for link in LINKS])


def joint_limits() -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits ``(11,)`` of the joint vector, radians."""
    lower, upper = np.zeros(N_JOINTS), np.zeros(N_JOINTS)
    for link in LINKS:
        if link.q_index is not None:
            lower[link.q_index], upper[link.q_index] = link.limits
    return lower, upper


def open_configuration(mode: str = "basic") -> np.ndarray:
    """Joint vector ``(11,)`` of the open hand in a grasping mode ('basic', 'wide', 'pinch')."""
    if mode not in dim.MODES:
        raise ValueError(f"mode must be one of {sorted(dim.MODES)}, got {mode!r}")
    q = np.empty(N_JOINTS)
    q[0:2] = dim.MODES[mode]
    q[2:] = np.tile(dim.OPEN_FINGER, 3)
    return q


def check_configuration(q) -> np.ndarray:
    """``q`` as a float array ``(..., 11)``; ValueError if its shape or values are wrong."""
    q = np.asarray(q, dtype=float)
    if q.shape[-1:] != (N_JOINTS,):
        raise ValueError(f"q must have {N_JOINTS} joint values in its last axis, got shape {q.shape}")
    if not np.all(np.isfinite(q)):
        raise ValueError("q must be finite")
    return q


def rotation_about(axis, angle) -> np.ndarray:
    """Rotations ``(..., 3, 3)`` by ``angle (...)`` about a fixed unit ``axis`` (Rodrigues)."""
    x, y, z = axis
    k = np.array([[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]])
    angle = np.asarray(angle, dtype=float)[..., None, None]
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


#: T_parent_joint of every link's joint (the URDF <origin>), (L, 4, 4)
JOINT_ORIGINS = np.stack([xyzrpy_to_matrix(np.concatenate([link.origin_xyz, link.origin_rpy]))
                          for link in LINKS])
#: T_link_box of each link's collision box (a pure translation), (L, 4, 4)
BOX_TRANSFORMS = np.tile(np.eye(4), (len(LINKS), 1, 1))
BOX_TRANSFORMS[:, :3, 3] = [link.box_center for link in LINKS]
BOX_HALF_EXTENTS = np.array([link.box_half_extents for link in LINKS], dtype=float)


def hand_link_matrices(q) -> np.ndarray:
    """Transforms ``T_hand_link`` of every link, ``(..., L, 4, 4)``, for joint vectors ``(..., 11)``.

    Links are in ``LINK_NAMES`` order; batched over any leading axes of ``q``.
    """
    q = check_configuration(q)
    out = np.empty(q.shape[:-1] + (len(LINKS), 4, 4))
    for i, link in enumerate(LINKS):
        local = np.broadcast_to(JOINT_ORIGINS[i], q.shape[:-1] + (4, 4)).copy()
        if link.q_index is not None:
            local[..., :3, :3] = local[..., :3, :3] @ rotation_about(link.axis, q[..., link.q_index])
        out[..., i, :, :] = local if _PARENTS[i] < 0 else out[..., _PARENTS[i], :, :] @ local
    return out


def link_matrices(T_world_hand, q) -> np.ndarray:
    """Transforms ``T_world_link``, ``(..., L, 4, 4)``, for hand poses ``(..., 4, 4)`` and ``q (..., 11)``."""
    T_world_hand = np.asarray(T_world_hand, dtype=float)
    if T_world_hand.shape[-2:] != (4, 4):
        raise ValueError(f"T_world_hand must be 4x4 matrices, got shape {T_world_hand.shape}")
    return T_world_hand[..., None, :, :] @ hand_link_matrices(q)


def link_transforms(T_world_hand, q) -> dict[str, np.ndarray]:
    """Every link's 4x4 transform ``T_world_link`` for one hand pose and joint vector.

    Parameters
    ----------
    T_world_hand : (4, 4) array
        Hand (palm/TCP) pose in the world frame.
    q : (11,) array
        Joint vector in the documented order, radians.

    Returns
    -------
    dict
        Link name -> (4, 4) ``T_world_link``.
    """
    mats = link_matrices(T_world_hand, q)
    if mats.ndim != 3:
        raise ValueError("link_transforms takes one pose and one q; use link_matrices for batches")
    return {name: mats[i] for i, name in enumerate(LINK_NAMES)}


def box_matrices(T_world_hand, q) -> np.ndarray:
    """Transforms ``T_world_box`` of every link's collision box, ``(..., L, 4, 4)``."""
    return link_matrices(T_world_hand, q) @ BOX_TRANSFORMS


_BOX_SIGNS = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], dtype=float)


def box_corners(T_world_hand, q) -> np.ndarray:
    """Corners ``(L, 8, 3)`` of every link's collision box, world frame, m (sign order x, y, z slowest first)."""
    boxes = box_matrices(T_world_hand, q)
    local = _BOX_SIGNS[None] * BOX_HALF_EXTENTS[:, None, :]
    return np.einsum("lij,lkj->lki", boxes[:, :3, :3], local) + boxes[:, None, :3, 3]


@lru_cache(maxsize=None)
def open_hand_corners(mode: str = "basic") -> np.ndarray:
    """Corners ``(L * 8, 3)`` of the open hand's collision boxes in the hand frame, computed once per mode
    (read-only: every caller shares it): what a start pose must keep off the table."""
    corners = box_corners(np.eye(4), open_configuration(mode)).reshape(-1, 3)
    corners.flags.writeable = False
    return corners


def fingertip_positions(T_world_hand, q) -> np.ndarray:
    """Tip points (centre of the distal box's end face) of fingers A, B, C, ``(..., 3, 3)``, metres."""
    mats = link_matrices(T_world_hand, q)
    tips = []
    for finger in dim.FINGERS:
        T = mats[..., _INDEX[f"finger_{finger}_link_3"], :, :]
        tips.append(T[..., :3, 3] + dim.DISTAL_LENGTH * T[..., :3, 2])
    return np.stack(tips, axis=-2)


def link_index(name: str) -> int:
    """Index of a link in ``LINK_NAMES``; ValueError for an unknown name."""
    if name not in _INDEX:
        raise ValueError(f"unknown hand link {name!r}; links are {LINK_NAMES}")
    return _INDEX[name]


def box_inertia_of(link: LinkSpec) -> np.ndarray:
    """Principal moments of inertia of a link taken as a solid box, kg m^2 (about its box centre)."""
    return dim.box_inertia(link.mass, link.box_half_extents)
