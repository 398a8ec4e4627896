"""Qualified poses in the table world, and proposals that aim at graspable ones.

A pose (palm frame, in the table frame) is qualified on a table when

* the hand approaches from above the table plane (hand +z points down, or level for side grasps);
* the open hand is clear of the target, the table and the neighbours (by ``qualify.clearance_m``);
* closing on nothing would sweep a finger through the target, and at least one finger reaches the
  target before it reaches the table (fingers walk their empty closing sweep in closing order; a
  finger whose sweep dips below the table top first would stop on the table, so it does not count).

Three proposal kinds fill an object's budget (``ProposalMix``):

* ``uniform``: the paper's sliding sampler (random orientation from above, random line), kept for a
  stated share so that negatives still cover the pose space;
* ``approach``: the palm at a distance that puts the target's COM in the closing region (4-10 cm
  along the approach axis), approach from above within 90 degrees of straight down, and for half of
  them finger A opposing B/C across the target's narrowest width;
* ``local``: re-sampling around robust poses already found (1.5 cm / 10 degrees), which also gives
  the hard negatives next to them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from grasp_planner.geometry import ObjectGeometry, hand_boxes, klampt_transform
from grasp_planner.hand import kinematics as kin
from grasp_planner.hand.closing import closing_sweep
from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.qualify import QualifiedSampler
from grasp_planner.sim.table_world import TableScene, perturb_pose

PROPOSALS = ("uniform", "approach", "local")
_SIGNS = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)


@dataclass(frozen=True)
class ProposalMix:
    """Shares of an object's poses by proposal kind; ``local`` falls back to ``approach`` with no robust pose."""

    uniform: float = 0.3
    approach: float = 0.5
    local: float = 0.2
    max_tilt_deg: float = 90.0       # approach axes within this angle of straight down (90: side grasps)
    local_position_m: float = 0.015
    local_angle_deg: float = 10.0

    def counts(self, n: int) -> tuple[int, int, int]:
        uniform = int(round(n * self.uniform))
        local = int(round(n * self.local))
        return uniform, n - uniform - local, local


def _box_corners(mats: np.ndarray, links: np.ndarray) -> np.ndarray:
    """(N, 8, 3) corners (hand frame) of link boxes posed by ``mats``."""
    half = kin.BOX_HALF_EXTENTS[links]
    return np.einsum("nij,nkj->nki", mats[:, :3, :3], _SIGNS[None] * half[:, None]) + mats[:, None, :3, 3]


def _scene_geometry(bodies) -> ObjectGeometry | None:
    """One Klamp't mesh of bodies in the table frame (None for no bodies)."""
    if not bodies:
        return None
    vertices, faces, start = [], [], 0
    for b in bodies:
        v = np.asarray(b.vertices, float) @ b.T_table_obj[:3, :3].T + b.T_table_obj[:3, 3]
        vertices.append(v)
        faces.append(np.asarray(b.faces) + start)
        start += len(v)
    return ObjectGeometry.from_mesh(np.concatenate(vertices), np.concatenate(faces))


