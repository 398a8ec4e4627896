"""Plain-code parts of grasp_planner.ros: frame arithmetic, image/pose conversion, parameters, Robotiq commands."""
import math

import numpy as np
import pytest

pytest.importorskip("sensor_msgs.msg")

from grasp_planner.camera import PinholeCamera  # noqa: E402
from grasp_planner.pose import Pose  # noqa: E402
from grasp_planner.ros import conversions as conv  # noqa: E402
from grasp_planner.ros import markers, robotiq  # noqa: E402
from grasp_planner.ros.params import PARAMETERS, params_from_values, resolve_model_path, updated  # noqa: E402

CAMERA = PinholeCamera(500.0, 510.0, 31.5, 23.5, 64, 48)


def test_compose_maps_a_pose_into_the_parent_frame():
    T_world_cam = Pose.from_xyzrpy([1.0, 0.0, 0.5, math.pi, 0.0, 0.0])
    grasp_cam = Pose.from_xyzrpy([0.0, 0.1, 0.4, 0.0, 0.0, 0.3])
    grasp_world = conv.compose(T_world_cam, grasp_cam)
    np.testing.assert_allclose(grasp_world.translation, [1.0, -0.1, 0.1], atol=1e-12)
    np.testing.assert_allclose(grasp_world.matrix(), T_world_cam.matrix() @ grasp_cam.matrix(), atol=1e-12)


def test_compose_with_the_inverse_returns_the_pose():
    T = Pose.from_xyzrpy([0.3, -0.2, 0.1, 0.4, -0.5, 2.0])
    p = Pose.from_xyzrpy([0.0, 0.1, 0.4, 0.1, 0.2, 0.3])
    back = conv.compose(T.inverse(), conv.compose(T, p))
    assert back.distance_to(p)[0] < 1e-12 and back.distance_to(p)[1] < 1e-7


def test_transform_to_pose_reads_xyzw_quaternions():
    pose = conv.transform_to_pose([1, 2, 3], [0, 0, math.sin(math.pi / 4), math.cos(math.pi / 4)])
    np.testing.assert_allclose(pose.rotation @ [1, 0, 0], [0, 1, 0], atol=1e-12)


def test_zero_quaternion_is_refused_with_a_message():
    msg = conv.pose_to_pose_msg(Pose())
    msg.orientation.w = 0.0
    with pytest.raises(ValueError, match="quaternion"):
        conv.pose_msg_to_pose(msg)


def test_pose_message_round_trip_is_exact_to_float_precision():
    pose = Pose.from_xyzrpy([0.1, -0.2, 0.45, 0.3, -0.2, 1.1])
    back = conv.pose_msg_to_pose(conv.pose_to_pose_msg(pose))
    assert back.distance_to(pose)[0] < 1e-12 and back.distance_to(pose)[1] < 1e-7


@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_depth_image_round_trips_in_both_encodings(dtype):
    depth = (np.arange(48 * 64).reshape(48, 64) % 1000).astype(dtype)
    np.testing.assert_array_equal(conv.image_to_array(conv.array_to_image_msg(depth)), depth)


def test_padded_big_endian_rows_are_read():
    depth = np.arange(6, dtype=np.uint16).reshape(2, 3) * 300
    msg = conv.array_to_image_msg(depth)
    msg.is_bigendian, msg.step = 1, 8
    msg.data = b"".join(row.astype(">u2").tobytes() + b"\0\0" for row in depth)
    np.testing.assert_array_equal(conv.image_to_array(msg), depth)


def test_rgb8_image_is_refused_naming_the_supported_encodings():
    msg = conv.array_to_image_msg(np.zeros((4, 4), np.float32))
    msg.encoding = "rgb8"
    with pytest.raises(ValueError, match="32FC1.*16UC1"):
        conv.image_to_array(msg)


def test_truncated_image_buffer_is_refused():
    msg = conv.array_to_image_msg(np.zeros((4, 4), np.float32))
    msg.data = bytes(msg.data)[:10]
    with pytest.raises(ValueError, match="does not fit"):
        conv.image_to_array(msg)


def test_camera_info_round_trips_and_empty_info_is_none():
    assert conv.camera_info_to_camera(conv.camera_to_camera_info_msg(CAMERA)) == CAMERA
    from sensor_msgs.msg import CameraInfo
    assert conv.camera_info_to_camera(CameraInfo()) is None


