"""Klamp't dynamic simulation of one grasp: close the hand on a free-floating object, then shake it.

Method and every setting follow shared/notes/klampt-sim.md (measured on klampt 0.10.1):

* the world holds the hand at the origin (world frame = hand frame) and the object at
  ``inv(T_obj_hand)``; gravity is zero, so the object only moves when the hand pushes it;
* the hand's floating-base root (link 5, ``palm``) is kinematic (``enableDynamics(False)``): it holds
  still under finger forces and is shaken by setting its velocity each control step;
* fingers close one phalanx at a time (proximal until it touches, then medial, then distal), an
  approximation of the Robotiq's underactuation that the note found to keep objects in place;
* labels: the object still moving after the closing time -> FAILED; else shaken ``shake.count`` times
  along random hand x, y, z; its COM leaving the hand box -> LOOSE; otherwise ROBUST.

One WorldModel (robot + object) is built per object and reused; a fresh Simulator is built per grasp
after resetting the robot's and the object's pose and velocity in the world, which the note found
bit-reproducible (``sim.reset()`` drops contact-feedback registrations and is not used).
"""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from klampt import GeometricPrimitive, Geometry3D, Simulator, TriangleMesh, WorldModel
from klampt.robotsim import set_random_seed
from scipy.spatial.transform import Rotation

from grasp_planner import geometry
from grasp_planner.hand import kinematics as kin
from grasp_planner.hand.urdf import urdf_path
from grasp_planner.pose import invert_transform
from grasp_planner.sim.config import SimConfig
from grasp_planner.sim.labels import GraspLabel, SimOutcome
from grasp_planner.sim.mass import object_mass_properties
from grasp_planner.sim.quiet import silenced_output

PALM_LINK_INDEX = 5  # floating base: base0..base4, then the root link (docs/architecture.md)
FINGERS = ("a", "b", "c")


def _joint_link(joint: str) -> str:
    """Child link: palm_finger_b_joint -> finger_b_link_0, finger_a_joint_2 -> finger_a_link_2."""
    if joint.startswith("palm_"):
        return joint[len("palm_"):-len("_joint")] + "_link_0"
    return joint.replace("_joint_", "_link_")


def check_mesh(vertices, faces) -> tuple[np.ndarray, np.ndarray]:
    """A closed object needs at least a tetrahedron: 4 vertices and 4 faces."""
    return geometry.check_mesh(vertices, faces, min_vertices=4, min_faces=4)


def check_pose(T, name: str = "T_obj_hand") -> np.ndarray:
    """One rigid 4x4 transform as float; ValueError naming ``name`` if it is not one."""
    T = np.asarray(T, dtype=float)
    if T.shape != (4, 4) or not np.all(np.isfinite(T)):
        raise ValueError(f"{name} must be one finite 4x4 matrix, got shape {T.shape}")
    if not np.allclose(T[:3, :3] @ T[:3, :3].T, np.eye(3), atol=1e-6) or not np.allclose(T[3], [0, 0, 0, 1]):
        raise ValueError(f"{name} must be a rigid transform (orthonormal rotation, last row 0 0 0 1)")
    return T


@dataclass
class _Finger:
    """Closing state of one finger: its phalanx DOFs (robot link indices) and the active stage 0..3."""

    dofs: list
    link_ids: list
    stage: int = 0
    touched: set = field(default_factory=set)


def com_speed(history, dt: float) -> float:
    """Mean COM speed (m/s) over a history of positions taken ``dt`` apart."""
    return float(np.linalg.norm(history[-1] - history[0]) / (dt * (len(history) - 1)))


@dataclass(frozen=True)
class ClosingResult:
    """What the closing phase produced.

    ``failed``: the object was still moving (or out of the hand) at the end; ``time_s``: simulated
    closing time (s); ``displacement_m``: COM travel (m, hand frame); ``q_hand``: final joint vector
    ``(11,)`` in ``hand.JOINT_NAMES`` order (rad); touching counts as in SimOutcome.
    """

    failed: bool
    time_s: float
    displacement_m: float
    fingers_touching: int
    contact_count: int
    q_hand: np.ndarray