class TableQualifiedSampler(QualifiedSampler):
    """Qualified poses ``T_table_hand`` on a settled table scene."""

    def __init__(self, scene: TableScene, config: SimConfig | None = None, mix: ProposalMix | None = None,
                 past_table: bool = False):
        """``past_table``: a finger may meet the table before the target (with the linkage rule it curls on,
        table_world.yaml ``grip.qualify_past_table``); else some finger must reach the target first."""
        target = scene.target
        vertices = np.asarray(target.vertices, float) @ target.T_table_obj[:3, :3].T + target.T_table_obj[:3, 3]
        super().__init__(vertices, target.faces, config)
        self.scene = scene
        self.mix = mix or ProposalMix()
        self.past_table = bool(past_table)
        self.vertices_table = vertices
        self.com = vertices.mean(axis=0)
        self.neighbours = _scene_geometry(scene.neighbours)
        self._open_corners = _box_corners(self._open_box_mats, np.arange(len(self._open_box_mats))).reshape(-1, 3)
        self._sweep_mats, self._sweep_links = closing_sweep(self.config.hand.open_mode)
        self._sweep_corners = _box_corners(self._sweep_mats, self._sweep_links)
        finger_of = {kin.link_index(f"finger_{f}_link_{j}"): f for f in "abc" for j in range(4)}
        self._sweep_finger = np.array([finger_of.get(int(i), "") for i in self._sweep_links])

    # --- the table world's rules on top of the paper's sampler -----------------------------------
    def _random_rotation(self, rng: np.random.Generator) -> np.ndarray:
        R = Rotation.random(random_state=rng).as_matrix()
        return R if R[2, 2] < 0 else R @ np.diag([1.0, -1.0, -1.0])  # approach flipped to come from above

    def _blocked(self, T: np.ndarray) -> bool:
        clearance = self.config.qualify.clearance_m
        if (self._open_corners @ T[:3, :3].T + T[:3, 3])[:, 2].min() < clearance:
            return True
        if self.neighbours is None:
            return False
        boxes = hand_boxes()
        boxes.place_links(self._open_box_mats, self._links)
        self.neighbours.place_in_hand_frame(T)
        return any(box.withinDistance(self.neighbours.geometry, clearance) for box in boxes.geometries)

    def _closes_on_object(self, T: np.ndarray) -> bool:
        return super()._closes_on_object(T) and (self.past_table or self.reaches_before_table(T))

    def reaches_before_table(self, T: np.ndarray) -> bool:
        """Some finger's empty closing sweep touches the target before any of its boxes dips below the table."""
        z = np.einsum("nkj,j->nk", self._sweep_corners, T[2, :3]) + T[2, 3]
        below = z.min(axis=1) < 0.0
        self.geometry.place_in_hand_frame(T)
        boxes = hand_boxes()
        obj = self.geometry.geometry
        try:
            for finger in "abc":
                for k in np.flatnonzero(self._sweep_finger == finger):
                    if below[k]:
                        break
                    box = boxes.geometries[self._sweep_links[k]]
                    box.setCurrentTransform(*klampt_transform(self._sweep_mats[k]))
                    if box.collides(obj):
                        return True
            return False
        finally:
            boxes.place_links(np.empty(0), [])

    def qualifies(self, T: np.ndarray) -> bool:
        """One pose alone: from above, open hand clear of everything, closing reaches the target (first,
        unless ``past_table``)."""
        if T[2, 2] > 1e-9 or self._blocked(T):
            return False
        return self._open_hand_state(T) == "clear" and self._closes_on_object(T)

    # --- proposals ---------------------------------------------------------------------------------
    def _approach_rotation(self, rng: np.random.Generator) -> np.ndarray:
        """Hand +z from above within ``max_tilt_deg``; half the time hand x across the narrowest width."""
        tilt = np.deg2rad(self.mix.max_tilt_deg) * rng.uniform()
        azimuth = rng.uniform(0.0, 2.0 * np.pi)
        z = np.array([np.sin(tilt) * np.cos(azimuth), np.sin(tilt) * np.sin(azimuth), -np.cos(tilt)])
        helper = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
        u = np.cross(z, helper)
        u /= np.linalg.norm(u)
        w = np.cross(z, u)
        if rng.uniform() < 0.5:
            flat = (self.vertices_table - self.com) @ np.stack([u, w], axis=1)
            _, vectors = np.linalg.eigh(flat.T @ flat)
            a, b = vectors[:, 0]  # the narrowest in-plane direction: finger A opposes B/C across it
            angle = np.arctan2(b, a) + rng.normal(0.0, np.deg2rad(10.0))
        else:
            angle = rng.uniform(0.0, 2.0 * np.pi)
        x = np.cos(angle) * u + np.sin(angle) * w
        return np.stack([x, np.cross(z, x), z], axis=1)

    def approach(self, rng: np.random.Generator) -> np.ndarray:
        """One pose with the target's COM (+- 1 cm) at ``depth`` along the approach axis, if qualified.

        ``depth`` ~ U(4, 10) cm puts the object between the open fingers (fingertips at 10.4 cm): the
        closing region, where the slides of the paper rarely stop on a table (its open fingers block
        them 13-15 cm out). Returns ``(0 or 1, 4, 4)``.
        """
        R = self._approach_rotation(rng)
        target = self.com + rng.normal(0.0, 0.01, size=3)
        depth = rng.uniform(0.04, 0.10)
        T = np.eye(4)
        T[:3, :3] = R
        T[:3, 3] = target - depth * R[:, 2]
        return T[None] if self.qualifies(T) else np.empty((0, 4, 4))

    def local(self, around: np.ndarray, rng: np.random.Generator, attempts: int = 20) -> np.ndarray | None:
        """A qualified pose within ``local_position_m`` / ``local_angle_deg`` of ``around`` (None if none found)."""
        for _ in range(attempts):
            T = perturb_pose(around, rng, self.mix.local_position_m, np.deg2rad(self.mix.local_angle_deg))
            if self.qualifies(T):
                return T
        return None

    def propose(self, kind: str, rng: np.random.Generator, n: int) -> np.ndarray:
        """Up to ``n`` qualified poses of ``uniform`` or ``approach`` kind (bounded by max_slides_per_pose)."""
        draw = self.slide if kind == "uniform" else self.approach
        poses, count = [], 0
        for _ in range(int(n) * self.config.qualify.max_slides_per_pose):
            if count >= n:
                break
            found = draw(rng)
            poses.append(found)
            count += len(found)
        return (np.concatenate(poses) if poses else np.empty((0, 4, 4)))[:int(n)]
