"""moveit_msgs/Grasp fields and the GripperCommand goal, as plain code (ros/adapters.py).

moveit_msgs and control_msgs are not on PyPI: their message wrappers are tested only where
those packages are installed (the tests skip with the reason otherwise).
"""
import numpy as np
import pytest

from grasp_planner.hand import dimensions as dim
from grasp_planner.hand.posture import grasp_posture, pre_grasp_posture
from grasp_planner.pose import Pose
from grasp_planner.ros.adapters import (
    gripper_command_fields, import_interface, moveit_available, moveit_grasp_fields, posture_msg, pre_grasp_pose)

#: hand 40 cm below the camera, approach axis along camera +z (top-down), finger A towards camera +y
GRASP = Pose.from_xyzrpy([0.02, -0.01, 0.40, 0.0, 0.0, np.pi / 2])


def fields(**kw):
    return moveit_grasp_fields(GRASP, "camera_depth_optical_frame", 0.87, pre_grasp_posture("wide"),
                               grasp_posture("wide", 0.6), **kw)


def test_the_approach_is_along_the_hand_z_axis_in_the_pose_frame():
    f = fields(approach_distance_m=0.12)
    np.testing.assert_allclose(f.pre_grasp_approach.direction, [0, 0, 1], atol=1e-12)
    assert f.pre_grasp_approach.frame_id == "camera_depth_optical_frame"
    assert (f.pre_grasp_approach.desired_distance, f.pre_grasp_approach.min_distance) == (0.12, 0.06)


def test_the_retreat_goes_back_along_the_approach_unless_a_direction_is_given():
    np.testing.assert_allclose(fields().post_grasp_retreat.direction, [0, 0, -1], atol=1e-12)
    lifted = fields(retreat_direction=(0, -2.0, 0))
    np.testing.assert_allclose(lifted.post_grasp_retreat.direction, [0, -1, 0])


def test_quality_postures_and_pose_are_carried_over():
    f = fields()
    assert f.grasp_quality == 0.87 and f.grasp_pose is GRASP
    assert f.pre_grasp_posture.stage == "pre_grasp" and f.grasp_posture.stage == "grasp"
    assert f.grasp_posture.efforts[0] == pytest.approx(0.6 * dim.JOINT_EFFORT)


def test_pre_grasp_pose_is_the_approach_distance_behind_the_grasp():
    start = pre_grasp_pose(GRASP, 0.1)
    np.testing.assert_allclose(start.translation, GRASP.translation - [0, 0, 0.1], atol=1e-12)
    np.testing.assert_allclose(start.rotation, GRASP.rotation)


@pytest.mark.parametrize("kw", [{"min_fraction": 1.5}, {"approach_distance_m": -0.1},
                                {"retreat_direction": (0, 0, 0)}])
def test_bad_translation_settings_raise_value_error(kw):
    with pytest.raises(ValueError):
        fields(**kw)


def test_gripper_command_closes_finger_a_with_the_force_limit():
    cmd = gripper_command_fields(grasp_posture("basic", 0.5))
    assert cmd == {"position": pytest.approx(dim.PROXIMAL_LIMITS[1]), "max_effort": pytest.approx(1.0)}


def test_gripper_command_opens_with_the_given_opening_effort():
    cmd = gripper_command_fields(pre_grasp_posture("basic"), open_effort_n_m=2.0)
    assert cmd == {"position": pytest.approx(dim.PROXIMAL_LIMITS[0]), "max_effort": 2.0}


def test_gripper_command_for_the_scissor_joint():
    cmd = gripper_command_fields(grasp_posture("scissor", 1.0), joint="palm_finger_b_joint")
    assert cmd["position"] == dim.SCISSOR_LIMITS[0] and cmd["max_effort"] == dim.JOINT_EFFORT


def test_gripper_command_for_a_joint_that_is_not_actuated_is_refused():
    with pytest.raises(ValueError, match="not an actuated joint"):
        gripper_command_fields(grasp_posture(), joint="finger_a_joint_3")


def test_a_missing_interface_package_says_what_to_install():
    with pytest.raises(ImportError, match="ros-\\$ROS_DISTRO-no-such-msgs"):
        import_interface("no_such_msgs/action/GripperCommand")


def test_a_malformed_interface_type_is_refused():
    with pytest.raises(ValueError, match="package/action/Name"):
        import_interface("control_msgs/GripperCommand")


def test_an_installed_interface_is_imported_by_name():
    pytest.importorskip("trajectory_msgs")
    from trajectory_msgs.msg import JointTrajectory
    assert import_interface("trajectory_msgs/msg/JointTrajectory") is JointTrajectory


def test_posture_message_carries_positions_and_per_joint_efforts():
    pytest.importorskip("trajectory_msgs")
    from std_msgs.msg import Header
    p = grasp_posture("scissor", 0.5)
    msg = posture_msg(p, Header(frame_id="palm"), duration_s=1.5)
    assert list(msg.joint_names) == list(p.joint_names)
    np.testing.assert_allclose(msg.points[0].positions, p.positions)
    np.testing.assert_allclose(msg.points[0].effort, p.efforts)
    assert (msg.points[0].time_from_start.sec, msg.points[0].time_from_start.nanosec) == (1, 500_000_000)


def test_moveit_grasp_message_copies_every_field():
    if not moveit_available():
        pytest.skip("moveit_msgs is not installed (not on PyPI); the fields are tested above")
    from grasp_planner.ros.adapters import moveit_grasp_msg
    f = fields()
    msg = moveit_grasp_msg(f)
    assert msg.grasp_pose.header.frame_id == f.frame_id
    assert msg.pre_grasp_approach.direction.vector.z == pytest.approx(1.0)
    assert msg.grasp_quality == pytest.approx(0.87)


def test_a_tcp_offset_moves_the_grasp_pose_but_not_the_approach_direction():
    from grasp_planner.hand.posture import tcp_offset_from_xyzrpy
    T_hand_tool = tcp_offset_from_xyzrpy([0, 0, -0.1, 0.0, np.pi / 2, 0.0])   # tool z turned 90 deg
    f = fields(T_hand_tool=T_hand_tool)
    np.testing.assert_allclose(f.grasp_pose.translation, GRASP.translation - [0, 0, 0.1], atol=1e-12)
    np.testing.assert_allclose(f.pre_grasp_approach.direction, [0, 0, 1], atol=1e-12)
