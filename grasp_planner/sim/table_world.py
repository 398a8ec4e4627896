"""The table-top world: an object resting on a table among neighbours, gravity on, close, lift, shake.

Built from the measured prototype in shared/notes/klampt-table.md, with its pitfalls designed out:

* the world frame is the table frame (+z up, the top at z = 0), so the table is a terrain box baked
  once at identity (a terrain's ``setCurrentTransform`` is ignored by the Simulator, note);
* objects start ``drop_gap_m`` above the top, inside the collision padding (exact contact at the
  start means no contact, note), and are settled by simulation before any grasp;
* the table is thicker and padded more than the hand (fingers pressing down pushed objects through
  a thin table, note), and an object that ends below the top is never counted as held;
* gravity stays on for every phase (zero g with a table let fingers push the box into it, note).

The hand's palm is kinematic as in the floating world (``GraspSimulator``): it is placed through
the floating base, closes, is lifted ``lift.height_m`` along +z at ``lift.speed_m_s``, and is shaken
the paper's 10 times. The fingers are servos (``grip.finger_model: servo``, the 3F's set speed and
force; docs/table_world.md) or the floating world's staged lock-at-contact rule (``staged``, the
stores labelled before 2026-12-03). Labels: FAILED (not lifted, dropped while lifting, or fell
through the table), LOOSE (dropped during the shakes), ROBUST (held through all of them).
"""
from __future__ import annotations

import dataclasses
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
import trimesh
from klampt import Geometry3D, Simulator, TriangleMesh, WorldModel
from klampt.robotsim import set_random_seed
from scipy.spatial.transform import Rotation

from grasp_planner.hand import kinematics as kin
from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.labels import GraspLabel
from grasp_planner.sim.mass import object_mass_properties
from grasp_planner.sim.quiet import silenced_output
from grasp_planner.sim.simulate import PALM_LINK_INDEX, GraspSimulator, com_speed, check_mesh, check_pose
from grasp_planner.sim.world_config import TableWorldConfig


@dataclass(frozen=True)
class Body:
    """A mesh (object frame, m) and its pose in the table frame."""

    vertices: np.ndarray
    faces: np.ndarray
    T_table_obj: np.ndarray


@dataclass(frozen=True)
class TableScene:
    """The grasp target and its neighbours at rest on the table (all poses in the table frame)."""

    target: Body
    neighbours: tuple[Body, ...] = ()

    @property
    def bodies(self) -> tuple[Body, ...]:
        return (self.target, *self.neighbours)


@dataclass(frozen=True)
class TrialOutcome:
    """One simulated table-world grasp.

    ``lifted``: the object rose with the hand; ``table_touched``: a finger touched the table while
    closing; ``neighbour_moved``: a neighbour's COM moved more than ``lift.neighbour_moved_m``.
    """

    label: GraspLabel
    robust_after_1_shake: bool
    fingers_touching: int
    lifted: bool
    table_touched: bool
    neighbour_moved: bool
    shakes_done: int
    sim_wall_time_s: float


@dataclass(frozen=True)
class RepeatedOutcome:
    """K trials of one qualified pose: trial 0 at the pose itself (the hard label), the rest noisy."""

    trials: tuple[TrialOutcome, ...]
    pose: np.ndarray | None = None  # the nominal T_table_hand

    @property
    def label(self) -> GraspLabel:
        return self.trials[0].label

    @property
    def robust_fraction(self) -> float:
        return sum(t.label == GraspLabel.ROBUST for t in self.trials) / len(self.trials)


def _rigid_mesh(world: WorldModel, name: str, vertices, faces, sim_config: SimConfig, friction: float):
    """A rigid object of uniform density (config.object) with the mesh as its geometry."""
    obj = world.makeRigidObject(name)
    mesh = TriangleMesh()
    mesh.setVertices(np.ascontiguousarray(vertices, dtype=float))
    mesh.setIndices(np.ascontiguousarray(faces, dtype=np.int32))
    obj.geometry().set(Geometry3D(mesh))
    props = object_mass_properties(vertices, faces, sim_config.object)
    mass = obj.getMass()
    mass.setMass(props.mass_kg)
    mass.setCom(props.com_m.tolist())
    mass.setInertia(props.inertia_kg_m2.reshape(-1).tolist())
    obj.setMass(mass)
    params = obj.getContactParameters()
    params.kFriction = friction
    params.kRestitution = sim_config.physics.restitution
    obj.setContactParameters(params)
    return obj