def test_grasp_message_approach_is_the_palm_normal_and_retreat_its_opposite():
    from std_msgs.msg import Header
    pose = Pose.from_xyzrpy([0, 0, 0.4, math.pi / 2, 0, 0])
    names, q = robotiq.posture("basic", "grasp")
    traj = robotiq.joint_trajectory_msg(names, q, Header())
    msg = conv.grasp_msg(pose, Header(frame_id="cam"), 1.5, conv.sigmoid(1.5), float("nan"), 7, 0, 0.1, 0.05,
                         traj, traj)
    approach = [msg.approach_direction.x, msg.approach_direction.y, msg.approach_direction.z]
    np.testing.assert_allclose(approach, [0, -1, 0], atol=1e-12)
    assert msg.retreat_direction.y == pytest.approx(1.0) and msg.distance == 0.0


def test_sigmoid_is_a_half_at_zero_and_saturates_without_overflow():
    assert conv.sigmoid(0.0) == 0.5 and conv.sigmoid(1e6) == 1.0 and conv.sigmoid(-1e6) == 0.0


@pytest.mark.parametrize("mode,stage,r_mod,r_pra", [("basic", "pre_grasp", 0, 0), ("pinch", "grasp", 1, 255),
                                                    ("wide", "grasp", 2, 255), ("scissor", "pre_grasp", 3, 0)])
def test_register_command_sets_mode_and_closing(mode, stage, r_mod, r_pra):
    cmd = robotiq.register_command(mode, stage, speed=1.0, force=0.0)
    registers = (cmd.r_act, cmd.r_gto, cmd.r_mod, cmd.r_pra, cmd.r_spa, cmd.r_fra, cmd.r_icf)
    assert registers == (1, 1, r_mod, r_pra, 255, 0, 0)


def test_register_message_carries_every_register():
    msg = robotiq.register_msg(robotiq.register_command("pinch", "grasp", 0.5, 0.5))
    assert (msg.r_mod, msg.r_pra, msg.r_spa) == (1, 255, 128)


def test_closed_posture_is_within_joint_limits_and_past_the_open_one():
    names, q_open = robotiq.posture("wide", "pre_grasp")
    _, q_closed = robotiq.posture("wide", "grasp")
    assert len(names) == len(q_open) == 11
    assert np.all(q_closed[2:] >= q_open[2:]) and np.any(q_closed[2:] > q_open[2:])


def test_score_colour_goes_from_red_to_green():
    assert markers.score_colour(0.0)[:3] == (1.0, 0.0, 0.0) and markers.score_colour(1.0)[:3] == (0.0, 1.0, 0.0)


def test_hand_marker_boxes_move_with_the_hand():
    _, q = robotiq.posture("basic", "pre_grasp")
    shift = Pose(np.eye(3), [0.0, 0.0, 0.3])
    a, b = markers.hand_boxes(Pose(), q), markers.hand_boxes(shift, q)
    assert len(a) == len(b) > 4
    np.testing.assert_allclose(b[0][0].translation - a[0][0].translation, [0, 0, 0.3], atol=1e-12)


def test_defaults_are_valid_parameters():
    assert params_from_values({}).starts == PARAMETERS["starts"].default


@pytest.mark.parametrize("name,value,message", [
    ("alpha", -1.0, r"alpha must be in \["), ("starts", 0, r"starts must be in \["),
    ("hand_mode", "claw", "hand_mode must be one of"), ("starts", 2.5, "starts must be a int"),
    ("no_such", 1, "unknown parameter"), ("gripper_format", "modbus", "gripper_format must be one of")])
def test_bad_parameter_is_refused_naming_it(name, value, message):
    with pytest.raises(ValueError, match=message):
        params_from_values({name: value})


def test_read_only_parameter_cannot_change_at_run_time():
    with pytest.raises(ValueError, match="read-only"):
        updated(params_from_values({}), {"depth_topic": "other"})
    assert updated(params_from_values({}), {"alpha": 0.1}).alpha == 0.1


def test_missing_model_file_error_lists_where_it_looked(tmp_path):
    with pytest.raises(ValueError, match="model file not found.*nope.json"):
        resolve_model_path(str(tmp_path / "nope.json"), None)
    card = tmp_path / "share" / "models" / "grasp_cnn.json"
    card.parent.mkdir(parents=True)
    card.write_text("{}")
    assert resolve_model_path("", str(tmp_path / "share")) == card
