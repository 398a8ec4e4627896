"""The paper's qualified-grasp sampling: slide a fixed-orientation hand across the object.

A pose is *qualified* when the open hand is clear of the object and closing the fingers would hit it
(Sec. III-A, Fig. 3). Per slide: a hand orientation uniform on SO(3), a movement direction uniform on
the sphere, and a line along that direction passing near the object; the hand moves along the line in
``slide_step_m`` steps with its orientation fixed and every position is checked. The slide stops at
the first position where the open hand touches the object (a real hand cannot pass through it, and
Klamp't's box-mesh distance cannot tell a link inside a closed mesh from one outside).

The open hand must clear the object by ``clearance_m`` (the summed collision padding of the
simulator, shared/notes/klampt-sim.md "Pitfalls": a pose that starts inside the padding kicks the
object and 0/40 such grasps were robust).
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

# hand before geometry: grasp_planner.geometry imports hand.kinematics and hand imports geometry
from grasp_planner.hand import closed_hand_would_collide, open_configuration  # noqa: I001
from grasp_planner.geometry import ObjectGeometry, hand_boxes
from grasp_planner.hand import kinematics as kin
from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.simulate import check_mesh

# Radius (m) of a sphere about the grasp centre that holds the open hand and every closing finger:
# palm half-diagonal and finger length of hand/dimensions.py (13x13x8 cm palm, 57+38+35 mm fingers).
_HAND_REACH_M = 0.16


def _random_unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 3))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def _perpendicular_offset(rng: np.random.Generator, direction: np.ndarray, radius: float) -> np.ndarray:
    """A point uniform in the disc of ``radius`` perpendicular to ``direction``."""
    helper = np.array([1.0, 0.0, 0.0]) if abs(direction[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(direction, helper)
    u /= np.linalg.norm(u)
    w = np.cross(direction, u)
    r = radius * np.sqrt(rng.uniform())
    angle = rng.uniform(0.0, 2.0 * np.pi)
    return r * (np.cos(angle) * u + np.sin(angle) * w)


class QualifiedSampler:
    """Qualified-pose sampler for one object (keeps its Klamp't geometry between slides)."""

    def __init__(self, vertices, faces, config: SimConfig | None = None):
        self.config = config if config is not None else SimConfig.load()
        vertices, faces = check_mesh(vertices, faces)
        self.geometry = ObjectGeometry.from_mesh(vertices, faces)
        lo, hi = vertices.min(0), vertices.max(0)
        self.centre = (lo + hi) / 2.0
        self.radius = float(np.linalg.norm(vertices - self.centre, axis=1).max())
        self.q_open = open_configuration(self.config.hand.open_mode)
        # open-hand link boxes (hand frame), posed once: FK per position cost 0.26 ms (profiled)
        self._open_box_mats = kin.box_matrices(np.eye(4), self.q_open)
        self._links = list(range(len(self._open_box_mats)))
        half = kin.BOX_HALF_EXTENTS
        signs = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
        corners = np.einsum("nij,nkj->nki", self._open_box_mats[:, :3, :3], signs[None] * half[:, None]) \
            + self._open_box_mats[:, None, :3, 3]
        margin = self.config.qualify.clearance_m + 1e-3
        self._open_aabb = (corners.reshape(-1, 3).min(0) - margin, corners.reshape(-1, 3).max(0) + margin)
        self._object_corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1])
                                         for z in (lo[2], hi[2])])

    def _open_hand_near(self, rotation: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """(P,) bool: the object's box overlaps the open hand's box (+ clearance) at these hand origins.

        Where it does not, the open hand is clear without asking Klamp't.
        """
        in_hand = np.einsum("ji,pkj->pki", rotation, self._object_corners[None] - origins[:, None])
        lo, hi = in_hand.min(1), in_hand.max(1)
        return np.all((lo <= self._open_aabb[1]) & (hi >= self._open_aabb[0]), axis=1)

    def _open_hand_state(self, T_obj_hand: np.ndarray) -> str:
        """'clear' (farther than the clearance), 'close' (within it) or 'collides' (touching or crossing)."""
        boxes = hand_boxes()
        boxes.place_links(self._open_box_mats, self._links)
        self.geometry.place_in_hand_frame(T_obj_hand)
        obj = self.geometry.geometry
        clearance = self.config.qualify.clearance_m
        near = [box for box in boxes.geometries if box.withinDistance(obj, clearance)]
        if not near:
            return "clear"
        return "collides" if any(box.collides(obj) for box in near) else "close"

    def _random_rotation(self, rng: np.random.Generator) -> np.ndarray:
        """The slide's hand orientation: uniform on SO(3) (the table world keeps approaches from above)."""
        return Rotation.random(random_state=rng).as_matrix()

    def _blocked(self, T: np.ndarray) -> bool:
        """Something other than the object stops the slide here (nothing, in the floating world)."""
        return False

    def _closes_on_object(self, T: np.ndarray) -> bool:
        """Closing the open hand at ``T`` would touch the object."""
        return closed_hand_would_collide(T, self.geometry, self.config.hand.open_mode)

    def qualified_along(self, rotation: np.ndarray, origins: np.ndarray) -> np.ndarray:
        """The qualified poses among hand ``origins`` (in slide order) at a fixed ``rotation``, ``(k, 4, 4)``.

        The slide stops at the first position where the open hand touches the object (or is blocked).
        """
        near = self._open_hand_near(rotation, origins)
        found = []
        for origin, open_near in zip(origins, near):
            T = np.eye(4)
            T[:3, :3] = rotation
            T[:3, 3] = origin
            state = self._open_hand_state(T) if open_near else "clear"
            if state == "collides" or self._blocked(T):
                break
            if state == "clear" and self._closes_on_object(T):
                found.append(T)
        return np.array(found).reshape(-1, 4, 4)

    def slide(self, rng: np.random.Generator) -> np.ndarray:
        """One slide: its qualified poses, ``(k, 4, 4)`` T_obj_hand, k <= ``poses_per_slide`` (may be 0)."""
        cfg = self.config.qualify
        rotation = self._random_rotation(rng)
        direction = _random_unit_vectors(rng, 1)[0]
        offset = _perpendicular_offset(rng, direction, cfg.lateral_offset_fraction * self.radius)
        grasp_centre = rotation @ np.array([0.0, 0.0, cfg.grasp_centre_z_m])
        half_length = self.radius + _HAND_REACH_M
        steps = np.arange(-half_length, half_length + 1e-12, cfg.slide_step_m)
        origins = self.centre + offset + steps[:, None] * direction - grasp_centre
        found = self.qualified_along(rotation, origins)
        if len(found) > cfg.poses_per_slide:
            found = found[np.sort(rng.choice(len(found), cfg.poses_per_slide, replace=False))]
        return found

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Up to ``n`` qualified poses ``(K, 4, 4)``, K < n only after ``n * max_slides_per_pose`` slides."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        if int(n) != n or n < 0:
            raise ValueError(f"n must be a non-negative integer, got {n!r}")
        poses = []
        count = 0
        for _ in range(int(n) * self.config.qualify.max_slides_per_pose):
            if count >= n:
                break
            found = self.slide(rng)
            poses.append(found)
            count += len(found)
        out = np.concatenate(poses) if poses else np.empty((0, 4, 4))
        return out[:int(n)]


def sample_qualified_poses(vertices, faces, rng: np.random.Generator, n: int,
                           config: SimConfig | None = None) -> np.ndarray:
    """Qualified hand poses on an object by the paper's sliding procedure.

    Parameters
    ----------
    vertices : (V, 3) array
        Object mesh vertices, object frame, metres.
    faces : (F, 3) int array
        Triangle vertex indices.
    rng : np.random.Generator
        Draws orientations, directions and line offsets.
    n : int
        Poses wanted.
    config : SimConfig, optional
        Uses ``qualify`` (slide step, clearance, ...) and ``hand.open_mode``; default ``SimConfig.load()``.

    Returns
    -------
    (K, 4, 4) array
        ``T_obj_hand`` (palm frame in the object frame), K <= n; K < n for objects the hand cannot grasp.
    """
    return QualifiedSampler(vertices, faces, config).sample(rng, n)
