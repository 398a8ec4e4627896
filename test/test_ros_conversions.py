"""Plain-code parts of grasp_planner.ros: frame arithmetic, image/pose conversion, parameters, Robotiq commands."""
import math

import numpy as np
import pytest

pytest.importorskip("sensor_msgs.msg")

from grasp_planner.camera import PinholeCamera  # noqa: E402
from grasp_planner.planning.request import ReplyGrasp  # noqa: E402
from grasp_planner.pose import Pose, quaternion_to_matrix  # noqa: E402
from grasp_planner.ros import conversions as conv  # noqa: E402
from grasp_planner.ros import markers, robotiq  # noqa: E402
from grasp_planner.hand import posture as hand  # noqa: E402
from grasp_planner.ros.adapters import posture_msg  # noqa: E402
from grasp_planner.ros.params import (PARAMETERS, params_from_values, resolve_model_path, updated,  # noqa: E402
                                      values_of, with_goal_constraints)

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
    traj = posture_msg(hand.grasp_posture("basic"), Header())
    grasp = ReplyGrasp(pose, pose, 1.5, 0.8176, float("nan"), 7)
    msg = conv.grasp_msg(grasp, Header(frame_id="cam"), 0, 0.1, 0.05, traj, traj)
    approach = [msg.approach_direction.x, msg.approach_direction.y, msg.approach_direction.z]
    np.testing.assert_allclose(approach, [0, -1, 0], atol=1e-12)
    assert msg.retreat_direction.y == pytest.approx(1.0) and msg.distance == 0.0


def test_grasp_message_with_a_tcp_offset_carries_the_tool_pose_and_the_hand_approach():
    from std_msgs.msg import Header
    pose = Pose.from_xyzrpy([0, 0, 0.4, math.pi / 2, 0, 0])
    traj = posture_msg(hand.grasp_posture("basic"), Header())
    T_hand_tool = hand.tcp_offset_from_xyzrpy([0, 0, -0.1, 0, math.pi / 2, 0])
    grasp = ReplyGrasp(pose, hand.apply_tcp_offset(pose, T_hand_tool), 1.0, 0.7, 0.0, 1)
    msg = conv.grasp_msg(grasp, Header(frame_id="cam"), 0, 0.1, 0.1, traj, traj)
    tool = conv.pose_msg_to_pose(msg.pose.pose)
    np.testing.assert_allclose(tool.translation, [0, 0.1, 0.4], atol=1e-12)   # 10 cm behind the palm face
    approach = [msg.approach_direction.x, msg.approach_direction.y, msg.approach_direction.z]
    np.testing.assert_allclose(approach, [0, -1, 0], atol=1e-12)


@pytest.mark.parametrize("mode", ["basic", "scissor"])
def test_register_message_carries_every_register_of_the_posture_module(mode):
    registers = hand.registers(mode, "grasp", 0.5, 0.5)
    msg = robotiq.register_msg(registers)
    assert {name: getattr(msg, name) for name in registers.as_dict()} == registers.as_dict()


def test_markers_draw_the_posture_scissor_angle_on_both_scissor_joints():
    from grasp_planner.hand import kinematics
    q = markers.hand_configuration(hand.pre_grasp_posture("pinch"))
    b, c = (kinematics.JOINT_NAMES.index(n) for n in ("palm_finger_b_joint", "palm_finger_c_joint"))
    assert q[b] == q[c] == hand.pre_grasp_posture("pinch").positions[3]
    np.testing.assert_allclose(q, kinematics.open_configuration("pinch"), atol=1e-12)


def test_score_colour_goes_from_red_to_green():
    assert markers.score_colour(0.0)[:3] == (1.0, 0.0, 0.0) and markers.score_colour(1.0)[:3] == (0.0, 1.0, 0.0)


def test_hand_marker_boxes_move_with_the_hand():
    q = markers.hand_configuration(hand.pre_grasp_posture("basic"))
    shift = Pose(np.eye(3), [0.0, 0.0, 0.3])
    (a, qa, size), (b, qb, _) = markers.hand_boxes(Pose(), q), markers.hand_boxes(shift, q)
    assert len(a) == len(b) == len(size) > 4
    np.testing.assert_allclose(b - a, np.tile([0, 0, 0.3], (len(a), 1)), atol=1e-12)
    np.testing.assert_allclose(qa, qb, atol=1e-12)
    turn = Pose.from_xyzrpy([0, 0, 0, 0, 0, np.pi / 2])
    centres, quaternions, _ = markers.hand_boxes(turn, q)
    for c0, q0, c, quat in zip(a, qa, centres, quaternions):    # each box turns about z with the hand
        np.testing.assert_allclose(c, turn.rotation @ c0, atol=1e-12)
        np.testing.assert_allclose(quaternion_to_matrix(quat), turn.rotation @ quaternion_to_matrix(q0), atol=1e-12)


def test_defaults_are_valid_parameters():
    assert params_from_values({}).starts == PARAMETERS["starts"].default