def _add_table(world: WorldModel, config: TableWorldConfig, body_padding_m: float):
    """The table as a terrain mesh box at identity, sunk so that padded bodies rest on z = 0.

    Klamp't's contacts act between padded surfaces: an object rests ``table.padding_m`` plus its own
    padding above the collision mesh (measured: 6.49 mm, still, for 10 g - 0.8 kg boxes; a box
    *primitive* terrain jittered at 1-1.5 cm/s with 1-4 mm gaps and made adaptive stepping thrash).
    Sinking the mesh by both paddings puts every resting object's lowest point on the visible top.
    """
    table = config.table
    top = -(table.padding_m + body_padding_m)
    h, d = table.half_size_m, table.thickness_m
    corners = np.array([[x, y, z] for x in (-h, h) for y in (-h, h) for z in (top - d, top)])
    hull = trimesh.convex.convex_hull(corners)
    mesh = TriangleMesh()
    mesh.setVertices(np.ascontiguousarray(hull.vertices, dtype=float))
    mesh.setIndices(np.ascontiguousarray(hull.faces, dtype=np.int32))
    terrain = world.makeTerrain("table")
    terrain.geometry().set(Geometry3D(mesh))
    terrain.geometry().setCollisionMargin(table.padding_m)
    terrain.setFriction(table.friction)
    return terrain


def _set_pose(obj, T: np.ndarray) -> None:
    obj.setTransform(np.asarray(T[:3, :3]).T.reshape(-1).tolist(), np.asarray(T[:3, 3]).tolist())
    obj.setVelocity([0.0, 0.0, 0.0], [0.0, 0.0, 0.0])


def body_matrix(body) -> np.ndarray:
    """A SimBody's pose as 4x4, in its object frame (``getTransform`` would give the COM frame)."""
    R, t = body.getObjectTransform()
    T = np.eye(4)
    T[:3, :3] = np.asarray(R).reshape(3, 3).T
    T[:3, 3] = t
    return T


# --- placement -------------------------------------------------------------------------------------
def stable_rotation(vertices, faces, rng: np.random.Generator) -> np.ndarray:
    """A resting orientation drawn by trimesh's ``compute_stable_poses`` probabilities, then a random yaw."""
    mesh = trimesh.Trimesh(vertices=vertices, faces=faces, process=False)
    transforms, probabilities = mesh.compute_stable_poses(n_samples=1, threshold=0.0)
    if len(transforms) == 0:
        R = np.eye(3)
    else:
        p = np.asarray(probabilities, dtype=float)
        p = p / p.sum() if p.sum() > 0 else np.full(len(p), 1.0 / len(p))
        R = np.asarray(transforms[rng.choice(len(transforms), p=p)])[:3, :3]
    return Rotation.from_euler("z", rng.uniform(-np.pi, np.pi)).as_matrix() @ R


def drop_pose(vertices, R: np.ndarray, xy, gap: float) -> np.ndarray:
    """T_table_obj with rotation ``R``, at ``xy``, the lowest vertex ``gap`` above the top."""
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = [xy[0], xy[1], gap - (np.asarray(vertices) @ R.T)[:, 2].min()]
    return T


def _footprint_radius(vertices, R) -> float:
    v = np.asarray(vertices) @ R.T
    centre = (v[:, :2].min(0) + v[:, :2].max(0)) / 2.0
    return float(np.linalg.norm(v[:, :2] - centre, axis=1).max())


