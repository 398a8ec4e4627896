"""The managed node in its own process, driven over DDS by a real lifecycle client (ChangeState/GetState).

Facts: configure with a missing model fails with a clear message; configure + activate serves a
PlanGrasp goal; /diagnostics carries the model and the last plan's stage times; deactivate stops
serving (the action server disappears); cleanup returns to unconfigured.
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
from lifecycle_msgs.msg import Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState, GetState  # noqa: E402
from rclpy.action import ActionClient  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402

from grasp_planner.camera import PinholeCamera  # noqa: E402
from grasp_planner.pose import Pose  # noqa: E402
from grasp_planner.ros import conversions as conv  # noqa: E402
from grasp_planner_interfaces.msg import FailureReason  # noqa: E402

pytestmark = pytest.mark.timeout(150)
ROOT = Path(__file__).resolve().parents[1]
CAMERA = PinholeCamera.from_fov(128, 128, np.deg2rad(40.0))
FRAME = "camera_depth_optical_frame"
WAIT_S = 30.0


class LifecycleNodeProcess:
    """``python -m grasp_planner.ros.lifecycle_node`` in namespace ``ns``, its log in a file."""

    def __init__(self, env, log_path: Path, ns: str, *params: str):
        cmd = [sys.executable, "-m", "grasp_planner.ros.lifecycle_node", "--ros-args", "-r", f"__ns:={ns}"]
        for item in params:
            cmd += ["-p", item]
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text()

    def stop(self):
        self.proc.send_signal(subprocess.signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


class Manager:
    """This process: a lifecycle client (ChangeState, GetState) plus the peers a user would have."""

    def __init__(self, ns: str):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = rclpy.create_node("lifecycle_manager", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self.change = self.node.create_client(ChangeState, f"{ns}/grasp_planner/change_state")
        self.get = self.node.create_client(GetState, f"{ns}/grasp_planner/get_state")
        self.action = ActionClient(self.node, PlanGrasp, f"{ns}/plan_grasp")
        self.diagnostics: list[DiagnosticArray] = []
        self.node.create_subscription(DiagnosticArray, "/diagnostics", self.diagnostics.append, 10)

    def wait(self, future, timeout_s=WAIT_S):
        self.executor.spin_until_future_complete(future, timeout_sec=timeout_s)
        assert future.done(), "no answer within the timeout"
        return future.result()

    def spin_until(self, predicate, timeout_s=WAIT_S) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return True
            self.executor.spin_once(timeout_sec=0.1)
        return predicate()

    def transition(self, transition_id: int) -> bool:
        assert self.change.wait_for_service(timeout_sec=WAIT_S), "change_state service not found"
        return self.wait(self.change.call_async(ChangeState.Request(transition=Transition(id=transition_id)))).success

    def state(self) -> str:
        assert self.get.wait_for_service(timeout_sec=WAIT_S)
        return self.wait(self.get.call_async(GetState.Request())).current_state.label

    def close(self):
        self.action.destroy()
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.shutdown(context=self.context)


def plan_goal() -> PlanGrasp.Goal:
    depth = np.full(CAMERA.shape, 0.55, dtype=np.float32)
    depth[54:74, 54:74] = 0.49
    goal = PlanGrasp.Goal(use_latest_image=False, use_initial_pose=True, n_candidates=1, time_budget=2.0)
    goal.depth = conv.array_to_image_msg(depth, FRAME)
    goal.camera_info = conv.camera_to_camera_info_msg(CAMERA, FRAME)
    goal.initial_pose = conv.pose_to_pose_stamped_msg(Pose(np.eye(3), [0.0, 0.0, 0.41]), FRAME)
    return goal


def test_configure_with_a_missing_model_fails_with_a_clear_message(ros_env, tmp_path):
    node = LifecycleNodeProcess(ros_env, tmp_path / "node.log", "/gp_lc_missing",
                                f"model_path:={tmp_path / 'no_such_model.json'}")
    manager = Manager("/gp_lc_missing")
    try:
        assert manager.state() == "unconfigured"
        assert manager.transition(Transition.TRANSITION_CONFIGURE) is False
        assert manager.state() == "unconfigured"
        assert manager.spin_until(lambda: "configure failed: model file not found" in node.log(), 5.0), node.log()
        assert "no_such_model.json" in node.log()
    finally:
        manager.close()
        node.stop()


def test_a_managed_node_serves_only_while_active_and_reports_diagnostics(ros_env, tmp_path, untrained_model_card,
                                                                         short_planner_yaml):
    ns = "/gp_lc"
    node = LifecycleNodeProcess(ros_env, tmp_path / "node.log", ns, f"model_path:={untrained_model_card}",
                                f"planner_config:={short_planner_yaml}")
    manager = Manager(ns)
    try:
        assert manager.state() == "unconfigured"
        assert not manager.action.wait_for_server(timeout_sec=1.0), "an unconfigured node must not serve"

        assert manager.transition(Transition.TRANSITION_CONFIGURE), node.log()
        assert manager.state() == "inactive"
        assert manager.transition(Transition.TRANSITION_ACTIVATE), node.log()
        assert manager.state() == "active"

        assert manager.action.wait_for_server(timeout_sec=WAIT_S), node.log()
        no_image = manager.wait(manager.action.send_goal_async(PlanGrasp.Goal(use_latest_image=True)))
        result = manager.wait(no_image.get_result_async()).result
        assert result.reason.code == FailureReason.NO_IMAGE, result.message
        assert "no depth image received yet on /gp_lc/depth/image" in result.message

        handle = manager.wait(manager.action.send_goal_async(plan_goal()))
        assert handle.accepted
        result = manager.wait(handle.get_result_async()).result
        assert result.success, result.message
        assert len(result.grasps) == 1

        def has_stage_times():
            values = [{kv.key: kv.value for kv in st.values} for a in manager.diagnostics for st in a.status]
            return any("last_plan_optimization_s" in v and v.get("last_plan_reason") == "NONE" for v in values)
        assert manager.spin_until(has_stage_times, 15.0), "no /diagnostics with the plan's stage times"
        last = {kv.key: kv.value for kv in manager.diagnostics[-1].status[0].values}
        assert last["model"] == Path(untrained_model_card).name
        assert float(last["last_plan_total_s"]) > 0.0

        assert manager.transition(Transition.TRANSITION_DEACTIVATE), node.log()
        assert manager.state() == "inactive"
        assert manager.spin_until(lambda: not manager.action.server_is_ready(), 10.0), \
            "the action server is still there after deactivate"

        assert manager.transition(Transition.TRANSITION_CLEANUP), node.log()
        assert manager.state() == "unconfigured"
        assert "cleaned up" in node.log()
    finally:
        manager.close()
        node.stop()