class GraspSimulator:
    """Labels hand poses on one object by Klamp't simulation.

    Parameters
    ----------
    vertices : (V, 3) array
        Object mesh vertices, object frame, metres (decimate to <= ~2k triangles: contacts cost 4-7x more
        on meshes than on primitives, note "Open risks").
    faces : (F, 3) int array
        Triangle vertex indices.
    config : SimConfig, optional
        Physical parameters (default ``SimConfig.load()``).
    quiet : bool
        Silence the C++ layer's prints during construction and simulation.
    """

    def __init__(self, vertices, faces, config: SimConfig | None = None, quiet: bool = True):
        self.config = config if config is not None else SimConfig.load()
        self.quiet = quiet
        vertices, faces = check_mesh(vertices, faces)
        self.mass = object_mass_properties(vertices, faces, self.config.object)
        with silenced_output(quiet):
            self.world = WorldModel()
            self.robot = self.world.loadRobot(urdf_path())
            if self.robot.numLinks() == 0:
                raise RuntimeError(f"could not load the hand URDF {urdf_path()}")
            self.object = self.world.makeRigidObject("object")
            mesh = TriangleMesh()
            mesh.setVertices(np.ascontiguousarray(vertices))
            mesh.setIndices(np.ascontiguousarray(faces))
            self.object.geometry().set(Geometry3D(mesh))
        mass = self.object.getMass()
        mass.setMass(self.mass.mass_kg)
        mass.setCom(self.mass.com_m.tolist())
        mass.setInertia(self.mass.inertia_kg_m2.reshape(-1).tolist())
        self.object.setMass(mass)
        params = self.object.getContactParameters()
        params.kFriction = self.config.physics.friction
        params.kRestitution = self.config.physics.restitution
        self.object.setContactParameters(params)
        self._set_effort_limits()
        self._use_box_primitives()
        self._hand_dofs = np.array([self.robot.link(_joint_link(joint)).getIndex() for joint in kin.JOINT_NAMES])
        self._open_q = self._open_configuration()
        upper = self.robot.getJointLimits()[1]
        margin = self.config.closing.limit_margin_rad
        self._upper = np.asarray(upper) - margin

    # --- setup -------------------------------------------------------------------------------------
    def _set_effort_limits(self) -> None:
        """Finger torque limits from the config (the closing force), applied to the model."""
        tmax = np.asarray(self.robot.getTorqueLimits(), dtype=float)
        finger = np.isfinite(tmax) & (tmax > 0)
        finger[:PALM_LINK_INDEX + 1] = False
        tmax[finger] = self.config.hand.effort_nm
        self.robot.setTorqueLimits(tmax.tolist())

    def _use_box_primitives(self) -> None:
        """Replace the URDF's box meshes (12 triangles each) by box primitives of the same size.

        The URDF is generated from hand/kinematics.py, so ``LINKS`` holds the same boxes. Measured with
        bench_label.py's poses: 1.7x faster labelling, 30/32 labels unchanged (two chaotic sphere grasps).
        """
        for spec in kin.LINKS:
            centre, half = np.asarray(spec.box_center), np.asarray(spec.box_half_extents)
            box = GeometricPrimitive()
            box.setAABB((centre - half).tolist(), (centre + half).tolist())
            self.robot.link(spec.name).geometry().set(Geometry3D(box))

    def _open_configuration(self) -> np.ndarray:
        """Full robot configuration (floating base at identity) of the open hand."""
        q = np.zeros(self.robot.numLinks())
        q[self._hand_dofs] = kin.open_configuration(self.config.hand.open_mode)
        return q

    def _new_simulation(self, T_world_obj: np.ndarray, seed: int, T_world_hand: np.ndarray | None = None):
        """Reset the world to the initial state of one grasp and build a fresh Simulator on it.

        ``seed`` seeds the C++ layer's random generator, which ODE's solver draws from: without it
        the same grasp gives different results on the second call in a process (measured). The
        floating world is the hand frame (``T_world_hand`` = identity); the table world passes the
        palm pose in the table frame, set through the floating base (translation, then ZYX angles).
        """
        physics = self.config.physics
        set_random_seed(int(seed))
        q = self._open_q.copy()
        self._palm_R = np.eye(3) if T_world_hand is None else np.asarray(T_world_hand[:3, :3], float)
        self._palm_t = np.zeros(3) if T_world_hand is None else np.asarray(T_world_hand[:3, 3], float)
        if T_world_hand is not None:
            q[:3] = self._palm_t
            q[3:6] = Rotation.from_matrix(self._palm_R).as_euler("ZYX")
        self._q_start = q
        self.robot.setConfig(q.tolist())
        self.robot.setVelocity([0.0] * self.robot.numLinks())
        self.object.setTransform(T_world_obj[:3, :3].T.reshape(-1).tolist(), T_world_obj[:3, 3].tolist())
        self.object.setVelocity([0.0, 0.0, 0.0], [0.0, 0.0, 0.0])
        self._reset_other_bodies()
        sim = Simulator(self.world)
        sim.setGravity(self._gravity())
        sim.setSimStep(physics.sim_dt_s)
        sim.setSetting("adaptiveTimeStepping", "1" if physics.adaptive_time_stepping else "0")
        sim.setSetting("maxContacts", str(physics.max_contacts))
        obj_body = sim.body(self.object)
        obj_body.setCollisionPadding(physics.padding_m)
        obj_id = self.object.getID()
        for i in range(PALM_LINK_INDEX, self.robot.numLinks()):
            link = self.robot.link(i)
            body = sim.body(link)
            body.setCollisionPadding(physics.padding_m)
            surface = body.getSurface()
            surface.kFriction = physics.friction
            surface.kRestitution = physics.restitution
            body.setSurface(surface)
            sim.enableContactFeedback(link.getID(), obj_id)
        sim.body(self.robot.link(PALM_LINK_INDEX)).enableDynamics(False)
        controller = sim.controller(0)
        controller.setRate(physics.control_dt_s)
        n = self.robot.numDrivers()
        hand = self.config.hand
        controller.setPIDGains([hand.pid_kp] * n, [hand.pid_ki] * n, [hand.pid_kd] * n)
        return sim

    def _reset_other_bodies(self) -> None:
        """Nothing else is in the floating world; the table world puts its neighbours back here."""

    def _gravity(self) -> list:
        """Zero in the paper's floating world; the table world turns it on."""
        return [0.0, 0.0, 0.0]

    def _fingers(self) -> list[_Finger]:
        fingers = []
        for f in FINGERS:
            links = [self.robot.link(f"finger_{f}_link_{j}") for j in (1, 2, 3)]
            fingers.append(_Finger([link.getIndex() for link in links], [link.getID() for link in links]))
        return fingers

    # --- phases ------------------------------------------------------------------------------------
    def _com(self, sim) -> np.ndarray:
        """The object's COM in the palm's current frame (the world frame in the floating world)."""
        com = np.asarray(sim.body(self.object).getTransform()[1])
        return self._palm_R.T @ (com - self._palm_t)

    def _set_palm(self, palm, offset_hand: np.ndarray, velocity_hand: np.ndarray) -> None:
        """Place the kinematic palm at its start pose moved by ``offset_hand`` (hand axes), with a velocity."""
        R = self._palm_R
        palm.setObjectTransform(R.T.reshape(-1).tolist(), (self._palm_t + R @ offset_hand).tolist())
        palm.setVelocity([0.0, 0.0, 0.0], (R @ velocity_hand).tolist())

    def _advance(self, sim, duration: float) -> None:
        """Simulate ``duration`` s with the finger commands as they are (the table world's servo re-targets)."""
        sim.simulate(duration)

    def _blocking_ids(self) -> list:
        """Bodies besides the object whose contact stops a phalanx (none in the floating world)."""
        return []

    def _advance_stage(self, finger: _Finger, touching: list, actual, command: np.ndarray,
                       blocked: list = ()) -> None:
        """The note's underactuation rule for one finger after one control step.

        A touching phalanx ``j`` at or beyond the active stage locks phalanges ``<= j`` at their actual
        angle plus the squeeze and hands over to phalanx ``j + 1``; an active joint whose command
        reached its limit also hands over. ``blocked`` phalanges (touching another body, e.g. the
        table) hand over the same way but do not count as touching the object. ``command`` is
        updated in place.
        """
        finger.touched.update(touching)
        if finger.stage >= 3:
            return
        deepest = max([*touching, *blocked], default=-1)
        if deepest >= finger.stage:
            for j in range(deepest + 1):
                dof = finger.dofs[j]
                command[dof] = min(actual[dof] + self.config.closing.squeeze_rad, self._upper[dof])
            finger.stage = deepest + 1
        elif command[finger.dofs[finger.stage]] >= self._upper[finger.dofs[finger.stage]]:
            finger.stage += 1

    def _close(self, sim, early_exit: bool) -> ClosingResult:
        """Close the fingers stage by stage; FAILED when the object is still moving at the end."""
        cfg, physics = self.config.closing, self.config.physics
        exits = self.config.early_exit
        dt = physics.control_dt_s
        n_steps = int(round(cfg.duration_s / dt))
        window = max(1, int(round(cfg.still_window_s / dt)))
        obj_id = self.object.getID()
        palm_id = self.robot.link(PALM_LINK_INDEX).getID()
        fingers = self._fingers()
        blocking = self._blocking_ids()
        command = self._q_start.copy()
        zero_velocity = [0.0] * len(command)
        com_start = self._com(sim)
        history = deque([com_start], maxlen=window + 1)
        controller = sim.controller(0)
        failed, step = False, 0
        for step in range(1, n_steps + 1):
            for finger in fingers:
                if finger.stage < 3:
                    dof = finger.dofs[finger.stage]
                    command[dof] = min(command[dof] + cfg.speed_rad_s * dt, self._upper[dof])
            controller.setPIDCommand(command.tolist(), zero_velocity)
            sim.simulate(dt)
            actual = sim.getActualConfig(0)
            any_contact = sim.hadContact(palm_id, obj_id)
            for finger in fingers:
                touching = [j for j, link_id in enumerate(finger.link_ids) if sim.hadContact(link_id, obj_id)]
                any_contact = any_contact or bool(touching)
                blocked = [j for j, link_id in enumerate(finger.link_ids)
                           if any(sim.hadContact(link_id, other) for other in blocking)] if blocking else []
                self._advance_stage(finger, touching, actual, command, blocked)
            com = self._com(sim)
            history.append(com)
            if not early_exit or step < window:
                continue
            speed = com_speed(history, dt)
            if not self.config.hand_box.holds(com, com_start):
                failed = True
                break
            fingers_done = all(finger.stage >= 3 for finger in fingers)
            if fingers_done and not any_contact and speed > exits.free_flight_speed_m_s:
                failed = True  # nothing can stop a free object in zero g once the fingers are locked
                break
            if fingers_done and step * dt >= exits.min_closing_s and speed < cfg.still_speed_m_s:
                break
        else:
            failed = self._still_test_fails(history, com_start, dt)
        return self._closing_result(sim, failed, step * dt, history, com_start, fingers)

    def _still_test_fails(self, history, com_start: np.ndarray, dt: float) -> bool:
        """The end of a full-length closing: the object still moving, or out of the hand, is FAILED."""
        return (com_speed(history, dt) >= self.config.closing.still_speed_m_s
                or not self.config.hand_box.holds(history[-1], com_start))

    def _closing_result(self, sim, failed: bool, time_s: float, history, com_start: np.ndarray,
                        fingers: list) -> ClosingResult:
        """What a closing produced, from its COM history and the fingers' touched phalanges."""
        actual = np.asarray(sim.getActualConfig(0))
        return ClosingResult(failed=failed, time_s=time_s,
                             displacement_m=float(np.linalg.norm(history[-1] - com_start)),
                             fingers_touching=sum(1 for finger in fingers if finger.touched),
                             contact_count=sum(len(finger.touched) for finger in fingers),
                             q_hand=actual[self._hand_dofs])

    def _shake(self, sim, rng: np.random.Generator, early_exit: bool) -> tuple[bool, bool, int]:
        """Shake the kinematic palm; returns (held at the end, held after shake 1, shakes simulated)."""
        cfg, dt = self.config.shake, self.config.physics.control_dt_s
        palm = sim.body(self.robot.link(PALM_LINK_INDEX))
        steps = max(1, int(round(cfg.duration_s / dt)))
        held, held_after_first, done = True, True, 0
        reference = self._com(sim)
        for k in range(cfg.count):
            amplitude = rng.uniform(-cfg.amplitude_m, cfg.amplitude_m, size=3)
            for i in range(steps):
                # there-and-back cosine move: x(t) = a (1 - cos(2 pi t / T)) / 2, velocity at the step midpoint
                phase = 2.0 * np.pi * i / steps
                middle = 2.0 * np.pi * (i + 0.5) / steps
                velocity = amplitude * np.pi / cfg.duration_s * np.sin(middle)
                self._set_palm(palm, amplitude * (1.0 - np.cos(phase)) / 2.0, velocity)
                self._advance(sim, dt)
            self._set_palm(palm, np.zeros(3), np.zeros(3))
            done = k + 1
            held = held and self.config.hand_box.holds(self._com(sim), reference)
            if k == 0:
                held_after_first = held
            if early_exit and not held:
                return held, held_after_first, done
        self._advance(sim, cfg.settle_s)
        held = held and self.config.hand_box.holds(self._com(sim), reference)
        return held, held_after_first, done

    # --- public ------------------------------------------------------------------------------------
    def close(self, T_obj_hand, fix_object: bool = False, early_exit: bool | None = None,
              seed: int = 0) -> ClosingResult:
        """Only close the hand (no shakes); ``fix_object`` makes the object immovable (a wall to close on).

        Parameters
        ----------
        T_obj_hand : (4, 4) array
            Hand pose in the object frame, metres.
        fix_object : bool
            Disable the object's dynamics, so fingers must stop at it.
        early_exit : bool, optional
            Override ``config.early_exit.enabled``.
        seed : int
            Seed of the simulator's internal random generator.
        """
        T = check_pose(T_obj_hand)
        early = self.config.early_exit.enabled if early_exit is None else early_exit
        with silenced_output(self.quiet):
            sim = self._new_simulation(invert_transform(T), seed)
            if fix_object:
                sim.body(self.object).enableDynamics(False)
            return self._close(sim, early)

    def label(self, T_obj_hand, rng: np.random.Generator, early_exit: bool | None = None) -> SimOutcome:
        """Simulate one grasp and label it.

        Parameters
        ----------
        T_obj_hand : (4, 4) array
            Hand pose (palm frame, +z approach) in the object frame, metres.
        rng : np.random.Generator
            Draws the simulator's seed and the shake offsets; the same seed gives the same outcome.
        early_exit : bool, optional
            Override ``config.early_exit.enabled`` (the benchmark's baseline passes False).

        Returns
        -------
        SimOutcome
        """
        start = time.perf_counter()
        T = check_pose(T_obj_hand)
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        early = self.config.early_exit.enabled if early_exit is None else early_exit
        seed = int(rng.integers(2**31 - 1))
        with silenced_output(self.quiet):
            sim = self._new_simulation(invert_transform(T), seed)
            closing = self._close(sim, early)
            # In zero gravity an object no finger touches stays put and would pass every shake;
            # it is not held, so it fails like an object knocked away.
            if closing.failed or closing.fingers_touching == 0:
                label, after_first, shakes = GraspLabel.FAILED, False, 0
            else:
                held, after_first, shakes = self._shake(sim, rng, early)
                label = GraspLabel.ROBUST if held else GraspLabel.LOOSE
        return SimOutcome(label=label, robust_after_1_shake=bool(after_first),
                          object_displacement_m=closing.displacement_m, closing_time_s=closing.time_s,
                          fingers_touching=closing.fingers_touching, contact_count=closing.contact_count,
                          shakes_done=shakes, sim_wall_time_s=time.perf_counter() - start)


def cached_simulator(cache: dict, name: str, vertices, faces) -> GraspSimulator:
    """The simulator of object ``name`` from ``cache``, built (mesh loaded into Klamp't) on first use only."""
    if name not in cache:
        cache[name] = GraspSimulator(vertices, faces)
    return cache[name]