def settle(bodies: list[Body], sim_config: SimConfig, config: TableWorldConfig, seed: int = 0,
           quiet: bool = True) -> list[Body]:
    """Run the table world with only these bodies until every one is still; their rest poses.

    Each body starts at its given pose (lowest point ``drop_gap_m`` above the top). Stops after
    ``placement.settle_s`` at the latest.
    """
    place = config.placement
    dt = sim_config.physics.control_dt_s
    window = max(1, int(round(place.still_window_s / dt)))
    with silenced_output(quiet):
        world = WorldModel()
        _add_table(world, config, sim_config.physics.padding_m)
        objects = [_rigid_mesh(world, f"body{i}", b.vertices, b.faces, sim_config, sim_config.physics.friction)
                   for i, b in enumerate(bodies)]
        for obj, body in zip(objects, bodies):
            _set_pose(obj, body.T_table_obj)
        set_random_seed(int(seed))
        sim = Simulator(world)
        sim.setGravity([0.0, 0.0, -config.table.gravity_m_s2])
        sim.setSimStep(sim_config.physics.sim_dt_s)
        sim.setSetting("maxContacts", str(sim_config.physics.max_contacts))
        for obj in objects:
            sim.body(obj).setCollisionPadding(sim_config.physics.padding_m)
        history = []
        for step in range(int(round(place.settle_s / dt))):
            sim.simulate(dt)
            history.append(np.array([sim.body(o).getTransform()[1] for o in objects]))
            if len(history) > window:
                speed = np.linalg.norm(history[-1] - history[-1 - window], axis=1).max() / (window * dt)
                if speed < place.still_speed_m_s:
                    break
        return [Body(b.vertices, b.faces, body_matrix(sim.body(o))) for b, o in zip(bodies, objects)]


def place_scene(target_vertices, target_faces, rng: np.random.Generator, config: TableWorldConfig,
                sim_config: SimConfig, neighbours=(), quiet: bool = True) -> TableScene:
    """Rest the target (and ``neighbours``, meshes as ``(vertices, faces)``) on the table, settled.

    The target gets a stable pose (trimesh), a random yaw and an xy within ``position_range_m``;
    each neighbour a stable pose and yaw at a gap of ``neighbour_gap_*`` between bounding circles.
    """
    place = config.placement
    R = stable_rotation(target_vertices, target_faces, rng)
    xy = rng.uniform(-place.position_range_m, place.position_range_m, size=2)
    bodies = [Body(np.asarray(target_vertices, float), np.asarray(target_faces),
                   drop_pose(target_vertices, R, xy, place.drop_gap_m))]
    circles = [(xy, _footprint_radius(target_vertices, R))]
    for vertices, faces in neighbours:
        Rn = stable_rotation(vertices, faces, rng)
        radius = _footprint_radius(vertices, Rn)
        for _ in range(50):
            angle = rng.uniform(0.0, 2.0 * np.pi)
            distance = circles[0][1] + radius + rng.uniform(place.neighbour_gap_min_m, place.neighbour_gap_max_m)
            centre = circles[0][0] + distance * np.array([np.cos(angle), np.sin(angle)])
            if all(np.linalg.norm(centre - c) > r + radius + place.neighbour_gap_min_m for c, r in circles[1:]):
                break
        circles.append((centre, radius))
        v = np.asarray(vertices, float) @ Rn.T
        offset = centre - (v[:, :2].min(0) + v[:, :2].max(0)) / 2.0  # the circle is about the footprint centre
        bodies.append(Body(np.asarray(vertices, float), np.asarray(faces), drop_pose(vertices, Rn, offset,
                                                                                     place.drop_gap_m)))
    settled = settle(bodies, sim_config, config, seed=int(rng.integers(2**31 - 1)), quiet=quiet)
    return TableScene(settled[0], tuple(settled[1:]))


# --- grasping ---------------------------------------------------------------------------------------
def perturb_pose(T: np.ndarray, rng: np.random.Generator, position_m: float, angle_rad: float) -> np.ndarray:
    """``T`` moved uniformly within a ball of ``position_m`` and turned by up to ``angle_rad`` about its origin."""
    direction = rng.normal(size=3)
    direction /= np.linalg.norm(direction)
    offset = direction * position_m * rng.uniform() ** (1.0 / 3.0)
    axis = rng.normal(size=3)
    axis /= np.linalg.norm(axis)
    out = np.array(T, dtype=float)
    out[:3, :3] = Rotation.from_rotvec(axis * rng.uniform(0.0, angle_rad)).as_matrix() @ out[:3, :3]
    out[:3, 3] += offset
    return out


