"""The node in this process over real DDS, a fresh rclpy Context per test (as rclpy's own tests do).

A peer node in the same Context publishes camera images and poses and calls the action; both
spin on one multi-threaded executor in a background thread. The shipped model plans on a
bundled 640x480 16UC1 camera scene; the planner config is short (fast plans, any score).
"""
from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")
PlanGrasp = pytest.importorskip("grasp_planner_interfaces.action",
                                reason="build the interfaces: make interfaces; source scripts/ros_env.sh").PlanGrasp

from geometry_msgs.msg import PoseStamped  # noqa: E402
from rclpy.action import ActionClient  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402

from grasp_planner.perception.scenes import bundled_scene_paths, load_scene  # noqa: E402
from grasp_planner.ros import conversions as conv  # noqa: E402
from grasp_planner.ros.executor import PlannerExecutor  # noqa: E402
from grasp_planner.ros.server import LATEST  # noqa: E402

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "grasp_cnn.json"
CAMERA_FRAME, WORLD = "camera_depth_optical_frame", "world"


@pytest.fixture(scope="module")
def scene():
    return load_scene([p for p in bundled_scene_paths() if "tilt30" in p.name][0])


class Spinning:
    """Nodes spun by the node's own multi-threaded executor in a background thread until ``close``."""

    def __init__(self, context, *nodes):
        self.executor = PlannerExecutor(num_threads=4, context=context)
        for n in nodes:
            self.executor.add_node(n)
        self.thread = threading.Thread(target=self.executor.spin, daemon=True)
        self.thread.start()

    def close(self):
        self.executor.shutdown()
        self.thread.join(5)


