"""Task constraints (planning/constraints.py): penalty shape, frames, descent into the feasible set, hard check."""
import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.spatial.transform import Rotation

from grasp_planner.planning.constraints import (
    ANGLE_GAIN, ANGLE_KNEE, CHECK_TOLERANCE_M, POSITION_GAIN, ApproachCone, ConstraintSet, MaxDeviation,
    WorkspaceBox, constraints_from_params, soft_excess_penalty)
from grasp_planner.pose import Pose

TOP_DOWN = (0.0, 0.0, 1.0)            # the camera's optical axis, pointing down at the table
CONE_30 = ApproachCone(TOP_DOWN, np.radians(30.0), "camera")


def pose_matrix(rotvec=(0, 0, 0), xyz=(0, 0, 0.5)) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = Rotation.from_rotvec(rotvec).as_matrix()
    T[:3, 3] = xyz
    return T


SIDEWAYS = pose_matrix((0.0, np.pi / 2, 0.0))       # approach axis along camera +x: 90 deg off top-down


def descend(objective_of_T, T0, max_iter=200):
    """BFGS over (position in cm, rotation vector in 0.1 rad) about T0, the optimizer's scaled units."""
    def unpack(x):
        T = T0.copy()
        T[:3, :3] = T0[:3, :3] @ Rotation.from_rotvec(0.1 * x[3:]).as_matrix()
        T[:3, 3] = T0[:3, 3] + 0.01 * x[:3]
        return T

    res = minimize(lambda x: float(objective_of_T(unpack(x)[None])[0]), np.zeros(6), method="BFGS",
                   options={"maxiter": max_iter, "gtol": 1e-6})
    return unpack(res.x)


def approach_angle(T, direction=TOP_DOWN) -> float:
    return float(np.degrees(np.arccos(np.clip(T[:3, 2] @ np.asarray(direction), -1, 1))))


# --- the penalty's shape ---------------------------------------------------------------------
def test_penalty_is_zero_well_inside_and_grows_outside():
    excess = np.array([-1.0, -ANGLE_KNEE, 0.0, 0.05, 0.2, 1.0])
    p = soft_excess_penalty(excess, ANGLE_GAIN, ANGLE_KNEE)
    assert p[0] == 0.0 and p[1] == 0.0
    assert np.all(np.diff(p[1:]) > 0)


def test_penalty_slope_is_continuous_at_both_ends_of_the_soft_band():
    h = 1e-7

    def penalty(e):
        return soft_excess_penalty(e, ANGLE_GAIN, ANGLE_KNEE)

    for s in (-ANGLE_KNEE, ANGLE_KNEE):            # start of the band, and its end (excess = knee)
        left = (penalty(s) - penalty(s - h)) / h
        right = (penalty(s + h) - penalty(s)) / h
        assert abs(left - right) < 1e-3 * ANGLE_GAIN


def test_sixty_degrees_outside_costs_more_than_any_logit_and_less_than_the_contact_barrier():
    T = pose_matrix((0.0, np.radians(90.0), 0.0))   # 60 deg outside the 30 deg cone
    p = ConstraintSet((CONE_30,)).penalty(T[None])[0]
    assert 10 * 4.0 < p < 500.0 / 2


def test_ten_centimetres_outside_the_box_costs_about_a_hundred():
    box = WorkspaceBox((-0.1, -0.1, 0.3), (0.1, 0.1, 0.6), "camera")
    p = ConstraintSet((box,)).penalty(pose_matrix(xyz=(0.2, 0.0, 0.5))[None])[0]
    assert p == pytest.approx(POSITION_GAIN * 0.1, rel=0.05)


def test_penalty_is_batched_over_poses():
    T = np.stack([pose_matrix(), SIDEWAYS, pose_matrix((0.0, np.radians(20), 0.0))])
    p = ConstraintSet((CONE_30,)).penalty(T)
    assert p.shape == (3,)
    assert p[0] == 0.0 and p[2] == 0.0 and p[1] > 0


def test_an_empty_set_costs_nothing_and_passes_every_pose():
    empty = ConstraintSet()
    assert not empty
    assert empty.penalty(SIDEWAYS[None])[0] == 0.0
    assert empty.check(SIDEWAYS) == []


# --- descent into the feasible set -----------------------------------------------------------------
def tilt_pull(slope_per_rad):
    """A stand-in for -logit that prefers sideways grasps: falls by `slope` per rad of tilt from top-down."""
    def f(T):
        z = T[:, :3, 2]
        return -slope_per_rad * np.arctan2(np.linalg.norm(np.cross(z, TOP_DOWN), axis=-1), z @ np.array(TOP_DOWN))
    return f


def test_descent_from_a_sideways_pose_ends_inside_a_top_down_30_degree_cone():
    cs = ConstraintSet((CONE_30,))
    T = descend(cs.penalty, SIDEWAYS)
    assert approach_angle(T) <= 30.0
    assert cs.check(T) == []


def test_descent_ends_inside_the_cone_while_a_network_pulls_sideways_at_30_logits_per_rad():
    cs = ConstraintSet((CONE_30,))
    pull = tilt_pull(30.0)                # 3 logits per 0.1 rad: steeper than the shipped network
    T = descend(lambda T: cs.penalty(T) + pull(T), SIDEWAYS)
    assert 29.0 < approach_angle(T) <= 30.0 + np.degrees(1e-4)   # pressed against the limit, not through it
    assert cs.check(T) == []


