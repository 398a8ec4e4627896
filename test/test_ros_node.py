"""Two real processes over DDS: the node runs as a subprocess, this process publishes and calls the action.

Each test gets a fresh rclpy Context and executor; every wait has a timeout. A small untrained
model is exported once per session (the tests check the plumbing, not grasp quality), and the
planner's ``min_probability`` is 0 so such a model still yields "successful" grasps.
"""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

rclpy = pytest.importorskip("rclpy")
PlanGrasp = pytest.importorskip("grasp_planner_interfaces.action",
                                reason="build the interfaces: make interfaces; source scripts/ros_env.sh").PlanGrasp

from diagnostic_msgs.msg import DiagnosticArray  # noqa: E402
from geometry_msgs.msg import Point, PoseArray, PoseStamped, Vector3  # noqa: E402
from rclpy.action import ActionClient  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.qos import qos_profile_sensor_data  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402
from visualization_msgs.msg import MarkerArray  # noqa: E402

from grasp_planner.camera import PinholeCamera  # noqa: E402
from grasp_planner.pose import Pose  # noqa: E402
from grasp_planner.ros import conversions as conv  # noqa: E402
from grasp_planner_interfaces.msg import FailureReason, Robotiq3FCommand  # noqa: E402

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[1]
NS = "/gp_test"
CAMERA = PinholeCamera.from_fov(128, 128, np.deg2rad(40.0))
FRAME = "camera_depth_optical_frame"
WAIT_S = 30.0


def scene_depth() -> np.ndarray:
    """A 6 cm box 0.49 m in front of the camera on a table at 0.55 m (float32 metres)."""
    depth = np.full(CAMERA.shape, 0.55, dtype=np.float32)
    depth[54:74, 54:74] = 0.49
    return depth


def seed_pose() -> Pose:
    """Palm 8 cm above the box top, approach axis along the optical axis."""
    return Pose(np.eye(3), [0.0, 0.0, 0.41])


def start_node(env, log_path, *overrides):
    cmd = [sys.executable, "-m", "grasp_planner.ros.node", "--ros-args",
           "--params-file", str(ROOT / "config" / "grasp_planner.yaml"), "-r", f"__ns:={NS}"]
    for item in overrides:
        cmd += ["-p", item]
    log = open(log_path, "w")
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log


