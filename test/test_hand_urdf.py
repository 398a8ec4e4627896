"""The generated URDF loads into Klamp't and agrees with the numpy forward kinematics."""
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from klampt import WorldModel

from grasp_planner.hand import KLAMPT_PALM_INDEX, urdf_path
from grasp_planner.hand.klampt_config import joint_vector_from_klampt, klampt_config
from grasp_planner.hand import dimensions as dim
from grasp_planner.hand import kinematics as kin
from grasp_planner.hand.urdf import urdf_text
from grasp_planner.pose import xyzrpy_to_matrix

LOWER, UPPER = kin.joint_limits()


@pytest.fixture(scope="module")
def robot():
    world = WorldModel()
    robot = world.loadRobot(urdf_path())
    assert robot.index >= 0, "Klamp't failed to load the URDF"
    yield robot
    del world


def _matrix(klampt_transform) -> np.ndarray:
    R, t = klampt_transform
    T = np.eye(4)
    T[:3, :3] = np.array(R).reshape(3, 3).T
    T[:3, 3] = t
    return T


def test_committed_urdf_matches_the_kinematic_tree():
    assert Path(urdf_path()).read_text() == urdf_text(), "run `python -m grasp_planner.hand.urdf`"


def test_klampt_loads_a_floating_base_with_the_palm_at_index_5(robot):
    assert robot.numLinks() == 5 + len(kin.LINK_NAMES)
    assert [robot.link(i).getName() for i in range(5, robot.numLinks())] == list(kin.LINK_NAMES)
    assert robot.link(KLAMPT_PALM_INDEX).getName() == "palm"
    assert robot.numDrivers() == kin.N_JOINTS


def test_klampt_joint_limits_are_the_model_limits(robot):
    lower, upper = robot.getJointLimits()
    for i, link in enumerate(kin.LINKS):
        if link.q_index is not None:
            assert lower[5 + i] == pytest.approx(LOWER[link.q_index], abs=1e-8)
            assert upper[5 + i] == pytest.approx(UPPER[link.q_index], abs=1e-8)


joint_fractions = st.lists(st.floats(0.0, 1.0), min_size=kin.N_JOINTS, max_size=kin.N_JOINTS)
poses = st.lists(st.floats(-1.0, 1.0), min_size=6, max_size=6)


@settings(max_examples=40, deadline=None)
@given(joint_fractions, poses)
def test_klampt_forward_kinematics_equals_numpy_forward_kinematics(robot, fractions, pose):
    q = LOWER + np.array(fractions) * (UPPER - LOWER)
    T = xyzrpy_to_matrix(np.array(pose) * [0.5, 0.5, 0.5, np.pi, 1.5, np.pi])
    robot.setConfig(klampt_config(T, q))
    ours = kin.link_transforms(T, q)
    for i, name in enumerate(kin.LINK_NAMES):
        np.testing.assert_allclose(_matrix(robot.link(5 + i).getTransform()), ours[name], atol=1e-7)
    np.testing.assert_allclose(joint_vector_from_klampt(robot.getConfig()), q, atol=1e-12)


def test_total_mass_is_the_published_2_3_kg(robot):
    total = sum(robot.link(i).getMass().getMass() for i in range(5, robot.numLinks()))
    assert total == pytest.approx(dim.TOTAL_MASS, abs=1e-9)


def test_every_link_has_box_collision_geometry(robot):
    for i in range(5, robot.numLinks()):
        geom = robot.link(i).geometry()
        assert geom.type() == "TriangleMesh" and geom.numElements() == 12  # 12 triangles of a box


def test_hand_never_collides_with_itself_in_klampt(robot):
    n = robot.numLinks()
    assert not any(robot.selfCollisionEnabled(i, j) for i in range(5, n) for j in range(i + 1, n))


def test_every_actuated_link_has_the_recommended_servo_gains():
    block = ET.parse(urdf_path()).getroot().find("klampt")
    gains = {el.get("name"): (float(el.get("servoP")), float(el.get("servoD"))) for el in block.findall("link")}
    actuated = {link.name for link in kin.LINKS if link.q_index is not None}
    assert set(gains) == actuated
    # shared/notes/klampt-sim.md: kP dt^2 / I and kD dt / I below 0.5 at a 1 ms step, with I the
    # link's own inertia about its joint axis (parallel-axis theorem; a lower bound for the joint)
    for link in kin.LINKS:
        if link.q_index is None:
            continue
        axis, centre = np.array(link.axis, dtype=float), np.array(link.box_center)
        inertia = (dim.box_inertia(link.mass, link.box_half_extents) @ axis ** 2
                   + link.mass * np.linalg.norm(np.cross(centre, axis)) ** 2)
        p, d = gains[link.name]
        assert p * 1e-3 ** 2 / inertia < 0.5 and d * 1e-3 / inertia < 0.5, link.name