@pytest.mark.parametrize("name,value,message", [
    ("alpha", -1.0, r"alpha must be in \["), ("starts", 0, r"starts must be in \["),
    ("hand_mode", "claw", "hand_mode must be one of"), ("starts", 2.5, "starts must be a int"),
    ("no_such", 1, "unknown parameter"), ("strats", 8, "'strats' .did you mean starts"),
    ("gripper_format", "modbus", "gripper_format must be one of"),
    ("tcp_offset", [0.0, 0.0, 0.1], "tcp_offset must be 6 numbers"),
    ("approach_cone.direction", [0.0, "z", 1.0], "approach_cone.direction must be 3 numbers"),
    ("workspace.lo", [0.0, float("nan"), 0.0], "must hold finite numbers"),
    ("approach_cone.max_angle_deg", 181.0, r"must be in \[0.0, 180.0\]"),
    ("approach_cone.frame", "world", "must be one of")])
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


def test_a_workspace_box_with_lo_above_hi_is_refused_when_enabled():
    bad = {"workspace.lo": [0.5, 0.0, 0.0], "workspace.hi": [0.0, 1.0, 1.0]}
    assert params_from_values(bad).workspace_lo == (0.5, 0.0, 0.0)      # disabled: not used, not checked
    with pytest.raises(ValueError, match="task constraint parameters: workspace box needs finite lo <= hi"):
        params_from_values({**bad, "workspace.enabled": True})


def test_dotted_parameters_change_live_and_round_trip_through_their_names():
    params = updated(params_from_values({}), {"approach_cone.enabled": True, "approach_cone.max_angle_deg": 20.0,
                                              "tcp_offset": [0.0, 0.0, -0.09, 0.0, 0.0, 0.0]})
    assert params.constraint_values()["approach_cone.max_angle_deg"] == 20.0
    assert params_from_values(values_of(params)) == params
    np.testing.assert_allclose(params.T_hand_tool().translation, [0, 0, -0.09])


NO_GOAL = dict(use_approach_cone=False, approach_cone_direction=(0.0, 0.0, 0.0), approach_cone_max_angle=0.0,
               approach_cone_frame="", use_workspace=False, workspace_min=(0.0,) * 3, workspace_max=(0.0,) * 3,
               max_translation=0.0, max_angle=0.0)


@pytest.mark.parametrize("goal,expected", [
    ({}, {}),
    ({"use_approach_cone": True, "approach_cone_direction": (0.0, 0.0, 2.0), "approach_cone_max_angle": math.pi / 6},
     {"approach_cone.enabled": True, "approach_cone.direction": (0.0, 0.0, 2.0),
      "approach_cone.max_angle_deg": pytest.approx(30.0), "approach_cone.frame": "camera"}),
    ({"use_workspace": True, "workspace_min": (0.0, 0.0, 0.0), "workspace_max": (1.0, 1.0, 1.0)},
     {"workspace.enabled": True, "workspace.lo": (0.0, 0.0, 0.0), "workspace.hi": (1.0, 1.0, 1.0),
      "workspace.frame": "output"}),
    ({"max_translation": 0.05, "max_angle": math.pi / 2},
     {"max_deviation.translation_m": 0.05, "max_deviation.angle_deg": pytest.approx(90.0)}),
])
def test_a_goal_constraint_replaces_its_parameter_and_leaves_the_others(goal, expected):
    base = params_from_values({"max_deviation.translation_m": 0.2, "approach_cone.enabled": True}).constraint_values()
    merged = with_goal_constraints(base, {**NO_GOAL, **goal})
    assert merged == {**base, **expected}


def test_every_planner_status_is_a_failure_reason_with_the_same_number():
    pytest.importorskip("grasp_planner_interfaces.msg")
    from grasp_planner.planning.planner import PlanStatus
    from grasp_planner_interfaces.msg import FailureReason
    for status in PlanStatus:
        name = "NONE" if status.name == "OK" else status.name
        assert getattr(FailureReason, name) == status.value, name


def test_every_failure_reason_has_a_sentence_for_a_person():
    pytest.importorskip("grasp_planner_interfaces.msg")
    from grasp_planner.planning.request import REASON_TEXT
    from grasp_planner_interfaces.msg import FailureReason
    codes = {n for n in dir(FailureReason) if n.isupper() and isinstance(getattr(FailureReason, n), int)}
    assert codes - {"NONE"} == set(REASON_TEXT)
    assert {"NO_IMAGE", "STALE_IMAGE", "OUT_OF_WORKSPACE", "BUSY"} <= set(REASON_TEXT)


def test_an_integer_array_parameter_is_read_as_floats():
    assert params_from_values({"approach_cone.direction": [0, 0, 1]}).approach_cone_direction == (0.0, 0.0, 1.0)