@pytest.fixture(scope="module")
def node_proc(ros_env, untrained_model_card, short_planner_yaml, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("node") / "node.log"
    proc, log = start_node(ros_env, log_path, f"model_path:={untrained_model_card}",
                           f"planner_config:={short_planner_yaml}", "time_budget_s:=1.0", "n_candidates:=3")
    deadline = time.monotonic() + WAIT_S
    while "grasp_planner ready" not in log_path.read_text():
        assert proc.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, "node did not start: " + log_path.read_text()
        time.sleep(0.2)
    yield proc, log_path
    proc.send_signal(subprocess.signal.SIGINT)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


class Peer:
    """This process's side: publishers, subscriptions and an action client on a private Context."""

    def __init__(self):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("gp_test_peer", namespace=NS, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.image_pub = self.node.create_publisher(Image, "depth/image", qos_profile_sensor_data)
        self.info_pub = self.node.create_publisher(CameraInfo, "depth/camera_info", qos_profile_sensor_data)
        self.pose_pub = self.node.create_publisher(PoseStamped, "initial_pose", 1)
        self.client = ActionClient(self.node, PlanGrasp, "plan_grasp")
        self.received = {}
        for topic, kind in (("grasp", PoseStamped), ("grasp_candidates", PoseArray), ("markers", MarkerArray),
                            ("gripper_command", Robotiq3FCommand), ("/diagnostics", DiagnosticArray)):
            self.node.create_subscription(kind, topic, lambda m, t=topic: self.received.setdefault(t, []).append(m), 5)

    def close(self):
        self.executor.shutdown()
        self.client.destroy()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)

    def spin_until(self, done, timeout=WAIT_S):
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, "timed out"
            self.executor.spin_once(timeout_sec=0.05)

    def wait_future(self, future, timeout=WAIT_S):
        self.spin_until(future.done, timeout)
        return future.result()

    def publish_scene(self, depth=None, camera=CAMERA, frame=FRAME, encoding_image=None):
        self.spin_until(lambda: min(self.image_pub.get_subscription_count(),
                                    self.pose_pub.get_subscription_count()) > 0)
        image = encoding_image or conv.array_to_image_msg(scene_depth() if depth is None else depth, FRAME)
        image.header.frame_id = frame
        info = conv.camera_to_camera_info_msg(camera, frame)
        for _ in range(3):  # best-effort QoS: send a few times, the node keeps the latest
            self.image_pub.publish(image)
            self.info_pub.publish(info)
            self.executor.spin_once(timeout_sec=0.05)
        time.sleep(0.3)

    def publish_pose(self, pose=None, frame=FRAME):
        self.pose_pub.publish(conv.pose_to_pose_stamped_msg(pose or seed_pose(), frame))

    def goal(self, **fields):
        goal = PlanGrasp.Goal(use_latest_image=False, use_initial_pose=True, n_candidates=2, time_budget=1.0)
        goal.depth = conv.array_to_image_msg(scene_depth(), FRAME)
        goal.camera_info = conv.camera_to_camera_info_msg(CAMERA, FRAME)
        goal.initial_pose = conv.pose_to_pose_stamped_msg(seed_pose(), FRAME)
        for key, value in fields.items():
            setattr(goal, key, value)
        return goal

    def send(self, goal, feedback=None):
        assert self.client.wait_for_server(timeout_sec=WAIT_S)
        handle = self.wait_future(self.client.send_goal_async(goal, feedback_callback=feedback))
        assert handle.accepted
        return handle, self.wait_future(handle.get_result_async())


@pytest.fixture
def peer(node_proc):
    p = Peer()
    yield p
    p.close()


def wait_for_log(log_path, text, timeout=WAIT_S):
    deadline = time.monotonic() + timeout
    while text not in log_path.read_text():
        assert time.monotonic() < deadline, f"{text!r} not logged; log:\n{log_path.read_text()}"
        time.sleep(0.1)


def test_initial_pose_on_topic_publishes_grasp_candidates_markers_and_gripper_command(peer):
    peer.publish_scene()
    peer.publish_pose()
    peer.spin_until(lambda: all(t in peer.received for t in ("grasp", "grasp_candidates", "markers",
                                                             "gripper_command")))
    grasp = peer.received["grasp"][0]
    assert grasp.header.frame_id == FRAME
    assert 1 <= len(peer.received["grasp_candidates"][0].poses) <= 3
    namespaces = {m.ns for m in peer.received["markers"][0].markers}
    assert {"initial_hand", "grasp_hand"} <= namespaces
    assert peer.received["gripper_command"][0].r_act == 1


def test_action_returns_ranked_grasps_after_feedback(peer):
    feedback = []
    handle, response = peer.send(peer.goal(), feedback=lambda msg: feedback.append(msg.feedback))
    result = response.result
    assert result.success, result.message
    assert result.reason.code == FailureReason.NONE
    assert 1 <= len(result.grasps) <= 2
    scores = [g.score for g in result.grasps]
    assert scores == sorted(scores, reverse=True)
    assert result.grasps[0].pose.header.frame_id == FRAME
    assert feedback and feedback[-1].iteration >= 1


def test_action_on_latest_image_plans_without_an_image_in_the_goal(peer):
    peer.publish_scene()
    _, response = peer.send(peer.goal(use_latest_image=True, depth=Image(), camera_info=CameraInfo()))
    assert response.result.success, response.result.message


def test_cancel_ends_the_goal_canceled_within_one_iteration(peer):
    feedback = []
    assert peer.client.wait_for_server(timeout_sec=WAIT_S)
    # the most candidates a goal may ask (100 starts, seconds of work): the plan cannot finish before the
    # cancel arrives, as 20 starts (~0.3 s) sometimes did on a loaded machine
    handle = peer.wait_future(peer.client.send_goal_async(
        peer.goal(time_budget=30.0, n_candidates=100), feedback_callback=lambda m: feedback.append(m.feedback)))
    peer.spin_until(lambda: len(feedback) >= 1)
    canceled_at = time.monotonic()
    peer.wait_future(handle.cancel_goal_async())
    response = peer.wait_future(handle.get_result_async())
    assert response.result.reason.code == FailureReason.CANCELED
    assert response.status == 5  # GoalStatus.STATUS_CANCELED
    assert time.monotonic() - canceled_at < 5.0


def bad_goals():
    rgb = Image(height=128, width=128, encoding="rgb8", step=384, data=bytes(128 * 384))
    nan = conv.array_to_image_msg(np.full(CAMERA.shape, np.nan, dtype=np.float32), FRAME)
    small = conv.camera_to_camera_info_msg(PinholeCamera.from_fov(64, 48, 1.0), FRAME)
    zero_q = conv.pose_to_pose_stamped_msg(seed_pose(), FRAME)
    zero_q.pose.orientation.w = 0.0
    elsewhere = conv.pose_to_pose_stamped_msg(seed_pose(), "unknown_frame")
    return {
        "nan_image": ({"depth": nan}, FailureReason.INVALID_INPUT, "not enough valid depth"),
        "rgb8_encoding": ({"depth": rgb}, FailureReason.INVALID_INPUT, "'rgb8' is not supported"),
        "size_mismatch": ({"camera_info": small}, FailureReason.INVALID_INPUT, "but the camera is 64x48"),
        "zero_quaternion": ({"initial_pose": zero_q}, FailureReason.INVALID_INPUT, "quaternion"),
        "unknown_frame": ({"initial_pose": elsewhere}, FailureReason.TF_UNAVAILABLE, "'unknown_frame'"),
    }


@pytest.mark.parametrize("case", list(bad_goals()))
def test_bad_goal_is_aborted_with_its_reason_and_the_next_goal_succeeds(peer, node_proc, case):
    fields, code, text = bad_goals()[case]
    handle, response = peer.send(peer.goal(**fields))
    assert not response.result.success
    assert response.result.reason.code == code
    assert text in response.result.message
    wait_for_log(node_proc[1], text)
    _, response = peer.send(peer.goal())
    assert response.result.success, response.result.message


def test_nan_image_on_topics_is_logged_and_the_next_pose_is_served(peer, node_proc):
    peer.publish_scene(depth=np.full(CAMERA.shape, np.nan, dtype=np.float32))
    peer.publish_pose()
    wait_for_log(node_proc[1], "plan refused (INVALID_INPUT): the request is invalid: not enough valid depth")
    peer.publish_scene()
    peer.publish_pose()
    peer.spin_until(lambda: "grasp" in peer.received)


def test_node_with_a_missing_model_file_exits_with_a_clear_message(ros_env, tmp_path):
    proc, log = start_node(ros_env, tmp_path / "node.log", "model_path:=/nonexistent/grasp_cnn.json")
    try:
        assert proc.wait(WAIT_S) == 2
    finally:
        log.close()
    text = (tmp_path / "node.log").read_text()
    assert "cannot start: model file not found" in text and "/nonexistent/grasp_cnn.json" in text


@pytest.mark.parametrize("override, words", [
    ("strats:=8", ["unknown parameter 'strats'", "did you mean starts"]),
    ("planner_config:={bad}", ["{bad}", "'optimizer.max_iter' must be an integer"]),
])
def test_a_bad_parameter_or_planner_config_ends_the_node_with_exit_2_and_one_line(ros_env, tmp_path, override, words):
    bad = tmp_path / "planner.yaml"
    bad.write_text("optimizer:\n  max_iter: forty\n")
    proc, log = start_node(ros_env, tmp_path / "node.log", override.format(bad=bad))
    try:
        assert proc.wait(WAIT_S) == 2
    finally:
        log.close()
    text = (tmp_path / "node.log").read_text()
    assert all(w.format(bad=bad) in text for w in words) and "Traceback" not in text, text


def set_parameter(peer, name, value):
    from rcl_interfaces.msg import Parameter, ParameterType, ParameterValue
    from rcl_interfaces.srv import SetParameters

    client = peer.node.create_client(SetParameters, f"{NS}/grasp_planner/set_parameters")
    assert client.wait_for_service(timeout_sec=WAIT_S)
    kind = {float: ParameterType.PARAMETER_DOUBLE, str: ParameterType.PARAMETER_STRING,
            list: ParameterType.PARAMETER_DOUBLE_ARRAY}[type(value)]
    field = {float: "double_value", str: "string_value", list: "double_array_value"}[type(value)]
    param = Parameter(name=name, value=ParameterValue(type=kind, **{field: value}))
    return peer.wait_future(client.call_async(SetParameters.Request(parameters=[param]))).results[0]


def test_live_parameter_change_is_applied_and_a_read_only_one_is_refused_with_its_reason(peer, node_proc):
    applied = set_parameter(peer, "alpha", 0.06)
    assert applied.successful, applied.reason
    wait_for_log(node_proc[1], "parameters changed: {'alpha': 0.06}")
    refused = set_parameter(peer, "depth_topic", "elsewhere")
    assert not refused.successful and "read-only" in refused.reason
    out_of_range = set_parameter(peer, "gripper_force", 3.0)
    assert not out_of_range.successful
    _, response = peer.send(peer.goal())
    assert response.result.success, response.result.message


def test_goal_sent_while_another_plans_is_aborted_busy_not_queued(peer):
    feedback = []
    assert peer.client.wait_for_server(timeout_sec=WAIT_S)
    first = peer.wait_future(peer.client.send_goal_async(
        peer.goal(time_budget=30.0, n_candidates=20), feedback_callback=lambda m: feedback.append(m)))
    peer.spin_until(lambda: len(feedback) >= 1)
    _, second = peer.send(peer.goal())
    assert second.result.reason.code == FailureReason.BUSY and "not queued" in second.result.message
    peer.wait_future(first.cancel_goal_async())
    assert peer.wait_future(first.get_result_async()).result.reason.code == FailureReason.CANCELED


def test_a_goal_without_an_image_fails_no_image(peer):
    _, response = peer.send(peer.goal(depth=Image()))
    assert response.result.reason.code == FailureReason.NO_IMAGE
    assert "the goal has no depth image" in response.result.message


def test_an_image_older_than_max_image_age_fails_stale_image(peer):
    assert set_parameter(peer, "max_image_age_s", 5.0).successful
    try:
        _, response = peer.send(peer.goal())           # the goal's image is stamped at time 0
    finally:
        assert set_parameter(peer, "max_image_age_s", 0.0).successful
    assert response.result.reason.code == FailureReason.STALE_IMAGE
    assert "depth image is too old" in response.result.message and "max_image_age_s = 5.0" in response.result.message


def test_a_zero_approach_cone_direction_in_a_goal_fails_invalid_input(peer):
    _, response = peer.send(peer.goal(use_approach_cone=True, approach_cone_max_angle=0.5))
    assert response.result.reason.code == FailureReason.INVALID_INPUT
    assert "approach cone direction must be a finite non-zero vector" in response.result.message


def test_a_workspace_box_far_from_the_object_fails_out_of_workspace_with_no_grasp_reported_as_success(peer):
    goal = peer.goal(use_workspace=True, workspace_min=Point(x=2.0, y=2.0, z=2.0),
                     workspace_max=Point(x=2.1, y=2.1, z=2.1))
    _, response = peer.send(goal)
    assert not response.result.success
    assert response.result.reason.code == FailureReason.OUT_OF_WORKSPACE
    assert "outside the workspace box" in response.result.message


def test_a_goal_cone_containing_the_seed_direction_still_succeeds(peer):
    goal = peer.goal(use_approach_cone=True, approach_cone_direction=Vector3(z=1.0), approach_cone_max_angle=3.0)
    _, response = peer.send(goal)
    assert response.result.success, response.result.message


def test_tcp_offset_moves_the_published_pose_to_the_tool_frame_and_reads_the_initial_pose_as_one(peer):
    T_hand_tool = Pose(np.eye(3), [0.0, 0.0, -0.1])
    _, plain = peer.send(peer.goal(n_candidates=1))
    assert set_parameter(peer, "tcp_offset", [0.0, 0.0, -0.1, 0.0, 0.0, 0.0]).successful
    try:   # the same hand seed, given as the tool's pose: the planner sees the same request
        seed_tool = conv.pose_to_pose_stamped_msg(seed_pose() @ T_hand_tool, FRAME)
        _, offset = peer.send(peer.goal(n_candidates=1, initial_pose=seed_tool))
    finally:
        assert set_parameter(peer, "tcp_offset", [0.0] * 6).successful
    assert plain.result.success and offset.result.success, offset.result.message
    hand = conv.pose_msg_to_pose(plain.result.grasps[0].pose.pose)
    tool = conv.pose_msg_to_pose(offset.result.grasps[0].pose.pose)
    np.testing.assert_allclose(tool.translation, (hand @ T_hand_tool).translation, atol=1e-5)
    axis = offset.result.grasps[0].approach_direction
    np.testing.assert_allclose([axis.x, axis.y, axis.z], hand.rotation[:, 2], atol=1e-5)


def test_the_regular_node_publishes_diagnostics_with_the_last_plan_stage_times(peer):
    _, response = peer.send(peer.goal())
    assert response.result.success, response.result.message

    def stage_times():
        for array in peer.received.get("/diagnostics", []):
            values = {kv.key: kv.value for st in array.status for kv in st.values}
            if "last_plan_optimization_s" in values and values.get("last_plan_reason") == "NONE":
                return values
    peer.spin_until(lambda: stage_times() is not None, 5.0)
    assert float(stage_times()["last_plan_total_s"]) > 0.0


def _control_msgs_installed() -> bool:
    import importlib.util
    return importlib.util.find_spec("control_msgs") is not None


@pytest.mark.skipif(_control_msgs_installed(), reason="control_msgs is installed here (as on every robot): the "
                    "node starts; test_adapters checks the goal fields as plain code")
def test_gripper_action_format_without_control_msgs_exits_naming_the_package(ros_env, untrained_model_card, tmp_path):
    proc, log = start_node(ros_env, tmp_path / "node.log", f"model_path:={untrained_model_card}",
                           "gripper_format:=gripper_action")
    try:
        assert proc.wait(WAIT_S) == 2
    finally:
        log.close()
    text = (tmp_path / "node.log").read_text()
    assert "cannot start: gripper_format gripper_action: control_msgs/action/GripperCommand is not available" in text
    assert "ros-$ROS_DISTRO-control-msgs" in text