class TableGraspSimulator(GraspSimulator):
    """Labels hand poses (palm frame, in the table frame) on one table scene by Klamp't simulation.

    Parameters
    ----------
    scene : TableScene
        The settled target and neighbours (``place_scene``).
    config : SimConfig, optional
        The hand and contact physics shared with the floating world (default ``SimConfig.load()``).
    world : TableWorldConfig, optional
        Table, lift and trial settings (default ``TableWorldConfig.load()``).
    """

    def __init__(self, scene: TableScene, config: SimConfig | None = None,
                 world: TableWorldConfig | None = None, quiet: bool = True):
        target = scene.target
        world = world if world is not None else TableWorldConfig.load()
        config = config if config is not None else SimConfig.load()
        grip = world.grip
        config = config.replace(closing=dataclasses.replace(config.closing, squeeze_rad=grip.squeeze_rad),
                                physics=dataclasses.replace(config.physics, sim_dt_s=grip.sim_dt_s),
                                hand=dataclasses.replace(config.hand, pid_kp=grip.pid_kp, pid_kd=grip.pid_kd))
        super().__init__(target.vertices, target.faces, config, quiet)
        self.world_config = world
        self.scene = scene
        self._T_table_obj = check_pose(target.T_table_obj, "T_table_obj")
        self._servo_dofs = np.array([dof for finger in self._fingers() for dof in finger.dofs])
        self._obstacles = None
        with silenced_output(quiet):
            self.table = _add_table(self.world, self.world_config, self.config.physics.padding_m)
            self.neighbours = [_rigid_mesh(self.world, f"neighbour{i}", *check_mesh(n.vertices, n.faces),
                                           self.config, self.config.physics.friction)
                               for i, n in enumerate(scene.neighbours)]

    def _gravity(self) -> list:
        return [0.0, 0.0, -self.world_config.table.gravity_m_s2]

    def _neighbour_coms(self, sim) -> np.ndarray:
        return np.array([sim.body(n).getTransform()[1] for n in self.neighbours]).reshape(-1, 3)

    def _reset_other_bodies(self) -> None:
        for n, body in zip(self.neighbours, self.scene.neighbours):
            _set_pose(n, body.T_table_obj)

    def _start(self, T_table_hand: np.ndarray, seed: int):
        sim = self._new_simulation(self._T_table_obj, seed, T_world_hand=T_table_hand)
        for n in self.neighbours:
            sim.body(n).setCollisionPadding(self.config.physics.padding_m)
        table_id = self.table.getID()
        for i in range(PALM_LINK_INDEX + 1, self.robot.numLinks()):
            sim.enableContactFeedback(self.robot.link(i).getID(), table_id)
        self._servo_target = np.asarray(self._q_start, float)[self._servo_dofs].copy()
        return sim

    # --- the servo finger model (grip.finger_model: servo) ---------------------------------------------
    @property
    def _servo(self) -> bool:
        return self.world_config.grip.finger_model == "servo"

    def _servo_step(self, sim, dt: float) -> float:
        """One control step of the servo fingers; returns the largest target advance (rad).

        Every phalanx joint is a speed- and force-limited servo, as the 3F's fingers are (a closing speed
        and a force setting): its target rises at ``closing.speed_rad_s`` but never leads the joint's
        angle by more than ``grip.servo_lead_rad``, so a blocked joint presses with ``kp x lead`` and a
        joint whose object slips closes on after it. Blocked phalanges stop where they are while the
        others close on, which is what the underactuated linkage does.
        """
        dofs = self._servo_dofs
        actual = np.asarray(sim.getActualConfig(0))[dofs]
        speed, lead = self.config.closing.speed_rad_s, self.world_config.grip.servo_lead_rad
        target = np.minimum(np.minimum(self._servo_target + speed * dt, actual + lead), self._upper[dofs])
        advance = float(np.max(target - self._servo_target))
        self._servo_target = target
        command = np.array(self._q_start, dtype=float)
        command[dofs] = target
        sim.controller(0).setPIDCommand(command.tolist(), [0.0] * len(command))
        sim.simulate(dt)
        return advance

    def _advance(self, sim, duration: float) -> None:
        if not self._servo:
            return super()._advance(sim, duration)
        dt = self.config.physics.control_dt_s
        for _ in range(max(1, int(round(duration / dt)))):
            self._servo_step(sim, dt)

    def _close(self, sim, early_exit: bool):
        """The staged rule (GraspSimulator's) or, with ``grip.finger_model: servo``, the servo fingers closing
        until every joint is blocked or at its limit; FAILED when the object is still moving at the end."""
        if not self._servo:
            return super()._close(sim, early_exit)
        cfg, exits, dt = self.config.closing, self.config.early_exit, self.config.physics.control_dt_s
        window = max(1, int(round(cfg.still_window_s / dt)))
        obj_id = self.object.getID()
        fingers = self._fingers()
        com_start = self._com(sim)
        history = deque([com_start], maxlen=window + 1)
        failed, step, n_steps = False, 0, int(round(cfg.duration_s / dt))
        for step in range(1, n_steps + 1):
            advance = self._servo_step(sim, dt)
            for finger in fingers:
                finger.touched.update(j for j, link in enumerate(finger.link_ids) if sim.hadContact(link, obj_id))
            history.append(self._com(sim))
            if not early_exit or step < window:
                continue
            if not self.config.hand_box.holds(history[-1], com_start):
                failed = True
                break
            settled = advance < 0.5 * cfg.speed_rad_s * dt   # every joint blocked or at its limit
            if settled and step * dt >= exits.min_closing_s and com_speed(history, dt) < cfg.still_speed_m_s:
                break
        else:
            failed = self._still_test_fails(history, com_start, dt)
        return self._closing_result(sim, failed, step * dt, history, com_start, fingers)

    def _blocking_ids(self) -> list:
        """With ``grip.table_blocks_fingers``, a phalanx stopped by the table hands over to the next one,
        as the 3F's underactuated linkage does against any obstacle (the distal phalanges curl on)."""
        return [self.table.getID()] if self.world_config.grip.table_blocks_fingers else []

    def _table_touched(self, sim) -> bool:
        table_id = self.table.getID()
        return any(sim.hadContact(self.robot.link(i).getID(), table_id)
                   for i in range(PALM_LINK_INDEX + 1, self.robot.numLinks()))

    def _lift(self, sim) -> tuple[bool, np.ndarray]:
        """Move the palm up ``lift.height_m`` along +z, hold; (held by the hand, new palm position)."""
        lift, dt = self.world_config.lift, self.config.physics.control_dt_s
        palm = sim.body(self.robot.link(PALM_LINK_INDEX))
        reference = self._com(sim)
        z_start = float(sim.body(self.object).getTransform()[1][2])
        up_hand = self._palm_R.T @ np.array([0.0, 0.0, 1.0])
        duration = lift.height_m / lift.speed_m_s
        steps = max(1, int(round(duration / dt)))
        for i in range(steps):
            # cosine ramp, as the shakes: z(t) = h (1 - cos(pi t / T)) / 2, no jerk at the start
            # (a step to full speed in one 10 ms control step is a 4 g kick that shook objects loose)
            height = lift.height_m * (1.0 - np.cos(np.pi * (i + 1) / steps)) / 2.0
            speed = lift.height_m * np.pi / (2.0 * duration) * np.sin(np.pi * (i + 0.5) / steps)
            self._set_palm(palm, up_hand * height, up_hand * speed)
            self._advance(sim, dt)
        self._set_palm(palm, up_hand * lift.height_m, np.zeros(3))
        self._advance(sim, lift.settle_s)
        self._palm_t = self._palm_t + np.array([0.0, 0.0, lift.height_m])
        com_world = np.asarray(sim.body(self.object).getTransform()[1])
        rose = com_world[2] - z_start >= lift.lifted_fraction * lift.height_m
        in_hand = self.config.hand_box.holds(self._com(sim), reference)
        return bool(rose and in_hand and com_world[2] > -lift.below_table_m), com_world

    def open_hand_blocked(self, T_table_hand: np.ndarray) -> bool:
        """The open hand crosses the table top or touches a body: no real hand can start there.

        Such a start also puts bodies deep inside each other, where adaptive time stepping rolls
        back without end (measured: one planned grasp inside the table stalled a trial for minutes).
        """
        from grasp_planner.geometry import hand_collides
        from grasp_planner.hand.kinematics import open_configuration
        from grasp_planner.sim.table_qualify import _box_corners, _scene_geometry

        q = open_configuration(self.config.hand.open_mode)
        mats = kin.box_matrices(T_table_hand, q)
        if _box_corners(mats, np.arange(len(mats)))[..., 2].min() < -self.config.physics.padding_m:
            return True
        if self._obstacles is None:
            self._obstacles = _scene_geometry(self.scene.bodies)
        return bool(hand_collides(self._obstacles, T_table_hand, q))

    def trial(self, T_table_hand, rng: np.random.Generator) -> TrialOutcome:
        """One grasp: close with gravity on, lift, shake; draws its seed and shakes from ``rng``.

        A start with the open hand in the table or in a body is FAILED without simulating it.
        """
        start = time.perf_counter()
        T = check_pose(T_table_hand, "T_table_hand")
        seed = int(rng.integers(2**31 - 1))
        if self.open_hand_blocked(T):
            return TrialOutcome(GraspLabel.FAILED, False, 0, False, False, False, 0, time.perf_counter() - start)
        lift = self.world_config.lift
        with silenced_output(self.quiet):
            sim = self._start(T, seed)
            neighbours_before = self._neighbour_coms(sim)
            closing = self._close(sim, self.config.early_exit.enabled)
            table_touched = self._table_touched(sim)
            lifted, shakes, after_first, held = False, 0, False, False
            if not closing.failed and closing.fingers_touching > 0:
                lifted, _ = self._lift(sim)
            if lifted:
                held, after_first, shakes = self._shake(sim, rng, self.config.early_exit.enabled)
                com_z = float(sim.body(self.object).getTransform()[1][2])
                held = held and com_z > -lift.below_table_m
            moved = np.linalg.norm(self._neighbour_coms(sim) - neighbours_before, axis=1)
        label = GraspLabel.FAILED if not lifted else (GraspLabel.ROBUST if held else GraspLabel.LOOSE)
        return TrialOutcome(label=label, robust_after_1_shake=bool(lifted and after_first),
                            fingers_touching=closing.fingers_touching, lifted=lifted, table_touched=table_touched,
                            neighbour_moved=bool(np.any(moved > lift.neighbour_moved_m)), shakes_done=shakes,
                            sim_wall_time_s=time.perf_counter() - start)

    def label_repeated(self, T_table_hand, rng: np.random.Generator, trials: int | None = None) -> RepeatedOutcome:
        """K trials: the pose itself, then K-1 noisy copies; stops early on agreeing closing failures.

        Rule: after ``trials.early_stop_failed`` trials that were all FAILED, the rest are skipped
        (failed labels repeat 97% of the time, docs/learning.md); the fraction is over trials done.
        """
        cfg = self.world_config.trials
        count = cfg.count if trials is None else int(trials)
        T = check_pose(T_table_hand, "T_table_hand")
        outcomes = []
        for k in range(count):
            pose = T if k == 0 else perturb_pose(T, rng, cfg.position_noise_m, np.deg2rad(cfg.angle_noise_deg))
            outcomes.append(self.trial(pose, rng))
            if (cfg.early_stop_failed and k + 1 == cfg.early_stop_failed
                    and all(o.label == GraspLabel.FAILED for o in outcomes)):
                break
        return RepeatedOutcome(tuple(outcomes), T)

    def close_only(self, T_table_hand, seed: int = 0):
        """Only close (gravity on, no lift): the ClosingResult and whether a finger touched the table."""
        T = check_pose(T_table_hand, "T_table_hand")
        with silenced_output(self.quiet):
            sim = self._start(T, seed)
            closing = self._close(sim, self.config.early_exit.enabled)
            return closing, self._table_touched(sim)

    def T_table_hand(self, T_obj_hand) -> np.ndarray:
        """A hand pose in the target's frame, expressed in the table frame."""
        return self._T_table_obj @ check_pose(T_obj_hand)