def _goal_and_inputs(**fields):
    """A PlanGrasp goal (the topic path's default unless ``fields``) and a 64x48 image stamped 7 s in "cam"."""
    action = pytest.importorskip("grasp_planner_interfaces.action")
    from builtin_interfaces.msg import Time
    image = conv.array_to_image_msg(np.full(CAMERA.shape, 0.5, dtype=np.float32), "cam", Time(sec=7))
    goal = action.PlanGrasp.Goal(use_latest_image=True, use_initial_pose=True,
                                 initial_pose=conv.pose_to_pose_stamped_msg(Pose(np.eye(3), [0, 0, 0.3]), "base"))
    for name, value in fields.items():
        setattr(goal, name, value)
    return goal, image, conv.camera_to_camera_info_msg(CAMERA, "cam")


class Lookups:
    """A FrameResolver.lookup stand-in that records each call and answers a 1 m shift along x."""

    def __init__(self):
        self.calls = []

    def __call__(self, target, source, stamp, timeout_s):
        self.calls.append((target, source, stamp.sec, timeout_s))
        return Pose(np.eye(3), [1.0, 0.0, 0.0])


def test_a_default_goal_takes_the_parameters_and_relates_frames_at_the_image_stamp():
    p = params_from_values({"output_frame": "world", "n_candidates": 4, "time_budget_s": 2.0,
                            "max_deviation.translation_m": 0.2})
    goal, image, info = _goal_and_inputs()
    lookup = Lookups()
    request = conv.plan_request(goal, image, info, p, lookup, callback=print)
    assert lookup.calls == [("world", "cam", 7, p.tf_timeout_s), ("cam", "base", 7, p.tf_timeout_s)]
    assert (request.n_candidates, request.time_budget_s, request.callback) == (4, 2.0, print)
    assert request.constraint_values == p.constraint_values() and request.image.camera == CAMERA
    np.testing.assert_allclose(request.initial_tool.translation, [0, 0, 0.3])
    np.testing.assert_allclose(request.T_camera_initial.translation, [1, 0, 0])
    header = conv.output_header(image, p.output_frame)
    assert (header.frame_id, header.stamp.sec) == ("world", 7) and conv.output_header(image, "").frame_id == "cam"


def test_goal_fields_replace_the_parameters_and_without_an_initial_pose_only_the_output_frame_is_looked_up():
    p = params_from_values({"n_candidates": 4, "time_budget_s": 2.0})
    goal, image, info = _goal_and_inputs(use_initial_pose=False, n_candidates=2, time_budget=0.5, max_translation=0.05)
    lookup = Lookups()
    request = conv.plan_request(goal, image, info, p, lookup)
    assert lookup.calls == [("cam", "cam", 7, p.tf_timeout_s)]
    assert (request.n_candidates, request.time_budget_s, request.initial_tool) == (2, 0.5, None)
    assert request.constraint_values["max_deviation.translation_m"] == pytest.approx(0.05)
    assert request.T_camera_initial.distance_to(Pose())[0] == 0.0


@pytest.mark.parametrize("case, text", [("rgb8", "'rgb8' is not supported"), ("zero_quaternion", "invalid pose"),
                                        ("nan_depth", "not enough valid depth")])
def test_an_unreadable_goal_is_refused_invalid_input_naming_the_problem(case, text):
    from grasp_planner.planning.request import RequestError
    goal, image, info = _goal_and_inputs()
    if case == "rgb8":
        image.encoding = "rgb8"
    elif case == "zero_quaternion":
        goal.initial_pose.pose.orientation.w = 0.0
    else:
        image = conv.array_to_image_msg(np.full(CAMERA.shape, np.nan, dtype=np.float32), "cam")
    with pytest.raises(RequestError, match=text) as err:
        conv.plan_request(goal, image, info, params_from_values({}), Lookups())
    assert err.value.reason == "INVALID_INPUT"


def test_a_result_carries_the_reason_code_and_one_grasp_message_per_grasp_best_first():
    pytest.importorskip("grasp_planner_interfaces.msg")
    from std_msgs.msg import Header
    from grasp_planner.planning.request import PlanReply, refused
    from grasp_planner_interfaces.msg import FailureReason
    p = params_from_values({"hand_mode": "pinch"})
    grasps = tuple(ReplyGrasp(Pose(np.eye(3), [0, 0, z]), Pose(np.eye(3), [0, 0, z]), s, 0.5, 0.0, 3)
                   for z, s in ((0.4, 2.0), (0.5, 1.0)))
    reply = PlanReply(True, "NONE", "ok", grasps, pre_grasp=hand.pre_grasp_posture("pinch"),
                      grasp=hand.grasp_posture("pinch", 0.5))
    result = conv.result_msg(reply, Header(frame_id="world"), p)
    assert result.success and result.reason.code == FailureReason.NONE
    assert [g.score for g in result.grasps] == [2.0, 1.0] and result.grasps[0].pose.header.frame_id == "world"
    assert result.grasps[0].mode == hand.MODE_REGISTER["pinch"]
    busy = conv.result_msg(refused("BUSY", "not queued"), Header(), p)
    assert busy.reason.code == FailureReason.BUSY and not busy.grasps and "not queued" in busy.message
    assert conv.result_msg(PlanReply(False, "SOMETHING_NEW", "?"), Header(), p).reason.code == \
        FailureReason.INTERNAL_ERROR
