"""Forward kinematics of the Robotiq 3-finger hand against hand-derived formulas."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grasp_planner.hand import dimensions as dim
from grasp_planner.hand import kinematics as kin
from grasp_planner.hand.closing import closed_on_nothing
from grasp_planner.pose import xyzrpy_to_matrix

LOWER, UPPER = kin.joint_limits()


def expected_tip(finger: str, scissor: float, q1: float, q2: float, q3: float) -> np.ndarray:
    """Fingertip from the planar chain: pivot, then links at cumulative inward tilts (derived by hand)."""
    knuckle = {"a": dim.KNUCKLE_A, "b": dim.KNUCKLE_B, "c": dim.KNUCKLE_C}[finger]
    # outward direction of the finger's closing plane: +x for A; -x turned by the scissor angle for
    # B (about -z) and C (about +z), so that positive scissor angles move B to +y and C to -y
    yaw = {"a": 0.0, "b": np.pi - scissor, "c": np.pi + scissor}[finger]
    out = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    up = np.array([0.0, 0.0, 1.0])
    tip = np.array([knuckle[0], knuckle[1], 0.0]) + dim.PIVOT_OUTWARD * out + dim.PIVOT_HEIGHT * up
    tilt = 0.0
    for angle, length in zip((q1, q2, q3), (dim.PROXIMAL_LENGTH, dim.MEDIAL_LENGTH, dim.DISTAL_LENGTH)):
        tilt += angle
        tip = tip + length * (-np.sin(tilt) * out + np.cos(tilt) * up)
    return tip


joint_vectors = st.lists(st.floats(0.0, 1.0), min_size=kin.N_JOINTS, max_size=kin.N_JOINTS).map(
    lambda u: LOWER + np.array(u) * (UPPER - LOWER))


@settings(max_examples=60, deadline=None)
@given(joint_vectors)
def test_fingertips_follow_the_planar_finger_chain(q):
    tips = kin.fingertip_positions(np.eye(4), q)
    scissor = {"a": 0.0, "b": q[0], "c": q[1]}
    for k, finger in enumerate(dim.FINGERS):
        j = 2 + 3 * k
        np.testing.assert_allclose(tips[k], expected_tip(finger, scissor[finger], *q[j:j + 3]), atol=1e-12)


def test_open_hand_fingertips_are_mirror_images_across_the_hand_axis():
    tips = kin.fingertip_positions(np.eye(4), kin.open_configuration("basic"))
    # A on +x opposite B and C; B at +y, C at -y at the same height
    assert tips[0, 0] > 0.08 and tips[1, 0] < -0.08 and tips[2, 0] < -0.08
    np.testing.assert_allclose(tips[1, 1], -tips[2, 1], atol=1e-12)
    np.testing.assert_allclose(tips[0, 0], -tips[1, 0], atol=1e-3)  # knuckles differ by 0.05 mm
    np.testing.assert_allclose(tips[:, 2], tips[0, 2], atol=1e-12)


def test_opposing_fingers_meet_near_the_middle_when_closed_on_nothing():
    tips = kin.fingertip_positions(np.eye(4), closed_on_nothing("basic"))
    # A and the B/C pair close to within 1 cm of the mid-plane x = 0 (A passes between B and C)
    assert np.all(np.abs(tips[:, 0]) < 0.01)
    assert abs(tips[0, 0] - tips[1, 0]) < 0.01


def test_wide_mode_spreads_b_and_c_and_pinch_brings_them_together():
    y = {mode: kin.fingertip_positions(np.eye(4), kin.open_configuration(mode))[1, 1]
         for mode in ("basic", "wide", "pinch")}
    assert y["pinch"] < y["basic"] < y["wide"]


def test_pose_of_the_hand_moves_every_link_rigidly():
    rng = np.random.default_rng(3)
    q = LOWER + rng.random(kin.N_JOINTS) * (UPPER - LOWER)
    T = xyzrpy_to_matrix(np.r_[rng.normal(size=3), rng.uniform(-np.pi, np.pi, 3)])
    local = kin.link_transforms(np.eye(4), q)
    world = kin.link_transforms(T, q)
    for name in kin.LINK_NAMES:
        np.testing.assert_allclose(world[name], T @ local[name], atol=1e-12)


def test_batched_link_matrices_equal_one_pose_at_a_time():
    rng = np.random.default_rng(4)
    q = LOWER + rng.random((5, kin.N_JOINTS)) * (UPPER - LOWER)
    T = xyzrpy_to_matrix(np.c_[rng.normal(size=(5, 3)), rng.uniform(-np.pi, np.pi, (5, 3))])
    batch = kin.link_matrices(T, q)
    for n in range(5):
        single = kin.link_transforms(T[n], q[n])
        np.testing.assert_allclose(batch[n], np.stack([single[k] for k in kin.LINK_NAMES]), atol=1e-12)


def test_palm_frame_is_the_hand_pose():
    T = xyzrpy_to_matrix([0.1, -0.2, 0.3, 0.4, -0.5, 0.6])
    np.testing.assert_allclose(kin.link_transforms(T, kin.open_configuration())["palm"], T, atol=1e-12)


@pytest.mark.parametrize("q, message", [(np.zeros(10), "11 joint values"),
                                        (np.full(11, np.nan), "finite")])
def test_bad_joint_vector_is_rejected_with_reason(q, message):
    with pytest.raises(ValueError, match=message):
        kin.link_transforms(np.eye(4), q)


def test_unknown_mode_is_rejected():
    with pytest.raises(ValueError, match="mode"):
        kin.open_configuration("scissor-ish")
