"""Pose conversions: every representation round-trips, angles wrap, bad input says what is wrong."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grasp_planner.pose import (
    Pose, invert_transform, matrix_to_quaternion, matrix_to_rot6d, matrix_to_rpy, matrix_to_xyzrpy,
    quaternion_to_matrix, rot6d_to_matrix, rotation_angle_between, rpy_to_matrix, wrap_angle,
    xyzrpy_to_matrix)

angle = st.floats(min_value=-10.0, max_value=10.0, allow_nan=False)
coord = st.floats(min_value=-2.0, max_value=2.0, allow_nan=False)
xyzrpy = st.tuples(coord, coord, coord, angle, angle, angle)


def _rx(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _ry(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rz(a):
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


@given(xyzrpy)
def test_rpy_is_fixed_axis_xyz(v):
    expected = _rz(v[5]) @ _ry(v[4]) @ _rx(v[3])
    np.testing.assert_allclose(rpy_to_matrix(v[3:]), expected, atol=1e-12)


@given(xyzrpy)
def test_xyzrpy_round_trip_gives_the_same_transform(v):
    T = xyzrpy_to_matrix(v)
    back = xyzrpy_to_matrix(matrix_to_xyzrpy(T))
    np.testing.assert_allclose(back, T, atol=1e-9)


@given(xyzrpy)
def test_rpy_out_of_range_wraps_into_minus_pi_pi(v):
    rpy = matrix_to_rpy(rpy_to_matrix(v[3:]))
    assert np.all(rpy >= -np.pi) and np.all(rpy < np.pi)


@given(xyzrpy)
def test_quaternion_round_trip(v):
    R = rpy_to_matrix(v[3:])
    q = matrix_to_quaternion(R)
    assert q[3] >= 0 and abs(np.linalg.norm(q) - 1) < 1e-12
    np.testing.assert_allclose(quaternion_to_matrix(q), R, atol=1e-9)


@given(xyzrpy)
def test_rot6d_round_trip(v):
    R = rpy_to_matrix(v[3:])
    np.testing.assert_allclose(rot6d_to_matrix(matrix_to_rot6d(R)), R, atol=1e-9)


@given(xyzrpy, xyzrpy)
@settings(max_examples=50)
def test_compose_and_inverse_agree_with_matrices(a, b):
    pa, pb = Pose.from_xyzrpy(a), Pose.from_xyzrpy(b)
    np.testing.assert_allclose((pa @ pb).matrix(), pa.matrix() @ pb.matrix(), atol=1e-9)
    np.testing.assert_allclose((pa @ pa.inverse()).matrix(), np.eye(4), atol=1e-9)
    np.testing.assert_allclose(invert_transform(pa.matrix()), np.linalg.inv(pa.matrix()), atol=1e-9)


@given(xyzrpy)
def test_klampt_transform_round_trip(v):
    p = Pose.from_xyzrpy(v)
    back = Pose.from_klampt(p.to_klampt())
    np.testing.assert_allclose(back.matrix(), p.matrix(), atol=1e-12)


def test_klampt_rotation_is_column_major():
    from klampt.math import so3
    p = Pose.from_xyzrpy([0, 0, 0, 0.3, -0.2, 1.1])
    R_klampt, _ = p.to_klampt()
    np.testing.assert_allclose(so3.apply(R_klampt, [1.0, 2.0, 3.0]), p.rotation @ [1.0, 2.0, 3.0], atol=1e-12)


def test_quaternion_of_quarter_turn_about_z():
    q = Pose.from_xyzrpy([0, 0, 0, 0, 0, np.pi / 2]).quaternion()
    np.testing.assert_allclose(q, [0, 0, np.sqrt(0.5), np.sqrt(0.5)], atol=1e-12)


def test_gimbal_lock_still_round_trips():
    R = rpy_to_matrix([0.7, np.pi / 2, -0.4])
    np.testing.assert_allclose(rpy_to_matrix(matrix_to_rpy(R)), R, atol=1e-9)


def test_wrap_angle_maps_pi_and_minus_pi_together():
    assert wrap_angle(np.pi) == pytest.approx(-np.pi)
    assert wrap_angle(3 * np.pi + 0.1) == pytest.approx(-np.pi + 0.1)


def test_rotation_angle_between_is_the_rotation_magnitude():
    assert rotation_angle_between(np.eye(3), rpy_to_matrix([0.0, 0.0, 0.8])) == pytest.approx(0.8)


@pytest.mark.parametrize("bad, match", [
    (dict(translation=[0.0, np.nan, 0.0]), "finite"),
    (dict(rotation=np.diag([1.0, 1.0, -1.0])), "rotation"),
    (dict(rotation=2 * np.eye(3)), "rotation"),
])
def test_invalid_pose_is_rejected_with_reason(bad, match):
    with pytest.raises(ValueError, match=match):
        Pose(**bad)


def test_zero_quaternion_is_rejected():
    with pytest.raises(ValueError, match="quaternion"):
        Pose.from_position_quaternion([0, 0, 0], [0, 0, 0, 0])


def test_pose_is_immutable():
    p = Pose.identity()
    with pytest.raises(ValueError):
        p.translation[0] = 1.0