def test_a_cone_given_in_the_output_frame_is_applied_in_the_camera_frame():
    # output frame = camera turned 90 deg about x: the output's +y axis is the camera's +z
    T_camera_output = Pose.from_matrix(pose_matrix((np.pi / 2, 0, 0), (0.1, 0.2, 0.0)))
    cone = ApproachCone((0.0, 1.0, 0.0), np.radians(30.0), "output")
    cs = ConstraintSet((cone,), T_camera_output)
    assert cs.check(pose_matrix()) == []            # camera top-down = output +y
    assert cs.check(SIDEWAYS) != []
    T = descend(cs.penalty, SIDEWAYS)
    assert approach_angle(T) <= 30.0


def test_descent_respects_a_workspace_box_in_a_rotated_output_frame():
    T_camera_output = Pose.from_matrix(pose_matrix((0.0, 0.0, 0.7), (0.05, -0.02, 0.4)))
    box = WorkspaceBox((-0.03, -0.03, -0.02), (0.03, 0.03, 0.02), "output")
    cs = ConstraintSet((box,), T_camera_output)
    start = pose_matrix(xyz=(0.2, 0.1, 0.5))
    assert cs.check(start) != []

    def pull_away(T):               # 3 logits per cm towards camera +x: out of the box
        return -300.0 * T[:, 0, 3]

    T = descend(lambda T: cs.penalty(T) + pull_away(T), start)
    p_out = np.linalg.inv(T_camera_output.matrix()) @ T[:, 3]
    assert np.all(p_out[:3] >= box.lo - CHECK_TOLERANCE_M) and np.all(p_out[:3] <= box.hi + CHECK_TOLERANCE_M)
    assert cs.check(T) == []


def test_max_deviation_holds_the_hand_near_its_initial_pose():
    start = Pose.from_matrix(SIDEWAYS)
    cs = ConstraintSet((CONE_30, MaxDeviation(0.02, np.radians(80.0)))).with_reference(start)
    assert cs.conflicts() == []
    T = descend(cs.penalty, SIDEWAYS)
    assert cs.check(T) == []
    moved, turned = start.distance_to(Pose.from_matrix(T))
    assert moved <= 0.02 + 1e-4 and turned <= np.radians(80.0) + 1e-4


# --- infeasible sets -----------------------------------------------------------------------------
def test_a_box_out_of_reach_of_the_allowed_deviation_is_reported_before_and_after_optimizing():
    start = Pose.from_matrix(pose_matrix(xyz=(0.0, 0.0, 0.5)))
    box = WorkspaceBox((0.2, -0.05, 0.4), (0.3, 0.05, 0.6), "camera")
    cs = ConstraintSet((box, MaxDeviation(0.05, np.inf))).with_reference(start)
    assert any("workspace box" in c for c in cs.conflicts())
    T = descend(cs.penalty, start.matrix())
    problems = cs.check(T)
    assert problems, "an infeasible set must never pass the hard check"
    assert any("workspace box" in p or "moved" in p for p in problems)


def test_cones_that_exclude_each_other_are_reported():
    up = ApproachCone((0.0, 0.0, -1.0), np.radians(30.0))
    cs = ConstraintSet((CONE_30, up))
    assert cs.conflicts() and "apart" in cs.conflicts()[0]
    T = descend(cs.penalty, SIDEWAYS)
    assert cs.check(T) != []


def test_a_cone_the_allowed_turn_cannot_reach_is_reported():
    start = Pose.from_matrix(SIDEWAYS)                       # 60 deg outside the cone
    cs = ConstraintSet((CONE_30, MaxDeviation(np.inf, np.radians(20.0)))).with_reference(start)
    assert any("outside the approach cone" in c for c in cs.conflicts())


def test_check_states_the_measured_angle_and_the_limit():
    (msg,) = ConstraintSet((CONE_30,)).check(SIDEWAYS)
    assert "90.0 deg" in msg and "30.0 deg" in msg


# --- construction -----------------------------------------------------------------------------
def test_an_output_frame_constraint_without_the_output_transform_is_refused():
    with pytest.raises(ValueError, match="T_camera_output"):
        ConstraintSet((WorkspaceBox((0, 0, 0), (1, 1, 1), "output"),))


@pytest.mark.parametrize("bad", [
    lambda: ApproachCone((0, 0, 0), 0.5),
    lambda: ApproachCone((0, 0, 1), 4.0),
    lambda: ApproachCone((0, 0, 1), 0.5, "world"),
    lambda: WorkspaceBox((0, 0, 1), (1, 1, 0)),
    lambda: MaxDeviation(-0.1, 1.0),
])
def test_malformed_constraints_raise_value_error(bad):
    with pytest.raises(ValueError):
        bad()


def test_params_build_a_top_down_cone_and_leave_unset_limits_out():
    cs = constraints_from_params({"approach_cone.enabled": True, "approach_cone.max_angle_deg": 30.0,
                                  "max_deviation.translation_m": 0.0})
    assert len(cs.constraints) == 1
    assert cs.constraints[0].max_angle_rad == pytest.approx(np.radians(30.0))
    np.testing.assert_allclose(cs.constraints[0].direction, TOP_DOWN)


def test_a_misspelt_constraint_parameter_is_an_error():
    with pytest.raises(ValueError, match="approach_cone.max_angle"):
        constraints_from_params({"approach_cone.max_angle": 30.0})