def wait(done, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def overrides(yaml_path, **extra):
    values = {"model_path": str(MODEL), "planner_config": str(yaml_path), "n_candidates": 2, **extra}
    return [Parameter(k, value=v) for k, v in values.items()]


def camera_msgs(scene, clock):
    stamp = clock.now().to_msg()
    image = conv.array_to_image_msg(scene.depth_mm(), CAMERA_FRAME, stamp)
    return image, conv.camera_to_camera_info_msg(scene.camera, CAMERA_FRAME, stamp)


def test_a_640x480_16uc1_image_with_an_initial_pose_in_the_world_frame_plans_through_the_resolver(
        context, scene, short_planner_yaml):
    from grasp_planner.ros.node import GraspPlannerNode
    node = GraspPlannerNode(context=context, parameter_overrides=overrides(short_planner_yaml, output_frame=WORLD))
    T_cam_world = scene.T_camera_world
    node.server.frames.add_static(CAMERA_FRAME, WORLD, T_cam_world)
    peer = rclpy.create_node("peer", context=context)
    images = peer.create_publisher(Image, "depth/image", LATEST)
    infos = peer.create_publisher(CameraInfo, "depth/camera_info", LATEST)
    client = ActionClient(peer, PlanGrasp, "plan_grasp")
    spin = Spinning(context, node, peer)
    try:
        assert client.wait_for_server(timeout_sec=30)
        wait(lambda: images.get_subscription_count() > 0)
        image, info = camera_msgs(scene, peer.get_clock())
        for _ in range(5):
            images.publish(image)
            infos.publish(info)
            time.sleep(0.05)
        wait(lambda: node.server._snapshot()[0] is not None)
        initial_world = T_cam_world.inverse() @ scene.initial_pose            # the hand's start, world frame
        goal = PlanGrasp.Goal(use_latest_image=True, use_initial_pose=True, n_candidates=2, time_budget=5.0)
        goal.initial_pose = conv.pose_to_pose_stamped_msg(initial_world, WORLD)
        future = client.send_goal_async(goal)
        wait(future.done)
        result_future = future.result().get_result_async()
        wait(result_future.done, 120)
        result = result_future.result().result
    finally:
        spin.close()
        node.destroy_node()
        peer.destroy_node()
    assert result.grasps, result.message
    best = result.grasps[0]
    assert best.pose.header.frame_id == WORLD
    T_world_grasp = conv.pose_msg_to_pose(best.pose.pose)
    # the grasp is near the start (a pre-grasp a few cm above the target), in the world frame
    moved, _ = T_world_grasp.distance_to(initial_world)
    assert moved < 0.15, (moved, result.message)


def test_a_lifecycle_node_that_failed_to_configure_configures_after_the_fix_with_one_tf_listener(
        context, short_planner_yaml, tmp_path):
    from grasp_planner.ros.lifecycle_node import LifecycleGraspPlannerNode
    from rclpy.lifecycle import TransitionCallbackReturn
    node = LifecycleGraspPlannerNode(context=context, parameter_overrides=overrides(
        short_planner_yaml, model_path=str(tmp_path / "missing.json")))
    try:
        assert node.on_configure(None) == TransitionCallbackReturn.FAILURE and node.server is None
        node.set_parameters([Parameter("model_path", value=str(MODEL))])   # the fix
        assert node.on_configure(None) == TransitionCallbackReturn.SUCCESS
        first = node.server.frames
        assert node.server.planner.config.optimizer.max_iter == 8     # the planner YAML reached the planner
        node.on_cleanup(None)
        assert node.server is None and not first.has_tf
        assert node.on_configure(None) == TransitionCallbackReturn.SUCCESS and node.server.frames is not first
    finally:
        node.destroy_node()


def test_a_live_parameter_the_planner_cannot_take_is_refused_and_nothing_is_stored(context, short_planner_yaml):
    from grasp_planner.ros.node import GraspPlannerNode
    node = GraspPlannerNode(context=context, parameter_overrides=overrides(short_planner_yaml))
    try:
        before = node.server.params
        result = node.set_parameters([Parameter("starts", value=500)])[0]
        assert not result.successful and node.server.params is before
        assert node.set_parameters([Parameter("starts", value=3)])[0].successful
        assert node.server.planner.config.multistart.n_starts == 3 and node.server.params.starts == 3
        assert node.server.planner.config.optimizer.max_iter == 8     # the rest still from the YAML
    finally:
        node.destroy_node()


def test_a_30_hz_stream_with_5_hz_requests_plans_on_the_latest_image_and_nothing_queues(
        context, scene, short_planner_yaml):
    from grasp_planner.ros.node import GraspPlannerNode
    node = GraspPlannerNode(context=context, parameter_overrides=overrides(
        short_planner_yaml, n_candidates=1, time_budget_s=0.15))
    peer = rclpy.create_node("peer", context=context)
    images = peer.create_publisher(Image, "depth/image", LATEST)
    infos = peer.create_publisher(CameraInfo, "depth/camera_info", LATEST)
    poses = peer.create_publisher(PoseStamped, "initial_pose", 1)
    ages, seen, published = [], [], []
    original = node.server._snapshot

    def measured():
        # how much older the image a plan is given is than the newest one the camera had sent by then: the
        # publisher shares this process's GIL with the planner, so the image's age on the clock would also
        # count the time the camera itself was held up
        snapshot = original()
        used = rclpy.time.Time.from_msg(snapshot[0].header.stamp).nanoseconds
        ages.append((published[-1] - used) * 1e-9)
        return snapshot
    node.server._snapshot = measured
    spin = Spinning(context, node, peer)
    try:
        wait(lambda: images.get_subscription_count() > 0 and poses.get_subscription_count() > 0)
        start, last_request = time.monotonic(), 0.0
        while time.monotonic() - start < 3.0:
            image, info = camera_msgs(scene, peer.get_clock())
            published.append(rclpy.time.Time.from_msg(image.header.stamp).nanoseconds)
            images.publish(image)
            infos.publish(info)
            now = time.monotonic()
            if now - last_request >= 0.2:
                poses.publish(conv.pose_to_pose_stamped_msg(scene.initial_pose, CAMERA_FRAME))
                seen.append(now)
                last_request = now
            time.sleep(1 / 30)
        wait(lambda: len(ages) >= len(seen) - 1, 30)
    finally:
        spin.close()
        node.destroy_node()
        peer.destroy_node()
    assert len(ages) >= len(seen) - 1 >= 10
    # each plan starts on an image at most a frame or two behind the newest: no backlog of images behind a plan
    assert max(ages) <= 0.1, ages
